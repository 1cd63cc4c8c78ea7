/*-------------------------------------------------------------------------
 *
 * pprof_intern.c
 *	  Interning of variable-length keys to dense indexes.
 *
 * The merge state interns everything it sees (strings, functions, mappings,
 * locations, stacks) so that equal things get equal indexes and the state
 * grows with the number of distinct things, not with the number of rows.
 * Open addressing with linear probing at a load factor of at most 1/2; the
 * arena and arrays double when full, so inserts are amortized O(1).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "pprof_intern.h"

static void InternerGrowBuckets(PprofInterner *it);
static uint32 InternHash(const void *key, uint32 len);

/* Set up an empty interner whose memory lives in cxt. */
void
InternerInit(PprofInterner *it, MemoryContext cxt, uint32 expected)
{
	uint32		nb = 64;

	while (nb < expected * 2)
		nb <<= 1;
	memset(it, 0, sizeof(*it));
	it->cxt = cxt;
	it->arena_size = Max((Size) expected * 16, 1024);
	it->arena = MemoryContextAllocHuge(cxt, it->arena_size);
	it->cap = Max(expected, 32);
	it->entries = MemoryContextAllocHuge(cxt, sizeof(InternerEntry) * it->cap);
	it->nbuckets = nb;
	it->buckets = MemoryContextAllocExtended(cxt, sizeof(InternerBucket) * nb,
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
InternerGrowBuckets(PprofInterner *it)
{
	uint32		nb = it->nbuckets * 2;
	InternerBucket *buckets;
	uint32		i;

	if (nb == 0 || (Size) nb * sizeof(InternerBucket) > MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct elements in a pprof merge")));
	buckets = MemoryContextAllocExtended(it->cxt, sizeof(InternerBucket) * nb,
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0; i < it->n; i++)
	{
		uint32		h = it->entries[i].hash;
		uint32		b = h & (nb - 1);

		while (buckets[b].entry != 0)
			b = (b + 1) & (nb - 1);
		buckets[b].entry = i + 1;
		buckets[b].hash = h;
	}
	pfree(it->buckets);
	it->buckets = buckets;
	it->nbuckets = nb;
}

/*
 * Hash of a key, 8 bytes at a time. Most keys are a few words (a location,
 * function or stack of state indexes) or a function name; hash_bytes()
 * spent about 110 instructions on a 20-byte key, a sixth of a pgo_merge
 * over catalog rows (BENCHMARKS.md, "Merge path"). Each 8-byte chunk is
 * mixed by a multiply; the murmur3 finalizer spreads the result over the
 * low bits that pick a bucket. Only bucket order depends on it: indexes
 * are assigned in order of first insertion.
 */
static uint32
InternHash(const void *key, uint32 len)
{
	const unsigned char *p = key;
	uint64		h = 0x9E3779B97F4A7C15 ^ ((uint64) len * 0xC2B2AE3D27D4EB4F);

	while (len >= 8)
	{
		uint64		w;

		memcpy(&w, p, 8);
		h = ((h << 23) | (h >> 41)) ^ w;
		h *= 0x9E3779B97F4A7C15;
		p += 8;
		len -= 8;
	}
	if (len > 0)
	{
		/* no memcpy of a variable length: that is a call */
		uint64		w = 0;
		int			shift = 0;

		if (len >= 4)
		{
			uint32		x;

			memcpy(&x, p, 4);
			w = x;
			p += 4;
			len -= 4;
			shift = 32;
		}
		while (len-- > 0)
		{
			w |= (uint64) *p++ << shift;
			shift += 8;
		}
		h = (h ^ w) * 0x9E3779B97F4A7C15;
	}
	/* murmur3's fmix64 */
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCD;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53;
	h ^= h >> 33;
	return (uint32) h;
}

/*
 * Index of key, inserting it if new; *found tells which.
 */
uint32
InternerAdd(PprofInterner *it, const void *key, uint32 len, bool *found)
{
	uint32		h = InternHash(key, len);
	uint32		b = h & (it->nbuckets - 1);
	uint32		index;
	Size		padded;

	for (;;)
	{
		const InternerBucket *bucket = &it->buckets[b];

		if (bucket->entry == 0)
			break;
		if (bucket->hash == h)
		{
			const InternerEntry *e = &it->entries[bucket->entry - 1];

			if (e->length == len && memcmp(it->arena + e->offset, key, len) == 0)
			{
				*found = true;
				return bucket->entry - 1;
			}
		}
		b = (b + 1) & (it->nbuckets - 1);
	}

	*found = false;
	if (it->n == PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct elements in a pprof merge")));

	if (it->n == it->cap)
	{
		it->cap *= 2;
		it->entries = repalloc_huge(it->entries, sizeof(InternerEntry) * it->cap);
	}
	padded = TYPEALIGN(4, len);
	if (it->arena_used + padded > it->arena_size)
	{
		while (it->arena_used + padded > it->arena_size)
			it->arena_size *= 2;
		it->arena = repalloc_huge(it->arena, it->arena_size);
	}

	index = it->n++;
	memcpy(it->arena + it->arena_used, key, len);
	it->entries[index].offset = it->arena_used;
	it->entries[index].length = len;
	it->entries[index].hash = h;
	it->arena_used += padded;
	it->buckets[b].entry = index + 1;
	it->buckets[b].hash = h;

	if ((Size) it->n * 2 > it->nbuckets)
		InternerGrowBuckets(it);
	return index;
}
