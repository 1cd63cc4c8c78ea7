/*-------------------------------------------------------------------------
 *
 * pprof_merge_state.c
 *	  The state of the merge aggregates: add profiles to it. Writing a
 *	  state out, in canonical order, is pprof_merge_output.c; a partial
 *	  state (serialized, combined) is pprof_merge_partial.c.
 *
 * Everything of an input is interned (pprof_merge_state.h) and sample
 * values are summed per interned sample, for both aggregates; what of an
 * input is added is each mode's own: pprof_merge_lossless.c (pprof_merge,
 * pprof's Merge) and pprof_merge_pgo.c (pgo_merge, what the compiler reads).
 * See docs/DESIGN.md section 6.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_merge_state.h"

/* pprof rounds mapping sizes up to 4 KiB before comparing them */
#define MAPSIZE_ROUNDING 0x1000

static void AddInput(MergeState *s, const Pprof *pprof, double weight);
static void InputMapInit(MergeState *s, InputMap *m, const PprofView *v);
static uint32 MinString(const MergeState *s, uint32 a, uint32 b);
static void EnsureValues(MergeState *s, uint32 index);

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
	MergeInternString(s, "", 0);

	/* LOSSLESS adds a value slot per sample type as it meets them */
	if (mode == MERGE_PGO)
		MergePgoInit(s);
	s->values = MemoryContextAllocHuge(cxt, sizeof(int64) * s->values_cap *
									   Max(s->n_value_slots, 1));
	return s;
}

/* True until an input contributed anything. */
bool
MergeStateIsEmpty(const MergeState *s)
{
	return s->n_inputs == 0 && s->pending == NULL;
}

/* The memory context the state lives in. */
MemoryContext
MergeStateContext(const MergeState *s)
{
	return s->cxt;
}

/* Add one profile, scaled by weight (pgo_merge only; 1 otherwise). */
void
MergeStateAdd(MergeState *s, const Pprof *pprof, double weight)
{
	PprofCheckMergeInput(pprof, s->mode, s->pgo_frames);
	MergeStateResolve(s);
	AddInput(s, pprof, weight);
}

/*
 * A value a merge of mode (keeping frames leaf-most locations, MERGE_PGO)
 * can take as an input: any profile, and a pgo projection
 * (pprof_pgo_projection.c) in pgo_merge if it kept enough frames. A
 * projection holds only what pgo_merge reads, so pprof_merge refuses it.
 */
void
PprofCheckMergeInput(const Pprof *pprof, MergeMode mode, int frames)
{
	int			version = pprof->reserved >> 8;
	int			kept = pprof->reserved & 0xff;

	if (pprof->flags == 0)
		return;
	/* no other flag is set on a value */
	if (pprof->flags != PPROF_FLAG_PGO_PROJECTION)
		elog(ERROR, "pprof layout flags %u in a merge input", pprof->flags);
	if (version != PPROF_PROJECTION_VERSION && version != PPROF_PROJECTION_COMPACT &&
		version != PPROF_PROJECTION_HASHED)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("unsupported pgo projection version %d", version),
				 errdetail("This build of the pprof extension reads versions %d to %d.",
						   PPROF_PROJECTION_VERSION, PPROF_PROJECTION_HASHED)));
	if (mode == MERGE_LOSSLESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pprof_merge cannot merge a pgo projection"),
				 errdetail("A projection (pprof_pgo_projection) keeps only what pgo_merge reads of a profile."),
				 errhint("Merge the profiles themselves.")));
	if (frames > kept)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgo projection keeps only %d leaf-most frames, %d needed", kept, frames),
				 errdetail("pgo_merge reads pprof.pgo_frames leaf-most frames of each sample."),
				 errhint("Merge the profiles themselves, or set pprof.pgo_frames to %d or less.", kept)));
}

/* Add a profile. The input's maps live only while it is added. */
static void
AddInput(MergeState *s, const Pprof *pprof, double weight)
{
	PprofView	v;
	PgoInput	pgo = {0};
	InputMap	m;
	MemoryContext tmp,
				old;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof merge input",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	/*
	 * A compact projection is read without expanding its samples: they name
	 * their stack, so pgo_merge keys each stack once.
	 */
	if (PprofIsCompactProjection(pprof))
	{
		PprofCompactSamples *cs = palloc(sizeof(PprofCompactSamples));

		PprofOpen(PprofOpenCompactSamples(pprof, cs), &v);
		pgo.compact = cs;
		pgo.n_samples = cs->n_samples;
		pgo.n_types = cs->n_types;
		pgo.values = cs->values;
	}
	else
	{
		PprofOpen(pprof, &v);
		pgo.n_samples = v.hdr->n_samples;
		pgo.n_types = v.hdr->n_sample_types;
		pgo.values = v.values;
	}
	/* skip what the compiler cannot use instead of failing the build */
	if (s->mode != MERGE_PGO || MergePgoUsable(s, &v, weight, &pgo))
	{
		InputMapInit(s, &m, &v);
		if (s->mode == MERGE_PGO)
			MergePgoAdd(s, &m, &pgo);
		else
			MergeLosslessAdd(s, &m);
		s->n_inputs++;
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
}

/* State string id of str (len bytes). */
uint32
MergeInternString(MergeState *s, const char *str, uint32 len)
{
	bool		found;

	return InternerAdd(&s->strings, str, len, &found);
}

/* Empty maps (all NO_INDEX) for input v, in the current memory context. */
static void
InputMapInit(MergeState *s, InputMap *m, const PprofView *v)
{
	const Pprof *h = v->hdr;
	Size		nloc = (Size) Max(h->n_locations, 1) *
		(s->mode == MERGE_PGO ? s->pgo_frames : 1);

	m->v = v;
	m->strings = palloc(sizeof(uint32) * Max(h->n_strings, 1));
	memset(m->strings, 0xff, sizeof(uint32) * h->n_strings);
	m->functions = palloc(sizeof(uint32) * Max(h->n_functions, 1));
	memset(m->functions, 0xff, sizeof(uint32) * h->n_functions);
	m->mappings = palloc(sizeof(uint32) * Max(h->n_mappings, 1));
	memset(m->mappings, 0xff, sizeof(uint32) * h->n_mappings);
	m->locations = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * nloc);
	memset(m->locations, 0xff, sizeof(uint32) * nloc);
	m->key = palloc(sizeof(uint32) * (2 + PPROF_MAX_STACK_DEPTH + 5 * PPROF_MAX_LABELS_PER_SAMPLE));
	m->pgo_functions = NULL;
	if (s->mode == MERGE_PGO)
	{
		m->pgo_functions = palloc(sizeof(uint32) * Max(h->n_functions, 1));
		memset(m->pgo_functions, 0xff, sizeof(uint32) * h->n_functions);
	}
	m->content = NULL;
	m->content_cap = 0;
}

/* State string id of input string index. */
uint32
MergeMapString(MergeState *s, InputMap *m, uint32 index)
{
	if (m->strings[index] == NO_INDEX)
		m->strings[index] = MergeInternString(s, PprofString(m->v, index),
										 PprofStringLength(m->v, index));
	return m->strings[index];
}

/* The smaller non-empty of two strings, so a merge keeps the same one in any order. */
static uint32
MinString(const MergeState *s, uint32 a, uint32 b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return MergeCompareStrings(s, a, b) <= 0 ? a : b;
}

/*
 * State function of input function index: its key [name, system name,
 * file name, start line] (PGO: [name, denylisted or not, 0, 0, start
 * line]) interned.
 */
uint32
MergeMapFunction(MergeState *s, InputMap *m, uint32 index)
{
	const PprofFunction *f;
	uint32		key[5];
	bool		found;

	if (m->functions[index] != NO_INDEX)
		return m->functions[index];

	f = &m->v->functions[index];
	key[0] = MergeMapString(s, m, f->name);
	if (s->mode == MERGE_PGO)
	{
		key[0] = MergePgoFunctionName(s, key[0]);
		key[1] = 0;
		key[2] = 0;
	}
	else
	{
		key[1] = MergeMapString(s, m, f->system_name);
		key[2] = MergeMapString(s, m, f->filename);
	}
	PutWord64(&key[3], (uint64) f->start_line);
	m->functions[index] = InternerAdd(&s->functions, key, sizeof(key), &found);
	return m->functions[index];
}

/*
 * A mapping is identified as pprof does: size rounded up to 4 KiB, file
 * offset, and build ID (else file name). Of the mappings that match, the
 * smallest by content represents them, with the union of their flags, so
 * the result is order-independent.
 */
uint32
MergeMapMapping(MergeState *s, InputMap *m, uint32 index)
{
	const PprofMapping *pm;
	MappingData d;
	uint32		key[5];
	uint64		size;

	if (m->mappings[index] != NO_INDEX)
		return m->mappings[index];

	pm = &m->v->mappings[index];
	d.start = pm->memory_start;
	d.limit = pm->memory_limit;
	d.offset = pm->file_offset;
	d.filename = MergeMapString(s, m, pm->filename);
	d.build_id = MergeMapString(s, m, pm->build_id);
	d.flags = pm->flags;

	size = pm->memory_limit - pm->memory_start;
	size = size + MAPSIZE_ROUNDING - 1;
	size = size - (size % MAPSIZE_ROUNDING);
	PutWord64(&key[0], size);
	PutWord64(&key[2], pm->file_offset);
	key[4] = d.build_id != 0 ? d.build_id : d.filename;

	m->mappings[index] = MergeInternMapping(s, key, &d);
	return m->mappings[index];
}

/*
 * State index of the mapping with key (5 words, MergeMapMapping's) and
 * content d, which it keeps if smaller than what the state has.
 */
uint32
MergeInternMapping(MergeState *s, const uint32 *key, const MappingData *d)
{
	bool		found;
	uint32		result = InternerAdd(&s->mappings, key, 5 * sizeof(uint32), &found);

	if (!found)
	{
		if (result == s->mapping_cap)
		{
			s->mapping_cap *= 2;
			s->mapping_data = repalloc(s->mapping_data, sizeof(MappingData) * s->mapping_cap);
		}
		s->mapping_data[result] = *d;
	}
	else
	{
		/* what any copy of the binary was symbolized with, in any order */
		uint32		flags = s->mapping_data[result].flags | d->flags;

		if (MergeCompareMappingData(s, d, &s->mapping_data[result]) < 0)
			s->mapping_data[result] = *d;
		s->mapping_data[result].flags = flags;
	}
	return result;
}

/*
 * pprof_merge: state index of input location index, which the input has not
 * mapped yet. The key holds the mapping and the address relative to its
 * start (pprof normalizes for ASLR). (pgo_merge's: pprof_merge_pgo.c.)
 */
uint32
MergeMapNewLocation(MergeState *s, InputMap *m, uint32 index)
{
	const PprofLocation *l = &m->v->locations[index];
	uint32		stack_key[8 + 5 * 64];
	uint32	   *key = stack_key;
	uint64		addr = l->address;
	uint32		mapping = 0;
	uint32		nwords;
	uint32		k;
	uint32		w = 0;
	bool		found;

	nwords = 5 + l->n_lines * 5;
	if (nwords > lengthof(stack_key))
		key = palloc(sizeof(uint32) * nwords);

	/* the key layout LocationKeyLines() reads */
	if (l->mapping != PPROF_NO_MAPPING)
	{
		mapping = MergeMapMapping(s, m, l->mapping - 1) + 1;
		addr -= m->v->mappings[l->mapping - 1].memory_start;
	}
	key[w++] = mapping;
	PutWord64(&key[w], addr);
	w += 2;
	key[w++] = l->is_folded;
	key[w++] = l->n_lines;
	for (k = 0; k < l->n_lines; k++)
	{
		const PprofLine *line = &m->v->lines[l->first_line + k];

		key[w++] = MergeMapFunction(s, m, line->function);
		PutWord64(&key[w], (uint64) line->line);
		w += 2;
		PutWord64(&key[w], (uint64) line->column);
		w += 2;
	}

	m->locations[index] = InternerAdd(&s->locations, key, w * sizeof(uint32), &found);
	if (key != stack_key)
		pfree(key);
	return m->locations[index];
}

/* The header of input m, in state strings (MergeCombineHeader). */
void
MergeAddHeader(MergeState *s, InputMap *m)
{
	const Pprof *h = m->v->hdr;
	MergeHeader mh;
	uint32		i;

	mh.time_nanos = h->time_nanos;
	mh.duration_nanos = h->duration_nanos;
	mh.period = h->period;
	if (s->mode == MERGE_PGO)
	{
		MergeCombineHeader(s, &mh);
		return;
	}
	for (i = 0; i < h->n_comments; i++)
		MergeAddComment(s, MergeMapString(s, m, m->v->comments[i]));
	mh.default_sample_type = MergeMapString(s, m, h->default_sample_type);
	mh.drop_frames = MergeMapString(s, m, h->drop_frames);
	mh.keep_frames = MergeMapString(s, m, h->keep_frames);
	MergeCombineHeader(s, &mh);
}

/*
 * Header fields combine the same way whatever the order of inputs (the
 * strings of h are pprof_merge's only).
 */
void
MergeCombineHeader(MergeState *s, const MergeHeader *h)
{
	if (h->time_nanos != 0 && (s->time_nanos == 0 || h->time_nanos < s->time_nanos))
		s->time_nanos = h->time_nanos;
	/*
	 * Summed as pprof sums them (Go int64 arithmetic, which wraps): converters
	 * write odd durations, and one odd header must not fail a fleet merge.
	 * Wrapping sums are the same in any order, so every plan agrees.
	 */
	s->duration_nanos = (int64) ((uint64) s->duration_nanos + (uint64) h->duration_nanos);
	if (h->period > s->period)
		s->period = h->period;

	if (s->mode == MERGE_PGO)
		return;
	s->default_sample_type = MinString(s, s->default_sample_type, h->default_sample_type);
	s->drop_frames = MinString(s, s->drop_frames, h->drop_frames);
	s->keep_frames = MinString(s, s->keep_frames, h->keep_frames);
}

/* A comment (state string sid) of pprof_merge's header; one of each. */
void
MergeAddComment(MergeState *s, uint32 sid)
{
	bool		found;

	InternerAdd(&s->comments, &sid, sizeof(sid), &found);
}

/*
 * Add n_value_slots values to the sample with key (nwords words). Summed
 * as pprof sums them (Go int64 arithmetic, which wraps), like the
 * durations: a sum checked at each step fails or not depending on the order
 * of the rows (MAX + 1 - 1 overflows, MAX - 1 + 1 does not), so a plan would
 * decide whether the merge errors. Wrapping sums are the same in any order.
 */
void
MergeAddSample(MergeState *s, const uint32 *key, uint32 nwords, const int64 *values)
{
	MergeAddValues(s, MergeSampleIndex(s, key, nwords), values);
}

/* State index of the sample with key (nwords words); new ones hold zeros. */
uint32
MergeSampleIndex(MergeState *s, const uint32 *key, uint32 nwords)
{
	bool		found;
	uint32		index = InternerAdd(&s->samples, key, nwords * sizeof(uint32), &found);

	EnsureValues(s, index);
	if (!found)
	{
		int64	   *acc = &s->values[(Size) index * s->n_value_slots];
		uint32		k;

		for (k = 0; k < s->n_value_slots; k++)
			acc[k] = 0;
	}
	return index;
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

