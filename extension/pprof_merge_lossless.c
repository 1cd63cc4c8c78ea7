/*-------------------------------------------------------------------------
 *
 * pprof_merge_lossless.c
 *	  What pprof_merge adds of an input to a merge state (MERGE_LOSSLESS).
 *
 * pprof_merge follows google/pprof's profile.Merge, which
 * `go tool pprof -proto a b` runs (docs/DESIGN.md section 6): functions,
 * mappings, locations and samples are identified by content (a location by
 * its mapping, its address relative to the mapping start, and its lines; a
 * sample by its stack and labels), sample values are summed element-wise,
 * and headers combine (durations summed, earliest time, largest period,
 * comments united).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_merge_state.h"

static void CheckCompatible(MergeState *s, InputMap *m);
static char *DescribeTypes(const MergeState *s, const uint32 *types, uint32 n);
static void ChooseMainMapping(MergeState *s, InputMap *m);
static uint32 LosslessSampleKey(MergeState *s, InputMap *m, const PprofSample *smp);
static int	CompareLabels(const void *a, const void *b);

/*
 * pprof_merge: one input, as pprof's Merge adds it. Samples whose values
 * are all zero are dropped, as pprof does.
 */
void
MergeLosslessAdd(MergeState *s, InputMap *m)
{
	const PprofView *v = m->v;
	const Pprof *h = v->hdr;
	uint32		i;

	CheckCompatible(s, m);
	ChooseMainMapping(s, m);
	MergeAddHeader(s, m);

	for (i = 0; i < h->n_samples; i++)
	{
		const int64 *vals = v->values + (Size) i * h->n_sample_types;
		bool		nonzero = false;
		uint32		k;

		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
		for (k = 0; k < h->n_sample_types; k++)
			nonzero |= vals[k] != 0;
		if (!nonzero)
			continue;
		MergeAddSample(s, m->key, LosslessSampleKey(s, m, &v->samples[i]), vals);
	}
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
		types[2 * i] = MergeMapString(s, m, m->v->sample_types[i].type);
		types[2 * i + 1] = MergeMapString(s, m, m->v->sample_types[i].unit);
	}
	period_type[0] = MergeMapString(s, m, h->period_type.type);
	period_type[1] = MergeMapString(s, m, h->period_type.unit);

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

/* n type/unit pairs of state strings as "type/unit, type/unit" for a message. */
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

/*
 * pprof keeps the first input's first mapping, the main binary, even if no
 * sample refers to it. To stay order-independent we keep the smallest by
 * content of the inputs' first mappings, preferring inputs that have
 * samples: an empty profile from another build must not name the main
 * binary of a merge of real ones.
 */
static void
ChooseMainMapping(MergeState *s, InputMap *m)
{
	const Pprof *h = m->v->hdr;
	uint32		main;
	bool		has_samples = false;
	Size		i;

	if (h->n_mappings == 0)
		return;
	main = MergeMapMapping(s, m, 0);
	for (i = 0; i < (Size) h->n_samples * h->n_sample_types && !has_samples; i++)
		has_samples = m->v->values[i] != 0;
	if (s->main_mapping == NO_INDEX ||
		(has_samples && !s->main_has_samples) ||
		(has_samples == s->main_has_samples &&
		 MergeCompareMappingData(s, &s->mapping_data[main],
								 &s->mapping_data[s->main_mapping]) < 0))
	{
		s->main_mapping = main;
		s->main_has_samples = has_samples;
	}
}

/* Build the LOSSLESS key of a sample in m->key; returns its length in words. */
static uint32
LosslessSampleKey(MergeState *s, InputMap *m, const PprofSample *smp)
{
	uint32	   *key = m->key;
	uint32	   *labels;
	uint32		w = 0;
	uint32		k;

	key[w++] = smp->depth;
	for (k = 0; k < smp->depth; k++)
		key[w++] = MergeMapLocation(s, m, m->v->stack[smp->first_location + k], 0);
	key[w++] = smp->n_labels;
	labels = &key[w];
	for (k = 0; k < smp->n_labels; k++)
	{
		const PprofLabel *lab = &m->v->labels[smp->first_label + k];

		key[w++] = MergeMapString(s, m, lab->key);
		key[w++] = MergeMapString(s, m, lab->str);
		PutWord64(&key[w], (uint64) lab->num);
		w += 2;
		key[w++] = MergeMapString(s, m, lab->num_unit);
	}
	/* label order does not identify a sample */
	if (smp->n_labels > 1)
		qsort(labels, smp->n_labels, sizeof(uint32) * 5, CompareLabels);
	return w;
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
