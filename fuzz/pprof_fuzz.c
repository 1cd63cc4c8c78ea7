/*-------------------------------------------------------------------------
 *
 * pprof_fuzz.c
 *	  libFuzzer target for the pprof decoder: differential against protobuf-c
 *	  and round trip through the encoder.
 *
 * For every input:
 *	1. PprofDecode() must return a layout or NULL with a well-formed error;
 *	   it must never crash, throw, or leave memory behind beyond its result
 *	   (or its error text). An accepted layout must be internally consistent:
 *	   every index in range, every section where PprofOpen() puts it.
 *	2. protobuf-c is the reference: on the raw protobuf (the input itself, or
 *	   its inflated bytes), if protobuf-c rejects, ours must reject; if ours
 *	   accepts, protobuf-c must accept and agree on every field.
 *	3. An accepted layout must survive the encoder: PprofEncodeRaw() gives
 *	   protobuf-c's bytes for it (encode_ref.c), and its output
 *	   decodes to the same layout and re-encodes to the same bytes, and
 *	   PprofEncode() (gzip) decodes to the same layout too.
 * Any disagreement abort()s with a message, which libFuzzer records as a
 * crash. Each input runs in its own memory context, deleted afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "mb/pg_wchar.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "pprof.h"
#include "profile.pb-c.h"
#include "encode_ref.h"
#include "pg_shim.h"

/* protobuf-c only sees raw inputs up to this size... */
#define REF_MAX_INPUT		(1024 * 1024)
/* ...and may allocate at most this much for one of them. */
#define REF_MAX_ALLOC		((Size) 256 * 1024 * 1024)

/* What a rejected input may leave in the caller's context: the error text. */
#define MAX_ERROR_BYTES		(16 * 1024)

typedef Perftools__Profiles__Profile PbProfile;

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void Fatal(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();
static void CheckError(const PprofError *err);
static void CheckText(const char *bytes, Size len, uint32 index);
static void CheckLayout(const Pprof *pprof);
static void CompareWithReference(const Pprof *pprof, const PbProfile *ref);
static void RoundTrip(const Pprof *pprof);
static Pprof *DecodeChecked(const char *data, Size len, PprofError *err);
static void RunOne(const uint8 *bytes, Size len);

/* Report a disagreement and crash, so libFuzzer keeps the input. */
static void
Fatal(const char *fmt,...)
{
	va_list		args;

	fprintf(stderr, "pprof_fuzz: ");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\n");
	abort();
}

#define CHECK(cond, ...) \
	do { if (!(cond)) Fatal(__VA_ARGS__); } while (0)

/*
 * ---------------------------------------------------------------------------
 * A bounded allocator for protobuf-c, so one input cannot make the reference
 * decoder exhaust memory (it allocates ~40 bytes per 2 wire bytes).
 * ---------------------------------------------------------------------------
 */
typedef struct RefBudget
{
	Size		used;
	bool		exhausted;
} RefBudget;

static void *
RefAlloc(void *data, size_t size)
{
	RefBudget  *budget = data;
	Size	   *p;

	if (size > REF_MAX_ALLOC || budget->used + size > REF_MAX_ALLOC)
	{
		budget->exhausted = true;
		return NULL;
	}
	p = malloc(sizeof(Size) * 2 + size);	/* keeps 16-byte alignment */
	if (p == NULL)
	{
		budget->exhausted = true;
		return NULL;
	}
	p[0] = size;
	budget->used += size;
	return p + 2;
}

static void
RefFree(void *data, void *ptr)
{
	RefBudget  *budget = data;
	Size	   *p;

	if (ptr == NULL)
		return;
	p = (Size *) ptr - 2;
	budget->used -= p[0];
	free(p);
}

/*
 * ---------------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------------------
 */

/* A rejection must carry a SQLSTATE the style guide allows and readable text. */
static void
CheckError(const PprofError *err)
{
	char	   *text;

	CHECK(err->sqlerrcode == ERRCODE_INVALID_BINARY_REPRESENTATION ||
		  err->sqlerrcode == ERRCODE_DATA_CORRUPTED ||
		  err->sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED,
		  "rejected with unexpected SQLSTATE %s", unpack_sql_state(err->sqlerrcode));
	CHECK(err->message != NULL && err->message[0] != '\0',
		  "rejected without an error message");
	/* reading the texts is what ASan needs to catch a freed detail string */
	if (err->detail)
		CHECK(strlen(err->detail) > 0, "empty error detail");
	if (err->hint)
		CHECK(strlen(err->hint) > 0, "empty error hint");
	text = PprofErrorText(err);
	pfree(text);
}

/*
 * A stored string as SQL text (the shim's database encoding is UTF-8): valid
 * UTF-8 without NULs, the string itself when it is that already, and
 * otherwise each bad byte replaced by U+FFFD, valid runs kept.
 */
static void
CheckText(const char *bytes, Size len, uint32 index)
{
	const char *text = PprofBytesToServer(bytes, len);
	Size		text_len = strlen(text);
	Size		valid = 0,
				bad = 0;
	Size		at;

	CHECK(pg_encoding_verifymbstr(PG_UTF8, text, text_len) == text_len,
		  "string %u as text is not valid UTF-8", index);
	/* one character at a time, as Go's utf8.DecodeRune reads */
	for (at = 0; at < len;)
	{
		const unsigned char *c = (const unsigned char *) bytes + at;
		int			n = *c < 0x80 ? 1 : pg_utf_mblen(c);

		if (*c != 0 && n <= len - at && (n == 1 ? *c < 0x80 : pg_utf8_islegal(c, n)))
		{
			valid += n;
			at += n;
		}
		else
		{
			bad++;
			at++;
		}
	}
	if (bad == 0)
		CHECK(text == bytes, "valid string %u was copied to become text", index);
	else
	{
		CHECK(text_len == valid + 3 * bad,
			  "string %u: %zu bad bytes, %zu valid, but %zu bytes of text",
			  index, bad, valid, text_len);
		pfree(unconstify(char *, text));
	}
}

#define IN_RANGE(idx, n, ...) CHECK((uint64) (idx) < (uint64) (n), __VA_ARGS__)

/* Every index of an accepted layout points inside its section. */
static void
CheckLayout(const Pprof *pprof)
{
	const Pprof *h = pprof;
	PprofView	v;
	uint32		i,
				k;
	uint64		labels = 0,
				stack = 0,
				lines = 0;

	PprofOpen(pprof, &v);		/* checks version and size; ERROR aborts */
	CHECK(h->flags == 0 && h->reserved == 0 && h->padding == 0,
		  "reserved header fields are not zero");

	CHECK(v.str_offsets[0] == 0, "first string does not start at 0");
	for (i = 0; i < h->n_strings; i++)
	{
		uint32		start = v.str_offsets[i],
					end = v.str_offsets[i + 1];

		CHECK(start < end && end <= h->str_bytes, "string %u has bad offsets", i);
		CHECK(v.str_data[end - 1] == '\0', "string %u is not NUL-terminated", i);
		CheckText(v.str_data + start, end - start - 1, i);
	}
	CHECK(v.str_offsets[h->n_strings] == h->str_bytes, "string table size mismatch");
	CHECK(h->n_strings == 0 || v.str_offsets[1] == 1, "string 0 is not empty");

	IN_RANGE(h->period_type.type, h->n_strings, "period type out of range");
	IN_RANGE(h->period_type.unit, h->n_strings, "period unit out of range");
	IN_RANGE(h->default_sample_type, h->n_strings, "default_sample_type out of range");
	IN_RANGE(h->drop_frames, h->n_strings, "drop_frames out of range");
	IN_RANGE(h->keep_frames, h->n_strings, "keep_frames out of range");
	for (i = 0; i < h->n_sample_types; i++)
	{
		IN_RANGE(v.sample_types[i].type, h->n_strings, "sample type %u out of range", i);
		IN_RANGE(v.sample_types[i].unit, h->n_strings, "sample unit %u out of range", i);
	}
	for (i = 0; i < h->n_comments; i++)
		IN_RANGE(v.comments[i], h->n_strings, "comment %u out of range", i);

	for (i = 0; i < h->n_mappings; i++)
	{
		CHECK(v.mappings[i].id != 0, "mapping %u has id 0", i);
		IN_RANGE(v.mappings[i].filename, h->n_strings, "mapping %u filename", i);
		IN_RANGE(v.mappings[i].build_id, h->n_strings, "mapping %u build_id", i);
		CHECK((v.mappings[i].flags & ~0xf) == 0 && v.mappings[i].padding == 0,
			  "mapping %u has bad flags", i);
	}
	for (i = 0; i < h->n_functions; i++)
	{
		CHECK(v.functions[i].id != 0, "function %u has id 0", i);
		IN_RANGE(v.functions[i].name, h->n_strings, "function %u name", i);
		IN_RANGE(v.functions[i].system_name, h->n_strings, "function %u system_name", i);
		IN_RANGE(v.functions[i].filename, h->n_strings, "function %u filename", i);
		CHECK(v.functions[i].padding == 0, "function %u padding", i);
	}
	for (i = 0; i < h->n_locations; i++)
	{
		const PprofLocation *l = &v.locations[i];

		CHECK(l->id != 0, "location %u has id 0", i);
		CHECK(l->mapping <= h->n_mappings, "location %u mapping out of range", i);
		CHECK(l->first_line == lines, "location %u lines are not contiguous", i);
		CHECK(l->is_folded <= 1, "location %u is_folded is %u", i, l->is_folded);
		lines += l->n_lines;
		CHECK(lines <= h->n_lines, "location %u lines out of range", i);
		for (k = l->first_line; k < l->first_line + l->n_lines; k++)
		{
			IN_RANGE(v.lines[k].function, h->n_functions, "line %u function", k);
			CHECK(v.lines[k].padding == 0, "line %u padding", k);
		}
	}
	CHECK(lines == h->n_lines, "locations do not use every line");
	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *s = &v.samples[i];

		CHECK(s->first_location == stack && s->first_label == labels,
			  "sample %u is not contiguous", i);
		stack += s->depth;
		labels += s->n_labels;
		CHECK(stack <= h->n_stack && labels <= h->n_labels, "sample %u out of range", i);
		CHECK(s->depth <= PPROF_MAX_STACK_DEPTH, "sample %u too deep", i);
	}
	CHECK(stack == h->n_stack && labels == h->n_labels,
		  "samples do not use every stack entry and label");
	for (i = 0; i < h->n_stack; i++)
		IN_RANGE(v.stack[i], h->n_locations, "stack entry %u out of range", i);
	for (i = 0; i < h->n_labels; i++)
	{
		IN_RANGE(v.labels[i].key, h->n_strings, "label %u key", i);
		IN_RANGE(v.labels[i].str, h->n_strings, "label %u str", i);
		IN_RANGE(v.labels[i].num_unit, h->n_strings, "label %u num_unit", i);
		CHECK(v.labels[i].padding == 0, "label %u padding", i);
	}
}

/* A string index of ours against an int64 string index of protobuf-c. */
#define SAME_STR(ours, ref, ...) CHECK((uint64) (ours) == (uint64) (ref), __VA_ARGS__)
#define SAME(ours, ref, ...) CHECK((uint64) (ours) == (uint64) (ref), __VA_ARGS__)

/* Field by field, ours must say what protobuf-c says. */
static void
CompareWithReference(const Pprof *pprof, const PbProfile *ref)
{
	const Pprof *h = pprof;
	PprofView	v;
	uint32		i,
				k;

	PprofOpen(pprof, &v);

	SAME(h->n_strings, ref->n_string_table, "string count: ours %u, protobuf-c %zu",
		 h->n_strings, ref->n_string_table);
	for (i = 0; i < h->n_strings; i++)
	{
		size_t		len = ref->string_table[i].len;

		/* protobuf-c leaves data NULL for an empty string */
		CHECK(len == PprofStringLength(&v, i) &&
			  (len == 0 || memcmp(PprofString(&v, i), ref->string_table[i].data, len) == 0),
			  "string %u differs", i);
	}

	SAME(h->n_sample_types, ref->n_sample_type, "sample type count");
	for (i = 0; i < h->n_sample_types; i++)
	{
		SAME_STR(v.sample_types[i].type, ref->sample_type[i]->type, "sample type %u", i);
		SAME_STR(v.sample_types[i].unit, ref->sample_type[i]->unit, "sample unit %u", i);
	}

	SAME(h->n_samples, ref->n_sample, "sample count: ours %u, protobuf-c %zu",
		 h->n_samples, ref->n_sample);
	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *s = &v.samples[i];
		const Perftools__Profiles__Sample *rs = ref->sample[i];

		SAME(s->depth, rs->n_location_id, "sample %u depth: ours %u, protobuf-c %zu",
			 i, s->depth, rs->n_location_id);
		for (k = 0; k < s->depth; k++)
			SAME(v.locations[v.stack[s->first_location + k]].id, rs->location_id[k],
				 "sample %u location %u", i, k);
		SAME(h->n_sample_types, rs->n_value, "sample %u value count", i);
		for (k = 0; k < rs->n_value; k++)
			SAME(v.values[(Size) i * h->n_sample_types + k], rs->value[k],
				 "sample %u value %u", i, k);
		SAME(s->n_labels, rs->n_label, "sample %u label count", i);
		for (k = 0; k < s->n_labels; k++)
		{
			const PprofLabel *l = &v.labels[s->first_label + k];
			const Perftools__Profiles__Label *rl = rs->label[k];

			SAME_STR(l->key, rl->key, "sample %u label %u key", i, k);
			SAME_STR(l->str, rl->str, "sample %u label %u str", i, k);
			SAME(l->num, rl->num, "sample %u label %u num", i, k);
			SAME_STR(l->num_unit, rl->num_unit, "sample %u label %u num_unit", i, k);
		}
	}

	SAME(h->n_mappings, ref->n_mapping, "mapping count");
	for (i = 0; i < h->n_mappings; i++)
	{
		const PprofMapping *m = &v.mappings[i];
		const Perftools__Profiles__Mapping *rm = ref->mapping[i];

		SAME(m->id, rm->id, "mapping %u id", i);
		SAME(m->memory_start, rm->memory_start, "mapping %u memory_start", i);
		SAME(m->memory_limit, rm->memory_limit, "mapping %u memory_limit", i);
		SAME(m->file_offset, rm->file_offset, "mapping %u file_offset", i);
		SAME_STR(m->filename, rm->filename, "mapping %u filename", i);
		SAME_STR(m->build_id, rm->build_id, "mapping %u build_id", i);
		SAME((m->flags & PPROF_MAPPING_HAS_FUNCTIONS) != 0, rm->has_functions != 0,
			 "mapping %u has_functions", i);
		SAME((m->flags & PPROF_MAPPING_HAS_FILENAMES) != 0, rm->has_filenames != 0,
			 "mapping %u has_filenames", i);
		SAME((m->flags & PPROF_MAPPING_HAS_LINE_NUMBERS) != 0, rm->has_line_numbers != 0,
			 "mapping %u has_line_numbers", i);
		SAME((m->flags & PPROF_MAPPING_HAS_INLINE_FRAMES) != 0, rm->has_inline_frames != 0,
			 "mapping %u has_inline_frames", i);
	}

	SAME(h->n_locations, ref->n_location, "location count");
	for (i = 0; i < h->n_locations; i++)
	{
		const PprofLocation *l = &v.locations[i];
		const Perftools__Profiles__Location *rl = ref->location[i];

		SAME(l->id, rl->id, "location %u id", i);
		SAME(l->address, rl->address, "location %u address", i);
		if (rl->mapping_id == 0)
			CHECK(l->mapping == PPROF_NO_MAPPING, "location %u has a mapping", i);
		else
			CHECK(l->mapping != PPROF_NO_MAPPING &&
				  v.mappings[l->mapping - 1].id == rl->mapping_id,
				  "location %u mapping id", i);
		SAME(l->is_folded != 0, rl->is_folded != 0, "location %u is_folded", i);
		SAME(l->n_lines, rl->n_line, "location %u line count", i);
		for (k = 0; k < l->n_lines; k++)
		{
			const PprofLine *ln = &v.lines[l->first_line + k];
			const Perftools__Profiles__Line *rln = rl->line[k];

			SAME(v.functions[ln->function].id, rln->function_id,
				 "location %u line %u function id", i, k);
			SAME(ln->line, rln->line, "location %u line %u line", i, k);
			SAME(ln->column, rln->column, "location %u line %u column", i, k);
		}
	}

	SAME(h->n_functions, ref->n_function, "function count");
	for (i = 0; i < h->n_functions; i++)
	{
		const PprofFunction *f = &v.functions[i];
		const Perftools__Profiles__Function *rf = ref->function[i];

		SAME(f->id, rf->id, "function %u id", i);
		SAME_STR(f->name, rf->name, "function %u name", i);
		SAME_STR(f->system_name, rf->system_name, "function %u system_name", i);
		SAME_STR(f->filename, rf->filename, "function %u filename", i);
		SAME(f->start_line, rf->start_line, "function %u start_line", i);
	}

	SAME_STR(h->drop_frames, ref->drop_frames, "drop_frames");
	SAME_STR(h->keep_frames, ref->keep_frames, "keep_frames");
	SAME(h->time_nanos, ref->time_nanos, "time_nanos");
	SAME(h->duration_nanos, ref->duration_nanos, "duration_nanos");
	SAME(h->period, ref->period, "period");
	if (ref->period_type == NULL)
		CHECK(h->period_type.type == 0 && h->period_type.unit == 0,
			  "period_type set, protobuf-c has none");
	else
	{
		SAME_STR(h->period_type.type, ref->period_type->type, "period_type type");
		SAME_STR(h->period_type.unit, ref->period_type->unit, "period_type unit");
	}
	SAME(h->n_comments, ref->n_comment, "comment count");
	for (i = 0; i < h->n_comments; i++)
		SAME_STR(v.comments[i], ref->comment[i], "comment %u", i);
	SAME_STR(h->default_sample_type, ref->default_sample_type, "default_sample_type");
}

/*
 * PprofDecode() with the checks every call gets: an error is well-formed,
 * a result is consistent, and nothing else stays in the caller's context.
 */
static Pprof *
DecodeChecked(const char *data, Size len, PprofError *err)
{
	Size		chunks0,
				bytes0,
				chunks1,
				bytes1;
	Pprof	   *result;

	memset(err, 0, sizeof(*err));
	ShimContextStats(CurrentMemoryContext, &chunks0, &bytes0);
	result = PprofDecode(data, len, err);
	ShimContextStats(CurrentMemoryContext, &chunks1, &bytes1);
	CHECK(CurrentMemoryContext->firstchild == NULL,
		  "PprofDecode left a memory context behind");

	if (result == NULL)
	{
		CheckError(err);
		CHECK(bytes1 - bytes0 <= MAX_ERROR_BYTES,
			  "rejected input left %zu bytes in %zu chunks behind (%s: %s)",
			  bytes1 - bytes0, chunks1 - chunks0, err->message,
			  err->detail ? err->detail : "");
		return NULL;
	}
	CHECK(chunks1 - chunks0 == 1 && bytes1 - bytes0 == VARSIZE(result),
		  "accepted input left %zu chunks, %zu bytes behind; the layout has %zu",
		  chunks1 - chunks0, bytes1 - bytes0, (Size) VARSIZE(result));
	CheckLayout(result);
	return result;
}

/* Encode, decode again, compare. */
static void
RoundTrip(const Pprof *pprof)
{
	PprofError err;
	Size		raw1_len,
				raw2_len;
	char	   *raw1,
			   *raw2;
	Pprof	   *again,
			   *from_gzip;
	bytea	   *gz;

	CheckEncodeMatchesReference(pprof);
	raw1 = PprofEncodeRaw(pprof, &raw1_len);
	again = DecodeChecked(raw1, raw1_len, &err);
	CHECK(again != NULL, "re-encoded profile (%zu bytes) is rejected: %s",
		  raw1_len, PprofErrorText(&err));
	CHECK(VARSIZE(again) == VARSIZE(pprof) && memcmp(again, pprof, VARSIZE(pprof)) == 0,
		  "re-encoded profile decodes to a different layout");

	raw2 = PprofEncodeRaw(again, &raw2_len);
	CHECK(raw1_len == raw2_len && memcmp(raw1, raw2, raw1_len) == 0,
		  "encoding is not stable: %zu bytes, then %zu", raw1_len, raw2_len);

	gz = PprofEncode(pprof);
	from_gzip = DecodeChecked(VARDATA(gz), VARSIZE(gz) - VARHDRSZ, &err);
	CHECK(from_gzip != NULL, "gzip output is rejected: %s", PprofErrorText(&err));
	CHECK(VARSIZE(from_gzip) == VARSIZE(again) &&
		  memcmp(from_gzip, again, VARSIZE(again)) == 0,
		  "gzip output decodes to a different layout");

	pfree(raw1);
	pfree(raw2);
	pfree(again);
	pfree(gz);
	pfree(from_gzip);
}

static void
RunOne(const uint8 *bytes, Size len)
{
	const char *data = (const char *) bytes;
	PprofError err;
	Pprof	   *ours;
	const char *raw = data;
	Size		raw_len = len;

	ours = DecodeChecked(data, len, &err);

	/* the reference reads the raw protobuf: the input or its inflated bytes */
	if (PprofIsGzip(data, len))
	{
		PprofError gerr;

		memset(&gerr, 0, sizeof(gerr));
		raw = PprofGunzip(data, len, pprof_max_profile_bytes, &raw_len, &gerr);
		if (raw == NULL)
		{
			CHECK(ours == NULL, "gunzip fails, but PprofDecode accepted");
			CheckError(&gerr);
		}
	}
	else if (len > (Size) pprof_max_profile_bytes)
		raw = NULL;				/* rejected on size alone */

	if (raw != NULL && raw_len <= REF_MAX_INPUT)
	{
		RefBudget	budget = {0, false};
		ProtobufCAllocator allocator = {RefAlloc, RefFree, &budget};
		PbProfile  *ref;

		ref = perftools__profiles__profile__unpack(&allocator, raw_len,
												   (const uint8_t *) raw);
		if (ref == NULL)
			CHECK(budget.exhausted || ours == NULL,
				  "protobuf-c rejects the profile, but PprofDecode accepts it");
		else
		{
			if (ours != NULL)
				CompareWithReference(ours, ref);
			perftools__profiles__profile__free_unpacked(ref, &allocator);
		}
		CHECK(budget.used == 0, "protobuf-c leaked %zu bytes", budget.used);
	}

	if (ours != NULL)
		RoundTrip(ours);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ShimRunInput(RunOne, data, size);
	return 0;
}
