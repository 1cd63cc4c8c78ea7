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

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_merge_state.h"

/*
 * What identifies a location within its mapping, but for its lines: the
 * state mapping + 1 (0: none), the address relative to the mapping's
 * start, and is_folded and the number of lines (shape).
 */
typedef struct AddressKey
{
	uint64		address;
	uint32		mapping;
	uint32		shape;			/* n_lines | is_folded << 31 */
} AddressKey;

/* The state location last mapped at an address (LosslessMapLocation). */
typedef struct AddressEntry
{
	AddressKey	key;
	uint32		location;
	char		status;			/* simplehash's */
} AddressEntry;

#define SH_PREFIX addrhash
#define SH_ELEMENT_TYPE AddressEntry
#define SH_KEY_TYPE AddressKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) \
	murmurhash32((uint32) hash_combine64((k).address, ((uint64) (k).mapping << 32) | (k).shape))
#define SH_EQUAL(tb, a, b) \
	((a).address == (b).address && (a).mapping == (b).mapping && (a).shape == (b).shape)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* the hint of the errors of profiles that do not merge */
#define HINT_ONE_KIND "Merge profiles of one kind (CPU with CPU, heap with heap), or use pgo_merge, which keeps only the CPU profiles a build can use."

/* How MergeLosslessOutputTypes orders the kept sample types. */
typedef struct TypeOrder
{
	const MergeState *s;
	bool		agree;			/* the inputs agree on an order: by rank */
	uint32		rank[PPROF_MAX_SAMPLE_TYPES];	/* kept types listed before */
} TypeOrder;

static uint32 AddSampleType(MergeState *s, uint32 type, uint32 unit);
static int	CompareSampleTypes(const void *a, const void *b, void *arg);
static char *DescribeTypeCounts(const MergeState *s);
static char *DescribeTypes(const MergeState *s, const uint32 *types, uint32 n);
static void MapAllMappings(MergeState *s, InputMap *m);
static void ChooseMainMapping(MergeState *s, InputMap *m);
static int	CompareMappingKeys(const MergeState *s, uint32 a, uint32 b);
static uint32 LosslessSampleKey(MergeState *s, InputMap *m, const PprofSample *smp);
static pg_noinline uint32 LosslessMapLocation(MergeState *s, InputMap *m, uint32 index);
static bool SameLines(MergeState *s, InputMap *m, const PprofLocation *l, uint32 location);
static bool SameString(MergeState *s, InputMap *m, uint32 index, uint32 sid);
static int	CompareLabels(const void *a, const void *b);
static void InputSampleTypes(MergeState *s, InputMap *m, uint32 *columns);

/*
 * pprof_merge: one input, as pprof's Merge adds it. Samples whose values
 * are all zero are dropped, as pprof does.
 */
void
MergeLosslessAdd(MergeState *s, InputMap *m)
{
	const PprofView *v = m->v;
	const Pprof *h = v->hdr;
	uint32		columns[PPROF_MAX_SAMPLE_TYPES];
	uint32		period_type[2];
	int64	   *values;
	uint32		i;

	period_type[0] = MergeMapString(s, m, h->period_type.type);
	period_type[1] = MergeMapString(s, m, h->period_type.unit);
	MergeLosslessPeriodType(s, period_type);
	InputSampleTypes(s, m, columns);
	MapAllMappings(s, m);
	ChooseMainMapping(s, m);
	MergeAddHeader(s, m);

	/* the input's values in the state's slots, 0 in the others */
	values = palloc0(sizeof(int64) * Max(s->n_value_slots, 1));
	for (i = 0; i < h->n_samples; i++)
	{
		const int64 *vals = v->values + (Size) i * h->n_sample_types;
		bool		nonzero = false;
		uint32		k;

		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
		for (k = 0; k < h->n_sample_types; k++)
		{
			values[columns[k]] = vals[k];
			nonzero |= vals[k] != 0;
		}
		if (!nonzero)
			continue;
		MergeAddSample(s, m->key, LosslessSampleKey(s, m, &v->samples[i]), values);
	}
}

/*
 * pprof_merge requires one period type, as pprof does: the state's, or
 * period_type (state strings: type, unit) when it has none yet.
 */
void
MergeLosslessPeriodType(MergeState *s, const uint32 *period_type)
{
	if (!s->have_period_type)
	{
		s->have_period_type = true;
		s->period_type[0] = period_type[0];
		s->period_type[1] = period_type[1];
	}
	else if (memcmp(period_type, s->period_type, sizeof(s->period_type)) != 0)
	{
		/* named in byte order: which row came first depends on the plan */
		char	   *a = DescribeTypes(s, s->period_type, 1);
		char	   *b = DescribeTypes(s, period_type, 1);

		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot merge pprof profiles with different period types"),
				 errdetail("One profile has period type %s, another has %s.",
						   strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a),
				 errhint(HINT_ONE_KIND)));
	}
}

/* MergeLosslessSampleTypes for input m: each type in one input, in its order. */
static void
InputSampleTypes(MergeState *s, InputMap *m, uint32 *columns)
{
	const PprofView *v = m->v;
	uint32		n = v->hdr->n_sample_types;
	uint32		types[2 * PPROF_MAX_SAMPLE_TYPES];
	uint32		inputs[PPROF_MAX_SAMPLE_TYPES];
	uint64		before[PPROF_MAX_SAMPLE_TYPES];
	uint32		i;

	for (i = 0; i < n; i++)
	{
		types[2 * i] = MergeMapString(s, m, v->sample_types[i].type);
		types[2 * i + 1] = MergeMapString(s, m, v->sample_types[i].unit);
		inputs[i] = 1;
		/* listed before every later one */
		before[i] = ~((UINT64CONST(2) << i) - 1);
	}
	MergeLosslessSampleTypes(s, types, n, inputs, before, columns);
}

/*
 * The state slot (columns[k]) of each of n sample types (types: state
 * strings, type and unit), new slots for types no input had; and what the
 * inputs they come from say of them: how many have each (inputs), and
 * which lists it before which (bit j of before[i]: i before j). Types are
 * (type, unit) pairs; a pair an input lists twice takes two slots.
 */
void
MergeLosslessSampleTypes(MergeState *s, const uint32 *types, uint32 n, const uint32 *inputs,
						 const uint64 *before, uint32 *columns)
{
	uint64		taken = 0;		/* the slots of these types */
	uint32		i,
				k;

	for (i = 0; i < n; i++)
	{
		uint32		type = types[2 * i];
		uint32		unit = types[2 * i + 1];

		for (k = 0; k < s->n_sample_types; k++)
			if (s->sample_types[2 * k] == type && s->sample_types[2 * k + 1] == unit &&
				!(taken & (UINT64CONST(1) << k)))
				break;
		if (k == s->n_sample_types)
			k = AddSampleType(s, type, unit);
		taken |= UINT64CONST(1) << k;
		columns[i] = k;
	}

	for (i = 0; i < n; i++)
	{
		s->type_inputs[columns[i]] += inputs[i];
		for (k = 0; k < n; k++)
			if (before[i] & (UINT64CONST(1) << k))
				s->type_before[columns[i]] |= UINT64CONST(1) << columns[k];
	}
}

/*
 * A new sample type, no input's so far: one more value slot for every
 * sample.
 */
static uint32
AddSampleType(MergeState *s, uint32 type, uint32 unit)
{
	uint32		n = s->n_sample_types;
	int64	   *values;
	uint32		i;

	if (n == PPROF_MAX_SAMPLE_TYPES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many sample types in a pprof merge"),
				 errdetail("The profiles have more than %d distinct sample types.",
						   PPROF_MAX_SAMPLE_TYPES)));
	values = MemoryContextAllocHuge(s->cxt, sizeof(int64) * s->values_cap * (n + 1));
	for (i = 0; i < s->samples.n; i++)
	{
		memcpy(&values[(Size) i * (n + 1)], &s->values[(Size) i * n], sizeof(int64) * n);
		values[(Size) i * (n + 1) + n] = 0;
	}
	pfree(s->values);
	s->values = values;
	s->n_value_slots = n + 1;
	s->sample_types[2 * n] = type;
	s->sample_types[2 * n + 1] = unit;
	s->type_inputs[n] = 0;
	s->type_before[n] = 0;
	s->n_sample_types = n + 1;
	return n;
}

/*
 * The sample types of the merge, as go tool pprof keeps them
 * (CompatibilizeSampleTypes): those every input has, in the order the
 * inputs list them; when inputs disagree on the order, by content, so the
 * order never depends on the order of rows. Their slots go to columns;
 * returns how many. *default_sample_type: the default sample type, which
 * pprof sets to the first kept type when an input lost the one it named.
 */
uint32
MergeLosslessOutputTypes(const MergeState *s, uint32 *columns, uint32 *default_sample_type)
{
	uint32		n = 0;
	bool		agree = true;
	TypeOrder	order;
	uint32		i,
				k;

	for (i = 0; i < s->n_sample_types; i++)
		if (s->type_inputs[i] == s->n_inputs)
			columns[n++] = i;
	if (n == 0 && s->n_sample_types > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot merge pprof profiles with no sample type in common"),
				 errdetail("No sample type is in all %u profiles: %s.",
						   s->n_inputs, DescribeTypeCounts(s)),
				 errhint(HINT_ONE_KIND)));

	/* do the inputs agree on the order of the kept types? */
	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if ((s->type_before[columns[i]] & (UINT64CONST(1) << columns[k])) &&
				(s->type_before[columns[k]] & (UINT64CONST(1) << columns[i])))
				agree = false;
	order.s = s;
	order.agree = agree;
	for (i = 0; i < n; i++)
	{
		/* agreeing: each input has every kept type, so each pair is ordered */
		order.rank[columns[i]] = 0;
		for (k = 0; k < n; k++)
			if (s->type_before[columns[k]] & (UINT64CONST(1) << columns[i]))
				order.rank[columns[i]]++;
	}
	qsort_arg(columns, n, sizeof(uint32), CompareSampleTypes, &order);

	*default_sample_type = s->default_sample_type;
	if (n > 0 && (n < s->n_sample_types || !agree))
	{
		bool		kept_default = false;

		for (i = 0; i < n; i++)
			kept_default |= s->sample_types[2 * columns[i]] == s->default_sample_type;
		if (!kept_default)
			*default_sample_type = s->sample_types[2 * columns[0]];
	}
	return n;
}

/* Order of state sample types: as the inputs list them, else by content. */
static int
CompareSampleTypes(const void *a, const void *b, void *arg)
{
	const TypeOrder *order = arg;
	const MergeState *s = order->s;
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;
	int			c;

	if (order->agree)
		return order->rank[x] < order->rank[y] ? -1 : order->rank[x] > order->rank[y];
	if ((c = MergeCompareStrings(s, s->sample_types[2 * x], s->sample_types[2 * y])) != 0 ||
		(c = MergeCompareStrings(s, s->sample_types[2 * x + 1], s->sample_types[2 * y + 1])) != 0)
		return c;
	return x < y ? -1 : x > y;
}

/* The state's sample types and how many inputs had each, for a message. */
static char *
DescribeTypeCounts(const MergeState *s)
{
	StringInfoData buf;
	uint32		i;

	initStringInfo(&buf);
	for (i = 0; i < s->n_sample_types; i++)
		appendStringInfo(&buf, "%s%s in %u", i > 0 ? ", " : "",
						 DescribeTypes(s, &s->sample_types[2 * i], 1), s->type_inputs[i]);
	return buf.data;
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
 * Every mapping of the input, used or not, has a say in what represents its
 * identity in the result (MergeMapMapping: the smallest by content, e.g. the
 * lowest start address of one PIE binary loaded at different addresses).
 * Were only the mappings that samples reach counted, a mapping reached only
 * by samples that sum to zero, or only named as an input's main binary,
 * would count in a serial plan and be gone from a partial state, and the
 * plans would write different addresses. A partial state carries every
 * mapping of the state (pprof_merge_partial.c), so a combined state sees
 * them all too.
 */
static void
MapAllMappings(MergeState *s, InputMap *m)
{
	uint32		i;

	for (i = 0; i < m->v->hdr->n_mappings; i++)
		(void) MergeMapMapping(s, m, i);
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
	bool		has_samples = false;
	Size		i;

	if (h->n_mappings == 0)
		return;
	for (i = 0; i < (Size) h->n_samples * h->n_sample_types && !has_samples; i++)
		has_samples = m->v->values[i] != 0;
	MergeLosslessMainMapping(s, MergeMapMapping(s, m, 0), has_samples);
}

/*
 * A candidate for the main mapping: state mapping main, the main mapping
 * of inputs of which some had samples (has_samples) or none. A partial
 * state's is its main one, and whether that came from an input with
 * samples is what the partial says: the state may have samples from inputs
 * without mappings. "Smallest" is by what identifies a mapping (its key),
 * which no later input changes; its content (mapping_data) may still
 * become smaller or gain flags, so comparing that would depend on when the
 * inputs came.
 */
void
MergeLosslessMainMapping(MergeState *s, uint32 main, bool has_samples)
{
	if (s->main_mapping == NO_INDEX ||
		(has_samples && !s->main_has_samples) ||
		(has_samples == s->main_has_samples &&
		 CompareMappingKeys(s, main, s->main_mapping) < 0))
	{
		s->main_mapping = main;
		s->main_has_samples = has_samples;
	}
}

/* Order of state mappings a and b by their keys' content (pprof_merge_state.h). */
static int
CompareMappingKeys(const MergeState *s, uint32 a, uint32 b)
{
	const uint32 *ka = KeyWords(&s->mappings, a);
	const uint32 *kb = KeyWords(&s->mappings, b);
	int			k;

	for (k = 0; k < 4; k += 2)
		if (Word64(&ka[k]) != Word64(&kb[k]))
			return Word64(&ka[k]) < Word64(&kb[k]) ? -1 : 1;
	return MergeCompareStrings(s, ka[4], kb[4]);
}

/* Build the LOSSLESS key of a sample in m->key; returns its length in words. */
static uint32
LosslessSampleKey(MergeState *s, InputMap *m, const PprofSample *smp)
{
	uint32	   *key = m->key;
	const uint32 *stack = &m->v->stack[smp->first_location];
	uint32	   *mapped = m->locations;
	uint32		depth = smp->depth;
	uint32	   *labels;
	uint32		w = 0;
	uint32		k;

	/*
	 * The state location of each frame, with what it reads held in locals:
	 * the key's stores could alias the state and the map (uint32 words), so
	 * the compiler reloaded them for every frame of every sample.
	 */
	key[w++] = depth;
	for (k = 0; k < depth; k++)
	{
		uint32		loc = mapped[stack[k]];

		if (unlikely(loc == NO_INDEX))
			loc = LosslessMapLocation(s, m, stack[k]);
		key[w++] = loc;
	}
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
	MergeLosslessSortLabels(labels, smp->n_labels);
	return w;
}

/*
 * The n labels of a sample key (5 words each) in key order: label order
 * does not identify a sample. The order is that of state string ids, so a
 * key of another state, its strings mapped, is sorted again.
 */
void
MergeLosslessSortLabels(uint32 *labels, uint32 n)
{
	if (n > 1)
		qsort(labels, n, sizeof(uint32) * 5, CompareLabels);
}

/*
 * State index of input location index, not mapped by this input yet. An
 * earlier input of the same binary most likely had it: the location last
 * mapped with the same mapping, address, folding and number of lines
 * (s->addresses) is it if its lines have the same content, which
 * SameLines checks by comparing bytes, without hashing or interning the
 * function's strings, the function and the key; anything else is mapped
 * the long way (MergeMapNewLocation). Both ways give the same state
 * location: the location's content determines its key. Out of line: the
 * loop over every frame of every sample that calls it stays small.
 */
static pg_noinline uint32
LosslessMapLocation(MergeState *s, InputMap *m, uint32 index)
{
	const PprofView *v = m->v;
	const PprofLocation *l = &v->locations[index];
	AddressKey	key;
	AddressEntry *entry;
	bool		found;

	if (s->addresses == NULL)
		s->addresses = addrhash_create(s->cxt, 1024, NULL);
	key.address = l->address;
	key.mapping = 0;
	if (l->mapping != PPROF_NO_MAPPING)
	{
		key.mapping = MergeMapMapping(s, m, l->mapping - 1) + 1;
		key.address -= v->mappings[l->mapping - 1].memory_start;
	}
	key.shape = l->n_lines | (l->is_folded ? (uint32) 1 << 31 : 0);
	entry = addrhash_insert(s->addresses, key, &found);
	if (found && SameLines(s, m, l, entry->location))
		return m->locations[index] = entry->location;
	/* (entry stays valid: mapping the location does not touch the table) */
	entry->location = MergeMapNewLocation(s, m, index);
	return entry->location;
}

/*
 * Whether the lines of input location l have the content of those of state
 * location (whose mapping, address, folding and number of lines are l's):
 * line, column, and the function's start line and strings. What is found
 * equal is what mapping the input's function and strings would give, so
 * it goes into the input's maps.
 */
static bool
SameLines(MergeState *s, InputMap *m, const PprofLocation *l, uint32 location)
{
	const PprofView *v = m->v;
	uint32		n_lines,
				stride;
	const uint32 *lines = LocationKeyLines(s, KeyWords(&s->locations, location),
										   &n_lines, &stride);
	uint32		k;

	for (k = 0; k < n_lines; k++)
	{
		const PprofLine *line = &v->lines[l->first_line + k];
		const PprofFunction *f = &v->functions[line->function];
		const uint32 *x = &lines[k * stride];
		const uint32 *fk;

		if (Word64(&x[1]) != (uint64) line->line || Word64(&x[3]) != (uint64) line->column)
			return false;
		if (m->functions[line->function] != NO_INDEX)
		{
			if (m->functions[line->function] != x[0])
				return false;
			continue;
		}
		fk = KeyWords(&s->functions, x[0]);
		if (Word64(&fk[3]) != (uint64) f->start_line ||
			!SameString(s, m, f->name, fk[0]) ||
			!SameString(s, m, f->system_name, fk[1]) ||
			!SameString(s, m, f->filename, fk[2]))
			return false;
		m->functions[line->function] = x[0];
	}
	return true;
}

/* Whether input string index has the bytes of state string sid. */
static bool
SameString(MergeState *s, InputMap *m, uint32 index, uint32 sid)
{
	const PprofView *v = m->v;
	uint32		len;
	const char *bytes;

	if (m->strings[index] != NO_INDEX)
		return m->strings[index] == sid;
	bytes = InternerKey(&s->strings, sid, &len);
	/* read in place: the decoder validated every string index */
	if (v->str_offsets[index + 1] - v->str_offsets[index] - 1 != len ||
		memcmp(v->str_data + v->str_offsets[index], bytes, len) != 0)
		return false;
	m->strings[index] = sid;
	return true;
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
