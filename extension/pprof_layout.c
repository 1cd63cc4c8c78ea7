/*-------------------------------------------------------------------------
 *
 * pprof_layout.c
 *	  Section arithmetic and read access for the stored pprof layout.
 *
 * Every reader goes through PprofOpen(), which checks the layout version and
 * that the counts in the header account for exactly the datum's size, so a
 * datum damaged on disk gives an error instead of out-of-bounds reads.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/builtins.h"

#include "pprof.h"

/*
 * Compute the size of every section of a layout from the counts in hdr.
 * Sizes are computed in 64 bits; the caller checks the total against
 * MaxAllocSize before allocating.
 */
void
PprofComputeSections(const Pprof *hdr, PprofSections *s)
{
	s->values = MAXALIGN((uint64) hdr->n_samples * hdr->n_sample_types * sizeof(int64));
	s->mappings = MAXALIGN((uint64) hdr->n_mappings * sizeof(PprofMapping));
	s->locations = MAXALIGN((uint64) hdr->n_locations * sizeof(PprofLocation));
	s->lines = MAXALIGN((uint64) hdr->n_lines * sizeof(PprofLine));
	s->functions = MAXALIGN((uint64) hdr->n_functions * sizeof(PprofFunction));
	s->samples = MAXALIGN((uint64) hdr->n_samples * sizeof(PprofSample));
	s->labels = MAXALIGN((uint64) hdr->n_labels * sizeof(PprofLabel));
	s->stack = MAXALIGN((uint64) hdr->n_stack * sizeof(uint32));
	s->sample_types = MAXALIGN((uint64) hdr->n_sample_types * sizeof(PprofValueType));
	s->comments = MAXALIGN((uint64) hdr->n_comments * sizeof(uint32));
	s->str_offsets = MAXALIGN(((uint64) hdr->n_strings + 1) * sizeof(uint32));
	s->str_data = MAXALIGN((uint64) hdr->str_bytes);
	s->total = MAXALIGN(sizeof(Pprof)) + s->values + s->mappings + s->locations +
		s->lines + s->functions + s->samples + s->labels + s->stack +
		s->sample_types + s->comments + s->str_offsets + s->str_data;
}

/*
 * Set up pointers to the sections of a detoasted layout.
 */
void
PprofOpen(const Pprof *pprof, PprofView *view)
{
	PprofSections s;
	const char *p;

	if (pprof->version != PPROF_LAYOUT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("unsupported pprof storage version %d", pprof->version),
				 errdetail("This build of the pprof extension reads version %d.",
						   PPROF_LAYOUT_VERSION)));

	PprofComputeSections(pprof, &s);
	if (s.total != VARSIZE(pprof))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupted pprof value"),
				 errdetail("The stored value has %zu bytes but its header describes %zu.",
						   (Size) VARSIZE(pprof), s.total)));

	view->hdr = pprof;
	p = (const char *) pprof + MAXALIGN(sizeof(Pprof));
	view->values = (const int64 *) p;
	p += s.values;
	view->mappings = (const PprofMapping *) p;
	p += s.mappings;
	view->locations = (const PprofLocation *) p;
	p += s.locations;
	view->lines = (const PprofLine *) p;
	p += s.lines;
	view->functions = (const PprofFunction *) p;
	p += s.functions;
	view->samples = (const PprofSample *) p;
	p += s.samples;
	view->labels = (const PprofLabel *) p;
	p += s.labels;
	view->stack = (const uint32 *) p;
	p += s.stack;
	view->sample_types = (const PprofValueType *) p;
	p += s.sample_types;
	view->comments = (const uint32 *) p;
	p += s.comments;
	view->str_offsets = (const uint32 *) p;
	p += s.str_offsets;
	view->str_data = p;
}

/* The NUL-terminated string at a (validated) string index. */
const char *
PprofString(const PprofView *view, uint32 index)
{
	if (index >= view->hdr->n_strings)
		elog(ERROR, "pprof string index %u out of range", index);
	return view->str_data + view->str_offsets[index];
}

/* Length in bytes of the string at index, without its terminator. */
uint32
PprofStringLength(const PprofView *view, uint32 index)
{
	if (index >= view->hdr->n_strings)
		elog(ERROR, "pprof string index %u out of range", index);
	return view->str_offsets[index + 1] - view->str_offsets[index] - 1;
}

/*
 * The string at index as text in the database encoding. Strings were checked
 * to be valid UTF-8 at input; conversion errors out if the database encoding
 * cannot represent a character.
 */
text *
PprofStringText(const PprofView *view, uint32 index)
{
	const char *s = PprofString(view, index);
	int			len = PprofStringLength(view, index);
	char	   *conv;

	conv = pg_any_to_server(s, len, PG_UTF8);
	if (conv == s)
		return cstring_to_text_with_len(s, len);
	return cstring_to_text(conv);
}

/*
 * Index of the sample type named by name, or -1. name is either a type
 * ("cpu") or "type/unit" ("cpu/nanoseconds"); NULL means the default sample
 * type: the one named by default_sample_type, else the last one, which is
 * what go tool pprof uses.
 */
int
PprofFindSampleType(const PprofView *view, const char *name)
{
	const Pprof *hdr = view->hdr;
	int			i;

	if (hdr->n_sample_types == 0)
		return -1;

	if (name == NULL)
	{
		if (hdr->default_sample_type != 0)
		{
			for (i = 0; i < hdr->n_sample_types; i++)
				if (view->sample_types[i].type == hdr->default_sample_type)
					return i;
		}
		return hdr->n_sample_types - 1;
	}

	for (i = 0; i < hdr->n_sample_types; i++)
	{
		const char *type = PprofString(view, view->sample_types[i].type);
		const char *unit = PprofString(view, view->sample_types[i].unit);
		size_t		tlen = strlen(type);

		if (strcmp(name, type) == 0)
			return i;
		if (strncmp(name, type, tlen) == 0 && name[tlen] == '/' &&
			strcmp(name + tlen + 1, unit) == 0)
			return i;
	}
	return -1;
}
