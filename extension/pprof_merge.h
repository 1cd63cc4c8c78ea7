/*-------------------------------------------------------------------------
 *
 * pprof_merge.h
 *	  The merge state behind the aggregates pprof_merge and pgo_merge.
 *
 * pprof_merge.c (the SQL interface) sees only this: create a state, add
 * profiles or another state to it, write it out. How a state is kept is
 * pprof_merge_state.h's business.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_MERGE_H
#define PPROF_MERGE_H

#include "pprof.h"

typedef enum MergeMode
{
	MERGE_LOSSLESS,				/* pprof_merge: pprof semantics */
	MERGE_PGO					/* pgo_merge: what the Go compiler reads */
} MergeMode;

typedef struct MergeState MergeState;

/* pprof_merge_state.c */
extern MergeState *MergeStateCreate(MergeMode mode, MemoryContext cxt);
extern void MergeStateAdd(MergeState *state, const Pprof *pprof, double weight);
extern void MergeStateAddState(MergeState *state, const MergeState *other);
extern bytea *MergeStateSerialize(const MergeState *state);
extern void MergeStateAddSerialized(MergeState *state, const char *data, Size len);
extern MergeState *MergeStateDeserialize(MergeMode mode, MemoryContext cxt,
										 const char *data, Size len);
extern void MergeStateResolve(MergeState *state);
extern bool MergeStateIsEmpty(const MergeState *state);
extern MemoryContext MergeStateContext(const MergeState *state);
extern void PprofCheckMergeInput(const Pprof *pprof, MergeMode mode, int frames);

/* pprof_merge_parallel.c */
extern bool MergeStateDefer(MergeState *state, Datum value, double weight);
extern void MergeStateFlush(MergeState *state);
extern int	pprof_max_parallel_merge_workers;
extern int	pprof_min_parallel_merge_size;
extern int	pprof_retain_memory;

/* pprof_retain.c */
extern void PprofRetainMemoryAssign(int newval, void *extra);

/* pprof_merge_output.c */
extern Pprof *MergeStateToPprof(const MergeState *state);

/*
 * Layout flag: the pgo projection of a profile (pprof_pgo_projection.c),
 * whose header field reserved holds PPROF_PROJECTION_VERSION in its high
 * byte and the leaf-most frames kept in its low byte. (0x01 and 0x02 marked
 * the partial states of earlier builds' parallel merges, never stored.)
 */
#define PPROF_FLAG_PGO_PROJECTION 0x04
#define PPROF_PROJECTION_VERSION 1
/* ... or its compact form, which readers expand (pprof_pgo_compact.c) */
#define PPROF_PROJECTION_COMPACT 2
/* ... the same with a content hash per stack, which pgo_merge looks up first */
#define PPROF_PROJECTION_HASHED 3

static inline uint16
PprofProjectionReserved(int frames)
{
	return (uint16) ((PPROF_PROJECTION_VERSION << 8) | frames);
}

/* pprof_pgo_projection.c */
extern Pprof *PprofPgoProject(const PprofView *view, int frames);

/* pprof_pgo_compact.c */
extern bool PprofIsCompactProjection(const Pprof *pprof);
extern Pprof *PprofCompactProjection(const PprofView *projection);
extern Pprof *PprofCompactProjectionAs(const PprofView *projection, int version,
									   uint32 hash_mask);
extern Pprof *PprofExpandProjection(const Pprof *compact);

/* What pgo_merge reads of a compact projection's samples. */
typedef struct PprofCompactSamples
{
	uint32		n_samples;
	uint32		n_types;
	uint32		n_stacks;		/* distinct stacks */
	int64	   *values;			/* n_samples * n_types */
	uint32	   *sample_stack;	/* per sample: its stack */
	uint32	   *stack_depth;	/* per stack */
	uint32	   *stack_first;	/* per stack: where it starts in stack_locations */
	uint32	   *stack_locations;	/* location indexes, stack after stack */
	/*
	 * ... their slots: location * frames + synthetic address
	 * (pprof_merge_pgo.c), the index of pgo_merge's map of the row when it
	 * reads all frames the projection keeps
	 */
	uint32	   *stack_slot;
	/*
	 * per stack: its content hash (PprofStackHash), for the frames the
	 * projection keeps; NULL when the value has none (version 2)
	 */
	uint32	   *stack_hash;
	int			frames;			/* the leaf-most frames the projection keeps */
} PprofCompactSamples;

extern Pprof *PprofOpenCompactSamples(const Pprof *compact, PprofCompactSamples *cs);

/* Fixed-point scale of pgo_merge sample weights (exact sums, any order). */
#define PGO_FIXED_ONE			65536

/* GUCs (pprof.c) */
extern bool pprof_pgo_normalize;
extern int	pprof_pgo_frames;
extern char *pprof_pgo_denylist;

#endif							/* PPROF_MERGE_H */
