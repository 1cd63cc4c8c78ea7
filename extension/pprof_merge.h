/*-------------------------------------------------------------------------
 *
 * pprof_merge.h
 *	  Internal API of the merge aggregates: key interning and merge state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_MERGE_H
#define PPROF_MERGE_H

#include "pprof.h"

/*
 * Maps variable-length byte keys to dense indexes 0, 1, 2... in order of
 * first insertion. Keys live back to back in one arena, each starting on a
 * 4-byte boundary so keys made of uint32 words can be read in place.
 */
typedef struct PprofInterner
{
	MemoryContext cxt;
	char	   *arena;
	Size		arena_used;
	Size		arena_size;
	Size	   *offsets;		/* per entry */
	uint32	   *lengths;		/* per entry, bytes */
	uint32	   *hashes;			/* per entry */
	uint32		n;
	uint32		cap;
	uint32	   *buckets;		/* entry index + 1; 0 = empty */
	uint32		nbuckets;		/* power of two */
} PprofInterner;

extern void InternerInit(PprofInterner *it, MemoryContext cxt, uint32 expected);
extern uint32 InternerAdd(PprofInterner *it, const void *key, uint32 len, bool *found);
extern const char *InternerKey(const PprofInterner *it, uint32 index, uint32 *len);
extern Size InternerMemory(const PprofInterner *it);

typedef enum MergeMode
{
	MERGE_LOSSLESS,				/* pprof_merge: pprof semantics */
	MERGE_PGO					/* pgo_merge: what the Go compiler reads */
} MergeMode;

typedef struct MergeState MergeState;

extern MergeState *MergeStateCreate(MergeMode mode, MemoryContext cxt);
extern void MergeStateAdd(MergeState *state, const Pprof *pprof, double weight);
extern void MergeStateAddState(MergeState *state, const MergeState *other);
extern Pprof *MergeStateToPprof(const MergeState *state, bool partial);
extern bool MergeStateIsEmpty(const MergeState *state);
extern MergeMode MergeStateMode(const MergeState *state);

/* Layout flag: a serialized partial pgo_merge state, not a user profile. */
#define PPROF_FLAG_PGO_PARTIAL	0x01

/* Fixed-point scale of pgo_merge sample weights (exact sums, any order). */
#define PGO_FIXED_ONE			65536

/* GUCs (pprof.c) */
extern bool pprof_pgo_normalize;
extern int	pprof_pgo_frames;
extern char *pprof_pgo_denylist;

#endif							/* PPROF_MERGE_H */
