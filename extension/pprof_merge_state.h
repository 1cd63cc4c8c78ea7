/*-------------------------------------------------------------------------
 *
 * pprof_merge_state.h
 *	  How a merge state is kept: shared by pprof_merge_state.c, which adds
 *	  profiles to it, and pprof_merge_output.c, which writes it out in
 *	  canonical order. Nothing else includes this file.
 *
 * Everything a state holds is interned (pprof_intern.h): strings as their
 * bytes, and functions, mappings, locations and samples as keys of uint32
 * words that refer to other interned things by state index. Two equal
 * things of the inputs thus become one entry, whatever the order of rows
 * (docs/DESIGN.md section 6).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_MERGE_STATE_H
#define PPROF_MERGE_STATE_H

#include "pprof_intern.h"
#include "pprof_merge.h"

/* "not mapped yet" in the per-input maps; "none" for main_mapping */
#define NO_INDEX		PG_UINT32_MAX

/*
 * A state mapping: what pprof identifies it by is its key (see MapMapping);
 * this is the content the output writes, of the smallest matching mapping.
 */
typedef struct MappingData
{
	uint64		start;
	uint64		limit;
	uint64		offset;
	uint32		filename;		/* state string ids */
	uint32		build_id;
	uint32		flags;
} MappingData;

/*
 * Keys of the interners (words; a 64-bit value takes two, low word first):
 *	functions	[name, system_name, filename, start_line (2)]
 *				(PGO: system_name and filename are 0)
 *	mappings	[size rounded up to 4 KiB (2), file offset (2), build ID or file name]
 *	locations	LOSSLESS: [mapping + 1 or 0, address - mapping start (2),
 *						   is_folded, n_lines, {function, line (2), column (2)}*]
 *				PGO: [synthetic address, n_lines, {function, line (2)}*]
 *	samples		LOSSLESS: [depth, location*, n_labels, {key, str, num (2), num_unit}*]
 *				(labels sorted as words: their order does not identify a sample)
 *				PGO: [depth, location*]
 *	comments	[string]
 */
typedef struct MergeDeferred MergeDeferred;

struct MergeState
{
	MergeMode	mode;
	MemoryContext cxt;
	uint32		n_inputs;		/* inputs that contributed */
	/* a deserialized partial state's bytes, not added yet (pprof_merge_partial.c) */
	char	   *pending;
	Size		pending_len;

	/*
	 * LOSSLESS sample types: every (type, unit) any input had, in order of
	 * first appearance, each a value slot. type_inputs[i] counts the inputs
	 * that had type i (the output keeps the types all inputs had, as go tool
	 * pprof does); bit j of type_before[i]: some input lists i before j.
	 */
	uint32		n_sample_types;
	uint32		sample_types[2 * PPROF_MAX_SAMPLE_TYPES];	/* type, unit */
	uint32		type_inputs[PPROF_MAX_SAMPLE_TYPES];
	uint64		type_before[PPROF_MAX_SAMPLE_TYPES];

	/* header */
	bool		have_period_type;
	uint32		period_type[2];
	int64		time_nanos;		/* earliest non-zero */
	int64		duration_nanos; /* sum */
	int64		period;			/* largest */
	uint32		default_sample_type;	/* string ids; 0 = none */
	uint32		drop_frames;
	uint32		keep_frames;

	PprofInterner strings;
	PprofInterner comments;		/* set of string ids */
	PprofInterner functions;
	PprofInterner mappings;
	PprofInterner locations;
	PprofInterner samples;

	MappingData *mapping_data;	/* per interned mapping */
	uint32		mapping_cap;
	uint32		main_mapping;	/* NO_INDEX: none */
	bool		main_has_samples;	/* main_mapping came from an input with samples */
	/* MERGE_LOSSLESS: the location last mapped at an address (pprof_merge_lossless.c) */
	struct addrhash_hash *addresses;

	int64	   *values;			/* n_value_slots per sample */
	uint32		values_cap;		/* samples */
	uint32		n_value_slots;

	/*
	 * MERGE_PGO: value slots are [fixed-point counts, nanoseconds]; the output
	 * is in nanoseconds when the compiler reads nanoseconds of some input
	 * (pgo_nanoseconds), else in counts
	 */
	bool		pgo_nanoseconds;
	int			pgo_frames;
	bool		pgo_normalize;
	/*
	 * MERGE_PGO: functions by content, [start_line (2), name length, name
	 * bytes (padded to words)]: the input's bytes, so a function another
	 * input had is found with one probe, not one per string and function
	 * (pprof_merge_pgo.c)
	 */
	PprofInterner pgo_functions;
	uint32	   *pgo_content_function;	/* per function content: state function */
	uint32		pgo_content_function_cap;
	uint32	   *pgo_function_content;	/* per state function: its first content */
	uint32		pgo_function_content_cap;
	/*
	 * MERGE_PGO: state samples by the stack hashes of compact projections
	 * (pprof_merge_pgo_stacks.c)
	 */
	struct PgoStackSlot *pgo_stacks;
	uint32		pgo_stacks_mask;	/* slots - 1, a power of two minus one */
	uint32		pgo_stacks_n;
	uint32	   *deny;			/* string ids of denylisted names */
	int			n_deny;
	uint32		sid_samples,
				sid_count,
				sid_cpu,
				sid_nanoseconds;

	/* stored rows not merged yet (pprof_merge_parallel.c); NULL: none so far */
	MergeDeferred *deferred;
};

static inline uint64
Word64(const uint32 *w)
{
	return (uint64) w[0] | ((uint64) w[1] << 32);
}

static inline void
PutWord64(uint32 *w, uint64 v)
{
	w[0] = (uint32) v;
	w[1] = (uint32) (v >> 32);
}

/*
 * The key at index of an interner whose keys are uint32 words (all but the
 * strings): read in place, the arena keeps keys 4-byte aligned.
 */
static inline const uint32 *
KeyWords(const PprofInterner *it, uint32 index)
{
	uint32		len;

	return (const uint32 *) InternerKey(it, index, &len);
}

/* The lines of a location key (layouts above), and the words per line. */
static inline const uint32 *
LocationKeyLines(const MergeState *s, const uint32 *key, uint32 *n_lines, uint32 *stride)
{
	if (s->mode == MERGE_PGO)
	{
		*n_lines = key[1];
		*stride = 3;
		return key + 2;
	}
	*n_lines = key[4];
	*stride = 5;
	return key + 5;
}

/* Per-input translation from the input's indexes to the state's. */
typedef struct InputMap
{
	const PprofView *v;
	uint32	   *strings;
	uint32	   *functions;
	uint32	   *mappings;
	uint32	   *locations;		/* PGO: n_locations * pgo_frames */
	uint32	   *key;			/* a sample key being built */
	uint32	   *pgo_functions;	/* MERGE_PGO: function content ids */
	uint32	   *content;		/* MERGE_PGO: a function's content key */
	Size		content_cap;	/* words */
} InputMap;

/*
 * How a pgo_merge input's values become the state's two weights: counts in
 * fixed point (value * count_scale), nanoseconds (value * ns_scale).
 */
typedef struct PgoInput
{
	int			value_index;	/* the sample type the compiler reads */
	bool		reads_ns;		/* ... is cpu/nanoseconds */
	int			ns_index;		/* the sample type weighed as nanoseconds */
	double		count_scale;
	double		ns_scale;
	/*
	 * The samples: a layout's (v->values, v->samples), or a compact
	 * projection's (compact: values, and a stack per sample)
	 */
	uint32		n_samples;
	uint32		n_types;		/* values per sample */
	const int64 *values;
	const PprofCompactSamples *compact;
} PgoInput;

/* What a header adds to a state: its fields, strings as state ids. */
typedef struct MergeHeader
{
	int64		time_nanos;
	int64		duration_nanos;
	int64		period;
	uint32		default_sample_type;	/* pprof_merge only */
	uint32		drop_frames;
	uint32		keep_frames;
} MergeHeader;

/* pprof_merge_state.c: interning and accumulating, for both modes */
extern uint32 MergeInternString(MergeState *s, const char *str, uint32 len);
extern uint32 MergeMapString(MergeState *s, InputMap *m, uint32 index);
extern uint32 MergeMapMapping(MergeState *s, InputMap *m, uint32 index);
extern uint32 MergeMapFunction(MergeState *s, InputMap *m, uint32 index);
extern uint32 MergeMapNewLocation(MergeState *s, InputMap *m, uint32 index);
extern uint32 MergeInternMapping(MergeState *s, const uint32 *key, const MappingData *d);
extern void MergeAddHeader(MergeState *s, InputMap *m);
extern void MergeCombineHeader(MergeState *s, const MergeHeader *h);
extern void MergeAddComment(MergeState *s, uint32 sid);
extern void MergeAddSample(MergeState *s, const uint32 *key, uint32 nwords,
						   const int64 *values);
extern uint32 MergeSampleIndex(MergeState *s, const uint32 *key, uint32 nwords);

/*
 * Add n_value_slots values to state sample index (MergeSampleIndex).
 * Summed as pprof sums them (Go int64 arithmetic, which wraps): see
 * MergeAddSample.
 */
static inline void
MergeAddValues(MergeState *s, uint32 index, const int64 *values)
{
	int64	   *acc = &s->values[(Size) index * s->n_value_slots];
	uint32		k;

	for (k = 0; k < s->n_value_slots; k++)
		acc[k] = (int64) ((uint64) acc[k] + (uint64) values[k]);
}

/* pprof_merge_lossless.c: what pprof_merge adds of an input */
extern void MergeLosslessAdd(MergeState *s, InputMap *m);
extern void MergeLosslessPeriodType(MergeState *s, const uint32 *period_type);
extern void MergeLosslessSampleTypes(MergeState *s, const uint32 *types, uint32 n,
									 const uint32 *inputs, const uint64 *before,
									 uint32 *columns);
extern void MergeLosslessMainMapping(MergeState *s, uint32 main, bool has_samples);
extern void MergeLosslessSortLabels(uint32 *labels, uint32 n);
extern uint32 MergeLosslessOutputTypes(const MergeState *s, uint32 *columns,
									   uint32 *default_sample_type);

/* pprof_merge_pgo.c: what pgo_merge adds of an input */
extern void MergePgoInit(MergeState *s);
extern uint32 MergePgoFunctionName(MergeState *s, uint32 name);
extern bool MergePgoUsable(MergeState *s, const PprofView *v, double weight, PgoInput *in);
extern void MergePgoAdd(MergeState *s, InputMap *m, const PgoInput *in);

/* pprof_merge_pgo_stacks.c: pgo_merge's stacks found by their stored hash */
extern void MergePgoStacksInit(MergeState *s);
extern uint32 MergePgoFindStack(MergeState *s, InputMap *m, const PprofCompactSamples *cs,
								uint32 stack);
extern void MergePgoRememberStack(MergeState *s, uint32 hash, uint32 sample);

/* pprof_merge_output.c: the canonical (content) order */
extern int	MergeCompareStrings(const MergeState *s, uint32 a, uint32 b);
extern int	MergeCompareMappingData(const MergeState *s, const MappingData *a,
									const MappingData *b);

#endif							/* PPROF_MERGE_STATE_H */
