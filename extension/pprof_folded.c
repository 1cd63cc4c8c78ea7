/*-------------------------------------------------------------------------
 *
 * pprof_folded.c
 *	  pprof_folded: a profile as folded stacks ("root;caller;callee value"),
 *	  the input of flamegraph.pl, inferno and speedscope.
 *
 * One row per distinct path of frame names (pprof_flame.h) on which samples
 * end, with the sum of their values. Rows come in depth-first order of the
 * call tree, children by name bytes, so the output is deterministic. Frame
 * names are text in the database encoding; the ';' separator is not escaped
 * (no tool that reads the format has an escape), so a name holding ';'
 * reads as two frames there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "pprof_flame.h"

PG_FUNCTION_INFO_V1(pprof_folded);

/* One step of the depth-first walk: a node and its next child to visit. */
typedef struct FoldedFrame
{
	uint32		node;
	uint32		next;			/* children visited so far */
	int			path_len;		/* length of the path down to this node */
} FoldedFrame;

/*
 * pprof_folded(pprof, sample_type DEFAULT NULL): (stack, value) per path of
 * frames that samples end on; the root frame is not part of the stacks.
 */
Datum
pprof_folded(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofView	view;
	int			k;
	FlameTree  *tree;
	const char **name_text;
	FoldedFrame *walk;
	uint32		depth = 0;
	uint32		cap = 64;
	StringInfoData path;

	InitMaterializedSRF(fcinfo, 0);
	if (!PprofOpenWithSampleType(fcinfo, 1, &view, &k))
		return (Datum) 0;

	tree = FlameTreeCreate();
	FlameTreeAdd(tree, &view, k, FLAME_CURRENT);
	FlameTreeFinish(tree);

	/* each name made text once, when first needed */
	name_text = palloc_extended(sizeof(char *) * tree->names.n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	walk = palloc(sizeof(FoldedFrame) * cap);
	initStringInfo(&path);

	walk[0].node = 0;
	walk[0].next = 0;
	walk[0].path_len = 0;
	depth = 1;
	while (depth > 0)
	{
		FoldedFrame *top = &walk[depth - 1];
		const FlameNode *parent = &tree->nodes[top->node];
		uint32		child;
		const FlameNode *node;
		FoldedFrame *next;

		CHECK_FOR_INTERRUPTS();
		if (top->next == parent->n_children)
		{
			depth--;
			continue;
		}
		child = tree->children[parent->first_child + top->next++];
		node = &tree->nodes[child];

		if (depth == cap)
		{
			cap *= 2;
			walk = repalloc_huge(walk, sizeof(FoldedFrame) * cap);
		}
		/* back to the parent's path, then this frame's name */
		path.len = walk[depth - 1].path_len;
		path.data[path.len] = '\0';
		if (name_text[node->name] == NULL)
		{
			uint32		len;
			const char *bytes = FlameNodeName(tree, child, &len);
			char	   *copy = palloc(len + 1);

			/* PprofBytesToServer wants the NUL that interned keys lack */
			memcpy(copy, bytes, len);
			copy[len] = '\0';
			name_text[node->name] = PprofBytesToServer(copy, len);
		}
		if (path.len > 0)
			appendStringInfoChar(&path, ';');
		appendStringInfoString(&path, name_text[node->name]);

		next = &walk[depth++];
		next->node = child;
		next->next = 0;
		next->path_len = path.len;

		if (node->self != 0)
		{
			Datum		values[2];
			bool		nulls[2] = {false, false};

			values[0] = PointerGetDatum(cstring_to_text_with_len(path.data, path.len));
			values[1] = Int64GetDatum(node->self);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
