/*-------------------------------------------------------------------------
 *
 * pprof_merge_pgo.c
 *	  What pgo_merge adds of an input to a merge state (MERGE_PGO).
 *
 * pgo_merge keeps what cmd/compile reads (Go 1.23,
 * cmd/internal/pgo/pprof.go and internal/profile/graph.go; docs/DESIGN.md
 * section 2): the value of the first sample type that is samples/count or
 * cpu/nanoseconds, and for each sample the lines (function name, start
 * line, line) of its two leaf-most locations. A graph node there is
 * (address, function, line, start line), so what matters of addresses is
 * only which of a sample's leaf-most locations share one; each location
 * gets a synthetic address, the depth at which its address first occurs in
 * the stack, which preserves exactly that. The pprof.pgo_frames leaf-most
 * locations are kept (2 needed, the rest margin). Labels, mappings, file
 * names and columns are dropped. Weights and normalization scale values
 * into fixed point (PGO_FIXED_ONE), so sums are exact integers and do not
 * depend on the order rows arrive in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "pprof_merge_state.h"

/* pprof.pgo_frames is at most this */
#define MAX_PGO_FRAMES	64

static void ReadDenylist(MergeState *s);
static bool HasStartLine(const PprofView *v);
static double PgoNormalization(const PprofView *v, const PgoInput *in,
								double count_scale, double period);
static inline int64 PgoWeight(int64 raw, double scale);
pg_noreturn static void PgoWeightOutOfRange(int64 raw);
static void PgoAddCompact(MergeState *s, InputMap *m, const PgoInput *in);
static uint32 PgoStackSample(MergeState *s, InputMap *m, const PprofCompactSamples *cs,
							 uint32 stack, bool by_hash);
static uint32 PgoSampleKey(MergeState *s, InputMap *m, const uint32 *stack, uint32 depth,
						   const uint32 *slot, uint32 frames);
static uint32 PgoFunctionContent(MergeState *s, InputMap *m, uint32 index);
static uint32 PgoMapFunction(MergeState *s, InputMap *m, uint32 index);
static uint32 *GrowMap(MergeState *s, uint32 *map, uint32 *cap, uint32 index);
static uint32 PgoMapLocation(MergeState *s, InputMap *m, uint32 index, uint32 synth);

/*
 * The pgo_merge part of a new state: the settings, read once so one merge
 * never mixes two, and the strings of the output's sample types.
 */
void
MergePgoInit(MergeState *s)
{
	s->n_value_slots = 2;
	s->pgo_frames = pprof_pgo_frames;
	s->pgo_normalize = pprof_pgo_normalize;
	s->sid_samples = MergeInternString(s, "samples", 7);
	s->sid_count = MergeInternString(s, "count", 5);
	s->sid_cpu = MergeInternString(s, "cpu", 3);
	s->sid_nanoseconds = MergeInternString(s, "nanoseconds", 11);
	InternerInit(&s->pgo_functions, s->cxt, 1024);
	s->pgo_content_function = GrowMap(s, NULL, &s->pgo_content_function_cap, 1023);
	s->pgo_function_content = GrowMap(s, NULL, &s->pgo_function_content_cap, 1023);
	MergePgoStacksInit(s);
	ReadDenylist(s);
}

/* pprof.pgo_denylist as state string ids; "a, b" lists a and b. */
static void
ReadDenylist(MergeState *s)
{
	char	   *list;
	char	   *tok;
	char	   *save = NULL;
	int			cap = 8;

	if (!pprof_pgo_denylist || pprof_pgo_denylist[0] == '\0')
		return;
	list = pstrdup(pprof_pgo_denylist);
	s->deny = MemoryContextAlloc(s->cxt, sizeof(uint32) * cap);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		char	   *end;

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
		s->deny[s->n_deny++] = MergeInternString(s, tok, strlen(tok));
	}
	pfree(list);
}

/*
 * The name pgo_merge gives a function named by state string name: itself,
 * or when it is on pprof.pgo_denylist, a renamed one, so the compiler
 * matches no function to it.
 */
uint32
MergePgoFunctionName(MergeState *s, uint32 name)
{
	int			i;

	for (i = 0; i < s->n_deny; i++)
	{
		if (s->deny[i] == name)
		{
			/* interned strings are unterminated: print len bytes */
			uint32		len;
			const char *str = InternerKey(&s->strings, name, &len);
			char	   *renamed = psprintf("pgo-denylisted:%.*s", (int) len, str);
			uint32		result = MergeInternString(s, renamed, strlen(renamed));

			pfree(renamed);
			return result;
		}
	}
	return name;
}

/*
 * pgo_merge: whether input v counts, and if so how its values become
 * weights (*in). A profile counts when the compiler would read it (docs/DESIGN.md section 2) and its weight is not
 * zero. The compiler reads the first sample type that is samples/count or
 * cpu/nanoseconds; each sample is weighed both ways (PgoInput), so the
 * output can be in the unit the compiler would read of the inputs, whatever
 * their order. Normalized to 60 s when pprof.pgo_normalize is on, times
 * the weight.
 */
bool
MergePgoUsable(MergeState *s, const PprofView *v, double weight, PgoInput *in)
{
	const Pprof *h = v->hdr;
	double		period = h->period > 0 ? (double) h->period : 1e7;
	double		count_scale = 1.0;
	double		ns_scale = 1.0;
	double		factor = 1.0;

	/* the samples (AddInput) stay; the rest is set here */
	in->value_index = 0;
	in->reads_ns = false;
	in->ns_index = 0;
	in->count_scale = 0;
	in->ns_scale = 0;
	in->value_index = PprofPgoSampleIndex(v);
	if (in->value_index < 0 || in->n_samples == 0 || !HasStartLine(v) || weight == 0)
		return false;

	/*
	 * In counts: nanoseconds over the period (assumed 10 ms, runtime/pprof's,
	 * when the profile has none). In nanoseconds: the cpu/nanoseconds values
	 * where there are any, else counts times the period.
	 */
	in->reads_ns = PprofStringEquals(v, v->sample_types[in->value_index].type, "cpu");
	in->ns_index = PprofFindSampleType(v, "cpu/nanoseconds");
	if (in->reads_ns)
		count_scale = 1.0 / period;
	else if (in->ns_index < 0)
	{
		in->ns_index = in->value_index;
		ns_scale = period;
	}

	if (s->pgo_normalize)
		factor = PgoNormalization(v, in, count_scale, period);
	in->count_scale = count_scale * factor * weight * PGO_FIXED_ONE;
	in->ns_scale = ns_scale * factor * weight;
	return true;
}

/*
 * The factor that makes input v count as 60 s of profile: 60 s over its
 * duration. Without a duration (converters leave it 0), or with one shorter
 * than a 1024th of the CPU time its samples account for (no machine has
 * that many cores busy: an odd header, which must neither fail a merge nor
 * outweigh every other input), assume it was one busy core: the sampled
 * time: the read sample type's values in counts (count_scale) times the
 * period.
 */
static double
PgoNormalization(const PprofView *v, const PgoInput *in, double count_scale, double period)
{
	double		seconds = v->hdr->duration_nanos / 1e9;
	double		sampled = 0;
	uint32		i;

	for (i = 0; i < in->n_samples; i++)
		sampled += (double) in->values[(Size) i * in->n_types + in->value_index] * count_scale;
	sampled = sampled * period / 1e9;
	if (seconds <= 0 || seconds < sampled / 1024)
		seconds = sampled;
	return seconds > 0 ? 60.0 / seconds : 1.0;
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

/*
 * pgo_merge: the samples of one input, weighed in fixed-point counts and in
 * nanoseconds (the state's two value slots).
 */
void
MergePgoAdd(MergeState *s, InputMap *m, const PgoInput *in)
{
	const PprofView *v = m->v;
	uint32		i;

	MergeAddHeader(s, m);
	if (in->reads_ns)
		s->pgo_nanoseconds = true;
	if (in->compact)
	{
		PgoAddCompact(s, m, in);
		return;
	}

	for (i = 0; i < in->n_samples; i++)
	{
		const int64 *vals = in->values + (Size) i * in->n_types;
		int64		weights[2];

		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
		/* what the compiler would skip */
		if (vals[in->value_index] == 0)
			continue;
		weights[0] = PgoWeight(vals[in->value_index], in->count_scale);
		weights[1] = PgoWeight(vals[in->ns_index], in->ns_scale);
		{
			const PprofSample *smp = &v->samples[i];

			MergeAddSample(s, m->key,
						   PgoSampleKey(s, m, &v->stack[smp->first_location], smp->depth, NULL, 0),
						   weights);
		}
	}
}

/*
 * The samples of a compact projection. Samples with one stack have one
 * key: each stack's state sample is found once (PgoStackSample) and kept
 * here. The state's two value slots are summed in place, as
 * MergeAddValues() sums them.
 */
static void
PgoAddCompact(MergeState *s, InputMap *m, const PgoInput *in)
{
	const PprofCompactSamples *cs = in->compact;
	const int64 *vals = in->values;
	uint32		n_types = in->n_types;
	int			value_index = in->value_index;
	int			ns_index = in->ns_index;
	double		count_scale = in->count_scale;
	double		ns_scale = in->ns_scale;
	uint32	   *stack_sample;
	bool		by_hash;
	uint32		i;

	Assert(s->n_value_slots == 2);
	stack_sample = palloc_extended(sizeof(uint32) * Max(cs->n_stacks, 1), MCXT_ALLOC_HUGE);
	memset(stack_sample, 0xff, sizeof(uint32) * cs->n_stacks);
	/* a stack's hash covers its whole projected stack: the key's, if all of it is read */
	by_hash = cs->stack_hash && cs->frames == s->pgo_frames;

	for (i = 0; i < in->n_samples; i++, vals += n_types)
	{
		uint32		st;
		int64	   *acc;

		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
		/* what the compiler would skip */
		if (vals[value_index] == 0)
			continue;
		st = cs->sample_stack[i];
		if (stack_sample[st] == NO_INDEX)
			stack_sample[st] = PgoStackSample(s, m, cs, st, by_hash);
		acc = &s->values[(Size) stack_sample[st] * 2];
		acc[0] = (int64) ((uint64) acc[0] + (uint64) PgoWeight(vals[value_index], count_scale));
		acc[1] = (int64) ((uint64) acc[1] + (uint64) PgoWeight(vals[ns_index], ns_scale));
	}
}

/*
 * The state sample of stack index stack of compact projection cs: found by
 * its stored hash (by_hash; pprof_merge_pgo_stacks.c), else keyed.
 */
static uint32
PgoStackSample(MergeState *s, InputMap *m, const PprofCompactSamples *cs, uint32 stack,
			   bool by_hash)
{
	uint32		first = cs->stack_first[stack];
	uint32		sample;

	if (by_hash)
	{
		sample = MergePgoFindStack(s, m, cs, stack);
		if (sample != NO_INDEX)
			return sample;
	}
	sample = MergeSampleIndex(s, m->key,
							  PgoSampleKey(s, m, &cs->stack_locations[first], cs->stack_depth[stack],
										   &cs->stack_slot[first], cs->frames));
	if (by_hash)
		MergePgoRememberStack(s, cs->stack_hash[stack], sample);
	return sample;
}

pg_noreturn static void
PgoWeightOutOfRange(int64 raw)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("pgo_merge weight out of range"),
			 errdetail("A sample value of %lld times the weight does not fit in 64 bits.",
					   (long long) raw)));
}

/* A sample value times scale, rounded; never 0 when raw is not. */
static inline int64
PgoWeight(int64 raw, double scale)
{
	double		x = (double) raw * scale;
	int64		weight;

	if (raw == 0)
		return 0;
	if (unlikely(!(fabs(x) < 9.0e18)))
		PgoWeightOutOfRange(raw);
	/*
	 * llround(x), inline (it was a call per value): trunc(x) is a double
	 * exactly, so is x minus it, and halves round away from zero
	 */
	weight = (int64) x;
	if (x - (double) weight >= 0.5)
		weight++;
	else if (x - (double) weight <= -0.5)
		weight--;
	/* rounding must never drop a sample that carried weight */
	if (weight == 0)
		weight = x > 0 ? 1 : -1;
	return weight;
}

/*
 * Build the PGO key of a sample whose stack is the depth location indexes
 * at stack in m->key (its pgo_frames leaf-most locations, with synthetic
 * addresses: from a compact projection's slots, location * frames +
 * synthetic address, else from the locations' addresses); returns its
 * length in words.
 */
static uint32
PgoSampleKey(MergeState *s, InputMap *m, const uint32 *stack, uint32 depth,
			 const uint32 *slot, uint32 frames)
{
	uint32	   *key = m->key;
	uint64		addrs[MAX_PGO_FRAMES];
	uint32		w = 0;
	uint32		k;

	depth = Min(depth, (uint32) s->pgo_frames);
	key[w++] = depth;
	for (k = 0; k < depth; k++)
	{
		uint32		li = stack[k];
		uint32		at = k;
		uint32		j;

		if (slot)
			at = slot[k] - li * frames;
		else
		{
			addrs[k] = m->v->locations[li].address;
			for (j = 0; j < k; j++)
			{
				if (addrs[j] == addrs[k])
				{
					at = j;
					break;
				}
			}
		}
		key[w++] = PgoMapLocation(s, m, li, at);
	}
	return w;
}

/*
 * The content id of input function index: its name's bytes and start line,
 * interned in s->pgo_functions, which determine its state function
 * (MergeMapFunction: the name, denylisted or not, and the start line).
 * Asked once per function of an input: the name is hashed, not interned.
 */
static uint32
PgoFunctionContent(MergeState *s, InputMap *m, uint32 index)
{
	const PprofView *v = m->v;
	const PprofFunction *f;
	uint32		len;
	Size		need;
	uint32	   *key;
	bool		found;

	if (m->pgo_functions[index] != NO_INDEX)
		return m->pgo_functions[index];

	/* the name read in place: the decoder validated every string index */
	f = &v->functions[index];
	len = v->str_offsets[f->name + 1] - v->str_offsets[f->name] - 1;
	need = 3 + (len + 3) / 4;
	if (need > m->content_cap)
	{
		m->content_cap = Max(need, 2 * m->content_cap);
		m->content = m->content ? repalloc_huge(m->content, sizeof(uint32) * m->content_cap)
			: MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * m->content_cap);
	}
	key = m->content;
	PutWord64(&key[0], (uint64) f->start_line);
	key[2] = len;
	/* the name, zero-padded to whole words */
	if (len > 0)
		key[3 + (len - 1) / 4] = 0;
	memcpy(&key[3], v->str_data + v->str_offsets[f->name], len);
	m->pgo_functions[index] = InternerAdd(&s->pgo_functions, key, need * sizeof(uint32), &found);
	return m->pgo_functions[index];
}

/*
 * map (one uint32 per index, NO_INDEX: none yet; *cap of them, none if
 * map is NULL) with room for index: at least twice as long, the new part
 * NO_INDEX.
 */
static uint32 *
GrowMap(MergeState *s, uint32 *map, uint32 *cap, uint32 index)
{
	Size		old = map ? *cap : 0;
	Size		n = Min(Max((Size) index + 1, old * 2), (Size) PG_UINT32_MAX);

	if (map == NULL)
		map = MemoryContextAllocHuge(s->cxt, sizeof(uint32) * n);
	else
		map = repalloc_huge(map, sizeof(uint32) * n);
	memset(map + old, 0xff, sizeof(uint32) * (n - old));
	*cap = (uint32) n;
	return map;
}

/*
 * State function of input function index: that of its content when some
 * input had a function of that content (one hash of its name, no string
 * interned), else mapped (MergeMapFunction). Each content's state function
 * is remembered, and each state function's first content, which a stack
 * found by its hash is checked against (pprof_merge_pgo_stacks.c).
 */
static uint32
PgoMapFunction(MergeState *s, InputMap *m, uint32 index)
{
	uint32		content;
	uint32		function;

	if (m->functions[index] != NO_INDEX)
		return m->functions[index];
	content = PgoFunctionContent(s, m, index);
	if (content >= s->pgo_content_function_cap)
		s->pgo_content_function = GrowMap(s, s->pgo_content_function,
										  &s->pgo_content_function_cap, content);
	if (s->pgo_content_function[content] != NO_INDEX)
		return m->functions[index] = s->pgo_content_function[content];

	function = MergeMapFunction(s, m, index);
	s->pgo_content_function[content] = function;
	if (function >= s->pgo_function_content_cap)
		s->pgo_function_content = GrowMap(s, s->pgo_function_content,
										  &s->pgo_function_content_cap, function);
	if (s->pgo_function_content[function] == NO_INDEX)
		s->pgo_function_content[function] = content;
	return function;
}

/*
 * State index of input location index at synthetic address synth: its key
 * [synth, n_lines, {function, line (2)}*] interned. A location of a binary
 * that earlier inputs had costs one hash of a few words: its functions are
 * found by content (PgoMapFunction), not by interning their names
 * (BENCHMARKS.md, "Merge path").
 */
static uint32
PgoMapLocation(MergeState *s, InputMap *m, uint32 index, uint32 synth)
{
	const PprofView *v = m->v;
	const PprofLocation *l = &v->locations[index];
	uint32		slot = index * s->pgo_frames + synth;
	uint32		stack_key[2 + 3 * 16];
	uint32	   *key = stack_key;
	uint32		w = 0;
	uint32		k;
	bool		found;

	if (m->locations[slot] != NO_INDEX)
		return m->locations[slot];

	if (2 + 3 * (Size) l->n_lines > lengthof(stack_key))
		key = palloc(sizeof(uint32) * (2 + 3 * (Size) l->n_lines));
	/* the key layout LocationKeyLines() reads */
	key[w++] = synth;
	key[w++] = l->n_lines;
	for (k = 0; k < l->n_lines; k++)
	{
		const PprofLine *line = &v->lines[l->first_line + k];

		key[w] = PgoMapFunction(s, m, line->function);
		PutWord64(&key[w + 1], (uint64) line->line);
		w += 3;
	}
	m->locations[slot] = InternerAdd(&s->locations, key, w * sizeof(uint32), &found);
	if (key != stack_key)
		pfree(key);
	return m->locations[slot];
}
