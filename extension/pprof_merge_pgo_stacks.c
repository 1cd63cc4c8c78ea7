/*-------------------------------------------------------------------------
 *
 * pprof_merge_pgo_stacks.c
 *	  pgo_merge's stacks found by the hash a compact projection stores.
 *
 * A version-3 compact projection (pprof_pgo_compact.c) stores, per
 * distinct stack, a hash of exactly what pgo_merge's key of that stack is
 * made of (synthetic addresses, lines, function names and start lines).
 * Over a catalog's rows most stacks of a row were met in an earlier row, so
 * pgo_merge first looks the stack's hash up here, among the state samples
 * of the stacks that had it, and takes a candidate only when the row's
 * frames are, by content, its locations: a frame the row mapped already by
 * its state location, another by comparing its lines with that location's
 * key (synthetic address, lines, state functions; pprof_merge_pgo.c), a
 * function the row did not map yet by its name's bytes and start line
 * against the content the state function was first mapped from. A hash is
 * never trusted alone, so a damaged or colliding one only
 * costs the lookup; anything not found goes the way every other input goes
 * (pprof_merge_pgo.c: keys built and interned) and is remembered under its
 * hash. Mapping a row's stack this way costs a probe and a few compares
 * instead of interning a key for each frame and one for the stack
 * (BENCHMARKS.md, "Per-row cost of pgo.profile_for, continued").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "pprof_merge_state.h"

/* A sample under a stack hash; open addressing, linear probing. */
typedef struct PgoStackSlot
{
	uint32		hash;
	uint32		sample;			/* state sample + 1; 0 = empty */
} PgoStackSlot;

static void GrowStacks(MergeState *s);
static bool FunctionMatches(MergeState *s, InputMap *m, uint32 index, uint32 function);
static bool LocationMatches(MergeState *s, InputMap *m, uint32 index, uint32 slot,
							uint32 location);

/* The empty tables of a new pgo_merge state. */
void
MergePgoStacksInit(MergeState *s)
{
	s->pgo_stacks_mask = 1023;
	s->pgo_stacks_n = 0;
	s->pgo_stacks = MemoryContextAllocExtended(s->cxt, sizeof(PgoStackSlot) * 1024,
											   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
GrowStacks(MergeState *s)
{
	Size		n = ((Size) s->pgo_stacks_mask + 1) * 2;
	PgoStackSlot *slots;
	uint32		i;

	if (n > PG_UINT32_MAX || n * sizeof(PgoStackSlot) > MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct elements in a pprof merge")));
	slots = MemoryContextAllocExtended(s->cxt, sizeof(PgoStackSlot) * n,
									   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0; i <= s->pgo_stacks_mask; i++)
	{
		uint32		b;

		if (s->pgo_stacks[i].sample == 0)
			continue;
		for (b = s->pgo_stacks[i].hash & (n - 1); slots[b].sample != 0; b = (b + 1) & (n - 1))
			;
		slots[b] = s->pgo_stacks[i];
	}
	pfree(s->pgo_stacks);
	s->pgo_stacks = slots;
	s->pgo_stacks_mask = (uint32) (n - 1);
}

/*
 * Remember state sample under a stack hash, unless it is there already
 * (a stack whose check failed because another content shares its state
 * sample: nothing new to remember).
 */
void
MergePgoRememberStack(MergeState *s, uint32 hash, uint32 sample)
{
	uint32		b;

	for (b = hash & s->pgo_stacks_mask; s->pgo_stacks[b].sample != 0;
		 b = (b + 1) & s->pgo_stacks_mask)
	{
		if (s->pgo_stacks[b].hash == hash && s->pgo_stacks[b].sample == sample + 1)
			return;
	}
	s->pgo_stacks[b].hash = hash;
	s->pgo_stacks[b].sample = sample + 1;
	if (++s->pgo_stacks_n > s->pgo_stacks_mask / 2)
		GrowStacks(s);
}

/*
 * Is state function the one of input function index? Known when the input
 * mapped the function already; else its name's bytes and start line are
 * compared with the content the state function was first mapped from
 * ([start_line (2), name length, name bytes]: pprof_merge_pgo.c), and an
 * equal one is the input's from then on, as PgoMapFunction would have made
 * it: equal contents map to one state function.
 */
static inline bool
FunctionMatches(MergeState *s, InputMap *m, uint32 index, uint32 function)
{
	const PprofView *v = m->v;
	const PprofFunction *f;
	const uint32 *key;
	uint32		content;
	uint32		len;

	if (m->functions[index] != NO_INDEX)
		return m->functions[index] == function;
	if (function >= s->pgo_function_content_cap ||
		(content = s->pgo_function_content[function]) == NO_INDEX)
		return false;
	f = &v->functions[index];
	len = v->str_offsets[f->name + 1] - v->str_offsets[f->name] - 1;
	key = KeyWords(&s->pgo_functions, content);
	if (Word64(key) != (uint64) f->start_line || key[2] != len ||
		memcmp(&key[3], v->str_data + v->str_offsets[f->name], len) != 0)
		return false;
	m->pgo_functions[index] = content;
	m->functions[index] = function;
	return true;
}

/*
 * Is input location index, at map slot slot (index * pgo_frames + its
 * synthetic address), by content, state location? Compared with that
 * location's key ([synth, n_lines, {function, line (2)}*]); an equal one
 * is the input's from then on, as PgoMapLocation would have made it.
 */
static bool
LocationMatches(MergeState *s, InputMap *m, uint32 index, uint32 slot, uint32 location)
{
	const PprofView *v = m->v;
	const PprofLocation *l = &v->locations[index];
	const uint32 *key = KeyWords(&s->locations, location);
	uint32		synth = slot - index * s->pgo_frames;
	uint32		k;

	if (key[0] != synth || key[1] != l->n_lines)
		return false;
	for (k = 0; k < l->n_lines; k++)
	{
		const PprofLine *line = &v->lines[l->first_line + k];
		const uint32 *kl = &key[2 + 3 * k];

		if (Word64(&kl[1]) != (uint64) line->line ||
			!FunctionMatches(s, m, line->function, kl[0]))
			return false;
	}
	m->locations[slot] = location;
	return true;
}

/*
 * The state sample of stack index stack of the compact projection cs whose
 * hash finds a sample of the same content, or NO_INDEX. The caller keys the
 * stack as any other when NO_INDEX, then remembers it under its hash.
 * Only for projections that keep pgo_frames frames: their stacks are the
 * keys' whole stacks.
 */
uint32
MergePgoFindStack(MergeState *s, InputMap *m, const PprofCompactSamples *cs, uint32 stack)
{
	uint32		hash = cs->stack_hash[stack];
	uint32		depth = cs->stack_depth[stack];
	const uint32 *locations = &cs->stack_locations[cs->stack_first[stack]];
	const uint32 *slots = &cs->stack_slot[cs->stack_first[stack]];
	const uint32 *map = m->locations;
	uint32		b;

	for (b = hash & s->pgo_stacks_mask; s->pgo_stacks[b].sample != 0;
		 b = (b + 1) & s->pgo_stacks_mask)
	{
		uint32		sample;
		const uint32 *key;
		uint32		k;

		if (s->pgo_stacks[b].hash != hash)
			continue;
		sample = s->pgo_stacks[b].sample - 1;
		key = KeyWords(&s->samples, sample);
		/* the key: [depth, location*] */
		if (key[0] != depth)
			continue;
		for (k = 0; k < depth; k++)
		{
			uint32		mapped = map[slots[k]];

			if (mapped != key[1 + k] &&
				(mapped != NO_INDEX || !LocationMatches(s, m, locations[k], slots[k], key[1 + k])))
				break;
		}
		if (k == depth)
			return sample;
	}
	return NO_INDEX;
}
