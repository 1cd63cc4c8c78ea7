/*-------------------------------------------------------------------------
 *
 * pprof_merge_output.c
 *	  A merge state written out as a canonical profile.
 *
 * Output is canonical (docs/DESIGN.md section 6): strings, functions,
 * mappings, locations and samples are sorted by content and numbered in
 * that order, so the same set of inputs gives the same bytes in any order
 * and under any parallel plan (the Go build cache keys on the profile's
 * bytes, docs/DESIGN.md section 2). Only what a surviving sample (one with
 * a non-zero value) reaches is written.
 *
 * The steps, each a function below: the output's sample types; what is
 * used; the canonical order of each kind (each kind's order reads only the
 * ranks of kinds sorted before it: strings, functions, mappings, locations,
 * samples); then the layout, section by section.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "utils/memutils.h"

#include "pprof_merge_state.h"

/*
 * An entry of one kind (string, function, mapping, location) in its sort:
 * its index, and the leading fields of its content order packed into two
 * words that compare as unsigned integers, so that most comparisons decide
 * on them without reading the entry's key (CompareRefs; the kind's full
 * comparison decides ties).
 */
typedef struct SortRef
{
	uint64		k0;
	uint64		k1;
	uint32		index;
} SortRef;

/*
 * A surviving sample in the sort: its stack as location ranks (one flat
 * array for all samples, made once the locations are ranked) and, for
 * pprof_merge, its labels ranked and sorted (RankLabels). k0 holds the
 * first two frames (rank + 1 each, 0 past the end): most comparisons
 * decide on it without reading the stacks, which are scattered in memory.
 */
typedef struct SampleRef
{
	uint64		k0;
	const uint32 *stack;
	const uint32 *labels;		/* 5 words a label */
	uint32		depth;
	uint32		n_labels;
	uint32		index;
} SampleRef;

struct SortContext;

/* How a kind sorts: the sort keys of an entry, and the full comparison. */
typedef void (*SortKeyFunction) (const struct SortContext *c, uint32 index, SortRef *ref);
typedef int (*SortTieFunction) (const struct SortContext *c, uint32 a, uint32 b);

/* Ranks of the kinds sorted so far, for the comparators. */
typedef struct SortContext
{
	const MergeState *s;
	SortTieFunction tie;		/* of the kind being sorted */
	uint32	   *string_rank;
	uint32	   *function_rank;
	uint32	   *mapping_rank;
	uint32	   *location_rank;
} SortContext;

/* What is being written: the state, what of it is used, and in which order. */
typedef struct Output
{
	const MergeState *s;
	bool		pgo;

	uint32		n_types;
	uint32		types[2 * PPROF_MAX_SAMPLE_TYPES];	/* type, unit */
	uint32		columns[PPROF_MAX_SAMPLE_TYPES];	/* pprof_merge: their slots */
	uint32		period_type[2];
	uint32		default_sample_type;	/* pprof_merge */

	/* used entries of each kind, by state index */
	bool	   *str_used;
	bool	   *fn_used;
	bool	   *map_used;
	bool	   *loc_used;

	/* the used entries in canonical order, and the ranks (in c) */
	SortContext c;
	uint32	   *str_of_rank;
	uint32	   *fn_of_rank;
	uint32	   *map_of_rank;
	uint32	   *loc_of_rank;
	uint32	   *smp_order;		/* surviving samples, by state index */
	SampleRef  *smp_refs;		/* the same in canonical order */

	Pprof		hdr;			/* the counts */
	Size		str_bytes;
	PprofView	out;
} Output;

static void OutputTypes(Output *o);
static bool SampleSurvives(const Output *o, uint32 i);
static void MarkSamples(Output *o);
static void MarkReferences(Output *o);
static void SortUsed(Output *o);
static uint32 RankUsed(const bool *used, uint32 n, SortKeyFunction key, SortTieFunction tie,
					   SortContext *c, uint32 **of_rank, uint32 **rank);
static inline int CompareRefs(const SortRef *a, const SortRef *b, SortContext *c);
static void StringSortKey(const SortContext *c, uint32 index, SortRef *ref);
static int	CompareStrings(const SortContext *c, uint32 a, uint32 b);
static int	CompareStringIds(const void *a, const void *b, void *arg);
static void FunctionSortKey(const SortContext *c, uint32 index, SortRef *ref);
static int	CompareFunctions(const SortContext *c, uint32 a, uint32 b);
static void MappingSortKey(const SortContext *c, uint32 index, SortRef *ref);
static int	CompareMappings(const SortContext *c, uint32 a, uint32 b);
static void LocationSortKey(const SortContext *c, uint32 index, SortRef *ref);
static int	CompareLocations(const SortContext *c, uint32 a, uint32 b);
static void RankSamples(Output *o);
static uint32 *RankLabels(Output *o);
static int	CompareRankedLabels(const void *a, const void *b);
static inline int CompareSampleRefs(const SampleRef *a, const SampleRef *b);
static uint64 LocationAddress(const MergeState *s, const uint32 *key);
static Pprof *AllocResult(Output *o);
static void WriteStrings(Output *o);
static void WriteComments(Output *o);
static void WriteFunctions(Output *o);
static void WriteMappings(Output *o);
static void WriteLocations(Output *o);
static void WriteSamples(Output *o);
static void SortLabels(PprofLabel *labs, uint32 n);
static void WriteValues(Output *o, uint32 i, const int64 *sv);

#define CMP(x, y) do { if ((x) != (y)) return (x) < (y) ? -1 : 1; } while (0)

/*
 * The sorts, of each kind's entries and of the samples, are PostgreSQL's
 * sort template: the comparison of the sort keys inline, elements moved by
 * value; qsort_arg called the comparator through a pointer and the
 * comparator read both keys through the interner for every comparison.
 */
#define ST_SORT SortRefs
#define ST_ELEMENT_TYPE SortRef
#define ST_COMPARE(a, b, arg) CompareRefs(a, b, arg)
#define ST_COMPARE_ARG_TYPE SortContext
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT SortSampleRefs
#define ST_ELEMENT_TYPE SampleRef
#define ST_COMPARE(a, b) CompareSampleRefs(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Write the state as a canonical profile. */
Pprof *
MergeStateToPprof(const MergeState *s)
{
	Output		o;
	MemoryContext tmp,
				old;
	Pprof	   *result;

	if (s->pending)
		elog(ERROR, "pprof merge state written out before its partial state was added");
	memset(&o, 0, sizeof(o));
	o.s = s;
	o.c.s = s;
	o.pgo = s->mode == MERGE_PGO;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof merge output",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	OutputTypes(&o);
	MarkSamples(&o);
	MarkReferences(&o);
	SortUsed(&o);
	CHECK_FOR_INTERRUPTS();
	MemoryContextSwitchTo(old);

	result = AllocResult(&o);
	old = MemoryContextSwitchTo(tmp);
	WriteStrings(&o);
	WriteComments(&o);
	WriteFunctions(&o);
	WriteMappings(&o);
	WriteLocations(&o);
	WriteSamples(&o);
	MemoryContextSwitchTo(old);

	MemoryContextDelete(tmp);
	return result;
}

/*
 * The sample types of the output. pgo_merge writes samples/count and
 * cpu/nanoseconds, as the profiles the compiler reads have them, or only
 * cpu/nanoseconds when the compiler reads nanoseconds of some input (then
 * counts cannot be known).
 */
static void
OutputTypes(Output *o)
{
	const MergeState *s = o->s;

	uint32		i;

	if (!o->pgo)
	{
		o->n_types = MergeLosslessOutputTypes(s, o->columns, &o->default_sample_type);
		for (i = 0; i < o->n_types; i++)
		{
			o->types[2 * i] = s->sample_types[2 * o->columns[i]];
			o->types[2 * i + 1] = s->sample_types[2 * o->columns[i] + 1];
		}
		o->period_type[0] = s->period_type[0];
		o->period_type[1] = s->period_type[1];
		return;
	}
	o->n_types = 2;
	o->types[0] = s->sid_samples;
	o->types[1] = s->sid_count;
	o->types[2] = s->sid_cpu;
	o->types[3] = s->sid_nanoseconds;
	if (s->pgo_nanoseconds)
	{
		o->n_types = 1;
		o->types[0] = s->sid_cpu;
		o->types[1] = s->sid_nanoseconds;
	}
	o->period_type[0] = s->sid_cpu;
	o->period_type[1] = s->sid_nanoseconds;
}

/*
 * Whether state sample i has a value in the output: a non-zero value of an
 * output sample type; for a pgo_merge result, the weight in its unit.
 */
static bool
SampleSurvives(const Output *o, uint32 i)
{
	const MergeState *s = o->s;
	const int64 *sv = &s->values[(Size) i * s->n_value_slots];
	bool		nonzero = false;
	uint32		k;

	if (o->pgo)
		return sv[s->pgo_nanoseconds ? 1 : 0] != 0;
	for (k = 0; k < o->n_types; k++)
		nonzero |= sv[o->columns[k]] != 0;
	return nonzero;
}

/*
 * The samples that survive (a non-zero value), in o->smp_order, and what
 * they use directly: locations, and the strings of their labels.
 */
static void
MarkSamples(Output *o)
{
	const MergeState *s = o->s;
	uint32		i,
				k;

	o->smp_order = MemoryContextAllocHuge(CurrentMemoryContext,
										  sizeof(uint32) * Max(s->samples.n, 1));
	o->loc_used = MemoryContextAllocExtended(CurrentMemoryContext, Max(s->locations.n, 1),
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	o->str_used = MemoryContextAllocExtended(CurrentMemoryContext, Max(s->strings.n, 1),
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	o->str_used[0] = true;

	for (i = 0; i < s->samples.n; i++)
	{
		const uint32 *key;

		if (!SampleSurvives(o, i))
			continue;
		o->smp_order[o->hdr.n_samples++] = i;
		key = KeyWords(&s->samples, i);
		o->hdr.n_stack += key[0];
		for (k = 0; k < key[0]; k++)
			o->loc_used[key[1 + k]] = true;
		if (!o->pgo)
		{
			const uint32 *lab = &key[1 + key[0]];

			o->hdr.n_labels += lab[0];
			for (k = 0; k < lab[0]; k++)
			{
				o->str_used[lab[1 + 5 * k]] = true;
				o->str_used[lab[1 + 5 * k + 1]] = true;
				o->str_used[lab[1 + 5 * k + 4]] = true;
			}
		}
	}
}

/*
 * What the used locations reach (functions, mappings, and the main
 * mapping even if unused), and the strings
 * of those and of the header.
 */
static void
MarkReferences(Output *o)
{
	const MergeState *s = o->s;
	bool	   *str_used = o->str_used;
	uint32		i,
				k;

	o->fn_used = MemoryContextAllocExtended(CurrentMemoryContext, Max(s->functions.n, 1),
											MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	o->map_used = palloc0(Max(s->mappings.n, 1));
	for (i = 0; i < s->locations.n; i++)
	{
		uint32		nl,
					stride;
		const uint32 *key;
		const uint32 *lines;

		if (!o->loc_used[i])
			continue;
		key = KeyWords(&s->locations, i);
		if (!o->pgo && key[0] != 0)
			o->map_used[key[0] - 1] = true;
		lines = LocationKeyLines(s, key, &nl, &stride);
		o->hdr.n_lines += nl;
		for (k = 0; k < nl; k++)
			o->fn_used[lines[k * stride]] = true;
	}
	if (!o->pgo && s->main_mapping != NO_INDEX)
		o->map_used[s->main_mapping] = true;
	for (i = 0; i < s->functions.n; i++)
	{
		const uint32 *key;

		if (!o->fn_used[i])
			continue;
		key = KeyWords(&s->functions, i);
		str_used[key[0]] = str_used[key[1]] = str_used[key[2]] = true;
	}
	for (i = 0; i < s->mappings.n; i++)
	{
		if (!o->map_used[i])
			continue;
		str_used[s->mapping_data[i].filename] = true;
		str_used[s->mapping_data[i].build_id] = true;
	}
	for (i = 0; i < o->n_types; i++)
		str_used[o->types[2 * i]] = str_used[o->types[2 * i + 1]] = true;
	str_used[o->period_type[0]] = str_used[o->period_type[1]] = true;
	if (!o->pgo)
	{
		for (i = 0; i < s->comments.n; i++)
			str_used[*KeyWords(&s->comments, i)] = true;
		str_used[o->default_sample_type] = true;
		str_used[s->drop_frames] = true;
		str_used[s->keep_frames] = true;
	}
}

/* Canonical order: strings by content, then each kind by content. */
static void
SortUsed(Output *o)
{
	const MergeState *s = o->s;
	SortContext *c = &o->c;
	uint32		i;

	o->hdr.n_strings = RankUsed(o->str_used, s->strings.n, StringSortKey, CompareStrings, c,
								&o->str_of_rank, &c->string_rank);
	for (i = 0; i < o->hdr.n_strings; i++)
	{
		uint32		len;

		InternerKey(&s->strings, o->str_of_rank[i], &len);
		o->str_bytes += len + 1;
	}
	o->hdr.n_functions = RankUsed(o->fn_used, s->functions.n, FunctionSortKey,
								  CompareFunctions, c, &o->fn_of_rank, &c->function_rank);
	o->hdr.n_mappings = RankUsed(o->map_used, s->mappings.n, MappingSortKey, CompareMappings,
								 c, &o->map_of_rank, &c->mapping_rank);
	o->hdr.n_locations = RankUsed(o->loc_used, s->locations.n, LocationSortKey,
								  CompareLocations, c, &o->loc_of_rank, &c->location_rank);
	RankSamples(o);
}

/*
 * The leading fields of CompareLocations' order as two unsigned words:
 * pprof_merge: the mapping's rank (0: none), the address; pgo_merge: the
 * synthetic address and the first line's function (rank + 1, 0: no line),
 * that line's number (sign bit flipped: signed order as unsigned).
 */
static void
LocationSortKey(const SortContext *c, uint32 index, SortRef *ref)
{
	const MergeState *s = c->s;
	const uint32 *key = KeyWords(&s->locations, index);

	ref->index = index;
	if (s->mode == MERGE_LOSSLESS)
	{
		ref->k0 = key[0] ? c->mapping_rank[key[0] - 1] + 1 : 0;
		ref->k1 = LocationAddress(s, key);
		return;
	}
	ref->k0 = (uint64) key[0] << 32;
	ref->k1 = 0;
	if (key[1] > 0)
	{
		ref->k0 |= c->function_rank[key[2]] + 1;
		ref->k1 = Word64(&key[3]) ^ ((uint64) 1 << 63);
	}
}

/* Entries by their sort keys, the kind's full comparison on a tie. */
static inline int
CompareRefs(const SortRef *a, const SortRef *b, SortContext *c)
{
	CMP(a->k0, b->k0);
	CMP(a->k1, b->k1);
	return c->tie(c, a->index, b->index);
}

/*
 * The canonical order of the surviving samples, o->smp_refs: each one's
 * stack as location ranks, which WriteSamples writes as they are.
 */
static void
RankSamples(Output *o)
{
	const MergeState *s = o->s;
	const uint32 *rank = o->c.location_rank;
	uint32	   *labels = o->pgo ? NULL : RankLabels(o);
	uint32	   *stacks;
	Size		stack_pos = 0,
				label_pos = 0;
	uint32		i,
				k;

	stacks = MemoryContextAllocHuge(CurrentMemoryContext,
									sizeof(uint32) * Max(o->hdr.n_stack, 1));
	o->smp_refs = MemoryContextAllocHuge(CurrentMemoryContext,
										 sizeof(SampleRef) * Max(o->hdr.n_samples, 1));
	for (i = 0; i < o->hdr.n_samples; i++)
	{
		SampleRef  *ref = &o->smp_refs[i];
		const uint32 *key = KeyWords(&s->samples, o->smp_order[i]);

		ref->index = o->smp_order[i];
		ref->depth = key[0];
		ref->stack = &stacks[stack_pos];
		for (k = 0; k < key[0]; k++)
			stacks[stack_pos++] = rank[key[1 + k]];
		ref->k0 = key[0] > 0 ? (uint64) (ref->stack[0] + 1) << 32 : 0;
		if (key[0] > 1)
			ref->k0 |= ref->stack[1] + 1;
		ref->n_labels = o->pgo ? 0 : key[1 + key[0]];
		ref->labels = o->pgo ? NULL : &labels[label_pos];
		label_pos += (Size) 5 * ref->n_labels;
	}
	SortSampleRefs(o->smp_refs, o->hdr.n_samples);
}

/*
 * Each surviving sample's labels by content, for CompareSampleRefs: as
 * string ranks, sorted as WriteSamples writes them, sample after sample in
 * o->smp_order. A sample key sorts its labels by state string id, and ids
 * depend on the order in which the inputs came, so comparing keys label
 * by label would order two samples one way under one plan and the other
 * way under another.
 */
static uint32 *
RankLabels(Output *o)
{
	const MergeState *s = o->s;
	const uint32 *rank = o->c.string_rank;
	uint32	   *ranked;
	Size		pos = 0;
	uint32		i,
				k;

	ranked = MemoryContextAllocHuge(CurrentMemoryContext,
									sizeof(uint32) * 5 * Max(o->hdr.n_labels, 1));
	for (i = 0; i < o->hdr.n_samples; i++)
	{
		const uint32 *key = KeyWords(&s->samples, o->smp_order[i]);
		const uint32 *lab = &key[1 + key[0]];
		uint32	   *out = &ranked[pos];

		for (k = 0; k < lab[0]; k++)
		{
			const uint32 *l = &lab[1 + 5 * k];

			out[5 * k] = rank[l[0]];
			out[5 * k + 1] = rank[l[1]];
			out[5 * k + 2] = l[2];
			out[5 * k + 3] = l[3];
			out[5 * k + 4] = rank[l[4]];
		}
		if (lab[0] > 1)
			qsort(out, lab[0], sizeof(uint32) * 5, CompareRankedLabels);
		pos += (Size) 5 * lab[0];
	}
	return ranked;
}

/* Ranked labels in SortLabels' order: key, str, num (signed), num_unit. */
static int
CompareRankedLabels(const void *a, const void *b)
{
	const uint32 *p = a;
	const uint32 *q = b;

	CMP(p[0], q[0]);
	CMP(p[1], q[1]);
	CMP((int64) Word64(&p[2]), (int64) Word64(&q[2]));
	CMP(p[4], q[4]);
	return 0;
}

/*
 * The canonical order of the used entries of one kind (the indexes i < n
 * with used[i]), by their sort keys (key) and on a tie by tie: *of_rank
 * gets them sorted, *rank maps each back to its place in that order.
 * Returns how many are used. Allocates in the current memory context.
 */
static uint32
RankUsed(const bool *used, uint32 n, SortKeyFunction key, SortTieFunction tie,
		 SortContext *c, uint32 **of_rank, uint32 **rank)
{
	uint32		n_used = 0;
	SortRef    *refs;
	uint32	   *order;
	uint32	   *rank_of;
	uint32		i;

	for (i = 0; i < n; i++)
		n_used += used[i];
	refs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(SortRef) * Max(n_used, 1));
	for (i = 0, n_used = 0; i < n; i++)
		if (used[i])
			key(c, i, &refs[n_used++]);
	/* ranks of this kind are set after the sort: keys read only earlier kinds' */
	c->tie = tie;
	SortRefs(refs, n_used, c);
	order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n_used, 1));
	rank_of = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	for (i = 0; i < n_used; i++)
	{
		order[i] = refs[i].index;
		rank_of[refs[i].index] = i;
	}
	pfree(refs);
	*of_rank = order;
	*rank = rank_of;
	return n_used;
}

/* Content order of two state strings (bytes, shorter first on a tie). */
int
MergeCompareStrings(const MergeState *s, uint32 a, uint32 b)
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

/* Content order of two mappings: addresses, offset, file, build ID, flags. */
int
MergeCompareMappingData(const MergeState *s, const MappingData *a, const MappingData *b)
{
	int			c;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->limit != b->limit)
		return a->limit < b->limit ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	if ((c = MergeCompareStrings(s, a->filename, b->filename)) != 0)
		return c;
	if ((c = MergeCompareStrings(s, a->build_id, b->build_id)) != 0)
		return c;
	return a->flags < b->flags ? -1 : a->flags > b->flags ? 1 : 0;
}

/*
 * A string's first 16 bytes, big-endian, zero-padded: where two strings'
 * keys differ, they are in MergeCompareStrings' order (a string that ends
 * first is padded with zeros, the smallest byte).
 */
static void
StringSortKey(const SortContext *c, uint32 index, SortRef *ref)
{
	uint32		len;
	const char *str = InternerKey(&c->s->strings, index, &len);
	uint64		w[2] = {0, 0};

	memcpy(w, str, Min(len, sizeof(w)));
	ref->k0 = pg_ntoh64(w[0]);
	ref->k1 = pg_ntoh64(w[1]);
	ref->index = index;
}

static int
CompareStrings(const SortContext *c, uint32 a, uint32 b)
{
	return MergeCompareStrings(c->s, a, b);
}

/* qsort_arg's form of CompareStrings (the comments). */
static int
CompareStringIds(const void *a, const void *b, void *arg)
{
	return CompareStrings(arg, *(const uint32 *) a, *(const uint32 *) b);
}

/* A function's name and system name ranks, its file name's rank. */
static void
FunctionSortKey(const SortContext *c, uint32 index, SortRef *ref)
{
	const uint32 *key = KeyWords(&c->s->functions, index);

	ref->k0 = ((uint64) c->string_rank[key[0]] << 32) | c->string_rank[key[1]];
	ref->k1 = c->string_rank[key[2]];
	ref->index = index;
}

/* Content order of two functions: names, file name, start line. */
static int
CompareFunctions(const SortContext *c, uint32 a, uint32 b)
{
	const uint32 *ka = KeyWords(&c->s->functions, a);
	const uint32 *kb = KeyWords(&c->s->functions, b);

	CMP(c->string_rank[ka[0]], c->string_rank[kb[0]]);
	CMP(c->string_rank[ka[1]], c->string_rank[kb[1]]);
	CMP(c->string_rank[ka[2]], c->string_rank[kb[2]]);
	CMP((int64) Word64(&ka[3]), (int64) Word64(&kb[3]));
	return 0;
}

/* A mapping: not the main binary (0: it is), its start. */
static void
MappingSortKey(const SortContext *c, uint32 index, SortRef *ref)
{
	ref->k0 = index != c->s->main_mapping;
	ref->k1 = c->s->mapping_data[index].start;
	ref->index = index;
}

/* Content order of two mappings, the main binary first. */
static int
CompareMappings(const SortContext *c, uint32 ma, uint32 mb)
{
	/* the main binary first, as pprof expects */
	CMP(ma != c->s->main_mapping, mb != c->s->main_mapping);
	return MergeCompareMappingData(c->s, &c->s->mapping_data[ma], &c->s->mapping_data[mb]);
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

/*
 * The content order of two locations: mapping, address, whether folded
 * (pprof_merge), then line by line function, line and column, then fewer
 * lines first.
 */
static int
CompareLocations(const SortContext *c, uint32 a, uint32 b)
{
	const MergeState *s = c->s;
	const uint32 *ka = KeyWords(&s->locations, a);
	const uint32 *kb = KeyWords(&s->locations, b);
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

/*
 * The content order of two samples: stack by stack location ranks (leaf
 * first, a prefix first), then pprof_merge's labels by content, a prefix
 * first.
 */
static inline int
CompareSampleRefs(const SampleRef *a, const SampleRef *b)
{
	uint32		n = Min(a->depth, b->depth);
	uint32		i;

	CMP(a->k0, b->k0);
	/* k0 equal: both have the same first two frames, or fewer and equal */
	for (i = 2; i < n; i++)
		CMP(a->stack[i], b->stack[i]);
	CMP(a->depth, b->depth);
	n = Min(a->n_labels, b->n_labels);
	for (i = 0; i < n; i++)
	{
		int			cmp = CompareRankedLabels(&a->labels[5 * i], &b->labels[5 * i]);

		if (cmp != 0)
			return cmp;
	}
	CMP(a->n_labels, b->n_labels);
	return 0;
}

/* The layout for the counts in o->hdr, header fields set, in the current context. */
static Pprof *
AllocResult(Output *o)
{
	const MergeState *s = o->s;
	const uint32 *rank = o->c.string_rank;
	PprofError	err;
	Pprof	   *result;

	o->hdr.n_sample_types = o->n_types;
	o->hdr.n_comments = o->pgo ? 0 : s->comments.n;
	if (o->str_bytes > PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("merged pprof profile is too large"),
				 errdetail("Its strings take %zu bytes; a profile holds at most %u.",
						   o->str_bytes, PG_UINT32_MAX)));
	o->hdr.str_bytes = (uint32) o->str_bytes;

	result = PprofLayoutAlloc(&o->hdr, &o->out, &err);
	if (result == NULL)
		PprofThrow(&err);
	result->time_nanos = s->time_nanos;
	result->duration_nanos = s->duration_nanos;
	result->period = s->period;
	result->period_type.type = rank[o->period_type[0]];
	result->period_type.unit = rank[o->period_type[1]];
	if (!o->pgo)
	{
		result->default_sample_type = rank[o->default_sample_type];
		result->drop_frames = rank[s->drop_frames];
		result->keep_frames = rank[s->keep_frames];
	}
	return result;
}

/* Sample types and the string table, in rank order. */
static void
WriteStrings(Output *o)
{
	PprofValueType *st = unconstify(PprofValueType *, o->out.sample_types);
	uint32	   *offs = unconstify(uint32 *, o->out.str_offsets);
	char	   *data = unconstify(char *, o->out.str_data);
	uint32		pos = 0;
	uint32		i;

	for (i = 0; i < o->n_types; i++)
	{
		st[i].type = o->c.string_rank[o->types[2 * i]];
		st[i].unit = o->c.string_rank[o->types[2 * i + 1]];
	}
	for (i = 0; i < o->hdr.n_strings; i++)
	{
		uint32		len;
		const char *str = InternerKey(&o->s->strings, o->str_of_rank[i], &len);

		offs[i] = pos;
		memcpy(data + pos, str, len);
		pos += len;
		data[pos++] = '\0';
	}
	offs[o->hdr.n_strings] = pos;
}

/* Comments (pprof_merge only), sorted by content. */
static void
WriteComments(Output *o)
{
	uint32	   *comments = unconstify(uint32 *, o->out.comments);
	uint32		n = o->hdr.n_comments;
	uint32	   *order;
	uint32		i;

	order = palloc(sizeof(uint32) * Max(n, 1));
	for (i = 0; i < n; i++)
		order[i] = *KeyWords(&o->s->comments, i);
	qsort_arg(order, n, sizeof(uint32), CompareStringIds, &o->c);
	for (i = 0; i < n; i++)
		comments[i] = o->c.string_rank[order[i]];
}

static void
WriteFunctions(Output *o)
{
	PprofFunction *fns = unconstify(PprofFunction *, o->out.functions);
	const uint32 *rank = o->c.string_rank;
	uint32		i;

	for (i = 0; i < o->hdr.n_functions; i++)
	{
		const uint32 *key = KeyWords(&o->s->functions, o->fn_of_rank[i]);

		fns[i].id = i + 1;
		fns[i].name = rank[key[0]];
		fns[i].system_name = rank[key[1]];
		fns[i].filename = rank[key[2]];
		fns[i].start_line = (int64) Word64(&key[3]);
	}
}

static void
WriteMappings(Output *o)
{
	PprofMapping *maps = unconstify(PprofMapping *, o->out.mappings);
	const uint32 *rank = o->c.string_rank;
	uint32		i;

	for (i = 0; i < o->hdr.n_mappings; i++)
	{
		const MappingData *d = &o->s->mapping_data[o->map_of_rank[i]];

		maps[i].id = i + 1;
		maps[i].memory_start = d->start;
		maps[i].memory_limit = d->limit;
		maps[i].file_offset = d->offset;
		maps[i].filename = rank[d->filename];
		maps[i].build_id = rank[d->build_id];
		maps[i].flags = d->flags;
	}
}

/* Locations and their lines; IDs are ranks + 1. */
static void
WriteLocations(Output *o)
{
	const MergeState *s = o->s;
	PprofLocation *locs = unconstify(PprofLocation *, o->out.locations);
	PprofLine  *lines = unconstify(PprofLine *, o->out.lines);
	uint32		line_pos = 0;
	uint32		i,
				k;

	for (i = 0; i < o->hdr.n_locations; i++)
	{
		uint32		nl,
					stride;
		const uint32 *key = KeyWords(&s->locations, o->loc_of_rank[i]);
		const uint32 *key_lines = LocationKeyLines(s, key, &nl, &stride);

		locs[i].id = i + 1;
		locs[i].address = LocationAddress(s, key);
		locs[i].mapping = (!o->pgo && key[0] != 0) ?
			o->c.mapping_rank[key[0] - 1] + 1 : PPROF_NO_MAPPING;
		locs[i].is_folded = o->pgo ? 0 : key[3];
		locs[i].first_line = line_pos;
		locs[i].n_lines = nl;
		for (k = 0; k < nl; k++)
		{
			const uint32 *ln = &key_lines[k * stride];

			lines[line_pos].function = o->c.function_rank[ln[0]];
			lines[line_pos].line = (int64) Word64(&ln[1]);
			lines[line_pos].column = o->pgo ? 0 : (int64) Word64(&ln[3]);
			line_pos++;
		}
	}
}

/* Samples in canonical order: stacks, labels, values. */
static void
WriteSamples(Output *o)
{
	const MergeState *s = o->s;
	const uint32 *rank = o->c.string_rank;
	PprofSample *smps = unconstify(PprofSample *, o->out.samples);
	PprofLabel *labs = unconstify(PprofLabel *, o->out.labels);
	uint32	   *stack = unconstify(uint32 *, o->out.stack);
	uint32		stack_pos = 0,
				label_pos = 0;
	uint32		i,
				k;

	for (i = 0; i < o->hdr.n_samples; i++)
	{
		const SampleRef *ref = &o->smp_refs[i];
		uint32		si = ref->index;
		const uint32 *key = KeyWords(&s->samples, si);
		const uint32 *lab = &key[1 + key[0]];

		smps[i].first_location = stack_pos;
		smps[i].depth = ref->depth;
		memcpy(&stack[stack_pos], ref->stack, sizeof(uint32) * ref->depth);
		stack_pos += ref->depth;
		smps[i].first_label = label_pos;
		smps[i].n_labels = o->pgo ? 0 : lab[0];
		for (k = 0; k < smps[i].n_labels; k++)
		{
			const uint32 *l = &lab[1 + 5 * k];

			labs[label_pos + k].key = rank[l[0]];
			labs[label_pos + k].str = rank[l[1]];
			labs[label_pos + k].num = (int64) Word64(&l[2]);
			labs[label_pos + k].num_unit = rank[l[4]];
		}
		SortLabels(&labs[label_pos], smps[i].n_labels);
		label_pos += smps[i].n_labels;
		WriteValues(o, i, &s->values[(Size) si * s->n_value_slots]);
	}
}

/* A sample's labels in content order (ranks), as pprof sorts keys. */
static void
SortLabels(PprofLabel *labs, uint32 n)
{
	uint32		x,
				y;

	for (x = 1; x < n; x++)
		for (y = x; y > 0; y--)
		{
			PprofLabel *p = &labs[y - 1];
			PprofLabel *q = &labs[y];
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

/* The values of output sample i from the state's sv. */
static void
WriteValues(Output *o, uint32 i, const int64 *sv)
{
	int64	   *vals = unconstify(int64 *, o->out.values);
	double		samples;
	int64		rounded;
	uint32		k;

	if (!o->pgo)
	{
		for (k = 0; k < o->n_types; k++)
			vals[(Size) i * o->n_types + k] = sv[o->columns[k]];
		return;
	}
	if (o->s->pgo_nanoseconds)
	{
		vals[i] = sv[1];
		return;
	}
	/* back from fixed point; a sample that carried weight stays */
	samples = (double) sv[0] / PGO_FIXED_ONE;
	rounded = llround(samples);
	if (rounded == 0)
		rounded = sv[0] > 0 ? 1 : -1;
	vals[(Size) i * 2] = rounded;
	vals[(Size) i * 2 + 1] = llround(samples * (double) o->s->period);
}
