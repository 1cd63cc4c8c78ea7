/*-------------------------------------------------------------------------
 *
 * pprof_pgo_edges.c
 *	  The weighted call edges the Go compiler builds from a profile.
 *
 * What go build -pgo reads of a profile, as read in the Go 1.23 and 1.27
 * sources (cmd/internal/pgo/pprof.go FromPProf(), internal/profile/graph.go
 * NewGraph(); cmd/preprofile prints the result):
 *	- a profile without samples is accepted and ignored (checked before
 *	  anything else);
 *	- the edges are weighed with the first sample type that is
 *	  samples/count or cpu/nanoseconds; none is an error;
 *	- the graph: samples whose value is 0 are skipped; of each other sample
 *	  the two leaf-most locations are walked caller first, each location's
 *	  lines (inlined frames) from the outermost in. Every line is a node
 *	  (function name, location address, function start line, line); a node
 *	  counts once per sample (recursion), and consecutive distinct nodes
 *	  form an edge, weighed once per sample unless the node is new to it;
 *	- only nodes with a non-zero cumulative or flat value are in the graph;
 *	  Go 1.27 ignores a profile whose graph has no node, Go 1.23 reports it
 *	  as missing start lines;
 *	- none of the graph's nodes has a start line: error;
 *	- each edge becomes (caller name, callee name, caller line - caller
 *	  start line) and equal keys add up; the edges weigh nothing in total:
 *	  the profile is ignored;
 *	- the edges are sorted by weight (highest first), then caller, callee
 *	  and offset, byte-wise.
 * Go sums int64 weights with wrap-around; here an overflow is a status of
 * its own (PGO_EDGES_OVERFLOW), never an error, so that pprof_pgo_usable()
 * can judge any stored profile.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "utils/memutils.h"

#include "pprof.h"
#include "pprof_merge.h"

/* Interner key of a graph node (internal/profile NodeInfo). */
typedef struct NodeKey
{
	uint32		name;			/* name id */
	uint32		padding;
	uint64		address;
	int64		start_line;
	int64		line;
} NodeKey;

/* Interner key of an edge between two nodes. */
typedef struct NodeEdgeKey
{
	uint32		src;
	uint32		dst;
} NodeEdgeKey;

/* Interner key of a named edge (cmd/internal/pgo NamedCallEdge). */
typedef struct NamedKey
{
	uint32		caller;			/* name ids */
	uint32		callee;
	int64		offset;
} NamedKey;

/* The graph being built: nodes, their values, the edges between them. */
typedef struct Graph
{
	PprofInterner names;
	const char **name_bytes;	/* per name id, into the view */
	uint32	   *name_lens;
	PprofInterner nodes;
	NodeKey    *node_info;		/* per node */
	int64	   *cum;
	int64	   *flat;
	uint32	   *node_seen;		/* sample + 1 that last touched the node */
	PprofInterner edges;
	int64	   *edge_weight;	/* per node edge */
	uint32	   *edge_seen;
	uint32	   *loc_first;		/* per location: its first node in loc_nodes,
								 * PG_UINT32_MAX until first walked */
	uint32	   *loc_nodes;
	uint32		loc_next;		/* first free entry of loc_nodes */
	bool		overflow;		/* some sum left the int64 range */
} Graph;

static void *GrowArray(void *array, Size elem, uint32 old_n, uint32 new_n);
static uint32 AddName(Graph *g, const char *bytes, uint32 len);
static uint32 AddNode(Graph *g, const NodeKey *key);
static uint32 AddNodeEdge(Graph *g, uint32 src, uint32 dst);
/* Up to this many nodes in a sample's walk: two locations' lines. */
#define MAX_WALK	(2 * PPROF_MAX_LINES_PER_LOCATION)

static int	SampleWalk(const PprofView *view, uint32 s, uint32 *locs, int32 *lines);
static void WalkNodeKey(const PprofView *view, uint32 loc, int32 line,
						const char **name, uint32 *name_len, NodeKey *key);
static uint32 LocationNode(Graph *g, const PprofView *view, uint32 loc, int32 line);
static void WalkSample(Graph *g, const PprofView *view, uint32 s, int64 w,
					   uint32 *locs, int32 *lines);
static void AddWeight(int64 *acc, int64 w, bool *overflow);
static int	CompareEdges(const void *a, const void *b);
static int	CompareNames(const char *a, uint32 alen, const char *b, uint32 blen);

/* Grow a per-entry array from old_n to new_n entries (new ones zeroed). */
static void *
GrowArray(void *array, Size elem, uint32 old_n, uint32 new_n)
{
	char	   *a;

	if (array == NULL)
		return palloc_extended(elem * new_n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	a = repalloc_huge(array, elem * new_n);
	memset(a + elem * old_n, 0, elem * (new_n - old_n));
	return a;
}

/* The id of a function name, by its bytes. */
static uint32
AddName(Graph *g, const char *bytes, uint32 len)
{
	bool		found;
	uint32		cap = g->names.cap;
	uint32		id = InternerAdd(&g->names, bytes, len, &found);

	if (g->names.cap != cap || g->name_bytes == NULL)
	{
		g->name_bytes = GrowArray(g->name_bytes, sizeof(char *), cap, g->names.cap);
		g->name_lens = GrowArray(g->name_lens, sizeof(uint32), cap, g->names.cap);
	}
	if (!found)
	{
		g->name_bytes[id] = bytes;
		g->name_lens[id] = len;
	}
	return id;
}

/* The id of a node (internal/profile NodeMap.FindOrInsertNode). */
static uint32
AddNode(Graph *g, const NodeKey *key)
{
	bool		found;
	uint32		cap = g->nodes.cap;
	uint32		id = InternerAdd(&g->nodes, key, sizeof(NodeKey), &found);

	if (g->nodes.cap != cap || g->node_info == NULL)
	{
		g->node_info = GrowArray(g->node_info, sizeof(NodeKey), cap, g->nodes.cap);
		g->cum = GrowArray(g->cum, sizeof(int64), cap, g->nodes.cap);
		g->flat = GrowArray(g->flat, sizeof(int64), cap, g->nodes.cap);
		g->node_seen = GrowArray(g->node_seen, sizeof(uint32), cap, g->nodes.cap);
	}
	if (!found)
		g->node_info[id] = *key;
	return id;
}

/* The id of the edge src -> dst. */
static uint32
AddNodeEdge(Graph *g, uint32 src, uint32 dst)
{
	NodeEdgeKey key = {src, dst};
	bool		found;
	uint32		cap = g->edges.cap;
	uint32		id = InternerAdd(&g->edges, &key, sizeof(key), &found);

	if (g->edges.cap != cap || g->edge_weight == NULL)
	{
		g->edge_weight = GrowArray(g->edge_weight, sizeof(int64), cap, g->edges.cap);
		g->edge_seen = GrowArray(g->edge_seen, sizeof(uint32), cap, g->edges.cap);
	}
	return id;
}

/*
 * The nodes NewGraph() walks for sample s, in its order: the two leaf-most
 * locations, caller first, each one's lines from the outermost inlined frame
 * in (line index -1: a location without lines, one node of its address).
 * Returns how many, at most MAX_WALK.
 */
static int
SampleWalk(const PprofView *view, uint32 s, uint32 *locs, int32 *lines)
{
	const PprofSample *sample = &view->samples[s];
	int			n = 0;
	int			i;

	for (i = Min(1, (int) sample->depth - 1); i >= 0; i--)
	{
		uint32		loc = view->stack[sample->first_location + i];
		int32		ln = (int32) view->locations[loc].n_lines - 1;

		if (ln < 0)
		{
			locs[n] = loc;
			lines[n++] = -1;
			continue;
		}
		for (; ln >= 0; ln--)
		{
			locs[n] = loc;
			lines[n++] = ln;
		}
	}
	return n;
}

/*
 * The identity of a walked node (internal/profile NodeInfo): its name's
 * bytes, and the rest as a NodeKey without the name id.
 */
static void
WalkNodeKey(const PprofView *view, uint32 loc, int32 line,
			const char **name, uint32 *name_len, NodeKey *key)
{
	const PprofLocation *l = &view->locations[loc];

	memset(key, 0, sizeof(*key));
	key->address = l->address;
	*name = "";
	*name_len = 0;
	if (line >= 0)
	{
		const PprofLine *ln = &view->lines[l->first_line + line];
		const PprofFunction *f = &view->functions[ln->function];

		*name = PprofString(view, f->name);
		*name_len = PprofStringLength(view, f->name);
		key->start_line = f->start_line;
		key->line = ln->line;
	}
}

/*
 * The node of a line of a location (line -1: the location alone); a
 * location's nodes are made the first time a sample walks it, as
 * CreateNodes() makes them for every location.
 */
static uint32
LocationNode(Graph *g, const PprofView *view, uint32 loc, int32 line)
{
	if (g->loc_first[loc] == PG_UINT32_MAX)
	{
		int32		n_lines = (int32) view->locations[loc].n_lines;
		int32		ln;

		g->loc_first[loc] = g->loc_next;
		for (ln = (n_lines == 0 ? -1 : 0); ln < n_lines; ln++)
		{
			const char *name;
			uint32		name_len;
			NodeKey		key;

			WalkNodeKey(view, loc, ln, &name, &name_len, &key);
			key.name = AddName(g, name, name_len);
			g->loc_nodes[g->loc_next++] = AddNode(g, &key);
		}
	}
	return g->loc_nodes[g->loc_first[loc] + Max(line, 0)];
}

/* acc += w; an overflow wraps around, as in Go, and is noted. */
static void
AddWeight(int64 *acc, int64 w, bool *overflow)
{
	if (pg_add_s64_overflow(*acc, w, acc))
	{
		*acc = (int64) ((uint64) *acc + (uint64) w);
		*overflow = true;
	}
}

/* Sample s, weighing w, into the graph (the loop body of NewGraph()). */
static void
WalkSample(Graph *g, const PprofView *view, uint32 s, int64 w,
		   uint32 *locs, int32 *lines)
{
	uint32		stamp = s + 1;
	int64		parent = -1;
	int			n_walk = SampleWalk(view, s, locs, lines);
	int			i;

	for (i = 0; i < n_walk; i++)
	{
		uint32		n = LocationNode(g, view, locs[i], lines[i]);
		bool		saw = g->node_seen[n] == stamp;

		if (!saw)
		{
			g->node_seen[n] = stamp;
			AddWeight(&g->cum[n], w, &g->overflow);
		}
		if (parent >= 0 && n != (uint32) parent)
		{
			uint32		e = AddNodeEdge(g, (uint32) parent, n);

			if (!saw || g->edge_seen[e] != stamp)
			{
				g->edge_seen[e] = stamp;
				AddWeight(&g->edge_weight[e], w, &g->overflow);
			}
		}
		parent = n;
	}
	if (parent >= 0)
		AddWeight(&g->flat[parent], w, &g->overflow);
}

/* Go's string order: bytes, a prefix first. */
static int
CompareNames(const char *a, uint32 alen, const char *b, uint32 blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* cmd/internal/pgo sortByWeight(): weight descending, then the key. */
static int
CompareEdges(const void *a, const void *b)
{
	const PgoEdge *x = a;
	const PgoEdge *y = b;
	int			c;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	c = CompareNames(x->caller, x->caller_len, y->caller, y->caller_len);
	if (c == 0)
		c = CompareNames(x->callee, x->callee_len, y->callee, y->callee_len);
	if (c == 0)
		c = (x->offset > y->offset) - (x->offset < y->offset);
	return c;
}

/*
 * The named call edges the compiler reads from the profile, into *out; the
 * names point into the view. The status says whether go build uses,
 * ignores or rejects the profile; edges are filled only for PGO_EDGES_OK.
 */
void
PgoEdgesBuild(const PprofView *view, PgoEdges *out)
{
	MemoryContext scratch,
				old;
	Graph		g;
	PprofInterner named;
	int64	   *named_weight = NULL;
	uint32		n_types = view->hdr->n_sample_types;
	uint32		s,
				e,
				included = 0;
	bool		start_line = false;
	int64		total = 0;
	uint32	   *locs;
	int32	   *lines;

	memset(out, 0, sizeof(*out));
	out->sample_index = PprofPgoSampleIndex(view);
	if (view->hdr->n_samples == 0)
	{
		out->status = PGO_EDGES_NO_SAMPLES;
		return;
	}
	if (out->sample_index < 0)
	{
		out->status = PGO_EDGES_NO_SAMPLE_TYPE;
		return;
	}

	scratch = AllocSetContextCreate(CurrentMemoryContext, "pgo call edges",
									ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(scratch);
	memset(&g, 0, sizeof(g));
	InternerInit(&g.names, scratch, Min(view->hdr->n_functions + 1, 1 << 16));
	InternerInit(&g.nodes, scratch, Min(view->hdr->n_lines + 1, 1 << 16));
	InternerInit(&g.edges, scratch, 256);
	g.loc_first = palloc_extended(sizeof(uint32) * Max((Size) view->hdr->n_locations, 1),
								  MCXT_ALLOC_HUGE);
	memset(g.loc_first, 0xFF, sizeof(uint32) * view->hdr->n_locations);
	g.loc_nodes = palloc_extended(sizeof(uint32) * Max((Size) view->hdr->n_lines + view->hdr->n_locations, 1),
								  MCXT_ALLOC_HUGE);
	locs = palloc(sizeof(uint32) * MAX_WALK);
	lines = palloc(sizeof(int32) * MAX_WALK);

	for (s = 0; s < view->hdr->n_samples; s++)
	{
		int64		w = view->values[(Size) s * n_types + out->sample_index];

		if (w != 0)
			WalkSample(&g, view, s, w, locs, lines);
	}

	/* createNamedEdgeMap(): the out edges of the nodes in the graph */
	InternerInit(&named, scratch, Max(g.edges.n, 1));
	for (e = 0; e < g.edges.n; e++)
	{
		uint32		len;
		const NodeEdgeKey *ek = (const NodeEdgeKey *) InternerKey(&g.edges, e, &len);
		const NodeKey *src = &g.node_info[ek->src];
		NamedKey	key = {0};
		bool		found;
		uint32		id;
		uint32		cap = named.cap;

		if (g.cum[ek->src] == 0 && g.flat[ek->src] == 0)
			continue;
		key.caller = src->name;
		key.callee = g.node_info[ek->dst].name;
		/* Go's int subtraction wraps; so does this one */
		key.offset = (int64) ((uint64) src->line - (uint64) src->start_line);
		id = InternerAdd(&named, &key, sizeof(key), &found);
		if (named.cap != cap || named_weight == NULL)
			named_weight = GrowArray(named_weight, sizeof(int64), cap, named.cap);
		AddWeight(&named_weight[id], g.edge_weight[e], &g.overflow);
		AddWeight(&total, g.edge_weight[e], &g.overflow);
	}
	for (s = 0; s < g.nodes.n; s++)
	{
		if (g.cum[s] == 0 && g.flat[s] == 0)
			continue;
		included++;
		if (g.node_info[s].start_line != 0)
			start_line = true;
	}

	MemoryContextSwitchTo(old);
	if (g.overflow)
		out->status = PGO_EDGES_OVERFLOW;
	else if (included == 0)
		out->status = PGO_EDGES_ALL_ZERO;
	else if (!start_line)
		out->status = PGO_EDGES_NO_START_LINE;
	else if (total == 0)
		out->status = PGO_EDGES_NO_WEIGHT;
	else
	{
		out->status = PGO_EDGES_OK;
		out->total_weight = total;
		out->n_edges = named.n;
		out->edges = palloc_extended(sizeof(PgoEdge) * Max(named.n, 1), MCXT_ALLOC_HUGE);
		for (e = 0; e < named.n; e++)
		{
			uint32		len;
			const NamedKey *key = (const NamedKey *) InternerKey(&named, e, &len);
			PgoEdge    *edge = &out->edges[e];

			edge->caller = g.name_bytes[key->caller];
			edge->caller_len = g.name_lens[key->caller];
			edge->callee = g.name_bytes[key->callee];
			edge->callee_len = g.name_lens[key->callee];
			edge->offset = key->offset;
			edge->weight = named_weight[e];
		}
		qsort(out->edges, out->n_edges, sizeof(PgoEdge), CompareEdges);
	}
	MemoryContextDelete(scratch);
}

/*
 * PgoEdgesBuild()'s status without building the edges, for checking every
 * stored profile: with no negative sample value and no sum near the int64
 * range, a walked node is in the graph, an edge between two distinct nodes
 * weighs, and the walk can stop once it has seen a start line and an edge.
 * Otherwise (negative values can cancel out) the edges are built.
 */
PgoEdgesStatus
PgoEdgesVerdict(const PprofView *view)
{
	int			k = PprofPgoSampleIndex(view);
	uint32		n_types = view->hdr->n_sample_types;
	uint32		s;
	int64		sum = 0;
	bool		weighted = false,
				start_line = false,
				edge = false;
	uint32	   *locs;
	int32	   *lines;
	PgoEdges	edges;

	if (view->hdr->n_samples == 0)
		return PGO_EDGES_NO_SAMPLES;
	if (k < 0)
		return PGO_EDGES_NO_SAMPLE_TYPE;
	for (s = 0; s < view->hdr->n_samples; s++)
	{
		int64		w = view->values[(Size) s * n_types + k];

		/* each sample adds its value to at most MAX_WALK sums */
		if (w < 0 || pg_add_s64_overflow(sum, w, &sum) || sum > PG_INT64_MAX / MAX_WALK)
		{
			PgoEdgesBuild(view, &edges);
			return edges.status;
		}
	}

	locs = palloc(sizeof(uint32) * MAX_WALK);
	lines = palloc(sizeof(int32) * MAX_WALK);
	for (s = 0; s < view->hdr->n_samples && !(start_line && edge); s++)
	{
		int			n_walk,
					i;
		const char *prev_name = NULL;
		uint32		prev_len = 0;
		NodeKey		prev;

		if (view->values[(Size) s * n_types + k] == 0)
			continue;
		weighted = true;
		n_walk = SampleWalk(view, s, locs, lines);
		for (i = 0; i < n_walk; i++)
		{
			const char *name;
			uint32		name_len;
			NodeKey		key;

			WalkNodeKey(view, locs[i], lines[i], &name, &name_len, &key);
			if (key.start_line != 0)
				start_line = true;
			if (i > 0 &&
				(name_len != prev_len || memcmp(name, prev_name, name_len) != 0 ||
				 memcmp(&key, &prev, sizeof(key)) != 0))
				edge = true;
			prev_name = name;
			prev_len = name_len;
			prev = key;
		}
	}
	pfree(locs);
	pfree(lines);
	if (!weighted)
		return PGO_EDGES_ALL_ZERO;
	if (!start_line)
		return PGO_EDGES_NO_START_LINE;
	if (!edge)
		return PGO_EDGES_NO_WEIGHT;
	return PGO_EDGES_OK;
}
