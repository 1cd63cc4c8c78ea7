/*-------------------------------------------------------------------------
 *
 * pprof_flame.h
 *	  The call tree behind flame graphs and folded stacks.
 *
 * A node is a path of frame names from the root (outermost caller) down,
 * inlined frames included, as go tool pprof names them (PprofFrameName).
 * Every sample adds its value to each node on its path and to the "self"
 * value of its last node. A differential tree holds a second profile's
 * values on the same nodes, so "the same frame" means the same path of
 * names in both.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_FLAME_H
#define PPROF_FLAME_H

#include "pprof.h"
#include "pprof_intern.h"

/* Which profile of a tree a value belongs to. */
typedef enum FlameSide
{
	FLAME_CURRENT = 0,
	FLAME_BASE = 1
} FlameSide;

typedef struct FlameNode
{
	uint32		parent;			/* node index; the root's is itself */
	uint32		name;			/* name id */
	uint32		first_child;	/* index into FlameTree.children */
	uint32		n_children;
	int64		value[2];		/* per FlameSide: samples through this node */
	int64		self;			/* FLAME_CURRENT samples ending here */
} FlameNode;

typedef struct FlameTree
{
	PprofInterner names;		/* frame name bytes -> name id */
	PprofInterner edges;		/* (parent, name id) -> node index - 1 */
	FlameNode  *nodes;			/* [0] is the root */
	uint32		n_nodes;
	uint32		cap;
	uint32	   *children;		/* after FlameTreeFinish: by parent, name */
	int64		total[2];		/* per FlameSide: sum of sample values */
	char	   *value_unit;		/* how FLAME_CURRENT's values read: its unit,
								 * or its type for unit "count" */
	char	   *sample_type;	/* FLAME_CURRENT's "type/unit" */
} FlameTree;

extern FlameTree *FlameTreeCreate(void);
extern void FlameTreeAdd(FlameTree *tree, const PprofView *view, int k,
						 FlameSide side);
extern void FlameTreeFinish(FlameTree *tree);
extern const char *FlameNodeName(const FlameTree *tree, uint32 node,
								 uint32 *len);

#endif							/* PPROF_FLAME_H */
