/*-------------------------------------------------------------------------
 *
 * pprof_decode.c
 *	  Bounded, validating decoder from pprof protobuf to the stored layout.
 *
 * Why not protobuf-c's unpacker: it allocates one struct per element while it
 * reads, so an input of a few hundred bytes of gzip can make it allocate
 * gigabytes (100k empty samples cost 2 bytes each on the wire and ~80 bytes
 * each unpacked), and it reports every defect as a bare NULL. Bounding it
 * would need a full walk of the wire format first anyway, so this file does
 * the walk and decodes with it:
 *
 *	1. COUNT: walk the top level only, counting repeated fields; element caps
 *	   are enforced here, before anything is allocated.
 *	2. SCAN:  walk every message, checking wire types, lengths, varints,
 *	   nested counts (stack depth, lines, labels), value counts per sample and
 *	   string lengths (string bytes are kept as they are: see WalkString).
 *	3. FILL:  allocate the layout at its exact size and fill it, in the order
 *	   that lets every reference be resolved as it is read: strings, sample
 *	   types, functions and mappings; then locations; then samples.
 *
 * No step throws on bad input: the first defect is recorded in a PprofError
 * and the walk unwinds, so pprof_validate() can report it as text. protobuf-c
 * stays the reference: the fuzz harness decodes every input with both and
 * compares (fuzz/pprof_fuzz.c; docs/DESIGN.md section 5).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"
#include "miscadmin.h"

#include "pprof.h"

/* protobuf wire types */
#define WT_VARINT	0
#define WT_I64		1
#define WT_LEN		2
#define WT_SGROUP	3
#define WT_EGROUP	4
#define WT_I32		5

typedef enum DecodePhase
{
	PHASE_COUNT,
	PHASE_SCAN,
	PHASE_FILL
} DecodePhase;

/*
 * Top-level Profile fields, as bits for choosing what a walk reads: SCAN reads
 * them all, each FILL walk the ones whose references it can resolve.
 */
#define F_SAMPLE_TYPE	(1 << 1)
#define F_SAMPLE		(1 << 2)
#define F_MAPPING		(1 << 3)
#define F_LOCATION		(1 << 4)
#define F_FUNCTION		(1 << 5)
#define F_STRING		(1 << 6)
#define F_SCALARS		(1 << 7)	/* every non-repeated field, and comments */
#define F_ALL			(F_SAMPLE_TYPE | F_SAMPLE | F_MAPPING | F_LOCATION | \
						 F_FUNCTION | F_STRING | F_SCALARS)

/*
 * A field's tag as read: where it starts (for errors), number, wire type.
 * Passed by value, so the walks keep it in registers.
 */
typedef struct Tag
{
	const uint8 *at;
	uint32		field;
	int			wt;
} Tag;

/* Sorted (id, index) pairs, or a flag saying ids are 1..n in order. */
typedef struct IdMap
{
	bool		dense;
	uint32		n;
	uint64	   *ids;			/* sorted, when !dense */
	uint32	   *indexes;		/* parallel to ids */
} IdMap;

typedef struct Decoder
{
	const uint8 *base;			/* start of the protobuf, for offsets */
	PprofError *err;
	MemoryContext err_cxt;		/* the caller's: error text outlives scratch */
	bool		failed;
	DecodePhase phase;
	int			field_mask;		/* which top-level fields FILL reads */

	Pprof		counts;			/* element counts, from COUNT and SCAN */

	/* FILL: the layout being written and a cursor per array */
	Pprof	   *out;
	int64	   *values;
	PprofMapping *mappings;
	PprofLocation *locations;
	PprofLine  *lines;
	PprofFunction *functions;
	PprofSample *samples;
	PprofLabel *labels;
	uint32	   *stack;
	PprofValueType *sample_types;
	uint32	   *comments;
	uint32	   *str_offsets;
	char	   *str_data;
	uint32		i_sample_type,
				i_sample,
				i_mapping,
				i_location,
				i_line,
				i_function,
				i_label,
				i_stack,
				i_comment,
				i_string,
				str_pos;

	IdMap		mapping_ids;
	IdMap		location_ids;
	IdMap		function_ids;
	uint64	   *scratch;		/* one sample's location IDs */
} Decoder;

static bool Fail(Decoder *d, int sqlerrcode, const char *fmt,...) pg_attribute_printf(3, 4);
static bool ReadVarintSlow(Decoder *d, const uint8 **pp, const uint8 *end, uint64 *v);
static Tag ReadTagSlow(Decoder *d, const uint8 **pp, const uint8 *end);
static bool ReadLen(Decoder *d, const uint8 **pp, const uint8 *end,
					const uint8 **body, const uint8 **body_end);
static bool SkipField(Decoder *d, const uint8 **pp, const uint8 *end,
					  const char *msg, Tag tag);
static bool ExpectWireType(Decoder *d, const char *msg, Tag tag, int expected);
static bool ReadRepeatedVarint(Decoder *d, const uint8 **pp, const uint8 *end,
							   const char *msg, Tag tag,
							   uint64 *out, uint32 out_cap, uint32 *count);
static bool CheckString(Decoder *d, uint64 v, uint32 *out, const char *what,...) pg_attribute_printf(4, 5);
static bool CheckId(Decoder *d, const char *kind, uint32 index, uint64 id);
static bool WalkProfile(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkValueType(Decoder *d, const uint8 *p, const uint8 *end,
						  PprofValueType *vt, const char *what);
static bool WalkSampleType(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkPeriodType(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkSample(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkLabel(Decoder *d, const uint8 *p, const uint8 *end,
					  uint32 sample, PprofLabel *label);
static bool WalkMapping(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkLocation(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkLine(Decoder *d, const uint8 *p, const uint8 *end, PprofLine *line);
static bool ReadVarintMessage(Decoder *d, const uint8 *p, const uint8 *end,
							  const char *msg, int nfields, uint64 *vals);
static bool WalkFunction(Decoder *d, const uint8 *p, const uint8 *end);
static bool WalkString(Decoder *d, const uint8 *p, const uint8 *end);
static bool CheckCounts(Decoder *d);
static bool BuildIdMap(Decoder *d, IdMap *map, const char *kind, uint32 n,
					   const void *elems, Size stride);
static bool LookupId(const IdMap *map, uint64 id, uint32 *index);
static int	CompareIdIndex(const void *a, const void *b);

/*
 * Profile's repeated message fields, by field number: COUNT counts each
 * element against a cap; SCAN, and the FILL walk whose mask has its bit,
 * walk it.
 */
typedef struct ProfileField
{
	int			mask;			/* F_* bit: which FILL walk reads it */
	Size		count;			/* offset of its count in Pprof */
	int			limit;			/* cap on that count */
	const char *what;			/* the elements, for the cap's error */
	bool		(*walk) (Decoder *d, const uint8 *p, const uint8 *end);
} ProfileField;

static const ProfileField profile_fields[] = {
	[1] = {F_SAMPLE_TYPE, offsetof(Pprof, n_sample_types), PPROF_MAX_SAMPLE_TYPES, "sample types", WalkSampleType},
	[2] = {F_SAMPLE, offsetof(Pprof, n_samples), PPROF_MAX_ELEMENTS, "samples", WalkSample},
	[3] = {F_MAPPING, offsetof(Pprof, n_mappings), PPROF_MAX_ELEMENTS, "mappings", WalkMapping},
	[4] = {F_LOCATION, offsetof(Pprof, n_locations), PPROF_MAX_ELEMENTS, "locations", WalkLocation},
	[5] = {F_FUNCTION, offsetof(Pprof, n_functions), PPROF_MAX_ELEMENTS, "functions", WalkFunction},
	[6] = {F_STRING, offsetof(Pprof, n_strings), PPROF_MAX_ELEMENTS, "strings", WalkString},
};

/* Record the first defect found; later ones are consequences of it. */
static bool
Fail(Decoder *d, int sqlerrcode, const char *fmt,...)
{
	if (!d->failed)
	{
		va_list		args;
		StringInfoData buf;
		MemoryContext old = MemoryContextSwitchTo(d->err_cxt);

		initStringInfo(&buf);
		MemoryContextSwitchTo(old);
		for (;;)
		{
			int			needed;

			va_start(args, fmt);
			needed = appendStringInfoVA(&buf, fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&buf, needed);
		}
		d->failed = true;
		d->err->sqlerrcode = sqlerrcode;
		d->err->message = sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED ?
			"pprof profile exceeds a decoding limit" : "invalid pprof profile";
		d->err->detail = buf.data;
		d->err->hint = NULL;
	}
	return false;
}

#define OFFSET(d, p) ((Size) ((p) - (d)->base))

/* A base-128 varint of at most 10 bytes whose value fits in 64 bits. */
static bool
ReadVarintSlow(Decoder *d, const uint8 **pp, const uint8 *end, uint64 *v)
{
	const uint8 *p = *pp;
	uint64		result = 0;
	int			shift;

	for (shift = 0; shift < 64; shift += 7)
	{
		uint8		b;

		if (p >= end)
			return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
						"Varint at byte %zu is truncated by the end of its message.",
						OFFSET(d, *pp));
		b = *p++;
		if (shift == 63 && b > 1)
			return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
						"Varint at byte %zu is longer than 10 bytes or overflows 64 bits.",
						OFFSET(d, *pp));
		result |= (uint64) (b & 0x7f) << shift;
		if ((b & 0x80) == 0)
		{
			*v = result;
			*pp = p;
			return true;
		}
	}
	return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
				"Varint at byte %zu is longer than 10 bytes.", OFFSET(d, *pp));
}

/*
 * Almost every varint and tag in a profile is one byte; these fast paths are
 * inlined and leave everything else, errors included, to the slow ones.
 */
static inline bool
ReadVarint(Decoder *d, const uint8 **pp, const uint8 *end, uint64 *v)
{
	const uint8 *p = *pp;

	if (likely(p < end && *p < 0x80))
	{
		*v = *p;
		*pp = p + 1;
		return true;
	}
	return ReadVarintSlow(d, pp, end, v);
}

/*
 * A varint holding a tag or a length, which are 32-bit in protobuf: longer
 * encodings are not canonical. what names it in the error.
 */
static inline bool
ReadVarint32(Decoder *d, const uint8 **pp, const uint8 *end, uint64 *v,
			 const char *what)
{
	const uint8 *start = *pp;

	if (!ReadVarint(d, pp, end, v))
		return false;
	if (unlikely(*pp - start > 5))
		return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
					"%s at byte %zu is encoded in more than 5 bytes.",
					what, OFFSET(d, start));
	return true;
}

/* The whole tag, with its checks; field 0 (no valid number) when it fails. */
static Tag
ReadTagSlow(Decoder *d, const uint8 **pp, const uint8 *end)
{
	Tag			tag = {*pp, 0, 0};
	uint64		v;
	int			wt;

	if (!ReadVarint32(d, pp, end, &v, "Field tag"))
		return tag;
	wt = (int) (v & 7);
	if (v >> 3 == 0 || v >> 3 > 0x1fffffff)
		Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
			 "Field number %llu at byte %zu is not a valid protobuf field number.",
			 (unsigned long long) (v >> 3), OFFSET(d, tag.at));
	else if (wt == 6 || wt == 7)
		Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
			 "Field %u at byte %zu has wire type %d, which does not exist in protobuf.",
			 (uint32) (v >> 3), OFFSET(d, tag.at), wt);
	else if (wt == WT_SGROUP || wt == WT_EGROUP)
		Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
			 "Field %u at byte %zu uses the deprecated group wire type %d, which pprof never uses.",
			 (uint32) (v >> 3), OFFSET(d, tag.at), wt);
	else
	{
		tag.field = (uint32) (v >> 3);
		tag.wt = wt;
	}
	return tag;
}

static inline bool
ReadTag(Decoder *d, const uint8 **pp, const uint8 *end, Tag *tag)
{
	const uint8 *p = *pp;

	/* one byte, field number >= 1, wire type 0, 1, 2 or 5 */
	if (likely(p < end && *p < 0x80 && *p >= 0x08 && ((1 << (*p & 7)) & 0x27)))
	{
		tag->at = p;
		tag->field = *p >> 3;
		tag->wt = *p & 7;
		*pp = p + 1;
		return true;
	}
	*tag = ReadTagSlow(d, pp, end);
	return tag->field != 0;
}

/* A length-delimited payload that must lie inside its enclosing message. */
static bool
ReadLen(Decoder *d, const uint8 **pp, const uint8 *end,
		const uint8 **body, const uint8 **body_end)
{
	const uint8 *start = *pp;
	uint64		len;

	if (!ReadVarint32(d, pp, end, &len, "Length"))
		return false;
	if (len > (uint64) (end - *pp))
		return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
					"Length %llu at byte %zu runs past the end of its message (%zu bytes left).",
					(unsigned long long) len, OFFSET(d, start), (Size) (end - *pp));
	*body = *pp;
	*body_end = *pp + len;
	*pp = *body_end;
	return true;
}

/* Skip an unknown field; newer pprof fields are dropped, not rejected. */
static bool
SkipField(Decoder *d, const uint8 **pp, const uint8 *end, const char *msg,
		  Tag tag)
{
	uint64		v;
	const uint8 *b,
			   *e;

	switch (tag.wt)
	{
		case WT_VARINT:
			return ReadVarint(d, pp, end, &v);
		case WT_I64:
		case WT_I32:
			{
				Size		n = tag.wt == WT_I64 ? 8 : 4;

				if ((Size) (end - *pp) < n)
					return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
								"Fixed-width field %u of %s at byte %zu is truncated.",
								tag.field, msg, OFFSET(d, *pp));
				*pp += n;
				return true;
			}
		case WT_LEN:
			return ReadLen(d, pp, end, &b, &e);
	}
	elog(ERROR, "unexpected wire type %d", tag.wt);
	return false;
}

static bool
ExpectWireType(Decoder *d, const char *msg, Tag tag, int expected)
{
	if (tag.wt == expected)
		return true;
	return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
				"Field %u of %s at byte %zu has wire type %d; pprof defines it with wire type %d.",
				tag.field, msg, OFFSET(d, tag.at), tag.wt, expected);
}

/*
 * The value of a known singular field, after checking that it has the wire
 * type pprof defines for it: a varint, or a message or string (its body).
 */
static inline bool
ReadVarintField(Decoder *d, const uint8 **pp, const uint8 *end,
				const char *msg, Tag tag, uint64 *v)
{
	return ExpectWireType(d, msg, tag, WT_VARINT) && ReadVarint(d, pp, end, v);
}

static inline bool
ReadLenField(Decoder *d, const uint8 **pp, const uint8 *end,
			 const char *msg, Tag tag,
			 const uint8 **body, const uint8 **body_end)
{
	return ExpectWireType(d, msg, tag, WT_LEN) &&
		ReadLen(d, pp, end, body, body_end);
}

/*
 * A repeated integer field, packed (one length-delimited run) or not (one
 * varint per occurrence). Adds to *count; stores into out[] when out is set,
 * never beyond out_cap.
 */
static bool
ReadRepeatedVarint(Decoder *d, const uint8 **pp, const uint8 *end,
				   const char *msg, Tag tag,
				   uint64 *out, uint32 out_cap, uint32 *count)
{
	uint64		v;

	if (tag.wt == WT_VARINT)
	{
		if (!ReadVarint(d, pp, end, &v))
			return false;
		if (out)
		{
			if (*count >= out_cap)
				elog(ERROR, "pprof decoder: more values than counted");
			out[*count] = v;
		}
		(*count)++;
		return true;
	}
	if (tag.wt == WT_LEN)
	{
		const uint8 *b,
				   *e;

		if (!ReadLen(d, pp, end, &b, &e))
			return false;
		while (b < e)
		{
			if (!ReadVarint(d, &b, e, &v))
				return false;
			if (out)
			{
				if (*count >= out_cap)
					elog(ERROR, "pprof decoder: more values than counted");
				out[*count] = v;
			}
			if (*count == PG_UINT32_MAX)
				return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
							"Field %u of %s has too many values.", tag.field, msg);
			(*count)++;
		}
		return true;
	}
	return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
				"Field %u of %s at byte %zu has wire type %d; a repeated integer needs 0 or 2.",
				tag.field, msg, OFFSET(d, *pp), tag.wt);
}

/* Check a string index read from the wire and narrow it to uint32. */
static bool
CheckString(Decoder *d, uint64 v, uint32 *out, const char *what,...)
{
	if (v < d->counts.n_strings)
	{
		*out = (uint32) v;
		return true;
	}
	else
	{
		va_list		args;
		char		buf[256];

		va_start(args, what);
		vsnprintf(buf, sizeof(buf), what, args);
		va_end(args);
		return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
					"%s refers to string %lld, but the string table has %u entries.",
					buf, (long long) (int64) v, d->counts.n_strings);
	}
}

/* A record's ID, which pprof requires to be non-zero. */
static bool
CheckId(Decoder *d, const char *kind, uint32 index, uint64 id)
{
	if (id != 0)
		return true;
	return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
				"%s %u has ID 0; IDs must be non-zero.", kind, index);
}

/* Add n elements to one of the profile's counts, failing beyond limit. */
static inline bool
CountElements(Decoder *d, uint32 *count, uint32 n, int limit, const char *what)
{
	if ((uint64) *count + n > (uint64) limit)
		return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					"The profile has more than %d %s.", limit, what);
	*count += n;
	return true;
}

/*
 * One walk over the top-level Profile message. What it does with each field
 * depends on d->phase (and d->field_mask in SCAN and FILL).
 */
static bool
WalkProfile(Decoder *d, const uint8 *p, const uint8 *end)
{
	const char *msg = "Profile";

	while (p < end)
	{
		Tag			tag;
		const uint8 *b,
				   *e;
		uint64		v;

		if (!ReadTag(d, &p, end, &tag))
			return false;

		if (tag.field >= 1 && tag.field <= 6)
		{
			const ProfileField *pf = &profile_fields[tag.field];

			if (!ReadLenField(d, &p, end, msg, tag, &b, &e))
				return false;
			if (d->phase == PHASE_COUNT)
			{
				if (!CountElements(d, (uint32 *) ((char *) &d->counts + pf->count),
								   1, pf->limit, pf->what))
					return false;
			}
			else if ((d->field_mask & pf->mask) && !pf->walk(d, b, e))
				return false;
		}
		else if (tag.field == 11)
		{
			if (!ReadLenField(d, &p, end, msg, tag, &b, &e))
				return false;
			if (d->phase != PHASE_COUNT && (d->field_mask & F_SCALARS) &&
				!WalkPeriodType(d, b, e))
				return false;
		}
		else if (tag.field == 13)
		{
			/* comments: repeated int64 string indexes */
			uint32		n = 0;

			if (d->phase == PHASE_FILL && (d->field_mask & F_SCALARS))
			{
				uint32		cap = d->counts.n_comments - d->i_comment;
				uint64	   *vals = palloc(sizeof(uint64) * Max(cap, 1));
				uint32		k;

				if (!ReadRepeatedVarint(d, &p, end, msg, tag, vals, cap, &n))
					return false;
				for (k = 0; k < n; k++)
				{
					if (!CheckString(d, vals[k], &d->comments[d->i_comment],
									 "Comment %u", d->i_comment))
						return false;
					d->i_comment++;
				}
				pfree(vals);
			}
			else
			{
				if (!ReadRepeatedVarint(d, &p, end, msg, tag, NULL, 0, &n))
					return false;
				if (d->phase == PHASE_COUNT &&
					!CountElements(d, &d->counts.n_comments, n,
								   PPROF_MAX_COMMENTS, "comments"))
					return false;
			}
		}
		else if (tag.field >= 7 && tag.field <= 14)
		{
			bool		ok = true;

			if (!ReadVarintField(d, &p, end, msg, tag, &v))
				return false;
			if (d->phase == PHASE_FILL && (d->field_mask & F_SCALARS))
			{
				switch (tag.field)
				{
					case 7:
						ok = CheckString(d, v, &d->out->drop_frames, "drop_frames");
						break;
					case 8:
						ok = CheckString(d, v, &d->out->keep_frames, "keep_frames");
						break;
					case 9:
						d->out->time_nanos = (int64) v;
						break;
					case 10:
						d->out->duration_nanos = (int64) v;
						break;
					case 12:
						d->out->period = (int64) v;
						break;
					case 14:
						ok = CheckString(d, v, &d->out->default_sample_type,
										 "default_sample_type");
						break;
				}
			}
			if (!ok)
				return false;
		}
		else if (!SkipField(d, &p, end, msg, tag))
			return false;
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * Read a message whose known fields 1..nfields are all varints into
 * vals[1..nfields], zero when absent (a repeated field replaces, as in
 * protobuf). Unknown fields are skipped. ValueType, Label, Mapping, Line and
 * Function are such messages.
 */
static bool
ReadVarintMessage(Decoder *d, const uint8 *p, const uint8 *end, const char *msg,
				  int nfields, uint64 *vals)
{
	memset(vals, 0, sizeof(uint64) * (nfields + 1));
	while (p < end)
	{
		Tag			tag;

		if (!ReadTag(d, &p, end, &tag))
			return false;
		if (tag.field >= 1 && tag.field <= (uint32) nfields)
		{
			if (!ReadVarintField(d, &p, end, msg, tag, &vals[tag.field]))
				return false;
		}
		else if (!SkipField(d, &p, end, msg, tag))
			return false;
	}
	return true;
}

/* ValueType {type, unit}; vt is NULL when scanning. */
static bool
WalkValueType(Decoder *d, const uint8 *p, const uint8 *end,
			  PprofValueType *vt, const char *what)
{
	uint64		f[3];

	if (!ReadVarintMessage(d, p, end, "ValueType", 2, f))
		return false;
	return vt == NULL ||
		(CheckString(d, f[1], &vt->type, "%s (type)", what) &&
		 CheckString(d, f[2], &vt->unit, "%s (unit)", what));
}

/* Profile.sample_type: FILL stores the next one. */
static bool
WalkSampleType(Decoder *d, const uint8 *p, const uint8 *end)
{
	char		what[32];

	if (d->phase != PHASE_FILL)
		return WalkValueType(d, p, end, NULL, NULL);
	snprintf(what, sizeof(what), "Sample type %u", d->i_sample_type);
	return WalkValueType(d, p, end, &d->sample_types[d->i_sample_type++], what);
}

/* Profile.period_type: a repeated one replaces, as pprof and protobuf-c do. */
static bool
WalkPeriodType(Decoder *d, const uint8 *p, const uint8 *end)
{
	if (d->phase != PHASE_FILL)
		return WalkValueType(d, p, end, NULL, NULL);
	memset(&d->out->period_type, 0, sizeof(PprofValueType));
	return WalkValueType(d, p, end, &d->out->period_type, "The period type");
}

/*
 * Sample {location_id*, value*, label*}. SCAN checks the value count and
 * counts stack entries and labels; FILL stores values and labels and
 * resolves location IDs to indexes.
 */
static bool
WalkSample(Decoder *d, const uint8 *p, const uint8 *end)
{
	uint32		index = d->phase == PHASE_FILL ? d->i_sample : d->counts.n_samples;
	uint32		n_loc = 0,
				n_val = 0,
				n_lab = 0;
	PprofSample *s = NULL;

	if (d->phase == PHASE_FILL)
	{
		s = &d->samples[index];
		s->first_location = d->i_stack;
		s->first_label = d->i_label;
	}

	while (p < end)
	{
		Tag			tag;

		if (!ReadTag(d, &p, end, &tag))
			return false;
		switch (tag.field)
		{
			case 1:
				if (d->phase == PHASE_FILL)
				{
					/* decode into a scratch buffer, then resolve IDs */
					uint32		before = n_loc;
					uint32		k;

					if (!ReadRepeatedVarint(d, &p, end, "Sample", tag,
											d->scratch, PPROF_MAX_STACK_DEPTH, &n_loc))
						return false;
					for (k = before; k < n_loc; k++)
					{
						uint32		li;

						if (!LookupId(&d->location_ids, d->scratch[k], &li))
							return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
										"Sample %u refers to location ID %llu, which does not exist.",
										index, (unsigned long long) d->scratch[k]);
						d->stack[d->i_stack++] = li;
					}
				}
				else if (!ReadRepeatedVarint(d, &p, end, "Sample", tag,
											 NULL, 0, &n_loc))
					return false;
				if (n_loc > PPROF_MAX_STACK_DEPTH)
					return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
								"Sample %u has a stack deeper than %d frames.",
								index, PPROF_MAX_STACK_DEPTH);
				break;
			case 2:
				if (d->phase == PHASE_FILL)
				{
					/* int64 values are stored as their two's complement */
					if (!ReadRepeatedVarint(d, &p, end, "Sample", tag,
											(uint64 *) &d->values[(Size) index * d->counts.n_sample_types],
											d->counts.n_sample_types, &n_val))
						return false;
				}
				else
				{
					if (!ReadRepeatedVarint(d, &p, end, "Sample", tag,
											NULL, 0, &n_val))
						return false;
					if (n_val > d->counts.n_sample_types)
						return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
									"Sample %u has more values than the number of sample types (%u).",
									index, d->counts.n_sample_types);
				}
				break;
			case 3:
				{
					const uint8 *b,
							   *e;

					if (!ReadLenField(d, &p, end, "Sample", tag, &b, &e))
						return false;
					if (n_lab >= PPROF_MAX_LABELS_PER_SAMPLE)
						return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
									"Sample %u has more than %d labels.",
									index, PPROF_MAX_LABELS_PER_SAMPLE);
					if (!WalkLabel(d, b, e, index,
								   d->phase == PHASE_FILL ? &d->labels[d->i_label++] : NULL))
						return false;
					n_lab++;
				}
				break;
			default:
				if (!SkipField(d, &p, end, "Sample", tag))
					return false;
		}
	}

	if (n_val != d->counts.n_sample_types)
		return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
					"Sample %u has %u values, but the number of sample types is %u.",
					index, n_val, d->counts.n_sample_types);

	if (d->phase == PHASE_FILL)
	{
		s->depth = n_loc;
		s->n_labels = n_lab;
		d->i_sample++;
	}
	else if (d->phase == PHASE_SCAN)
	{
		d->counts.n_samples++;
		if ((uint64) d->counts.n_stack + n_loc > PG_INT32_MAX ||
			(uint64) d->counts.n_labels + n_lab > PPROF_MAX_ELEMENTS)
			return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
						"The profile's samples have too many stack frames or labels in total.");
		d->counts.n_stack += n_loc;
		d->counts.n_labels += n_lab;
	}
	return true;
}

/* Label {key, str, num, num_unit}; label is NULL when scanning. */
static bool
WalkLabel(Decoder *d, const uint8 *p, const uint8 *end, uint32 sample,
		  PprofLabel *label)
{
	uint64		f[5];

	if (!ReadVarintMessage(d, p, end, "Label", 4, f))
		return false;
	if (label == NULL)
		return true;
	memset(label, 0, sizeof(PprofLabel));
	label->num = (int64) f[3];
	return CheckString(d, f[1], &label->key, "A label of sample %u (key)", sample) &&
		CheckString(d, f[2], &label->str, "A label of sample %u (value)", sample) &&
		CheckString(d, f[4], &label->num_unit, "A label of sample %u (unit)", sample);
}

/* Mapping; FILL stores it. */
static bool
WalkMapping(Decoder *d, const uint8 *p, const uint8 *end)
{
	PprofMapping *m;
	uint32		index;
	uint64		f[11];

	if (!ReadVarintMessage(d, p, end, "Mapping", 10, f))
		return false;
	if (d->phase != PHASE_FILL)
		return true;

	index = d->i_mapping++;
	m = &d->mappings[index];
	memset(m, 0, sizeof(PprofMapping));
	m->id = f[1];
	m->memory_start = f[2];
	m->memory_limit = f[3];
	m->file_offset = f[4];
	m->flags = (f[7] ? PPROF_MAPPING_HAS_FUNCTIONS : 0) |
		(f[8] ? PPROF_MAPPING_HAS_FILENAMES : 0) |
		(f[9] ? PPROF_MAPPING_HAS_LINE_NUMBERS : 0) |
		(f[10] ? PPROF_MAPPING_HAS_INLINE_FRAMES : 0);
	return CheckId(d, "Mapping", index, m->id) &&
		CheckString(d, f[5], &m->filename, "Mapping %u (filename)", index) &&
		CheckString(d, f[6], &m->build_id, "Mapping %u (build_id)", index);
}

/* Location {id, mapping_id, address, line*, is_folded}. */
static bool
WalkLocation(Decoder *d, const uint8 *p, const uint8 *end)
{
	PprofLocation *loc = NULL;
	uint32		n_lines = 0;
	uint64		mapping_id = 0;
	uint32		index = d->phase == PHASE_FILL ? d->i_location : 0;

	if (d->phase == PHASE_FILL)
	{
		loc = &d->locations[d->i_location++];
		memset(loc, 0, sizeof(PprofLocation));
		loc->first_line = d->i_line;
	}

	while (p < end)
	{
		Tag			tag;
		uint64		v;

		if (!ReadTag(d, &p, end, &tag))
			return false;
		switch (tag.field)
		{
			case 1:
			case 2:
			case 3:
			case 5:
				if (!ReadVarintField(d, &p, end, "Location", tag, &v))
					return false;
				if (loc == NULL)
					break;
				if (tag.field == 1)
					loc->id = v;
				else if (tag.field == 2)
					mapping_id = v;
				else if (tag.field == 3)
					loc->address = v;
				else
					loc->is_folded = v != 0;
				break;
			case 4:
				{
					const uint8 *b,
							   *e;

					if (!ReadLenField(d, &p, end, "Location", tag, &b, &e))
						return false;
					if (n_lines >= PPROF_MAX_LINES_PER_LOCATION)
						return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
									"A location has more than %d lines (inlined frames).",
									PPROF_MAX_LINES_PER_LOCATION);
					if (!WalkLine(d, b, e, loc ? &d->lines[d->i_line++] : NULL))
						return false;
					n_lines++;
				}
				break;
			default:
				if (!SkipField(d, &p, end, "Location", tag))
					return false;
		}
	}

	if (d->phase == PHASE_SCAN)
	{
		if (!CountElements(d, &d->counts.n_lines, n_lines, PPROF_MAX_ELEMENTS,
						   "lines in its locations"))
			return false;
	}
	else if (loc)
	{
		uint32		k;

		if (!CheckId(d, "Location", index, loc->id))
			return false;
		loc->n_lines = n_lines;
		loc->mapping = PPROF_NO_MAPPING;
		if (mapping_id != 0)
		{
			uint32		mi;

			if (!LookupId(&d->mapping_ids, mapping_id, &mi))
				return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
							"Location ID %llu refers to mapping ID %llu, which does not exist.",
							(unsigned long long) loc->id, (unsigned long long) mapping_id);
			loc->mapping = mi + 1;
		}
		/* lines were read before the id may have been; resolve now */
		for (k = loc->first_line; k < loc->first_line + n_lines; k++)
		{
			uint64		fid = ((uint64) d->lines[k].padding << 32) | d->lines[k].function;
			uint32		fi;

			if (!LookupId(&d->function_ids, fid, &fi))
				return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
							"Location ID %llu has a line that refers to function ID %llu, which does not exist.",
							(unsigned long long) loc->id, (unsigned long long) fid);
			d->lines[k].function = fi;
			d->lines[k].padding = 0;
		}
	}
	return true;
}

/*
 * Line {function_id, line, column}. In FILL the raw function ID is parked
 * in (padding, function) until WalkLocation resolves it.
 */
static bool
WalkLine(Decoder *d, const uint8 *p, const uint8 *end, PprofLine *line)
{
	uint64		f[4];

	if (!ReadVarintMessage(d, p, end, "Line", 3, f))
		return false;
	if (line)
	{
		line->function = (uint32) f[1];
		line->padding = (uint32) (f[1] >> 32);
		line->line = (int64) f[2];
		line->column = (int64) f[3];
	}
	return true;
}

/* Function {id, name, system_name, filename, start_line}. */
static bool
WalkFunction(Decoder *d, const uint8 *p, const uint8 *end)
{
	PprofFunction *f;
	uint32		index;
	uint64		v[6];

	if (!ReadVarintMessage(d, p, end, "Function", 5, v))
		return false;
	if (d->phase != PHASE_FILL)
		return true;

	index = d->i_function++;
	f = &d->functions[index];
	memset(f, 0, sizeof(PprofFunction));
	f->id = v[1];
	f->start_line = (int64) v[5];
	return CheckId(d, "Function", index, f->id) &&
		CheckString(d, v[2], &f->name, "Function %u (name)", index) &&
		CheckString(d, v[3], &f->system_name, "Function %u (system_name)", index) &&
		CheckString(d, v[4], &f->filename, "Function %u (filename)", index);
}

/*
 * One string_table entry: bounded, and the first one empty. Its bytes are not
 * checked further: Go strings are arbitrary bytes and runtime/pprof writes
 * them as they are (a label value taken from a request path can be "\xff" or
 * hold a NUL), go tool pprof and go build -pgo accept them, and refusing them
 * would lose a whole profile to one odd request. They are stored as received,
 * so output keeps them; PprofBytesToServer() makes them text.
 */
static bool
WalkString(Decoder *d, const uint8 *p, const uint8 *end)
{
	Size		len = end - p;
	uint32		index = d->phase == PHASE_FILL ? d->i_string : d->counts.n_strings;

	if (d->phase == PHASE_SCAN)
	{
		if (len > PPROF_MAX_STRING_BYTES)
			return Fail(d, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
						"String %u is %zu bytes long; the limit is %d.",
						index, len, PPROF_MAX_STRING_BYTES);
		if (index == 0 && len != 0)
			return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
						"The first entry of the string table must be the empty string.");
		d->counts.n_strings++;
		d->counts.str_bytes += len + 1;
		return true;
	}

	d->str_offsets[d->i_string++] = d->str_pos;
	memcpy(d->str_data + d->str_pos, p, len);
	d->str_pos += len;
	d->str_data[d->str_pos++] = '\0';
	return true;
}

static int
CompareIdIndex(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Index the IDs of n elements (the uint64 id is the first member of each).
 * Go writes IDs 1..n in order, which needs no table at all.
 */
static bool
BuildIdMap(Decoder *d, IdMap *map, const char *kind, uint32 n,
		   const void *elems, Size stride)
{
	const char *base = elems;
	uint64	   *pairs;
	uint32		i;

	map->n = n;
	map->dense = true;
	for (i = 0; i < n; i++)
	{
		if (*(const uint64 *) (base + i * stride) != (uint64) i + 1)
		{
			map->dense = false;
			break;
		}
	}
	if (map->dense)
		return true;

	/* sort (id, index) pairs by id */
	pairs = palloc(sizeof(uint64) * 2 * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		pairs[2 * i] = *(const uint64 *) (base + i * stride);
		pairs[2 * i + 1] = i;
	}
	qsort(pairs, n, sizeof(uint64) * 2, CompareIdIndex);
	map->ids = palloc(sizeof(uint64) * Max(n, 1));
	map->indexes = palloc(sizeof(uint32) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (i > 0 && pairs[2 * i] == pairs[2 * i - 2])
			return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
						"%s ID %llu is used twice; IDs must be unique.",
						kind, (unsigned long long) pairs[2 * i]);
		map->ids[i] = pairs[2 * i];
		map->indexes[i] = (uint32) pairs[2 * i + 1];
	}
	pfree(pairs);
	return true;
}

static bool
LookupId(const IdMap *map, uint64 id, uint32 *index)
{
	uint32		lo = 0,
				hi = map->n;

	if (map->dense)
	{
		if (id == 0 || id > map->n)
			return false;
		*index = (uint32) (id - 1);
		return true;
	}
	while (lo < hi)
	{
		uint32		mid = lo + (hi - lo) / 2;

		if (map->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < map->n && map->ids[lo] == id)
	{
		*index = map->indexes[lo];
		return true;
	}
	return false;
}

/* After SCAN: checks that need the whole profile's counts. */
static bool
CheckCounts(Decoder *d)
{
	if (d->counts.n_strings == 0)
		return Fail(d, ERRCODE_INVALID_BINARY_REPRESENTATION,
					"The profile has no string table; its first entry must be the empty string.");
	return true;
}

/*
 * Decode an uncompressed pprof protobuf into a new layout, or return NULL
 * with *err set. Temporary memory is freed before returning either way.
 */
Pprof *
PprofDecodeRaw(const char *data, Size len, PprofError *err)
{
	Decoder		d;
	const uint8 *p = (const uint8 *) data;
	const uint8 *end = p + len;
	PprofView	view;
	MemoryContext tmp,
				old;
	Pprof	   *result;

	memset(&d, 0, sizeof(d));
	d.base = p;
	d.err = err;
	d.err_cxt = CurrentMemoryContext;

	if (len == 0)
	{
		err->sqlerrcode = ERRCODE_INVALID_BINARY_REPRESENTATION;
		err->message = "invalid pprof profile";
		err->detail = "The input is empty.";
		err->hint = "An empty file disables PGO in go build, but it is not a profile to store.";
		return NULL;
	}

	d.phase = PHASE_COUNT;
	if (!WalkProfile(&d, p, end))
		return NULL;

	/* SCAN recounts what COUNT counted, now with nested checks */
	d.phase = PHASE_SCAN;
	d.field_mask = F_ALL;
	{
		Pprof		top = d.counts;

		d.counts.n_samples = 0;
		d.counts.n_strings = 0;
		if (!WalkProfile(&d, p, end) || !CheckCounts(&d))
			return NULL;
		if (d.counts.n_samples != top.n_samples || d.counts.n_strings != top.n_strings)
			elog(ERROR, "pprof decoder: scan and count disagree");
	}

	/* where the sections go is PprofOpen's to say; FILL writes them */
	result = PprofLayoutAlloc(&d.counts, &view, err);
	if (result == NULL)
		return NULL;
	d.out = result;
	d.values = unconstify(int64 *, view.values);
	d.mappings = unconstify(PprofMapping *, view.mappings);
	d.locations = unconstify(PprofLocation *, view.locations);
	d.lines = unconstify(PprofLine *, view.lines);
	d.functions = unconstify(PprofFunction *, view.functions);
	d.samples = unconstify(PprofSample *, view.samples);
	d.labels = unconstify(PprofLabel *, view.labels);
	d.stack = unconstify(uint32 *, view.stack);
	d.sample_types = unconstify(PprofValueType *, view.sample_types);
	d.comments = unconstify(uint32 *, view.comments);
	d.str_offsets = unconstify(uint32 *, view.str_offsets);
	d.str_data = unconstify(char *, view.str_data);

	/* scratch (ID maps, buffers) lives in its own context */
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof decode",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);

	d.phase = PHASE_FILL;
	d.field_mask = F_STRING | F_SAMPLE_TYPE | F_FUNCTION | F_MAPPING | F_SCALARS;
	if (!WalkProfile(&d, p, end))
		goto fail;
	d.str_offsets[d.i_string] = d.str_pos;

	if (!BuildIdMap(&d, &d.function_ids, "Function", d.counts.n_functions,
					d.functions, sizeof(PprofFunction)) ||
		!BuildIdMap(&d, &d.mapping_ids, "Mapping", d.counts.n_mappings,
					d.mappings, sizeof(PprofMapping)))
		goto fail;

	d.field_mask = F_LOCATION;
	if (!WalkProfile(&d, p, end))
		goto fail;
	if (!BuildIdMap(&d, &d.location_ids, "Location", d.counts.n_locations,
					d.locations, sizeof(PprofLocation)))
		goto fail;

	d.field_mask = F_SAMPLE;
	d.scratch = palloc(sizeof(uint64) * PPROF_MAX_STACK_DEPTH);
	if (!WalkProfile(&d, p, end))
		goto fail;

	if (d.i_sample != d.counts.n_samples || d.i_stack != d.counts.n_stack ||
		d.i_label != d.counts.n_labels || d.i_line != d.counts.n_lines ||
		d.i_comment != d.counts.n_comments)
		elog(ERROR, "pprof decoder: fill and scan disagree");

	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return result;

fail:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	pfree(result);
	return NULL;
}

/*
 * Decode a profile as uploaded: gzip-compressed or raw protobuf.
 */
Pprof *
PprofDecode(const char *data, Size len, PprofError *err)
{
	Pprof	   *result;
	char	   *raw;
	Size		raw_len;

	if (!PprofIsGzip(data, len))
	{
		if (len > (Size) pprof_max_profile_bytes)
		{
			err->sqlerrcode = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			err->message = "pprof profile is too large";
			err->detail = psprintf("The profile has %zu bytes, more than the limit of %d set by pprof.max_profile_bytes.",
								   len, pprof_max_profile_bytes);
			err->hint = "Raise pprof.max_profile_bytes if profiles this large are expected.";
			return NULL;
		}
		result = PprofDecodeRaw(data, len, err);
		if (result == NULL)
			PprofNameFormat(data, len, err);
		return result;
	}

	raw = PprofGunzip(data, len, pprof_max_profile_bytes, &raw_len, err);
	if (raw == NULL)
		return NULL;
	result = PprofDecodeRaw(raw, raw_len, err);
	if (result == NULL)
		PprofNameFormat(raw, raw_len, err);
	pfree(raw);
	return result;
}

/* Raise a decoding error as an ERROR. */
void
PprofThrow(const PprofError *err)
{
	ereport(ERROR,
			(errcode(err->sqlerrcode),
			 errmsg("%s", err->message),
			 err->detail ? errdetail("%s", err->detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

/* A decoding error as one line of text, for pprof_validate(). */
char *
PprofErrorText(const PprofError *err)
{
	if (err->detail)
		return psprintf("%s: %s", err->message, err->detail);
	return pstrdup(err->message);
}
