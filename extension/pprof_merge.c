/*-------------------------------------------------------------------------
 *
 * pprof_merge.c
 *	  SQL interface of the aggregates pprof_merge and pgo_merge.
 *
 * The state (pprof_merge_state.c) lives in the aggregate context. Both
 * aggregates are parallel safe: a partial state serializes to a bytea, and
 * combining adds one state's tables to the other's
 * (pprof_merge_partial.c); the output is sorted by content, so every plan
 * gives the same bytes (docs/DESIGN.md section 6).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "pprof_merge.h"

static MemoryContext AggContext(FunctionCallInfo fcinfo, const char *fname);
static MergeState *GetState(FunctionCallInfo fcinfo, MergeMode mode, const char *fname);
static Datum Transition(FunctionCallInfo fcinfo, MergeMode mode, double weight,
						const char *fname);

PG_FUNCTION_INFO_V1(pprof_merge_transfn);
PG_FUNCTION_INFO_V1(pgo_merge_transfn);
PG_FUNCTION_INFO_V1(pgo_merge_weighted_transfn);
PG_FUNCTION_INFO_V1(pprof_merge_combinefn);
PG_FUNCTION_INFO_V1(pgo_merge_combinefn);
PG_FUNCTION_INFO_V1(pprof_merge_serialfn);
PG_FUNCTION_INFO_V1(pprof_merge_deserialfn);
PG_FUNCTION_INFO_V1(pgo_merge_deserialfn);
PG_FUNCTION_INFO_V1(pprof_merge_finalfn);

static MemoryContext
AggContext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

static MergeState *
GetState(FunctionCallInfo fcinfo, MergeMode mode, const char *fname)
{
	MemoryContext aggcontext = AggContext(fcinfo, fname);

	if (PG_ARGISNULL(0))
		return MergeStateCreate(mode, aggcontext);
	return (MergeState *) PG_GETARG_POINTER(0);
}

static Datum
Transition(FunctionCallInfo fcinfo, MergeMode mode, double weight, const char *fname)
{
	MergeState *state = GetState(fcinfo, mode, fname);

	/* a stored row may wait for the final function and a parallel worker */
	if (!PG_ARGISNULL(1) && !MergeStateDefer(state, PG_GETARG_DATUM(1), weight))
	{
		/* detoast in the per-call context; the state keeps only what it interns */
		Pprof	   *p = PG_GETARG_PPROF_P(1);
		MemoryContext old = MemoryContextSwitchTo(AggContext(fcinfo, fname));

		MergeStateAdd(state, p, weight);
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_POINTER(state);
}

/* pprof_merge(pprof) transition */
Datum
pprof_merge_transfn(PG_FUNCTION_ARGS)
{
	return Transition(fcinfo, MERGE_LOSSLESS, 1.0, "pprof_merge_transfn");
}

/* pgo_merge(pprof) transition */
Datum
pgo_merge_transfn(PG_FUNCTION_ARGS)
{
	return Transition(fcinfo, MERGE_PGO, 1.0, "pgo_merge_transfn");
}

/* pgo_merge(pprof, weight) transition; a NULL weight counts as 1 */
Datum
pgo_merge_weighted_transfn(PG_FUNCTION_ARGS)
{
	double		weight = PG_ARGISNULL(2) ? 1.0 : PG_GETARG_FLOAT8(2);

	if (isnan(weight) || isinf(weight) || weight < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgo_merge weight must be a finite number >= 0, not %g", weight)));
	return Transition(fcinfo, MERGE_PGO, weight, "pgo_merge_weighted_transfn");
}

/*
 * Combine two partial states; the result lives in the aggregate context.
 *
 * With no state yet (a NULL), b becomes the state itself, as PostgreSQL
 * does for a strict combine function: ExecAggInitGroup (execExprInterp.c,
 * PostgreSQL 15) takes the first input as the transition value with
 * datumCopy, which for a pass-by-value type such as internal is the
 * pointer. Ours cannot be strict (ExecInitAgg in nodeAgg.c refuses a
 * strict combine function of an internal state: the pointer could belong
 * to memory the aggregate does not own), so it decides itself: b is
 * adopted when it lives in this aggregate's context, which is where our
 * deserialization function makes every state of a parallel plan (the
 * planner's partial aggregation always serializes); a state of any other
 * context is copied, as PostgreSQL's own internal-state aggregates do
 * (numeric_combine, array_agg_combine). Adopting saves a copy of the
 * first worker's whole state. A deserialized state holds its bytes until
 * now (MergeStateDeserialize): the adopted one adds them to itself, the
 * others are added to it straight from their bytes.
 */
static Datum
Combine(FunctionCallInfo fcinfo, MergeMode mode)
{
	MemoryContext aggcontext = AggContext(fcinfo, "pprof merge combine");
	MergeState *a = PG_ARGISNULL(0) ? NULL : (MergeState *) PG_GETARG_POINTER(0);
	MergeState *b = PG_ARGISNULL(1) ? NULL : (MergeState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	old = MemoryContextSwitchTo(aggcontext);
	if (a == NULL && MergeStateContext(b) == aggcontext)
	{
		MergeStateResolve(b);
		MemoryContextSwitchTo(old);
		PG_RETURN_POINTER(b);
	}
	if (a == NULL)
		a = MergeStateCreate(mode, aggcontext);
	MergeStateFlush(a);
	MergeStateFlush(b);
	MergeStateAddState(a, b);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

Datum
pprof_merge_combinefn(PG_FUNCTION_ARGS)
{
	return Combine(fcinfo, MERGE_LOSSLESS);
}

Datum
pgo_merge_combinefn(PG_FUNCTION_ARGS)
{
	return Combine(fcinfo, MERGE_PGO);
}

/* A partial state as bytes (MergeStateSerialize). */
Datum
pprof_merge_serialfn(PG_FUNCTION_ARGS)
{
	MergeState *state = (MergeState *) PG_GETARG_POINTER(0);
	MemoryContext old = MemoryContextSwitchTo(AggContext(fcinfo, "pprof_merge_serialfn"));

	MergeStateResolve(state);
	MergeStateFlush(state);
	MemoryContextSwitchTo(old);
	PG_RETURN_BYTEA_P(MergeStateSerialize(state));
}

static Datum
Deserialize(FunctionCallInfo fcinfo, MergeMode mode)
{
	MemoryContext aggcontext = AggContext(fcinfo, "pprof merge deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	MergeState *state;
	MemoryContext old = MemoryContextSwitchTo(aggcontext);

	/* added when combined (Combine) */
	state = MergeStateDeserialize(mode, aggcontext, VARDATA_ANY(bytes),
								  VARSIZE_ANY_EXHDR(bytes));
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(state);
}

Datum
pprof_merge_deserialfn(PG_FUNCTION_ARGS)
{
	return Deserialize(fcinfo, MERGE_LOSSLESS);
}

Datum
pgo_merge_deserialfn(PG_FUNCTION_ARGS)
{
	return Deserialize(fcinfo, MERGE_PGO);
}

/* The merged profile; NULL when no input contributed. */
Datum
pprof_merge_finalfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = AggContext(fcinfo, "pprof_merge_finalfn");
	MergeState *state;
	MemoryContext old;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (MergeState *) PG_GETARG_POINTER(0);
	old = MemoryContextSwitchTo(aggcontext);
	MergeStateResolve(state);
	MergeStateFlush(state);
	MemoryContextSwitchTo(old);
	if (MergeStateIsEmpty(state))
		PG_RETURN_NULL();
	PG_RETURN_PPROF_P(MergeStateToPprof(state));
}
