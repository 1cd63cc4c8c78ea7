/*-------------------------------------------------------------------------
 *
 * pprof_layout.c
 *	  Section arithmetic, read access and sample writing for the stored
 *	  pprof layout.
 *
 * Every reader goes through PprofOpen(), which checks the layout version and
 * that the counts in the header account for exactly the datum's size, so a
 * datum damaged on disk gives an error instead of out-of-bounds reads.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pprof_merge.h"

/* U+FFFD in UTF-8 */
#define UTF8_REPLACEMENT_CHARACTER "\xEF\xBF\xBD"

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
 * A new layout with the counts (and every other header field) of hdr, its
 * sections zeroed, and *view opened on it for the caller to fill. The one
 * place a layout is sized: the decoder, the merge output and the filters
 * all come through here. NULL, with err filled, when it would not fit in a
 * PostgreSQL value; the decoder returns that, the others throw it.
 */
Pprof *
PprofLayoutAlloc(const Pprof *hdr, PprofView *view, PprofError *err)
{
	PprofSections s;
	Pprof	   *result;

	PprofComputeSections(hdr, &s);
	if (s.total > MaxAllocSize)
	{
		err->sqlerrcode = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		err->message = "pprof profile is too large";
		err->detail = psprintf("Its stored form would take %zu bytes; a PostgreSQL value holds at most %zu.",
							   s.total, (Size) MaxAllocSize);
		err->hint = NULL;
		return NULL;
	}
	result = palloc0(s.total);
	memcpy(result, hdr, sizeof(Pprof));
	SET_VARSIZE(result, s.total);
	result->version = PPROF_LAYOUT_VERSION;
	PprofOpen(result, view);
	return result;
}

/*
 * Set up pointers to the sections of a detoasted layout. A compact pgo
 * projection is expanded first (into the current memory context): every
 * reader sees the layout it stands for.
 */
void
PprofOpen(const Pprof *pprof, PprofView *view)
{
	PprofSections s;
	const char *p;

	if (PprofIsCompactProjection(pprof))
		pprof = PprofExpandProjection(pprof);
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

/* A writer of the samples of out, a layout from PprofLayoutAlloc(). */
void
PprofSampleWriterInit(PprofSampleWriter *w, const PprofView *out)
{
	w->hdr = out->hdr;
	w->samples = unconstify(PprofSample *, out->samples);
	w->labels = unconstify(PprofLabel *, out->labels);
	w->stack = unconstify(uint32 *, out->stack);
	w->n_samples = 0;
	w->stack_pos = 0;
	w->label_pos = 0;
}

/*
 * The next sample, with room for depth frames at w->stack[first_location]
 * and n_labels labels at w->labels[first_label], for the caller to fill.
 * NULL when the header counts fewer samples, frames or labels: the caller
 * that counted them says it cannot happen, the one that reads them from a
 * stored value that the value is corrupted.
 */
PprofSample *
PprofWriteSample(PprofSampleWriter *w, uint32 depth, uint32 n_labels)
{
	PprofSample *sample;

	if (w->n_samples >= w->hdr->n_samples ||
		depth > w->hdr->n_stack - w->stack_pos ||
		n_labels > w->hdr->n_labels - w->label_pos)
		return NULL;
	sample = &w->samples[w->n_samples++];
	sample->first_location = w->stack_pos;
	sample->depth = depth;
	sample->first_label = w->label_pos;
	sample->n_labels = n_labels;
	w->stack_pos += depth;
	w->label_pos += n_labels;
	return sample;
}

/*
 * The bytes of the string at a (validated) string index. They are followed
 * by a NUL, but may hold NULs and invalid UTF-8 themselves (Go strings are
 * arbitrary bytes): compare them with their length, and turn them into SQL
 * text only through PprofBytesToServer().
 */
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

/* Does the string at index hold exactly the bytes of the C string s? */
bool
PprofStringEquals(const PprofView *view, uint32 index, const char *s)
{
	size_t		len = strlen(s);

	return PprofStringLength(view, index) == len &&
		memcmp(PprofString(view, index), s, len) == 0;
}

/*
 * Append the bytes s[0..len) to buf as valid UTF-8 without NULs: each byte
 * that is not part of a valid UTF-8 sequence, and each NUL (which text cannot
 * hold), becomes U+FFFD, one per byte, as Go's []rune(s) and encoding/json
 * do. Valid sequences are copied as they are.
 */
static void
AppendValidUtf8(StringInfo buf, const char *s, Size len)
{
	const char *end = s + len;

	while (s < end)
	{
		int			valid = pg_encoding_verifymbstr(PG_UTF8, s, end - s);

		appendBinaryStringInfo(buf, s, valid);
		s += valid;
		if (s < end)
		{
			appendBinaryStringInfo(buf, UTF8_REPLACEMENT_CHARACTER, 3);
			s++;
		}
	}
}

/*
 * Valid UTF-8 utf8[0..len) (NUL-terminated) in the database encoding, with
 * '?' for each character that encoding cannot represent: a read of a stored
 * profile must not fail because of what the profiled program named things.
 * Returns utf8 itself when no conversion is needed.
 */
static const char *
Utf8ToServerLossy(const char *utf8, Size len)
{
	/* the database encoding, so its conversion, is fixed for the backend */
	static bool looked_up = false;
	static Oid	proc = InvalidOid;
	int			encoding = GetDatabaseEncoding();
	const char *s = utf8;
	const char *end = utf8 + len;
	unsigned char *out;
	StringInfoData buf;

	while (s < end && !IS_HIGHBIT_SET(*s))
		s++;
	if (s == end)
		return utf8;			/* ASCII is the same in every server encoding */

	if (!looked_up)
	{
		proc = FindDefaultConversionProc(PG_UTF8, encoding);
		looked_up = true;
	}

	initStringInfo(&buf);
	out = palloc(len * MAX_CONVERSION_GROWTH + 1);
	s = utf8;
	while (s < end)
	{
		int			done = 0;

		if (OidIsValid(proc))
		{
			/* converts up to the first character it has no code for */
			done = pg_do_encoding_conversion_buf(proc, PG_UTF8, encoding,
												 (unsigned char *) s, end - s,
												 out, len * MAX_CONVERSION_GROWTH + 1,
												 true);
			appendStringInfoString(&buf, (const char *) out);
		}
		else
		{
			/* no conversion from UTF-8 is defined: keep ASCII */
			while (s + done < end && !IS_HIGHBIT_SET(s[done]))
				done++;
			appendBinaryStringInfo(&buf, s, done);
		}
		s += done;
		if (s < end)
		{
			appendStringInfoChar(&buf, '?');
			s += pg_utf_mblen((const unsigned char *) s);
		}
	}
	pfree(out);
	return buf.data;
}

/*
 * The one way a profile string becomes SQL text: bytes[0..len) as a
 * NUL-terminated string in the database encoding. Invalid UTF-8 and NULs
 * become U+FFFD (AppendValidUtf8), then characters the database encoding
 * cannot represent become '?' (Utf8ToServerLossy); never an error, so every
 * stored profile stays readable. bytes[len] must be a NUL, as it is for
 * stored strings: when nothing changes, the result is bytes itself, else a
 * palloc'd copy. Comparisons of profile strings with SQL text compare this
 * result, so a text argument matches what the reports show.
 */
const char *
PprofBytesToServer(const char *bytes, Size len)
{
	int			encoding = GetDatabaseEncoding();
	const char *utf8 = bytes;

	if (pg_encoding_verifymbstr(PG_UTF8, bytes, len) != len)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		AppendValidUtf8(&buf, bytes, len);
		utf8 = buf.data;
		len = buf.len;
	}
	/* a SQL_ASCII database stores what it is given, as pg_any_to_server does */
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return utf8;
	return Utf8ToServerLossy(utf8, len);
}

/* The string at index as a C string in the database encoding. */
const char *
PprofStringServer(const PprofView *view, uint32 index)
{
	return PprofBytesToServer(PprofString(view, index), PprofStringLength(view, index));
}

/* The string at index as text in the database encoding. */
text *
PprofStringText(const PprofView *view, uint32 index)
{
	return cstring_to_text(PprofStringServer(view, index));
}

/*
 * Index of the sample type named by name, or -1. name, in the database
 * encoding, is either a type ("cpu") or "type/unit" ("cpu/nanoseconds"),
 * compared with the types and units as PprofStringServer() shows them; NULL
 * means the default sample type: the one named by default_sample_type, else
 * the last one, which is what go tool pprof uses.
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
		const char *type = PprofStringServer(view, view->sample_types[i].type);
		const char *unit = PprofStringServer(view, view->sample_types[i].unit);
		size_t		tlen = strlen(type);

		if (strcmp(name, type) == 0)
			return i;
		if (strncmp(name, type, tlen) == 0 && name[tlen] == '/' &&
			strcmp(name + tlen + 1, unit) == 0)
			return i;
	}
	return -1;
}

/*
 * Index of the sample type go build weighs call edges with: the first one
 * that is samples/count or cpu/nanoseconds; -1 if there is none. Here, not
 * in pprof_pgo.c, because the merges use it too (and the fuzz harness links
 * them without the SQL functions).
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
