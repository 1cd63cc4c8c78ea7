/*-------------------------------------------------------------------------
 *
 * pprof_flametree.c
 *	  Build the call tree of a profile (pprof_flame.h) for the flame graph
 *	  and folded-stack outputs.
 *
 * Frames are named as go tool pprof names them at its default granularity
 * (PprofFrameName in pprof_report.c): a function name, "[binary]" or
 * "<unknown>", one frame per line of a location, so inlined calls are
 * frames of their own. Samples whose value is 0 are skipped, as pprof does.
 *
 * The tree grows with the number of distinct paths, bounded by the
 * profile's stack entries times lines per location. Children are sorted by
 * name bytes (FlameTreeFinish), so every output is deterministic and
 * independent of the order of samples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_flame.h"

/* Name of the root frame, which stands for the whole profile. */
#define FLAME_ROOT_NAME "root"

static uint32 FlameChild(FlameTree *tree, uint32 parent, uint32 name);
static int	CompareChildren(const void *a, const void *b, void *arg);

/* An empty tree (just the root) in the current memory context. */
FlameTree *
FlameTreeCreate(void)
{
	FlameTree  *tree = palloc0(sizeof(FlameTree));
	bool		found;

	InternerInit(&tree->names, CurrentMemoryContext, 1024);
	InternerInit(&tree->edges, CurrentMemoryContext, 4096);
	tree->cap = 4096;
	tree->nodes = palloc0(sizeof(FlameNode) * tree->cap);
	tree->n_nodes = 1;
	tree->nodes[0].name = InternerAdd(&tree->names, FLAME_ROOT_NAME,
									  strlen(FLAME_ROOT_NAME), &found);
	return tree;
}

/* The child of parent called name, added if new. */
static uint32
FlameChild(FlameTree *tree, uint32 parent, uint32 name)
{
	uint32		key[2] = {parent, name};
	bool		found;
	uint32		node = InternerAdd(&tree->edges, key, sizeof(key), &found) + 1;

	if (!found)
	{
		if (tree->n_nodes == tree->cap)
		{
			if ((Size) tree->cap * 2 * sizeof(FlameNode) > MaxAllocHugeSize)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many distinct stacks for a flame graph")));
			tree->nodes = repalloc_huge(tree->nodes, sizeof(FlameNode) * tree->cap * 2);
			memset(tree->nodes + tree->cap, 0, sizeof(FlameNode) * tree->cap);
			tree->cap *= 2;
		}
		Assert(node == tree->n_nodes);
		tree->nodes[node].parent = parent;
		tree->nodes[node].name = name;
		tree->n_nodes++;
	}
	return node;
}

/*
 * Add every sample of sample type k of a profile to side's values: to each
 * node on its path, root first, and to its last node's self value (current
 * side only).
 */
void
FlameTreeAdd(FlameTree *tree, const PprofView *view, int k, FlameSide side)
{
	uint32		n_types = view->hdr->n_sample_types;
	uint32		n_lines = view->hdr->n_lines;
	uint32		n_slots = n_lines + view->hdr->n_locations;
	uint32	   *slot_name;
	uint32		i,
				j,
				s;

	if (side == FLAME_CURRENT)
	{
		const PprofValueType *vt = &view->sample_types[k];

		tree->sample_type = PprofSampleTypeName(view, k);
		tree->value_unit = pstrdup(PprofStringServer(view, PprofStringEquals(view, vt->unit, "count") ?
													 vt->type : vt->unit));
	}

	/* a name id per frame slot: each line, then each location without */
	slot_name = palloc_extended(sizeof(uint32) * Max(n_slots, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < view->hdr->n_locations; i++)
	{
		const PprofLocation *loc = &view->locations[i];
		uint32		len;
		const char *name;
		bool		found;

		if (loc->n_lines == 0)
		{
			name = PprofFrameName(view, loc, NULL, &len);
			slot_name[n_lines + i] = InternerAdd(&tree->names, name, len, &found);
		}
		for (j = 0; j < loc->n_lines; j++)
		{
			name = PprofFrameName(view, loc, &view->lines[loc->first_line + j], &len);
			slot_name[loc->first_line + j] = InternerAdd(&tree->names, name, len, &found);
		}
	}

	for (s = 0; s < view->hdr->n_samples; s++)
	{
		const PprofSample *sample = &view->samples[s];
		int64		w = view->values[(Size) s * n_types + k];
		uint32		node = 0;
		uint32		d;

		if ((s & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (w == 0)
			continue;
		PprofAddChecked(&tree->total[side], w, view, k);
		PprofAddChecked(&tree->nodes[0].value[side], w, view, k);

		/* the stack is leaf first, a location's lines innermost first */
		for (d = sample->depth; d-- > 0;)
		{
			uint32		l = view->stack[sample->first_location + d];
			const PprofLocation *loc = &view->locations[l];

			if (loc->n_lines == 0)
			{
				node = FlameChild(tree, node, slot_name[n_lines + l]);
				PprofAddChecked(&tree->nodes[node].value[side], w, view, k);
			}
			for (j = loc->n_lines; j-- > 0;)
			{
				node = FlameChild(tree, node, slot_name[loc->first_line + j]);
				PprofAddChecked(&tree->nodes[node].value[side], w, view, k);
			}
		}
		if (side == FLAME_CURRENT)
			PprofAddChecked(&tree->nodes[node].self, w, view, k);
	}
	pfree(slot_name);
}

/* qsort_arg: nodes by parent, then name bytes. */
static int
CompareChildren(const void *a, const void *b, void *arg)
{
	const FlameTree *tree = arg;
	const FlameNode *x = &tree->nodes[*(const uint32 *) a];
	const FlameNode *y = &tree->nodes[*(const uint32 *) b];
	const char *xn,
			   *yn;
	uint32		xl,
				yl;
	int			c;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	xn = InternerKey(&tree->names, x->name, &xl);
	yn = InternerKey(&tree->names, y->name, &yl);
	c = memcmp(xn, yn, Min(xl, yl));
	if (c != 0)
		return c;
	return xl < yl ? -1 : (xl > yl ? 1 : 0);
}

/* Index every node's children, ordered by name bytes. */
void
FlameTreeFinish(FlameTree *tree)
{
	uint32		n = tree->n_nodes - 1;
	uint32		i;

	tree->children = palloc_extended(sizeof(uint32) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < n; i++)
		tree->children[i] = i + 1;
	qsort_arg(tree->children, n, sizeof(uint32), CompareChildren, tree);
	for (i = 0; i < tree->n_nodes; i++)
		tree->nodes[i].n_children = 0;
	for (i = n; i-- > 0;)
	{
		FlameNode  *parent = &tree->nodes[tree->nodes[tree->children[i]].parent];

		parent->first_child = i;
		parent->n_children++;
	}
}

/* Bytes of a node's frame name (not NUL-terminated). */
const char *
FlameNodeName(const FlameTree *tree, uint32 node, uint32 *len)
{
	return InternerKey(&tree->names, tree->nodes[node].name, len);
}
