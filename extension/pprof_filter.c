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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pprof.h"

/*
 * Which of a profile's strings read as a text argument. Strings are compared
 * as PprofStringServer() shows them, so an argument matches exactly what
 * pprof_labels and pprof_label_values show: for valid UTF-8 that is the
 * string itself; a value with invalid bytes or NULs shows, and matches, with
 * U+FFFD in their place (so "/\xff" and "/\xfe" both match '/\uFFFD'). The
 * answer is cached per string index, as many labels share a string.
 */
typedef struct TextMatcher
{
	const PprofView *view;
	const char *text;			/* the argument, in the database encoding */
	uint8	   *cache;			/* per string index: 0 unknown, 1 no, 2 yes */
} TextMatcher;

static void MatcherInit(TextMatcher *m, const PprofView *view, const text *t);
static bool Matches(TextMatcher *m, uint32 index);
static bool SampleHasLabel(const PprofView *view, const PprofSample *sample,
						   TextMatcher *key, TextMatcher *value);
static int	CompareCStrings(const void *a, const void *b);

PG_FUNCTION_INFO_V1(pprof_label_values);
PG_FUNCTION_INFO_V1(pprof_filter_label);

static void
MatcherInit(TextMatcher *m, const PprofView *view, const text *t)
{
	m->view = view;
	m->text = text_to_cstring(t);
	m->cache = palloc_extended(Max(view->hdr->n_strings, 1),
							   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Does string index read as the matcher's text? */
static bool
Matches(TextMatcher *m, uint32 index)
{
	if (index >= m->view->hdr->n_strings)
		elog(ERROR, "pprof string index %u out of range", index);
	if (m->cache[index] == 0)
		m->cache[index] = strcmp(PprofStringServer(m->view, index), m->text) == 0 ? 2 : 1;
	return m->cache[index] == 2;
}

/* Does the sample carry the string label key=value (value NULL: any)? */
static bool
SampleHasLabel(const PprofView *view, const PprofSample *sample,
			   TextMatcher *key, TextMatcher *value)
{
	uint32		i;

	for (i = 0; i < sample->n_labels; i++)
	{
		const PprofLabel *label = &view->labels[sample->first_label + i];

		if (label->str == 0)
			continue;
		if (!Matches(key, label->key))
			continue;
		if (value == NULL || Matches(value, label->str))
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
 * key over all samples, as text (PprofStringServer), sorted bytewise; empty
 * when no sample has it. Values that differ only in bytes that show as
 * U+FFFD (or '?') are one value here, as they are for pprof_filter_label.
 */
Datum
pprof_label_values(PG_FUNCTION_ARGS)
{
	PprofView	view;
	TextMatcher key;
	bool	   *seen;
	const char **found;
	Datum	   *elems;
	uint32		n_found = 0;
	uint32		n_distinct = 0;
	uint32		i;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	MatcherInit(&key, &view, PG_GETARG_TEXT_PP(1));

	/* each distinct value string once: labels repeat the same few */
	seen = palloc_extended(sizeof(bool) * Max(view.hdr->n_strings, 1),
						   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	found = palloc_extended(sizeof(char *) * Max(view.hdr->n_labels, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < view.hdr->n_labels; i++)
	{
		const PprofLabel *label = &view.labels[i];

		if (label->str != 0 && !seen[label->str] && Matches(&key, label->key))
		{
			seen[label->str] = true;
			found[n_found++] = PprofStringServer(&view, label->str);
		}
	}
	qsort(found, n_found, sizeof(char *), CompareCStrings);

	elems = palloc(sizeof(Datum) * Max(n_found, 1));
	for (i = 0; i < n_found; i++)
	{
		if (i > 0 && strcmp(found[i], found[i - 1]) == 0)
			continue;
		elems[n_distinct++] = PointerGetDatum(cstring_to_text(found[i]));
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
	TextMatcher key;
	TextMatcher value;
	PprofView	view;
	PprofView	out;
	PprofError	err;
	Pprof		hdr;
	Pprof	   *result;
	PprofSampleWriter w;
	int64	   *values;
	bool	   *keep;
	uint32		n_types;
	uint32		s;

	PprofOpen(in, &view);
	MatcherInit(&key, &view, PG_GETARG_TEXT_PP(1));
	MatcherInit(&value, &view, PG_GETARG_TEXT_PP(2));
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

		keep[s] = SampleHasLabel(&view, sample, &key, &value);
		if (!keep[s])
			continue;
		hdr.n_samples++;
		hdr.n_labels += sample->n_labels;
		hdr.n_stack += sample->depth;
	}

	/* nothing dropped: the input is the answer */
	if (hdr.n_samples == view.hdr->n_samples)
		PG_RETURN_PPROF_P(in);

	result = PprofLayoutAlloc(&hdr, &out, &err);
	if (result == NULL)
		PprofThrow(&err);

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
	PprofSampleWriterInit(&w, &out);
	values = unconstify(int64 *, out.values);
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		const PprofSample *sample = &view.samples[s];
		PprofSample *o;

		if (!keep[s])
			continue;
		o = PprofWriteSample(&w, sample->depth, sample->n_labels);
		if (o == NULL)
			elog(ERROR, "pprof_filter_label: kept samples exceed their count");
		memcpy(&values[(Size) (o - w.samples) * n_types], &view.values[(Size) s * n_types],
			   sizeof(int64) * n_types);
		memcpy(&w.labels[o->first_label], &view.labels[sample->first_label],
			   sizeof(PprofLabel) * sample->n_labels);
		memcpy(&w.stack[o->first_location], &view.stack[sample->first_location],
			   sizeof(uint32) * sample->depth);
	}

	PG_RETURN_PPROF_P(result);
}
