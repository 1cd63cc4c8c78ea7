/*-------------------------------------------------------------------------
 *
 * pprof_encode.c
 *	  Stored layout -> pprof protobuf wire format -> gzip.
 *
 * Output is canonical: fields in field-number order, fields holding their
 * proto3 default (0, false, an absent message) left out, repeated integers
 * packed, unknown fields of the input gone, so equal layouts always give
 * equal bytes. These are exactly the bytes protobuf-c's
 * perftools__profiles__profile__pack() gives for the same profile, the
 * encoder used until 0.3: fuzz/encode_ref.c keeps that encoder, and the
 * fuzz targets check on every input that both give the same bytes.
 *
 * The wire format is written straight from the layout, in one pass: a
 * nested message (a sample, a location...) reserves one byte for its
 * length and moves its body when the length needs more. protobuf-c wanted
 * a struct and a pointer per sample, label, location, line and function,
 * then walked them twice through its reflection tables (sizes, then
 * bytes): 70% of encoding a merge's result, a sixth of pprof_merge's
 * instructions (BENCHMARKS.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof.h"

/* an output buffer that doubles, up to MaxAllocSize */
typedef struct Wire
{
	uint8	   *buf;
	Size		len;
	Size		cap;
} Wire;

/* wire types */
#define WT_VARINT	0
#define WT_LEN		2

/* the most bytes of a varint, and of a tag plus a varint (fields < 16) */
#define VARINT_MAX	10
#define FIELD_MAX	(1 + VARINT_MAX)

#define TAG(field, wt)	((uint8) (((field) << 3) | (wt)))

static uint8 *Reserve(Wire *w, Size n);
static inline uint8 *PutVarint(uint8 *p, uint64 v);
static inline uint8 *PutField(uint8 *p, uint8 field, uint64 v);
static inline uint8 *BeginLength(uint8 *p, uint8 field, uint8 **len_at);
static inline uint8 *EndLength(uint8 *len_at, uint8 *end);
static void WriteSamples(Wire *w, const PprofView *v);
static void WriteMappings(Wire *w, const PprofView *v);
static void WriteLocations(Wire *w, const PprofView *v);
static void WriteFunctions(Wire *w, const PprofView *v);
static void WriteStrings(Wire *w, const PprofView *v);
static void WriteTrailer(Wire *w, const PprofView *v);

/*
 * Room for n more bytes at w->buf + w->len; returns where they start.
 * The caller writes at most n bytes there and sets w->len past them.
 */
static uint8 *
Reserve(Wire *w, Size n)
{
	if (w->cap - w->len < n)
	{
		Size		cap = Max(w->cap, 1024);

		while (cap - w->len < n)
		{
			if (cap >= MaxAllocSize / 2)
			{
				if (MaxAllocSize - w->len < n)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("encoded pprof profile is too large"),
							 errdetail("The profile would take more than %zu bytes.",
									   (Size) MaxAllocSize)));
				cap = MaxAllocSize;
				break;
			}
			cap *= 2;
		}
		w->buf = w->buf ? repalloc(w->buf, cap) : palloc(cap);
		w->cap = cap;
	}
	return w->buf + w->len;
}

/* base-128 varint, low groups first; at most VARINT_MAX bytes */
static inline uint8 *
PutVarint(uint8 *p, uint64 v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8) v;
	return p;
}

/*
 * A varint field (int64 as its two's complement, as protobuf does: a
 * negative value takes ten bytes), left out when it is 0 (proto3).
 */
static inline uint8 *
PutField(uint8 *p, uint8 field, uint64 v)
{
	if (v == 0)
		return p;
	*p++ = TAG(field, WT_VARINT);
	return PutVarint(p, v);
}

/*
 * Open a length-delimited field: its tag, one byte kept for the length at
 * *len_at (EndLength fills it in); returns where the body starts.
 */
static inline uint8 *
BeginLength(uint8 *p, uint8 field, uint8 **len_at)
{
	*p++ = TAG(field, WT_LEN);
	*len_at = p;
	return p + 1;
}

/*
 * Close a length-delimited body that starts at len_at + 1 and ends at end,
 * one byte having been reserved for its length at len_at: a body of 128
 * bytes or more moves up by what its length takes beyond that byte (the
 * caller reserved VARINT_MAX for it). Returns the new end.
 */
static inline uint8 *
EndLength(uint8 *len_at, uint8 *end)
{
	Size		body = end - (len_at + 1);
	uint8		tmp[VARINT_MAX];
	Size		n;

	if (likely(body < 0x80))
	{
		*len_at = (uint8) body;
		return end;
	}
	n = PutVarint(tmp, body) - tmp;
	memmove(len_at + n, len_at + 1, body);
	memcpy(len_at, tmp, n);
	return end + n - 1;
}

/*
 * Serialize a layout to uncompressed protobuf, palloc'd in the current
 * context; the caller owns the result.
 */
char *
PprofEncodeRaw(const Pprof *pprof, Size *out_len)
{
	PprofView	v;
	const Pprof *h;
	Wire		w = {NULL, 0, 0};
	uint32		i;

	/* the header of what PprofOpen opened, which it may have made */
	PprofOpen(pprof, &v);
	h = v.hdr;

	/*
	 * A first guess of the size, so that the buffer rarely grows: the
	 * strings, and a few bytes per stack entry, line and value.
	 */
	Reserve(&w, Min((Size) h->str_bytes + 2 * (Size) h->n_strings +
					3 * ((Size) h->n_stack + h->n_lines) +
					4 * (Size) h->n_samples * h->n_sample_types +
					12 * ((Size) h->n_locations + h->n_functions) + 64,
					MaxAllocSize));

	/* 1: sample types */
	for (i = 0; i < h->n_sample_types; i++)
	{
		uint8	   *p = Reserve(&w, 1 + VARINT_MAX + 2 * FIELD_MAX);
		uint8	   *len_at;

		p = BeginLength(p, 1, &len_at);
		p = PutField(p, 1, v.sample_types[i].type);
		p = PutField(p, 2, v.sample_types[i].unit);
		w.len = EndLength(len_at, p) - w.buf;
	}
	WriteSamples(&w, &v);
	WriteMappings(&w, &v);
	WriteLocations(&w, &v);
	WriteFunctions(&w, &v);
	WriteStrings(&w, &v);
	WriteTrailer(&w, &v);

	*out_len = w.len;
	return (char *) w.buf;
}

/* 2: samples: location IDs (packed), values (packed), labels */
static void
WriteSamples(Wire *w, const PprofView *v)
{
	const Pprof *h = v->hdr;
	uint32		i,
				k;

	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *s = &v->samples[i];
		const uint32 *stack = &v->stack[s->first_location];
		const int64 *values = &v->values[(Size) i * h->n_sample_types];
		uint8	   *p = Reserve(w, 1 + VARINT_MAX +
								2 * (1 + VARINT_MAX) +
								(Size) VARINT_MAX * (s->depth + h->n_sample_types) +
								(Size) s->n_labels * (1 + VARINT_MAX + 4 * FIELD_MAX));
		uint8	   *sample_len;

		p = BeginLength(p, 2, &sample_len);
		if (s->depth > 0)
		{
			uint8	   *len_at;

			p = BeginLength(p, 1, &len_at);
			for (k = 0; k < s->depth; k++)
				p = PutVarint(p, v->locations[stack[k]].id);
			p = EndLength(len_at, p);
		}
		if (h->n_sample_types > 0)
		{
			uint8	   *len_at;

			p = BeginLength(p, 2, &len_at);
			for (k = 0; k < h->n_sample_types; k++)
				p = PutVarint(p, (uint64) values[k]);
			p = EndLength(len_at, p);
		}
		for (k = 0; k < s->n_labels; k++)
		{
			const PprofLabel *l = &v->labels[s->first_label + k];
			uint8	   *len_at;

			p = BeginLength(p, 3, &len_at);
			p = PutField(p, 1, l->key);
			p = PutField(p, 2, l->str);
			p = PutField(p, 3, (uint64) l->num);
			p = PutField(p, 4, l->num_unit);
			p = EndLength(len_at, p);
		}
		w->len = EndLength(sample_len, p) - w->buf;
		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/* 3: mappings */
static void
WriteMappings(Wire *w, const PprofView *v)
{
	uint32		i;

	for (i = 0; i < v->hdr->n_mappings; i++)
	{
		const PprofMapping *m = &v->mappings[i];
		uint8	   *p = Reserve(w, 1 + VARINT_MAX + 6 * FIELD_MAX + 4 * 2);
		uint8	   *len_at;

		p = BeginLength(p, 3, &len_at);
		p = PutField(p, 1, m->id);
		p = PutField(p, 2, m->memory_start);
		p = PutField(p, 3, m->memory_limit);
		p = PutField(p, 4, m->file_offset);
		p = PutField(p, 5, m->filename);
		p = PutField(p, 6, m->build_id);
		p = PutField(p, 7, (m->flags & PPROF_MAPPING_HAS_FUNCTIONS) != 0);
		p = PutField(p, 8, (m->flags & PPROF_MAPPING_HAS_FILENAMES) != 0);
		p = PutField(p, 9, (m->flags & PPROF_MAPPING_HAS_LINE_NUMBERS) != 0);
		p = PutField(p, 10, (m->flags & PPROF_MAPPING_HAS_INLINE_FRAMES) != 0);
		w->len = EndLength(len_at, p) - w->buf;
	}
}

/* 4: locations and their lines */
static void
WriteLocations(Wire *w, const PprofView *v)
{
	uint32		i,
				k;

	for (i = 0; i < v->hdr->n_locations; i++)
	{
		const PprofLocation *l = &v->locations[i];
		uint8	   *p = Reserve(w, 1 + VARINT_MAX + 3 * FIELD_MAX + 2 +
								(Size) l->n_lines * (1 + VARINT_MAX + 3 * FIELD_MAX));
		uint8	   *len_at;

		p = BeginLength(p, 4, &len_at);
		p = PutField(p, 1, l->id);
		if (l->mapping != PPROF_NO_MAPPING)
			p = PutField(p, 2, v->mappings[l->mapping - 1].id);
		p = PutField(p, 3, l->address);
		for (k = 0; k < l->n_lines; k++)
		{
			const PprofLine *ln = &v->lines[l->first_line + k];
			uint8	   *line_len;

			p = BeginLength(p, 4, &line_len);
			p = PutField(p, 1, v->functions[ln->function].id);
			p = PutField(p, 2, (uint64) ln->line);
			p = PutField(p, 3, (uint64) ln->column);
			p = EndLength(line_len, p);
		}
		p = PutField(p, 5, l->is_folded != 0);
		w->len = EndLength(len_at, p) - w->buf;
	}
}

/* 5: functions */
static void
WriteFunctions(Wire *w, const PprofView *v)
{
	uint32		i;

	for (i = 0; i < v->hdr->n_functions; i++)
	{
		const PprofFunction *f = &v->functions[i];
		uint8	   *p = Reserve(w, 1 + VARINT_MAX + 5 * FIELD_MAX);
		uint8	   *len_at;

		p = BeginLength(p, 5, &len_at);
		p = PutField(p, 1, f->id);
		p = PutField(p, 2, f->name);
		p = PutField(p, 3, f->system_name);
		p = PutField(p, 4, f->filename);
		p = PutField(p, 5, (uint64) f->start_line);
		w->len = EndLength(len_at, p) - w->buf;
	}
}

/*
 * 6: the string table, every string even the empty ones. Strings are bytes
 * (profile.proto): NULs and invalid UTF-8 go out as stored.
 */
static void
WriteStrings(Wire *w, const PprofView *v)
{
	uint32		i;

	for (i = 0; i < v->hdr->n_strings; i++)
	{
		/* the layout's offsets: each string is followed by its NUL */
		uint32		off = v->str_offsets[i];
		Size		len = v->str_offsets[i + 1] - off - 1;
		uint8	   *p = Reserve(w, 1 + VARINT_MAX + len);

		*p++ = TAG(6, WT_LEN);
		p = PutVarint(p, len);
		memcpy(p, v->str_data + off, len);
		w->len = p + len - w->buf;
	}
}

/* 7-14: the header's fields */
static void
WriteTrailer(Wire *w, const PprofView *v)
{
	const Pprof *h = v->hdr;
	uint8	   *p = Reserve(w, 5 * FIELD_MAX + 2 + 2 * FIELD_MAX +
							1 + VARINT_MAX + (Size) VARINT_MAX * h->n_comments);
	uint32		k;

	p = PutField(p, 7, h->drop_frames);
	p = PutField(p, 8, h->keep_frames);
	p = PutField(p, 9, (uint64) h->time_nanos);
	p = PutField(p, 10, (uint64) h->duration_nanos);
	if (h->period_type.type != 0 || h->period_type.unit != 0)
	{
		uint8	   *len_at;

		p = BeginLength(p, 11, &len_at);
		p = PutField(p, 1, h->period_type.type);
		p = PutField(p, 2, h->period_type.unit);
		p = EndLength(len_at, p);
	}
	p = PutField(p, 12, (uint64) h->period);
	if (h->n_comments > 0)
	{
		uint8	   *len_at;

		p = BeginLength(p, 13, &len_at);
		for (k = 0; k < h->n_comments; k++)
			p = PutVarint(p, v->comments[k]);
		p = EndLength(len_at, p);
	}
	p = PutField(p, 14, h->default_sample_type);
	w->len = p - w->buf;
}

/* Serialize a layout to a gzip pprof file, as a bytea. */
bytea *
PprofEncode(const Pprof *pprof)
{
	Size		len;
	char	   *raw = PprofEncodeRaw(pprof, &len);
	bytea	   *result = PprofGzip(raw, len);

	pfree(raw);
	return result;
}
