/*-------------------------------------------------------------------------
 *
 * pprof_intern.h
 *	  Interning of variable-length byte keys to dense indexes.
 *
 * The merge state (pprof_merge_state.c) interns everything it sees, so
 * equal things get equal indexes and the state grows with the number of
 * distinct things, not with the number of rows (docs/DESIGN.md section 6).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_INTERN_H
#define PPROF_INTERN_H

/*
 * Maps variable-length byte keys to dense indexes 0, 1, 2... in order of
 * first insertion. Keys live back to back in one arena, each starting on a
 * 4-byte boundary so keys made of uint32 words can be read in place.
 *
 * A bucket holds its entry's hash beside the entry's number, and an entry
 * its key's offset and length together: a lookup that finds its key reads
 * one bucket, one entry and the key, and a probe past another key reads
 * only its bucket (a merge interns millions of keys in tables larger than
 * the CPU's caches, where each read is a cache miss).
 */
typedef struct InternerBucket
{
	uint32		entry;			/* entry index + 1; 0 = empty */
	uint32		hash;
} InternerBucket;

typedef struct InternerEntry
{
	Size		offset;			/* of the key in the arena */
	uint32		length;			/* bytes */
	uint32		hash;
} InternerEntry;

typedef struct PprofInterner
{
	MemoryContext cxt;
	char	   *arena;
	Size		arena_used;
	Size		arena_size;
	InternerEntry *entries;
	uint32		n;
	uint32		cap;
	InternerBucket *buckets;
	uint32		nbuckets;		/* power of two */
} PprofInterner;

extern void InternerInit(PprofInterner *it, MemoryContext cxt, uint32 expected);
extern uint32 InternerAdd(PprofInterner *it, const void *key, uint32 len, bool *found);

/*
 * The key stored at index (4-byte aligned), and its length. Inline: the
 * merge output's sorts read two keys per comparison.
 */
static inline const char *
InternerKey(const PprofInterner *it, uint32 index, uint32 *len)
{
	if (unlikely(index >= it->n))
		elog(ERROR, "interner index %u out of range", index);
	*len = it->entries[index].length;
	return it->arena + it->entries[index].offset;
}

#endif							/* PPROF_INTERN_H */
