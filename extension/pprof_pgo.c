/*-------------------------------------------------------------------------
 *
 * pprof_pgo.c
 *	  Would go build -pgo use this profile? The Go 1.21-1.23 rules, as code.
 *
 * Read in the Go 1.23 source: go build runs cmd/preprofile (main.go
 * preprocess()), which parses the profile with cmd/internal/pgo/pprof.go
 * FromPProf(), as the compiler (cmd/compile/internal/pgoir/irgraph.go New())
 * does when handed a pprof file itself. FromPProf()
 *	- accepts a profile with no samples and ignores it (PGO off, no error);
 *	- fails unless a sample type is samples/count or cpu/nanoseconds (the
 *	  first such type weighs the edges);
 *	- builds internal/profile/graph.go NewGraph() from the samples whose
 *	  value is non-zero, taking only the two leaf-most locations of each
 *	  stack (every line of them, inlined frames included); its nodes are
 *	  (function name, address, start line, line), its edges join consecutive
 *	  distinct nodes;
 *	- createNamedEdgeMap() fails unless some node of that graph has a
 *	  function start_line != 0 ("profile missing Function.start_line data"),
 *	  so a profile whose samples all weigh zero fails as well;
 *	- ignores the profile when the edges weigh 0 in total.
 * docs/DESIGN.md section 2 records the same behaviour for Go 1.21 and 1.22
 * (cmd/compile/internal/pgo there); only the 1.23 source was read for this.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pprof.h"

/* A node of the compiler's graph (internal/profile NodeInfo). */
typedef struct PgoNode
{
	const char *name;			/* bytes, "" for a location without lines */
	uint32		name_len;
	uint64		address;
	int64		start_line;
	int64		line;
} PgoNode;

static void SampleGraphFacts(const PprofView *view, int k, bool *weighted,
							 bool *start_line, bool *edge);

PG_FUNCTION_INFO_V1(pprof_pgo_usable);
PG_FUNCTION_INFO_V1(pprof_pgo_problems);

/*
 * Index of the sample type go build weighs call edges with: the first one
 * that is samples/count or cpu/nanoseconds; -1 if there is none.
 */
int
PprofPgoSampleIndex(const PprofView *view)
{
	int			i;

	for (i = 0; i < view->hdr->n_sample_types; i++)
	{
		uint32		type = view->sample_types[i].type;
		uint32		unit = view->sample_types[i].unit;

		if ((PprofStringEquals(view, type, "samples") &&
			 PprofStringEquals(view, unit, "count")) ||
			(PprofStringEquals(view, type, "cpu") &&
			 PprofStringEquals(view, unit, "nanoseconds")))
			return i;
	}
	return -1;
}

/*
 * Walk the part of the compiler's graph that the samples weighted by sample
 * type k build: is any sample non-zero, does any node have a start line,
 * is there any edge. (Node weights cancelling out to exactly zero, possible
 * only with negative values, are not modelled.)
 */
static void
SampleGraphFacts(const PprofView *view, int k, bool *weighted,
				 bool *start_line, bool *edge)
{
	uint32		n_types = view->hdr->n_sample_types;
	uint32		s;

	*weighted = *start_line = *edge = false;
	for (s = 0; s < view->hdr->n_samples && !(*start_line && *edge); s++)
	{
		const PprofSample *sample = &view->samples[s];
		PgoNode		parent = {0};
		bool		have_parent = false;
		int			i;

		if (view->values[(Size) s * n_types + k] == 0)
			continue;
		*weighted = true;

		/* leaf-most two locations, caller first, each from caller line in */
		for (i = Min(1, (int) sample->depth - 1); i >= 0; i--)
		{
			const PprofLocation *loc = &view->locations[view->stack[sample->first_location + i]];
			int			ln = (int) loc->n_lines - 1;

			do
			{
				PgoNode		node = {"", 0, loc->address, 0, 0};

				if (loc->n_lines > 0)
				{
					const PprofLine *line = &view->lines[loc->first_line + ln];
					const PprofFunction *f = &view->functions[line->function];

					node.name = PprofString(view, f->name);
					node.name_len = PprofStringLength(view, f->name);
					node.start_line = f->start_line;
					node.line = line->line;
				}
				if (node.start_line != 0)
					*start_line = true;
				if (have_parent &&
					(node.name_len != parent.name_len ||
					 memcmp(node.name, parent.name, node.name_len) != 0 ||
					 node.address != parent.address ||
					 node.start_line != parent.start_line ||
					 node.line != parent.line))
					*edge = true;
				parent = node;
				have_parent = true;
			} while (--ln >= 0);
		}
	}
}

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
		bool		weighted,
					start_line,
					edge;

		SampleGraphFacts(view, k, &weighted, &start_line, &edge);
		if (!weighted)
			problems = lappend(problems,
							   psprintf("Every sample has a zero %s value; go build -pgo rejects such a profile.",
										PprofSampleTypeName(view, k)));
		else if (!start_line)
			problems = lappend(problems,
							   pstrdup("No sampled function has a start line (Function.start_line); go build -pgo rejects the profile. Go 1.20 and later write start lines."));
		else if (!edge)
			problems = lappend(problems,
							   pstrdup("No sample has a caller frame, so the profile has no call edges and PGO has no effect."));
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
