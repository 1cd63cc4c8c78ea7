/*-------------------------------------------------------------------------
 *
 * pprof_merge_state.c
 *	  The state of the merge aggregates: add profiles, combine states, and
 *	  write the result as a canonical profile.
 *
 * Two modes share this code:
 *
 * MERGE_LOSSLESS (pprof_merge) follows google/pprof's profile.Merge, which
 * `go tool pprof -proto a b` runs: functions, mappings, locations and
 * samples are identified by content (a location by its mapping, its address
 * relative to the mapping start, and its lines; a sample by its stack and
 * labels), sample values are summed element-wise, and headers combine
 * (durations summed, earliest time, largest period, comments united).
 *
 * MERGE_PGO (pgo_merge) keeps what cmd/compile reads (Go 1.23,
 * cmd/internal/pgo/pprof.go and internal/profile/graph.go): the value of the
 * first sample type that is samples/count or cpu/nanoseconds, and for each
 * sample the lines (function name, start line, line) of its two leaf-most
 * locations. A graph node there is (address, function, line, start line), so
 * what matters of addresses is only which of a sample's leaf-most locations
 * share one; each location gets a synthetic address, the depth at which its
 * address first occurs in the stack, which preserves exactly that. The
 * pprof.pgo_frames leaf-most locations are kept (2 needed, the rest margin).
 * Labels, mappings, file names and columns are dropped. Weights and
 * normalization scale values into fixed point (PGO_FIXED_ONE), so sums are
 * exact integers and do not depend on the order rows arrive in.
 *
 * Output is canonical: strings, functions, mappings, locations and samples
 * are sorted by content and numbered in that order, so the same set of
 * inputs gives the same bytes in any order and under any parallel plan (the
 * Go build cache keys on the profile's bytes). Combining two states is
 * adding one state's canonical form to the other, so the same code path
 * serves rows, parallel workers and serialization.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_merge.h"

#define NO_INDEX		PG_UINT32_MAX
#define MAX_PGO_FRAMES	64

/* pprof rounds mapping sizes up to 4 KiB before comparing them */
#define MAPSIZE_ROUNDING 0x1000

typedef struct MappingData
{
	uint64		start;
	uint64		limit;
	uint64		offset;
	uint32		filename;		/* state string ids */
	uint32		build_id;
	uint32		flags;
} MappingData;

struct MergeState
{
	MergeMode	mode;
	MemoryContext cxt;
	uint32		n_inputs;		/* inputs that contributed */

	/* header */
	bool		have_types;
	uint32		n_sample_types;
	uint32		sample_types[2 * PPROF_MAX_SAMPLE_TYPES];	/* type, unit */
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

	MappingData *mapping_data;
	uint32		mapping_cap;
	uint32		main_mapping;	/* NO_INDEX: none */
	bool		main_has_samples;	/* main_mapping came from an input with samples */

	int64	   *values;			/* n_value_slots per sample */
	uint32		values_cap;		/* samples */
	uint32		n_value_slots;

	/* MERGE_PGO */
	int			pgo_frames;
	bool		pgo_normalize;
	uint32	   *deny;			/* string ids of denylisted names */
	int			n_deny;
	uint32		sid_samples,
				sid_count,
				sid_cpu,
				sid_nanoseconds;
};

/* Per-input translation from the input's indexes to the state's. */
typedef struct InputMap
{
	const PprofView *v;
	uint32	   *strings;
	uint32	   *functions;
	uint32	   *mappings;
	uint32	   *locations;		/* PGO: n_locations * pgo_frames */
} InputMap;

/* Context for the canonical sort of a state. */
typedef struct SortContext
{
	const MergeState *s;
	uint32	   *string_rank;
	uint32	   *function_rank;
	uint32	   *mapping_rank;
	uint32	   *location_rank;
} SortContext;

static uint32 InternString(MergeState *s, const char *str, uint32 len);
static uint32 MapString(MergeState *s, InputMap *m, uint32 index);
static uint32 MapFunction(MergeState *s, InputMap *m, uint32 index);
static uint32 MapMapping(MergeState *s, InputMap *m, uint32 index);
static uint32 MapLocation(MergeState *s, InputMap *m, uint32 index, uint32 synth);
static int	CompareStrings(const MergeState *s, uint32 a, uint32 b);
static int	CompareMappingData(const MergeState *s, const MappingData *a, const MappingData *b);
static void CheckCompatible(MergeState *s, InputMap *m);
static char *DescribeTypes(const MergeState *s, const uint32 *types, uint32 n);
static void AddHeader(MergeState *s, InputMap *m);
static uint32 MinString(const MergeState *s, uint32 a, uint32 b);
static bool HasStartLine(const PprofView *v);
static void EnsureValues(MergeState *s, uint32 index);
static int	CompareStringIds(const void *a, const void *b, void *arg);
static int	CompareFunctions(const void *a, const void *b, void *arg);
static int	CompareMappings(const void *a, const void *b, void *arg);
static int	CompareLocations(const void *a, const void *b, void *arg);
static int	CompareSamples(const void *a, const void *b, void *arg);
static int	CompareLabels(const void *a, const void *b);
static uint64 LocationAddress(const MergeState *s, const uint32 *key);
static uint32 RankUsed(const bool *used, uint32 n, qsort_arg_comparator cmp, SortContext *c,
					   uint32 **of_rank, uint32 **rank);

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

/*
 * The lines of a location key. LOSSLESS keys are
 *	 [mapping + 1, address (2 words), is_folded, n_lines, {function, line (2), column (2)}*]
 * and PGO keys
 *	 [synthetic address, n_lines, {function, line (2)}*].
 */
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

/*
 * A new, empty state in cxt (the aggregate context). The pgo_merge settings
 * are read once here, so one merge never mixes two settings.
 */
MergeState *
MergeStateCreate(MergeMode mode, MemoryContext cxt)
{
	MergeState *s = MemoryContextAllocZero(cxt, sizeof(MergeState));

	s->mode = mode;
	s->cxt = cxt;
	s->main_mapping = NO_INDEX;
	InternerInit(&s->strings, cxt, 1024);
	InternerInit(&s->comments, cxt, 8);
	InternerInit(&s->functions, cxt, 1024);
	InternerInit(&s->mappings, cxt, 8);
	InternerInit(&s->locations, cxt, 1024);
	InternerInit(&s->samples, cxt, 1024);
	s->mapping_cap = 8;
	s->mapping_data = MemoryContextAlloc(cxt, sizeof(MappingData) * s->mapping_cap);
	s->values_cap = 1024;

	/* string id 0 is always "", as in pprof */
	InternString(s, "", 0);

	if (mode == MERGE_PGO)
	{
		s->n_value_slots = 1;
		s->values = MemoryContextAllocHuge(cxt, sizeof(int64) * s->values_cap);
		s->pgo_frames = pprof_pgo_frames;
		s->pgo_normalize = pprof_pgo_normalize;
		s->sid_samples = InternString(s, "samples", 7);
		s->sid_count = InternString(s, "count", 5);
		s->sid_cpu = InternString(s, "cpu", 3);
		s->sid_nanoseconds = InternString(s, "nanoseconds", 11);
		if (pprof_pgo_denylist && pprof_pgo_denylist[0] != '\0')
		{
			char	   *list = pstrdup(pprof_pgo_denylist);
			char	   *tok;
			char	   *save = NULL;
			int			cap = 8;

			s->deny = MemoryContextAlloc(cxt, sizeof(uint32) * cap);
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			{
				char	   *end;

				/* names are trimmed: "a, b" lists a and b */
				while (*tok == ' ' || *tok == '\t')
					tok++;
				end = tok + strlen(tok);
				while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
					*--end = '\0';
				if (*tok == '\0')
					continue;
				if (s->n_deny == cap)
				{
					cap *= 2;
					s->deny = repalloc(s->deny, sizeof(uint32) * cap);
				}
				s->deny[s->n_deny++] = InternString(s, tok, strlen(tok));
			}
			pfree(list);
		}
	}
	return s;
}

MergeMode
MergeStateMode(const MergeState *s)
{
	return s->mode;
}

/* True until an input contributed anything. */
bool
MergeStateIsEmpty(const MergeState *s)
{
	return s->n_inputs == 0;
}

static uint32
InternString(MergeState *s, const char *str, uint32 len)
{
	bool		found;

	return InternerAdd(&s->strings, str, len, &found);
}

static uint32
MapString(MergeState *s, InputMap *m, uint32 index)
{
	if (m->strings[index] == NO_INDEX)
		m->strings[index] = InternString(s, PprofString(m->v, index),
										 PprofStringLength(m->v, index));
	return m->strings[index];
}

/* Content order of two state strings (bytes, shorter first on a tie). */
static int
CompareStrings(const MergeState *s, uint32 a, uint32 b)
{
	uint32		la,
				lb;
	const char *sa,
			   *sb;
	int			c;

	if (a == b)
		return 0;
	sa = InternerKey(&s->strings, a, &la);
	sb = InternerKey(&s->strings, b, &lb);
	c = memcmp(sa, sb, Min(la, lb));
	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb ? 1 : 0;
}

/* The smaller non-empty of two strings, so a merge keeps the same one in any order. */
static uint32
MinString(const MergeState *s, uint32 a, uint32 b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return CompareStrings(s, a, b) <= 0 ? a : b;
}

static uint32
MapFunction(MergeState *s, InputMap *m, uint32 index)
{
	const PprofFunction *f;
	uint32		key[5];
	bool		found;

	if (m->functions[index] != NO_INDEX)
		return m->functions[index];

	f = &m->v->functions[index];
	key[0] = MapString(s, m, f->name);
	if (s->mode == MERGE_PGO)
	{
		int			i;

		for (i = 0; i < s->n_deny; i++)
		{
			if (s->deny[i] == key[0])
			{
				/*
				 * renamed, so the compiler matches no function to it; the
				 * name equals a denylist entry, so it holds no NUL and %s
				 * copies all of it
				 */
				const char *name = PprofString(m->v, f->name);
				char	   *renamed = psprintf("pgo-denylisted:%s", name);

				key[0] = InternString(s, renamed, strlen(renamed));
				pfree(renamed);
				break;
			}
		}
		key[1] = 0;
		key[2] = 0;
	}
	else
	{
		key[1] = MapString(s, m, f->system_name);
		key[2] = MapString(s, m, f->filename);
	}
	PutWord64(&key[3], (uint64) f->start_line);
	m->functions[index] = InternerAdd(&s->functions, key, sizeof(key), &found);
	return m->functions[index];
}

static int
CompareMappingData(const MergeState *s, const MappingData *a, const MappingData *b)
{
	int			c;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->limit != b->limit)
		return a->limit < b->limit ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	if ((c = CompareStrings(s, a->filename, b->filename)) != 0)
		return c;
	if ((c = CompareStrings(s, a->build_id, b->build_id)) != 0)
		return c;
	return a->flags < b->flags ? -1 : a->flags > b->flags ? 1 : 0;
}

/*
 * A mapping is identified as pprof does: size rounded up to 4 KiB, file
 * offset, and build ID (else file name). Of the mappings that match, the
 * smallest by content represents them, with the union of their flags, so
 * the result is order-independent.
 */
static uint32
MapMapping(MergeState *s, InputMap *m, uint32 index)
{
	const PprofMapping *pm;
	MappingData d;
	uint32		key[5];
	uint64		size;
	uint32		result;
	bool		found;

	if (m->mappings[index] != NO_INDEX)
		return m->mappings[index];

	pm = &m->v->mappings[index];
	d.start = pm->memory_start;
	d.limit = pm->memory_limit;
	d.offset = pm->file_offset;
	d.filename = MapString(s, m, pm->filename);
	d.build_id = MapString(s, m, pm->build_id);
	d.flags = pm->flags;

	size = pm->memory_limit - pm->memory_start;
	size = size + MAPSIZE_ROUNDING - 1;
	size = size - (size % MAPSIZE_ROUNDING);
	PutWord64(&key[0], size);
	PutWord64(&key[2], pm->file_offset);
	key[4] = d.build_id != 0 ? d.build_id : d.filename;

	result = InternerAdd(&s->mappings, key, sizeof(key), &found);
	if (!found)
	{
		if (result == s->mapping_cap)
		{
			s->mapping_cap *= 2;
			s->mapping_data = repalloc(s->mapping_data, sizeof(MappingData) * s->mapping_cap);
		}
		s->mapping_data[result] = d;
	}
	else
	{
		/* what any copy of the binary was symbolized with, in any order */
		uint32		flags = s->mapping_data[result].flags | d.flags;

		if (CompareMappingData(s, &d, &s->mapping_data[result]) < 0)
			s->mapping_data[result] = d;
		s->mapping_data[result].flags = flags;
	}

	m->mappings[index] = result;
	return result;
}

/*
 * State index of input location index. LOSSLESS: the key holds the mapping
 * and the address relative to its start (pprof normalizes for ASLR). PGO:
 * the key holds the synthetic address synth instead, and no mapping.
 */
static uint32
MapLocation(MergeState *s, InputMap *m, uint32 index, uint32 synth)
{
	const PprofLocation *l = &m->v->locations[index];
	uint32		slot = s->mode == MERGE_PGO ? index * s->pgo_frames + synth : index;
	uint32		stack_key[8 + 5 * 64];
	uint32	   *key = stack_key;
	uint32		nwords;
	uint32		k;
	uint32		w = 0;
	bool		found;

	if (m->locations[slot] != NO_INDEX)
		return m->locations[slot];

	nwords = 5 + l->n_lines * 5;
	if (nwords > lengthof(stack_key))
		key = palloc(sizeof(uint32) * nwords);

	/* the key layouts are those LocationKeyLines() reads */
	if (s->mode == MERGE_PGO)
		key[w++] = synth;
	else
	{
		uint64		addr = l->address;
		uint32		mapping = 0;

		if (l->mapping != PPROF_NO_MAPPING)
		{
			mapping = MapMapping(s, m, l->mapping - 1) + 1;
			addr -= m->v->mappings[l->mapping - 1].memory_start;
		}
		key[w++] = mapping;
		PutWord64(&key[w], addr);
		w += 2;
		key[w++] = l->is_folded;
	}
	key[w++] = l->n_lines;
	for (k = 0; k < l->n_lines; k++)
	{
		const PprofLine *line = &m->v->lines[l->first_line + k];

		key[w++] = MapFunction(s, m, line->function);
		PutWord64(&key[w], (uint64) line->line);
		w += 2;
		/* PGO drops columns (see the file header) */
		if (s->mode == MERGE_LOSSLESS)
		{
			PutWord64(&key[w], (uint64) line->column);
			w += 2;
		}
	}

	m->locations[slot] = InternerAdd(&s->locations, key, w * sizeof(uint32), &found);
	if (key != stack_key)
		pfree(key);
	return m->locations[slot];
}

static char *
DescribeTypes(const MergeState *s, const uint32 *types, uint32 n)
{
	StringInfoData buf;
	uint32		i;

	initStringInfo(&buf);
	for (i = 0; i < 2 * n; i++)
	{
		uint32		len;
		const char *key = InternerKey(&s->strings, types[i], &len);
		char	   *str = palloc(len + 1);

		/* interned strings are bytes, unterminated; the detail is text */
		memcpy(str, key, len);
		str[len] = '\0';
		if (i > 0)
			appendStringInfoString(&buf, i % 2 == 1 ? "/" : ", ");
		appendStringInfoString(&buf, PprofBytesToServer(str, len));
	}
	return buf.data;
}

/* pprof_merge requires equal sample types and period type, as pprof does. */
static void
CheckCompatible(MergeState *s, InputMap *m)
{
	const Pprof *h = m->v->hdr;
	uint32		types[2 * PPROF_MAX_SAMPLE_TYPES];
	uint32		period_type[2];
	uint32		i;

	for (i = 0; i < h->n_sample_types; i++)
	{
		types[2 * i] = MapString(s, m, m->v->sample_types[i].type);
		types[2 * i + 1] = MapString(s, m, m->v->sample_types[i].unit);
	}
	period_type[0] = MapString(s, m, h->period_type.type);
	period_type[1] = MapString(s, m, h->period_type.unit);

	if (!s->have_types)
	{
		s->have_types = true;
		s->n_sample_types = h->n_sample_types;
		memcpy(s->sample_types, types, sizeof(uint32) * 2 * h->n_sample_types);
		s->period_type[0] = period_type[0];
		s->period_type[1] = period_type[1];
		s->n_value_slots = h->n_sample_types;
		s->values = MemoryContextAllocHuge(s->cxt, sizeof(int64) * s->values_cap *
										   Max(s->n_value_slots, 1));
		return;
	}

	if (h->n_sample_types != s->n_sample_types ||
		memcmp(types, s->sample_types, sizeof(uint32) * 2 * h->n_sample_types) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot merge pprof profiles with different sample types"),
				 errdetail("One profile has sample types [%s], another has [%s].",
						   DescribeTypes(s, s->sample_types, s->n_sample_types),
						   DescribeTypes(s, types, h->n_sample_types)),
				 errhint("Merge profiles of one kind (CPU with CPU, heap with heap), or use pgo_merge, which keeps only the CPU profiles a build can use.")));

	if (memcmp(period_type, s->period_type, sizeof(period_type)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot merge pprof profiles with different period types"),
				 errdetail("One profile has period type %s, another has %s.",
						   DescribeTypes(s, s->period_type, 1),
						   DescribeTypes(s, period_type, 1))));
}

/* Header fields combine the same way whatever the order of inputs. */
static void
AddHeader(MergeState *s, InputMap *m)
{
	const Pprof *h = m->v->hdr;
	uint32		i;

	if (h->time_nanos != 0 && (s->time_nanos == 0 || h->time_nanos < s->time_nanos))
		s->time_nanos = h->time_nanos;
	if (pg_add_s64_overflow(s->duration_nanos, h->duration_nanos, &s->duration_nanos))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("sum of profile durations is out of range")));
	if (h->period > s->period)
		s->period = h->period;

	if (s->mode == MERGE_PGO)
		return;

	for (i = 0; i < h->n_comments; i++)
	{
		uint32		sid = MapString(s, m, m->v->comments[i]);
		bool		found;

		InternerAdd(&s->comments, &sid, sizeof(sid), &found);
	}
	s->default_sample_type = MinString(s, s->default_sample_type,
									   MapString(s, m, h->default_sample_type));
	s->drop_frames = MinString(s, s->drop_frames, MapString(s, m, h->drop_frames));
	s->keep_frames = MinString(s, s->keep_frames, MapString(s, m, h->keep_frames));
}

/* cmd/compile rejects a profile in which no function has a start line. */
static bool
HasStartLine(const PprofView *v)
{
	uint32		i;

	for (i = 0; i < v->hdr->n_functions; i++)
		if (v->functions[i].start_line != 0)
			return true;
	return false;
}

static void
EnsureValues(MergeState *s, uint32 index)
{
	if (index < s->values_cap)
		return;
	while (index >= s->values_cap)
		s->values_cap *= 2;
	s->values = repalloc_huge(s->values, sizeof(int64) * s->values_cap *
							  Max(s->n_value_slots, 1));
}

/*
 * Add one profile, scaled by weight (pgo_merge only; 1 otherwise). A
 * serialized partial state (PPROF_FLAG_PGO_PARTIAL) is added as is.
 */
void
MergeStateAdd(MergeState *s, const Pprof *pprof, double weight)
{
	PprofView	v;
	InputMap	m;
	MemoryContext tmp,
				old;
	const Pprof *h;
	bool		partial;
	int			value_index = 0;
	double		scale = 1.0;
	uint32		i;
	uint32	   *key;
	int64	   *sample_values;

	PprofOpen(pprof, &v);
	h = v.hdr;
	partial = (h->flags & PPROF_FLAG_PGO_PARTIAL) != 0;

	if (partial != (s->mode == MERGE_PGO && partial))
		elog(ERROR, "partial pgo_merge state given to pprof_merge");

	if (s->mode == MERGE_PGO && !partial)
	{
		/* skip what the compiler cannot use instead of failing the build */
		value_index = PprofPgoSampleIndex(&v);
		if (value_index < 0 || h->n_samples == 0 || !HasStartLine(&v) || weight == 0)
			return;

		/* project to samples/count */
		{
			const char *t = PprofString(&v, v.sample_types[value_index].type);

			if (strcmp(t, "cpu") == 0)
				scale = 1.0 / (h->period > 0 ? (double) h->period : 1e7);
		}
		if (s->pgo_normalize)
		{
			double		seconds = h->duration_nanos / 1e9;

			/* without a duration, assume the profile was one busy core */
			if (seconds <= 0)
			{
				double		total = 0;

				for (i = 0; i < h->n_samples; i++)
					total += (double) v.values[(Size) i * h->n_sample_types + value_index] * scale;
				seconds = total * (h->period > 0 ? h->period : 1e7) / 1e9;
			}
			if (seconds > 0)
				scale *= 60.0 / seconds;
		}
		scale *= weight * PGO_FIXED_ONE;
	}

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof merge input",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);

	m.v = &v;
	m.strings = palloc(sizeof(uint32) * Max(h->n_strings, 1));
	memset(m.strings, 0xff, sizeof(uint32) * h->n_strings);
	m.functions = palloc(sizeof(uint32) * Max(h->n_functions, 1));
	memset(m.functions, 0xff, sizeof(uint32) * h->n_functions);
	m.mappings = palloc(sizeof(uint32) * Max(h->n_mappings, 1));
	memset(m.mappings, 0xff, sizeof(uint32) * h->n_mappings);
	{
		Size		nloc = (Size) Max(h->n_locations, 1) *
		(s->mode == MERGE_PGO ? s->pgo_frames : 1);

		m.locations = MemoryContextAllocHuge(tmp, sizeof(uint32) * nloc);
		memset(m.locations, 0xff, sizeof(uint32) * nloc);
	}

	if (s->mode == MERGE_LOSSLESS)
	{
		CheckCompatible(s, &m);
		/*
		 * pprof keeps the first input's first mapping, the main binary, even
		 * if no sample refers to it. To stay order-independent we keep the
		 * smallest by content of the inputs' first mappings, preferring
		 * inputs that have samples: an empty profile from another build must
		 * not name the main binary of a merge of real ones.
		 */
		if (h->n_mappings > 0)
		{
			uint32		main = MapMapping(s, &m, 0);
			bool		has_samples = false;

			for (i = 0; i < h->n_samples * h->n_sample_types && !has_samples; i++)
				has_samples = v.values[i] != 0;
			if (s->main_mapping == NO_INDEX ||
				(has_samples && !s->main_has_samples) ||
				(has_samples == s->main_has_samples &&
				 CompareMappingData(s, &s->mapping_data[main],
									&s->mapping_data[s->main_mapping]) < 0))
			{
				s->main_mapping = main;
				s->main_has_samples = has_samples;
			}
		}
	}
	AddHeader(s, &m);

	key = palloc(sizeof(uint32) * (2 + PPROF_MAX_STACK_DEPTH + 5 * PPROF_MAX_LABELS_PER_SAMPLE));
	sample_values = palloc(sizeof(int64) * Max(s->n_value_slots, 1));

	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *smp = &v.samples[i];
		const int64 *vals = v.values + (Size) i * h->n_sample_types;
		uint32		w = 0;
		uint32		depth = smp->depth;
		uint32		k;
		uint32		index;
		bool		found;
		bool		nonzero = false;

		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();

		if (s->mode == MERGE_PGO)
		{
			int64		raw = vals[value_index];
			uint64		addrs[MAX_PGO_FRAMES];

			if (raw == 0)
				continue;
			if (partial)
				sample_values[0] = raw;
			else
			{
				double		x = (double) raw * scale;

				if (!(fabs(x) < 9.0e18))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("pgo_merge weight out of range"),
							 errdetail("A sample value of %lld times the weight does not fit in 64 bits.",
									   (long long) raw)));
				sample_values[0] = llround(x);
				/* rounding must never drop a sample that carried weight */
				if (sample_values[0] == 0)
					sample_values[0] = x > 0 ? 1 : -1;
			}

			depth = Min(depth, (uint32) s->pgo_frames);
			key[w++] = depth;
			for (k = 0; k < depth; k++)
			{
				uint32		li = v.stack[smp->first_location + k];
				uint32		synth = k;
				uint32		j;

				addrs[k] = v.locations[li].address;
				for (j = 0; j < k; j++)
				{
					if (addrs[j] == addrs[k])
					{
						synth = j;
						break;
					}
				}
				key[w++] = MapLocation(s, &m, li, synth);
			}
		}
		else
		{
			uint32		nl = smp->n_labels;
			uint32	   *labels;

			for (k = 0; k < s->n_value_slots; k++)
			{
				sample_values[k] = vals[k];
				nonzero |= vals[k] != 0;
			}
			if (!nonzero)
				continue;

			key[w++] = depth;
			for (k = 0; k < depth; k++)
				key[w++] = MapLocation(s, &m, v.stack[smp->first_location + k], 0);
			key[w++] = nl;
			labels = &key[w];
			for (k = 0; k < nl; k++)
			{
				const PprofLabel *lab = &v.labels[smp->first_label + k];

				key[w++] = MapString(s, &m, lab->key);
				key[w++] = MapString(s, &m, lab->str);
				PutWord64(&key[w], (uint64) lab->num);
				w += 2;
				key[w++] = MapString(s, &m, lab->num_unit);
			}
			/* label order does not identify a sample */
			if (nl > 1)
				qsort(labels, nl, sizeof(uint32) * 5, CompareLabels);
		}

		index = InternerAdd(&s->samples, key, w * sizeof(uint32), &found);
		EnsureValues(s, index);
		if (!found)
			memset(&s->values[(Size) index * s->n_value_slots], 0,
				   sizeof(int64) * s->n_value_slots);
		for (k = 0; k < s->n_value_slots; k++)
		{
			int64	   *acc = &s->values[(Size) index * s->n_value_slots + k];

			if (pg_add_s64_overflow(*acc, sample_values[k], acc))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("sum of sample values is out of range in pprof merge")));
		}
	}

	s->n_inputs++;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
}

/* Combine: add other's canonical form; one code path for rows and states. */
void
MergeStateAddState(MergeState *s, const MergeState *other)
{
	Pprof	   *p;

	if (other->n_inputs == 0)
		return;
	p = MergeStateToPprof(other, true);
	MergeStateAdd(s, p, 1.0);
	/* a state counts as one input, but it may stand for many */
	s->n_inputs += other->n_inputs - 1;
	pfree(p);
}

/* Labels in a sample key: 5 words each, ordered as unsigned words. */
static int
CompareLabels(const void *a, const void *b)
{
	const uint32 *x = a;
	const uint32 *y = b;
	int			i;

	for (i = 0; i < 5; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static int
CompareStringIds(const void *a, const void *b, void *arg)
{
	const SortContext *c = arg;

	return CompareStrings(c->s, *(const uint32 *) a, *(const uint32 *) b);
}

#define CMP(x, y) do { if ((x) != (y)) return (x) < (y) ? -1 : 1; } while (0)

static int
CompareFunctions(const void *a, const void *b, void *arg)
{
	const SortContext *c = arg;
	const uint32 *ka = KeyWords(&c->s->functions, *(const uint32 *) a);
	const uint32 *kb = KeyWords(&c->s->functions, *(const uint32 *) b);

	CMP(c->string_rank[ka[0]], c->string_rank[kb[0]]);
	CMP(c->string_rank[ka[1]], c->string_rank[kb[1]]);
	CMP(c->string_rank[ka[2]], c->string_rank[kb[2]]);
	CMP((int64) Word64(&ka[3]), (int64) Word64(&kb[3]));
	return 0;
}

static int
CompareMappings(const void *a, const void *b, void *arg)
{
	const SortContext *c = arg;
	uint32		ma = *(const uint32 *) a;
	uint32		mb = *(const uint32 *) b;

	/* the main binary first, as pprof expects */
	CMP(ma != c->s->main_mapping, mb != c->s->main_mapping);
	return CompareMappingData(c->s, &c->s->mapping_data[ma], &c->s->mapping_data[mb]);
}

/* Absolute address of a state location (LOSSLESS) or its synthetic one. */
static uint64
LocationAddress(const MergeState *s, const uint32 *key)
{
	if (s->mode == MERGE_PGO)
		return key[0];
	if (key[0] == 0)
		return Word64(&key[1]);
	return s->mapping_data[key[0] - 1].start + Word64(&key[1]);
}

static int
CompareLocations(const void *a, const void *b, void *arg)
{
	const SortContext *c = arg;
	const MergeState *s = c->s;
	const uint32 *ka = KeyWords(&s->locations, *(const uint32 *) a);
	const uint32 *kb = KeyWords(&s->locations, *(const uint32 *) b);
	uint32		i,
				na,
				nb,
				stride;
	const uint32 *lines_a = LocationKeyLines(s, ka, &na, &stride);
	const uint32 *lines_b = LocationKeyLines(s, kb, &nb, &stride);

	if (s->mode == MERGE_LOSSLESS)
	{
		uint32		ra = ka[0] ? c->mapping_rank[ka[0] - 1] + 1 : 0;
		uint32		rb = kb[0] ? c->mapping_rank[kb[0] - 1] + 1 : 0;

		CMP(ra, rb);
	}
	CMP(LocationAddress(s, ka), LocationAddress(s, kb));
	if (s->mode == MERGE_LOSSLESS)
		CMP(ka[3], kb[3]);
	for (i = 0; i < Min(na, nb); i++)
	{
		const uint32 *x = &lines_a[i * stride];
		const uint32 *y = &lines_b[i * stride];

		CMP(c->function_rank[x[0]], c->function_rank[y[0]]);
		CMP((int64) Word64(&x[1]), (int64) Word64(&y[1]));
		if (stride == 5)
			CMP((int64) Word64(&x[3]), (int64) Word64(&y[3]));
	}
	CMP(na, nb);
	return 0;
}

static int
CompareSamples(const void *a, const void *b, void *arg)
{
	const SortContext *c = arg;
	const MergeState *s = c->s;
	const uint32 *ka = KeyWords(&s->samples, *(const uint32 *) a);
	const uint32 *kb = KeyWords(&s->samples, *(const uint32 *) b);
	uint32		n = Min(ka[0], kb[0]);
	uint32		i;

	for (i = 0; i < n; i++)
		CMP(c->location_rank[ka[1 + i]], c->location_rank[kb[1 + i]]);
	CMP(ka[0], kb[0]);
	if (s->mode == MERGE_LOSSLESS)
	{
		const uint32 *xa = &ka[1 + ka[0]];
		const uint32 *xb = &kb[1 + kb[0]];
		uint32		nl = Min(xa[0], xb[0]);

		/* labels compared by content (string ranks); keys sort labels by id */
		for (i = 0; i < nl; i++)
		{
			const uint32 *p = &xa[1 + 5 * i];
			const uint32 *q = &xb[1 + 5 * i];

			CMP(c->string_rank[p[0]], c->string_rank[q[0]]);
			CMP(c->string_rank[p[1]], c->string_rank[q[1]]);
			CMP((int64) Word64(&p[2]), (int64) Word64(&q[2]));
			CMP(c->string_rank[p[4]], c->string_rank[q[4]]);
		}
		CMP(xa[0], xb[0]);
	}
	return 0;
}

/*
 * The canonical order of the used entries of one kind (the indexes i < n
 * with used[i]): *of_rank gets them sorted by cmp, *rank maps each back to
 * its place in that order. Returns how many are used. Allocates in the
 * current memory context.
 */
static uint32
RankUsed(const bool *used, uint32 n, qsort_arg_comparator cmp, SortContext *c,
		 uint32 **of_rank, uint32 **rank)
{
	uint32		n_used = 0;
	uint32	   *order;
	uint32	   *rank_of;
	uint32		i;

	for (i = 0; i < n; i++)
		n_used += used[i];
	order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n_used, 1));
	for (i = 0, n_used = 0; i < n; i++)
		if (used[i])
			order[n_used++] = i;
	/* ranks of this kind are set after the sort: cmp reads only earlier kinds' */
	qsort_arg(order, n_used, sizeof(uint32), cmp, c);
	rank_of = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	for (i = 0; i < n_used; i++)
		rank_of[order[i]] = i;
	*of_rank = order;
	*rank = rank_of;
	return n_used;
}

/*
 * Write the state as a canonical profile. partial (pgo_merge only) keeps
 * the fixed-point weights as the single sample type, for combining states.
 */
Pprof *
MergeStateToPprof(const MergeState *s, bool partial)
{
	SortContext c;
	MemoryContext tmp,
				old;
	uint32		n_strings = s->strings.n;
	bool	   *str_used;
	bool	   *fn_used;
	bool	   *map_used;
	bool	   *loc_used;
	uint32	   *smp_order;
	uint32	   *order;
	uint32		n_out_samples = 0;
	uint32		n_out_locations,
				n_out_functions,
				n_out_mappings,
				n_out_strings,
				n_out_lines = 0,
				n_out_stack = 0,
				n_out_labels = 0,
				n_out_comments = s->mode == MERGE_LOSSLESS ? s->comments.n : 0;
	uint32		n_types;
	uint32		types[2 * PPROF_MAX_SAMPLE_TYPES];
	uint32		period_type[2];
	uint32	   *loc_of_rank;
	uint32	   *fn_of_rank;
	uint32	   *map_of_rank;
	uint32	   *str_of_rank;
	Pprof		hdr;
	PprofSections sec;
	Pprof	   *result;
	PprofView	out;
	uint32		i,
				k;
	Size		str_bytes = 0;
	bool		pgo = s->mode == MERGE_PGO;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof merge output",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);

	/* sample types of the output */
	if (pgo)
	{
		if (partial)
		{
			n_types = 1;
			types[0] = s->sid_samples;
			types[1] = s->sid_count;
		}
		else
		{
			n_types = 2;
			types[0] = s->sid_samples;
			types[1] = s->sid_count;
			types[2] = s->sid_cpu;
			types[3] = s->sid_nanoseconds;
		}
		period_type[0] = s->sid_cpu;
		period_type[1] = s->sid_nanoseconds;
	}
	else
	{
		n_types = s->n_sample_types;
		memcpy(types, s->sample_types, sizeof(uint32) * 2 * n_types);
		period_type[0] = s->period_type[0];
		period_type[1] = s->period_type[1];
	}

	/* which samples survive: those with a non-zero value */
	smp_order = MemoryContextAllocHuge(tmp, sizeof(uint32) * Max(s->samples.n, 1));
	loc_used = MemoryContextAllocExtended(tmp, Max(s->locations.n, 1),
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	fn_used = MemoryContextAllocExtended(tmp, Max(s->functions.n, 1),
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	map_used = palloc0(Max(s->mappings.n, 1));
	str_used = MemoryContextAllocExtended(tmp, Max(n_strings, 1),
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	str_used[0] = true;

	for (i = 0; i < s->samples.n; i++)
	{
		const uint32 *key;
		bool		nonzero = false;

		for (k = 0; k < s->n_value_slots; k++)
			nonzero |= s->values[(Size) i * s->n_value_slots + k] != 0;
		if (!nonzero)
			continue;
		smp_order[n_out_samples++] = i;
		key = KeyWords(&s->samples, i);
		n_out_stack += key[0];
		for (k = 0; k < key[0]; k++)
			loc_used[key[1 + k]] = true;
		if (!pgo)
		{
			const uint32 *lab = &key[1 + key[0]];

			n_out_labels += lab[0];
			for (k = 0; k < lab[0]; k++)
			{
				str_used[lab[1 + 5 * k]] = true;
				str_used[lab[1 + 5 * k + 1]] = true;
				str_used[lab[1 + 5 * k + 4]] = true;
			}
		}
	}
	for (i = 0; i < s->locations.n; i++)
	{
		uint32		nl,
					stride;
		const uint32 *key;
		const uint32 *lines;

		if (!loc_used[i])
			continue;
		key = KeyWords(&s->locations, i);
		if (!pgo && key[0] != 0)
			map_used[key[0] - 1] = true;
		lines = LocationKeyLines(s, key, &nl, &stride);
		n_out_lines += nl;
		for (k = 0; k < nl; k++)
			fn_used[lines[k * stride]] = true;
	}
	if (!pgo && s->main_mapping != NO_INDEX)
		map_used[s->main_mapping] = true;
	for (i = 0; i < s->functions.n; i++)
	{
		const uint32 *key;

		if (!fn_used[i])
			continue;
		key = KeyWords(&s->functions, i);
		str_used[key[0]] = str_used[key[1]] = str_used[key[2]] = true;
	}
	for (i = 0; i < s->mappings.n; i++)
	{
		if (!map_used[i])
			continue;
		str_used[s->mapping_data[i].filename] = true;
		str_used[s->mapping_data[i].build_id] = true;
	}
	for (i = 0; i < n_types; i++)
		str_used[types[2 * i]] = str_used[types[2 * i + 1]] = true;
	str_used[period_type[0]] = str_used[period_type[1]] = true;
	if (!pgo)
	{
		for (i = 0; i < s->comments.n; i++)
			str_used[*KeyWords(&s->comments, i)] = true;
		str_used[s->default_sample_type] = true;
		str_used[s->drop_frames] = true;
		str_used[s->keep_frames] = true;
	}

	/* canonical order: strings by content, then everything by content */
	c.s = s;
	n_out_strings = RankUsed(str_used, n_strings, CompareStringIds, &c,
							 &str_of_rank, &c.string_rank);
	for (i = 0; i < n_out_strings; i++)
	{
		uint32		len;

		InternerKey(&s->strings, str_of_rank[i], &len);
		str_bytes += len + 1;
	}
	n_out_functions = RankUsed(fn_used, s->functions.n, CompareFunctions, &c,
							   &fn_of_rank, &c.function_rank);
	n_out_mappings = RankUsed(map_used, s->mappings.n, CompareMappings, &c,
							  &map_of_rank, &c.mapping_rank);
	n_out_locations = RankUsed(loc_used, s->locations.n, CompareLocations, &c,
							   &loc_of_rank, &c.location_rank);

	qsort_arg(smp_order, n_out_samples, sizeof(uint32), CompareSamples, &c);
	CHECK_FOR_INTERRUPTS();

	/* the layout */
	memset(&hdr, 0, sizeof(hdr));
	hdr.n_sample_types = n_types;
	hdr.n_samples = n_out_samples;
	hdr.n_mappings = n_out_mappings;
	hdr.n_locations = n_out_locations;
	hdr.n_lines = n_out_lines;
	hdr.n_functions = n_out_functions;
	hdr.n_labels = n_out_labels;
	hdr.n_stack = n_out_stack;
	hdr.n_comments = n_out_comments;
	hdr.n_strings = n_out_strings;
	if (str_bytes > PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("merged pprof profile is too large")));
	hdr.str_bytes = (uint32) str_bytes;
	PprofComputeSections(&hdr, &sec);
	if (sec.total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("merged pprof profile is too large"),
				 errdetail("It would take %zu bytes; the limit is %zu.",
						   sec.total, (Size) MaxAllocSize)));

	MemoryContextSwitchTo(old);
	result = palloc0(sec.total);
	memcpy(result, &hdr, sizeof(hdr));
	SET_VARSIZE(result, sec.total);
	result->version = PPROF_LAYOUT_VERSION;
	result->flags = (pgo && partial) ? PPROF_FLAG_PGO_PARTIAL : 0;
	result->time_nanos = s->time_nanos;
	result->duration_nanos = s->duration_nanos;
	result->period = s->period;
	result->period_type.type = c.string_rank[period_type[0]];
	result->period_type.unit = c.string_rank[period_type[1]];
	if (!pgo)
	{
		result->default_sample_type = c.string_rank[s->default_sample_type];
		result->drop_frames = c.string_rank[s->drop_frames];
		result->keep_frames = c.string_rank[s->keep_frames];
	}
	PprofOpen(result, &out);

	{
		PprofValueType *st = unconstify(PprofValueType *, out.sample_types);
		uint32	   *offs = unconstify(uint32 *, out.str_offsets);
		char	   *data = unconstify(char *, out.str_data);
		uint32	   *comments = unconstify(uint32 *, out.comments);
		PprofFunction *fns = unconstify(PprofFunction *, out.functions);
		PprofMapping *maps = unconstify(PprofMapping *, out.mappings);
		PprofLocation *locs = unconstify(PprofLocation *, out.locations);
		PprofLine  *lines = unconstify(PprofLine *, out.lines);
		PprofSample *smps = unconstify(PprofSample *, out.samples);
		PprofLabel *labs = unconstify(PprofLabel *, out.labels);
		uint32	   *stack = unconstify(uint32 *, out.stack);
		int64	   *vals = unconstify(int64 *, out.values);
		uint32		pos = 0;
		uint32		line_pos = 0,
					stack_pos = 0,
					label_pos = 0;

		for (i = 0; i < n_types; i++)
		{
			st[i].type = c.string_rank[types[2 * i]];
			st[i].unit = c.string_rank[types[2 * i + 1]];
		}

		for (i = 0; i < n_out_strings; i++)
		{
			uint32		len;
			const char *str = InternerKey(&s->strings, str_of_rank[i], &len);

			offs[i] = pos;
			memcpy(data + pos, str, len);
			pos += len;
			data[pos++] = '\0';
		}
		offs[n_out_strings] = pos;

		if (!pgo)
		{
			order = palloc(sizeof(uint32) * Max(n_out_comments, 1));
			for (i = 0; i < n_out_comments; i++)
				order[i] = *KeyWords(&s->comments, i);
			qsort_arg(order, n_out_comments, sizeof(uint32), CompareStringIds, &c);
			for (i = 0; i < n_out_comments; i++)
				comments[i] = c.string_rank[order[i]];
			pfree(order);
		}

		for (i = 0; i < n_out_functions; i++)
		{
			const uint32 *key = KeyWords(&s->functions, fn_of_rank[i]);

			fns[i].id = i + 1;
			fns[i].name = c.string_rank[key[0]];
			fns[i].system_name = c.string_rank[key[1]];
			fns[i].filename = c.string_rank[key[2]];
			fns[i].start_line = (int64) Word64(&key[3]);
		}

		for (i = 0; i < n_out_mappings; i++)
		{
			const MappingData *d = &s->mapping_data[map_of_rank[i]];

			maps[i].id = i + 1;
			maps[i].memory_start = d->start;
			maps[i].memory_limit = d->limit;
			maps[i].file_offset = d->offset;
			maps[i].filename = c.string_rank[d->filename];
			maps[i].build_id = c.string_rank[d->build_id];
			maps[i].flags = d->flags;
		}

		for (i = 0; i < n_out_locations; i++)
		{
			uint32		nl,
						stride;
			const uint32 *key = KeyWords(&s->locations, loc_of_rank[i]);
			const uint32 *key_lines = LocationKeyLines(s, key, &nl, &stride);

			locs[i].id = i + 1;
			locs[i].address = LocationAddress(s, key);
			locs[i].mapping = (!pgo && key[0] != 0) ? c.mapping_rank[key[0] - 1] + 1 : PPROF_NO_MAPPING;
			locs[i].is_folded = pgo ? 0 : key[3];
			locs[i].first_line = line_pos;
			locs[i].n_lines = nl;
			for (k = 0; k < nl; k++)
			{
				const uint32 *ln = &key_lines[k * stride];

				lines[line_pos].function = c.function_rank[ln[0]];
				lines[line_pos].line = (int64) Word64(&ln[1]);
				lines[line_pos].column = pgo ? 0 : (int64) Word64(&ln[3]);
				line_pos++;
			}
		}

		for (i = 0; i < n_out_samples; i++)
		{
			uint32		si = smp_order[i];
			const uint32 *key = KeyWords(&s->samples, si);
			const int64 *sv = &s->values[(Size) si * s->n_value_slots];

			smps[i].first_location = stack_pos;
			smps[i].depth = key[0];
			for (k = 0; k < key[0]; k++)
				stack[stack_pos++] = c.location_rank[key[1 + k]];
			smps[i].first_label = label_pos;
			smps[i].n_labels = 0;
			if (!pgo)
			{
				const uint32 *lab = &key[1 + key[0]];

				smps[i].n_labels = lab[0];
				for (k = 0; k < lab[0]; k++)
				{
					const uint32 *l = &lab[1 + 5 * k];

					labs[label_pos + k].key = c.string_rank[l[0]];
					labs[label_pos + k].str = c.string_rank[l[1]];
					labs[label_pos + k].num = (int64) Word64(&l[2]);
					labs[label_pos + k].num_unit = c.string_rank[l[4]];
				}
				/* output labels in content order (ranks), as pprof sorts keys */
				if (lab[0] > 1)
				{
					uint32		x,
								y;

					for (x = 1; x < lab[0]; x++)
						for (y = x; y > 0; y--)
						{
							PprofLabel *p = &labs[label_pos + y - 1];
							PprofLabel *q = &labs[label_pos + y];
							PprofLabel	t;

							if (p->key < q->key ||
								(p->key == q->key && (p->str < q->str ||
													  (p->str == q->str && (p->num < q->num ||
																			(p->num == q->num && p->num_unit <= q->num_unit))))))
								break;
							t = *p;
							*p = *q;
							*q = t;
						}
				}
				label_pos += lab[0];
				for (k = 0; k < n_types; k++)
					vals[(Size) i * n_types + k] = sv[k];
			}
			else if (partial)
				vals[i] = sv[0];
			else
			{
				/* back from fixed point; a sample that carried weight stays */
				double		samples = (double) sv[0] / PGO_FIXED_ONE;
				int64		rounded = llround(samples);

				if (rounded == 0)
					rounded = sv[0] > 0 ? 1 : -1;
				vals[(Size) i * 2] = rounded;
				vals[(Size) i * 2 + 1] = llround(samples * (double) s->period);
			}
		}
	}

	MemoryContextDelete(tmp);
	return result;
}
