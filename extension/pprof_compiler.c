/*-------------------------------------------------------------------------
 *
 * pprof_compiler.c
 *	  The compiler's view of a profile, in SQL: its call edges, the
 *	  serialized form go tool preprofile writes, the call sites it treats
 *	  as hot, and how far two profiles are apart in those terms.
 *
 * Hot call sites (cmd/compile/internal/inline/inl.go hotNodesFromCDF(), the
 * same in Go 1.23 and 1.27): walking the edges heaviest first, the hot ones
 * are those up to and including the first at which the cumulative weight,
 * as a percentage of the total, exceeds the CDF threshold (99 unless
 * -d=pgoinlinecdfthreshold says otherwise); the compiler prints that last
 * edge's percentage as hot-callsite-thres-from-CDF= under -d=pgodebug=1, or
 * 0 when the walk never exceeds the threshold (every edge is hot then).
 *
 * The serialized form (cmd/internal/pgo/serialize.go): "GO PREPROFILE V1\n",
 * then per edge, in the compiler's order, the caller name, the callee name
 * and "offset weight", each on a line of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "utils/memutils.h"
#include "utils/builtins.h"

#include "pprof.h"
#include "pprof_merge.h"

#define PREPROFILE_HEADER	"GO PREPROFILE V1\n"

/* The compiler's default CDF threshold (inlineCDFHotCallSiteThresholdPercent). */
#define DEFAULT_CDF			99.0

static void OpenEdges(Pprof *pprof, PprofView *view, PgoEdges *edges);
static double CheckCdf(double cdf);
static double WeightInPercentage(int64 value, int64 total);
static uint32 HotEdges(const PgoEdges *edges, double cdf, double *threshold);
static uint32 OpenHotEdges(FunctionCallInfo fcinfo, PprofView *view,
						   PgoEdges *edges, double *threshold);
static text *NameText(const char *bytes, uint32 len);
static int32 OffsetInt4(int64 offset);
static void EmitEdges(FunctionCallInfo fcinfo, const PgoEdges *edges,
					  uint32 n, bool with_share);
static uint32 AddEdgeKey(PprofInterner *keys, const PgoEdge *edge);

PG_FUNCTION_INFO_V1(pgo_edges);
PG_FUNCTION_INFO_V1(pgo_preprofile);
PG_FUNCTION_INFO_V1(pgo_hot_edges);
PG_FUNCTION_INFO_V1(pgo_hot_threshold);
PG_FUNCTION_INFO_V1(pgo_drift);

/*
 * The call edges of a profile as the compiler builds them; an error where
 * go build rejects the profile (no edges where it ignores it).
 */
static void
OpenEdges(Pprof *pprof, PprofView *view, PgoEdges *edges)
{
	List	   *problems;

	PprofOpen(pprof, view);
	PgoEdgesBuild(view, edges);
	switch (edges->status)
	{
		case PGO_EDGES_OK:
			return;
		case PGO_EDGES_NO_SAMPLES:
		case PGO_EDGES_ALL_ZERO:
		case PGO_EDGES_NO_WEIGHT:
			edges->n_edges = 0;
			edges->total_weight = 0;
			return;
		case PGO_EDGES_NO_SAMPLE_TYPE:
		case PGO_EDGES_NO_START_LINE:
		case PGO_EDGES_OVERFLOW:
			break;
	}
	problems = PprofPgoProblems(view);
	ereport(ERROR,
			(errcode(edges->status == PGO_EDGES_OVERFLOW ?
					 ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE : ERRCODE_DATA_EXCEPTION),
			 errmsg("go build -pgo rejects this profile"),
			 problems != NIL ? errdetail("%s", (char *) linitial(problems)) : 0,
			 errhint("Check a profile with pprof_pgo_problems() before asking what the compiler makes of it.")));
}

/* The CDF threshold, checked as the compiler checks -d=pgoinlinecdfthreshold. */
static double
CheckCdf(double cdf)
{
	if (!(cdf >= 0 && cdf <= 100))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("CDF threshold must be between 0 and 100"),
				 errdetail("The threshold is a percentage of the total call edge weight, as in -gcflags=-d=pgoinlinecdfthreshold=%g.", cdf)));
	return cdf;
}

/* cmd/internal/pgo WeightInPercentage(), the same floating-point steps. */
static double
WeightInPercentage(int64 value, int64 total)
{
	return ((double) value / (double) total) * 100;
}

/*
 * How many of the edges, heaviest first, the compiler treats as hot at
 * this CDF threshold, and the threshold it prints (hotNodesFromCDF()).
 */
static uint32
HotEdges(const PgoEdges *edges, double cdf, double *threshold)
{
	int64		cum = 0;
	uint32		i;

	for (i = 0; i < edges->n_edges; i++)
	{
		int64		w = edges->edges[i].weight;

		/* Go wraps; the builder has ruled out an overflow of the total */
		cum = (int64) ((uint64) cum + (uint64) w);
		if (WeightInPercentage(cum, edges->total_weight) > cdf)
		{
			*threshold = WeightInPercentage(w, edges->total_weight);
			return i + 1;
		}
	}
	*threshold = 0;
	return edges->n_edges;
}

/* A function name as text in the database encoding. */
static text *
NameText(const char *bytes, uint32 len)
{
	return cstring_to_text(PprofBytesToServer(bytes, len));
}

/* A call site offset as the int the SQL functions return. */
static int32
OffsetInt4(int64 offset)
{
	if (offset < PG_INT32_MIN || offset > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("call site offset %lld out of range for type integer",
						(long long) offset),
				 errdetail("A line number of the profile is far from its function's start line.")));
	return (int32) offset;
}

/* The first n edges as rows (caller, callee, offset, weight[, share]). */
static void
EmitEdges(FunctionCallInfo fcinfo, const PgoEdges *edges, uint32 n, bool with_share)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint32		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		const PgoEdge *e = &edges->edges[i];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = PointerGetDatum(NameText(e->caller, e->caller_len));
		values[1] = PointerGetDatum(NameText(e->callee, e->callee_len));
		values[2] = Int32GetDatum(OffsetInt4(e->offset));
		values[3] = Int64GetDatum(e->weight);
		values[4] = Float8GetDatum(with_share ?
								   WeightInPercentage(e->weight, edges->total_weight) : 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* pgo_edges(pprof): the weighted call edges, as go tool preprofile lists them. */
Datum
pgo_edges(PG_FUNCTION_ARGS)
{
	PprofView	view;
	PgoEdges	edges;

	OpenEdges(PG_GETARG_PPROF_P(0), &view, &edges);
	EmitEdges(fcinfo, &edges, edges.n_edges, false);
	return (Datum) 0;
}

/* pgo_preprofile(pprof): the bytes of go tool preprofile -i <profile>. */
Datum
pgo_preprofile(PG_FUNCTION_ARGS)
{
	PprofView	view;
	PgoEdges	edges;
	Size		size = VARHDRSZ + strlen(PREPROFILE_HEADER);
	bytea	   *result;
	char	   *p;
	uint32		i;

	OpenEdges(PG_GETARG_PPROF_P(0), &view, &edges);
	/* two names, two newlines, two int64s, a space and a newline */
	for (i = 0; i < edges.n_edges; i++)
	{
		size += edges.edges[i].caller_len + edges.edges[i].callee_len + 2 + 2 * 20 + 2;
		if (size > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("serialized PGO profile too large"),
					 errdetail("Its %u call edges take more than %zu bytes.",
							   edges.n_edges, (Size) MaxAllocSize)));
	}
	result = palloc(size);
	p = VARDATA(result);
	p += sprintf(p, "%s", PREPROFILE_HEADER);
	for (i = 0; i < edges.n_edges; i++)
	{
		const PgoEdge *e = &edges.edges[i];

		memcpy(p, e->caller, e->caller_len);
		p += e->caller_len;
		*p++ = '\n';
		memcpy(p, e->callee, e->callee_len);
		p += e->callee_len;
		*p++ = '\n';
		p += sprintf(p, INT64_FORMAT " " INT64_FORMAT "\n", e->offset, e->weight);
	}
	SET_VARSIZE(result, p - (char *) result);
	PG_RETURN_BYTEA_P(result);
}

/*
 * The edges of argument 0 and how many are hot at the CDF threshold of
 * argument 1, with the threshold the compiler prints.
 */
static uint32
OpenHotEdges(FunctionCallInfo fcinfo, PprofView *view, PgoEdges *edges,
			 double *threshold)
{
	double		cdf = CheckCdf(PG_GETARG_FLOAT8(1));

	OpenEdges(PG_GETARG_PPROF_P(0), view, edges);
	return HotEdges(edges, cdf, threshold);
}

/* pgo_hot_edges(pprof, cdf): the call sites the compiler treats as hot. */
Datum
pgo_hot_edges(PG_FUNCTION_ARGS)
{
	PprofView	view;
	PgoEdges	edges;
	double		threshold;
	uint32		n_hot = OpenHotEdges(fcinfo, &view, &edges, &threshold);

	EmitEdges(fcinfo, &edges, n_hot, true);
	return (Datum) 0;
}

/*
 * pgo_hot_threshold(pprof, cdf): what the compiler prints as
 * hot-callsite-thres-from-CDF=; NULL when it ignores the profile.
 */
Datum
pgo_hot_threshold(PG_FUNCTION_ARGS)
{
	PprofView	view;
	PgoEdges	edges;
	double		threshold;

	OpenHotEdges(fcinfo, &view, &edges, &threshold);
	if (edges.n_edges == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(threshold);
}

/* The id of an edge's key (caller, callee, offset) among both profiles'. */
static uint32
AddEdgeKey(PprofInterner *keys, const PgoEdge *edge)
{
	Size		len = sizeof(int64) + 2 * sizeof(uint32) + edge->caller_len + edge->callee_len;
	char	   *key = palloc(len);
	char	   *p = key;
	bool		found;
	uint32		id;

	memcpy(p, &edge->offset, sizeof(int64));
	p += sizeof(int64);
	memcpy(p, &edge->caller_len, sizeof(uint32));
	p += sizeof(uint32);
	memcpy(p, &edge->callee_len, sizeof(uint32));
	p += sizeof(uint32);
	memcpy(p, edge->caller, edge->caller_len);
	memcpy(p + edge->caller_len, edge->callee, edge->callee_len);
	id = InternerAdd(keys, key, (uint32) len, &found);
	pfree(key);
	return id;
}

/*
 * pgo_drift(a, b): how differently the compiler would see the two profiles,
 * from 0 to 1. Over the call sites hot (at the default CDF threshold) in
 * either, each profile's weights, normalized to sum to 1 over that set,
 * form a distribution; the drift is their total variation distance, half
 * the sum of the absolute differences: 0 when the same call sites are hot
 * with the same relative weights, 1 when no call site hot in one has any
 * weight in the other. Profiles without edges: 0 if both, else 1.
 */
Datum
pgo_drift(PG_FUNCTION_ARGS)
{
	PprofView	view[2];
	PgoEdges	edges[2];
	PprofInterner keys;
	double	   *w[2];
	bool	   *hot;
	double		sum[2] = {0, 0};
	double		drift = 0;
	Size		n_keys;
	int			p;
	uint32		i;

	OpenEdges(PG_GETARG_PPROF_P(0), &view[0], &edges[0]);
	OpenEdges(PG_GETARG_PPROF_P(1), &view[1], &edges[1]);

	/* at most one key per edge of either profile */
	n_keys = (Size) edges[0].n_edges + edges[1].n_edges;
	InternerInit(&keys, CurrentMemoryContext, (uint32) Max(n_keys, 1));
	w[0] = palloc0_array(double, Max(n_keys, 1));
	w[1] = palloc0_array(double, Max(n_keys, 1));
	hot = palloc0_array(bool, Max(n_keys, 1));
	for (p = 0; p < 2; p++)
	{
		double		threshold;
		uint32		n_hot = HotEdges(&edges[p], DEFAULT_CDF, &threshold);

		for (i = 0; i < edges[p].n_edges; i++)
		{
			uint32		id = AddEdgeKey(&keys, &edges[p].edges[i]);

			w[p][id] = (double) Max(edges[p].edges[i].weight, 0);
			if (i < n_hot)
				hot[id] = true;
		}
	}

	for (i = 0; i < keys.n; i++)
		if (hot[i])
		{
			sum[0] += w[0][i];
			sum[1] += w[1][i];
		}
	if (sum[0] == 0 || sum[1] == 0)
		PG_RETURN_FLOAT8(sum[0] == sum[1] ? 0.0 : 1.0);
	for (i = 0; i < keys.n; i++)
		if (hot[i])
			drift += fabs(w[0][i] / sum[0] - w[1][i] / sum[1]);
	PG_RETURN_FLOAT8(Min(drift / 2, 1.0));
}
