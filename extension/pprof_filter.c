/*-------------------------------------------------------------------------
 *
 * pprof_filter.c
 *	  Selecting samples by pprof label: the values a label takes, and the
 *	  profile restricted to the samples that carry one value.
 *
 * runtime/pprof attaches labels set with pprof.Do / pprof.SetGoroutineLabels
 * to CPU samples, so one profile of a process serving several modes holds
 * all of them; the fleet catalog uses these functions to merge one mode
 * only. Only string labels are considered (numeric labels carry no mode).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pprof.h"

static char *TextToUtf8(const text *t);
static bool SampleHasLabel(const PprofView *view, const PprofSample *sample,
						   const char *key, const char *value);
static int	CompareCStrings(const void *a, const void *b);

PG_FUNCTION_INFO_V1(pprof_label_values);
PG_FUNCTION_INFO_V1(pprof_filter_label);

/* A text argument as a NUL-terminated UTF-8 string, as stored in profiles. */
static char *
TextToUtf8(const text *t)
{
	char	   *server = text_to_cstring(t);

	return pg_server_to_any(server, strlen(server), PG_UTF8);
}

/* Does the sample carry the string label key=value (value NULL: any)? */
static bool
SampleHasLabel(const PprofView *view, const PprofSample *sample,
			   const char *key, const char *value)
{
	uint32		i;

	for (i = 0; i < sample->n_labels; i++)
	{
		const PprofLabel *label = &view->labels[sample->first_label + i];

		if (label->str == 0)
			continue;
		if (strcmp(PprofString(view, label->key), key) != 0)
			continue;
		if (value == NULL || strcmp(PprofString(view, label->str), value) == 0)
			return true;
	}
	return false;
}

/* qsort comparator over char * (bytewise, as go tool pprof sorts). */
static int
CompareCStrings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * pprof_label_values(pprof, key): the distinct values of the string label
 * key over all samples, sorted bytewise; empty when no sample has it.
 */
Datum
pprof_label_values(PG_FUNCTION_ARGS)
{
	PprofView	view;
	const char *key;
	const char **found;
	Datum	   *elems;
	uint32		n_found = 0;
	uint32		n_distinct = 0;
	uint32		i;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	key = TextToUtf8(PG_GETARG_TEXT_PP(1));

	found = palloc_extended(sizeof(char *) * Max(view.hdr->n_labels, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < view.hdr->n_labels; i++)
	{
		const PprofLabel *label = &view.labels[i];

		if (label->str != 0 && strcmp(PprofString(&view, label->key), key) == 0)
			found[n_found++] = PprofString(&view, label->str);
	}
	qsort(found, n_found, sizeof(char *), CompareCStrings);

	elems = palloc(sizeof(Datum) * Max(n_found, 1));
	for (i = 0; i < n_found; i++)
	{
		const char *utf8 = found[i];
		char	   *server;

		if (i > 0 && strcmp(utf8, found[i - 1]) == 0)
			continue;
		server = pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
		elems[n_distinct++] = PointerGetDatum(cstring_to_text(server));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array_builtin(elems, n_distinct, TEXTOID));
}

/*
 * pprof_filter_label(pprof, key, value): the profile with only the samples
 * that carry the string label key=value. Everything else (header, mappings,
 * locations, functions, strings, comments) is kept as is, so the result
 * reads like the input with the other samples dropped, as go tool pprof
 * -tagfocus would show it.
 */
Datum
pprof_filter_label(PG_FUNCTION_ARGS)
{
	Pprof	   *in = PG_GETARG_PPROF_P(0);
	const char *key = TextToUtf8(PG_GETARG_TEXT_PP(1));
	const char *value = TextToUtf8(PG_GETARG_TEXT_PP(2));
	PprofView	view;
	PprofView	out;
	PprofSections sections;
	Pprof		hdr;
	Pprof	   *result;
	bool	   *keep;
	uint32		n_types;
	uint32		s;
	uint32		k;

	PprofOpen(in, &view);
	n_types = view.hdr->n_sample_types;

	/* count what the kept samples need */
	hdr = *view.hdr;
	hdr.n_samples = 0;
	hdr.n_labels = 0;
	hdr.n_stack = 0;
	keep = palloc_extended(sizeof(bool) * Max(view.hdr->n_samples, 1), MCXT_ALLOC_HUGE);
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		const PprofSample *sample = &view.samples[s];

		keep[s] = SampleHasLabel(&view, sample, key, value);
		if (!keep[s])
			continue;
		hdr.n_samples++;
		hdr.n_labels += sample->n_labels;
		hdr.n_stack += sample->depth;
	}

	/* nothing dropped: the input is the answer */
	if (hdr.n_samples == view.hdr->n_samples)
		PG_RETURN_PPROF_P(in);

	PprofComputeSections(&hdr, &sections);
	if (sections.total > MaxAllocHugeSize)
		elog(ERROR, "filtered pprof profile of %zu bytes is too large", sections.total);
	result = palloc_extended(sections.total, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	memcpy(result, &hdr, sizeof(Pprof));
	SET_VARSIZE(result, sections.total);
	PprofOpen(result, &out);

	memcpy(unconstify(PprofMapping *, out.mappings), view.mappings,
		   sizeof(PprofMapping) * hdr.n_mappings);
	memcpy(unconstify(PprofLocation *, out.locations), view.locations,
		   sizeof(PprofLocation) * hdr.n_locations);
	memcpy(unconstify(PprofLine *, out.lines), view.lines,
		   sizeof(PprofLine) * hdr.n_lines);
	memcpy(unconstify(PprofFunction *, out.functions), view.functions,
		   sizeof(PprofFunction) * hdr.n_functions);
	memcpy(unconstify(PprofValueType *, out.sample_types), view.sample_types,
		   sizeof(PprofValueType) * hdr.n_sample_types);
	memcpy(unconstify(uint32 *, out.comments), view.comments,
		   sizeof(uint32) * hdr.n_comments);
	memcpy(unconstify(uint32 *, out.str_offsets), view.str_offsets,
		   sizeof(uint32) * ((Size) hdr.n_strings + 1));
	memcpy(unconstify(char *, out.str_data), view.str_data, hdr.str_bytes);

	/* the kept samples, their values, labels and stacks, in input order */
	k = 0;
	{
		int64	   *values = unconstify(int64 *, out.values);
		PprofSample *samples = unconstify(PprofSample *, out.samples);
		PprofLabel *labels = unconstify(PprofLabel *, out.labels);
		uint32	   *stack = unconstify(uint32 *, out.stack);
		uint32		label_pos = 0;
		uint32		stack_pos = 0;

		for (s = 0; s < view.hdr->n_samples; s++)
		{
			const PprofSample *sample = &view.samples[s];

			if (!keep[s])
				continue;
			memcpy(&values[(Size) k * n_types], &view.values[(Size) s * n_types],
				   sizeof(int64) * n_types);
			memcpy(&labels[label_pos], &view.labels[sample->first_label],
				   sizeof(PprofLabel) * sample->n_labels);
			memcpy(&stack[stack_pos], &view.stack[sample->first_location],
				   sizeof(uint32) * sample->depth);
			samples[k].first_label = label_pos;
			samples[k].n_labels = sample->n_labels;
			samples[k].first_location = stack_pos;
			samples[k].depth = sample->depth;
			label_pos += sample->n_labels;
			stack_pos += sample->depth;
			k++;
		}
	}

	PG_RETURN_PPROF_P(result);
}
