/*-------------------------------------------------------------------------
 *
 * pprof_pgo.c
 *	  Would go build -pgo use this profile? The Go 1.21-1.27 rules, as code.
 *
 * go build runs cmd/preprofile, which parses the profile with
 * cmd/internal/pgo/pprof.go FromPProf(), as the compiler
 * (cmd/compile/internal/pgoir/irgraph.go New()) does when handed a pprof
 * file itself. FromPProf() accepts a profile without samples and ignores it,
 * fails unless a sample type is samples/count or cpu/nanoseconds, then
 * builds the call edges that pprof_pgo_edges.c models (its header lists the
 * steps); the verdict here is that model's status. Read in the Go 1.23 and
 * 1.27 sources; docs/DESIGN.md section 2 records the same for 1.21 and 1.22. The
 * one change between them: a profile whose samples all weigh zero is
 * rejected by 1.23 ("missing start_line") and ignored by 1.27.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pprof.h"

PG_FUNCTION_INFO_V1(pprof_pgo_usable);
PG_FUNCTION_INFO_V1(pprof_pgo_problems);

/*
 * Why go build -pgo would reject or ignore the profile: a list of sentences
 * in the database encoding, NIL when it is usable.
 */
List *
PprofPgoProblems(const PprofView *view)
{
	List	   *problems = NIL;
	int			k = PprofPgoSampleIndex(view);

	if (k < 0)
		problems = lappend(problems,
						   psprintf("The profile has no samples/count or cpu/nanoseconds sample type (it has %s); go build -pgo rejects it. Use a CPU profile.",
									PprofSampleTypeList(view)));

	if (view->hdr->n_samples == 0)
		problems = lappend(problems,
						   pstrdup("The profile has no samples; go build -pgo accepts it but PGO has no effect."));
	else if (k >= 0)
	{
		PgoEdgesStatus status = PgoEdgesVerdict(view);

		if (status == PGO_EDGES_ALL_ZERO)
			problems = lappend(problems,
							   psprintf("Every sample has a zero %s value; go build -pgo ignores such a profile (Go 1.23 and older reject it).",
										PprofSampleTypeName(view, k)));
		else if (status == PGO_EDGES_NO_START_LINE)
			problems = lappend(problems,
							   pstrdup("No sampled function has a start line (Function.start_line); go build -pgo rejects the profile. Go 1.20 and later write start lines."));
		else if (status == PGO_EDGES_NO_WEIGHT)
			problems = lappend(problems,
							   pstrdup("No sample has a caller frame, so the profile has no call edges and PGO has no effect."));
		else if (status == PGO_EDGES_OVERFLOW)
			problems = lappend(problems,
							   pstrdup("The call edge weights add up to more than a 64-bit integer holds; go build -pgo would wrap them around."));
	}
	return problems;
}

/* pprof_pgo_usable(pprof): would go build -pgo use this profile? */
Datum
pprof_pgo_usable(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	PG_RETURN_BOOL(PprofPgoProblems(&view) == NIL);
}

/* pprof_pgo_problems(pprof): why not, as sentences; empty when usable. */
Datum
pprof_pgo_problems(PG_FUNCTION_ARGS)
{
	PprofView	view;
	List	   *problems;
	Datum	   *elems;
	ListCell   *lc;
	int			i = 0;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	problems = PprofPgoProblems(&view);
	if (problems == NIL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));

	elems = palloc(sizeof(Datum) * list_length(problems));
	foreach(lc, problems)
		elems[i++] = PointerGetDatum(cstring_to_text((char *) lfirst(lc)));
	PG_RETURN_ARRAYTYPE_P(construct_array_builtin(elems, i, TEXTOID));
}
