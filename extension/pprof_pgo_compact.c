/*-------------------------------------------------------------------------
 *
 * pprof_pgo_compact.c
 *	  The stored form of a pgo projection: varints, stacks given once.
 *
 * A projection (pprof_pgo_projection.c) is built as a layout (projection
 * version 1: fixed-width records, the form every reader of a pprof value
 * understands). What pgo.profiles stores, and pprof_pgo_projection()
 * returns, is this compact form of it (projection version 2): the same
 * content, every number a varint, and each distinct projected stack
 * written once, the samples naming it by index. It is about a third of the
 * layout's bytes, small enough to store without TOAST compression, and it
 * lets pgo_merge look a row's sample keys up once per distinct stack
 * instead of once per sample (pprof_merge_pgo.c; BENCHMARKS.md, "Merge
 * path").
 *
 * Expanding it gives back the version-1 layout byte for byte (ids,
 * addresses and order included), so every other function reads a compact
 * projection through PprofOpen() as it read the layout, and rows stored by
 * earlier builds (version 1) merge to the same bytes.
 *
 * Format: a PprofPgoCompact header (counts), then unsigned base-128
 * varints (signed values zigzag-encoded), first what pgo_merge reads:
 *	sample types	n_sample_types * (type, unit)		string indexes
 *	strings			n_strings * length, then their bytes back to back
 *	functions		n_functions * (name, start_line)
 *	locations		n_locations * (address - previous address, n_lines,
 *					n_lines * (function, line))
 *	stacks			n_stacks * (depth, depth * location)
 *	samples			n_samples * (stack, n_sample_types * value)
 * then, in the last extra_bytes, what only the expansion needs:
 *	function ids	n_functions * (id - previous id)
 *	location ids	n_locations * (id - previous id)
 *	labels			n_samples * (n_labels, n_labels * (key, str))
 * The bytes come only from pprof_pgo_projection(), never from a client (a
 * pprof value's input and receive functions decode protobuf), but a value
 * read from disk may be damaged: every count is checked against the bytes
 * left before anything is allocated, and every index against its count.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_intern.h"
#include "pprof_merge.h"

/* The header of a compact projection; its first 8 bytes are a Pprof's. */
typedef struct PprofPgoCompact
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		version;		/* PPROF_LAYOUT_VERSION */
	uint8		flags;			/* PPROF_FLAG_PGO_PROJECTION */
	uint16		reserved;		/* PPROF_PROJECTION_COMPACT << 8 | frames */
	int64		time_nanos;
	int64		duration_nanos;
	int64		period;
	uint32		n_sample_types;
	uint32		n_strings;
	uint32		str_bytes;		/* as the layout's: each string + NUL */
	uint32		n_functions;
	uint32		n_locations;
	uint32		n_lines;
	uint32		n_stacks;		/* distinct projected stacks */
	uint32		n_stack;		/* frames over all samples, as the layout's */
	uint32		n_samples;
	uint32		n_labels;
	uint32		extra_bytes;	/* the ids and labels, at the end */
} PprofPgoCompact;

#define COMPACT_BODY_OFFSET MAXALIGN(sizeof(PprofPgoCompact))

/* Reading the varints of a compact body, bounded by its end. */
typedef struct Reader
{
	const uint8 *p;
	const uint8 *end;
} Reader;

static void PutVarint(StringInfo buf, uint64 v);
static inline uint64 Zigzag(int64 v);
static inline int64 Unzigzag(uint64 v);
static uint64 GetVarintSlow(Reader *r);
static inline uint64 GetVarint(Reader *r);
static inline uint32 GetIndex(Reader *r, uint32 n, const char *what);
pg_noreturn static void Corrupted(const char *detail);
pg_noreturn static void OutOfRange(const char *what, uint64 v, uint32 n);
static Pprof *Decode(const Pprof *c, PprofCompactSamples *cs);

static void
PutVarint(StringInfo buf, uint64 v)
{
	uint8		b[10];
	int			n = 0;

	while (v >= 0x80)
	{
		b[n++] = (uint8) (v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8) v;
	appendBinaryStringInfo(buf, (const char *) b, n);
}

static inline uint64
Zigzag(int64 v)
{
	return ((uint64) v << 1) ^ (uint64) (v >> 63);
}

static inline int64
Unzigzag(uint64 v)
{
	return (int64) (v >> 1) ^ -(int64) (v & 1);
}

pg_noreturn static void
Corrupted(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupted pgo projection"),
			 errdetail("%s", detail)));
}

/* A varint of up to 10 bytes; the value wraps past 64 bits. */
static uint64
GetVarintSlow(Reader *r)
{
	uint64		v = 0;
	int			shift;

	for (shift = 0; shift < 70; shift += 7)
	{
		uint8		b;

		if (r->p >= r->end)
			Corrupted("A varint runs past the end of the value.");
		b = *r->p++;
		v |= (uint64) (b & 0x7f) << shift;
		if (b < 0x80)
			return v;
	}
	Corrupted("A varint is longer than 10 bytes.");
}

/*
 * Most numbers here take one to three bytes; away from the end of the body
 * a varint is read without a bounds check per byte.
 */
static inline uint64
GetVarint(Reader *r)
{
	const uint8 *p = r->p;
	uint64		v;
	uint64		b;
	int			shift;

	if (unlikely(r->end - p < 10))
		return GetVarintSlow(r);
	b = *p++;
	if (likely(b < 0x80))
	{
		r->p = p;
		return b;
	}
	v = b & 0x7f;
	for (shift = 7; shift < 70; shift += 7)
	{
		b = *p++;
		v |= (b & 0x7f) << shift;
		if (b < 0x80)
		{
			r->p = p;
			return v;
		}
	}
	Corrupted("A varint is longer than 10 bytes.");
}

pg_noreturn static void
OutOfRange(const char *what, uint64 v, uint32 n)
{
	Corrupted(psprintf("A %s index %llu is out of range (%u).", what,
					   (unsigned long long) v, n));
}

/* An index below n. */
static inline uint32
GetIndex(Reader *r, uint32 n, const char *what)
{
	uint64		v = GetVarint(r);

	if (unlikely(v >= n))
		OutOfRange(what, v, n);
	return (uint32) v;
}

/* Is pprof a compact projection (to be expanded before reading it)? */
bool
PprofIsCompactProjection(const Pprof *pprof)
{
	return pprof->flags == PPROF_FLAG_PGO_PROJECTION &&
		(pprof->reserved >> 8) == PPROF_PROJECTION_COMPACT;
}

/*
 * The compact form of the version-1 projection v (a layout flagged
 * PPROF_FLAG_PGO_PROJECTION, made by pprof_pgo_projection.c).
 */
Pprof *
PprofCompactProjection(const PprofView *v)
{
	const Pprof *h = v->hdr;
	PprofPgoCompact hdr;
	PprofInterner stacks;
	StringInfoData body;
	uint32	   *sample_stack;
	uint64		prev_id;
	uint64		prev_addr;
	int			extra_start;
	uint32		n_types = h->n_sample_types;
	uint32		i;
	uint32		k;
	Pprof	   *result;
	Size		size;

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = PPROF_LAYOUT_VERSION;
	hdr.flags = PPROF_FLAG_PGO_PROJECTION;
	hdr.reserved = (uint16) ((PPROF_PROJECTION_COMPACT << 8) | (h->reserved & 0xff));
	hdr.time_nanos = h->time_nanos;
	hdr.duration_nanos = h->duration_nanos;
	hdr.period = h->period;
	hdr.n_sample_types = n_types;
	hdr.n_strings = h->n_strings;
	hdr.str_bytes = h->str_bytes;
	hdr.n_functions = h->n_functions;
	hdr.n_locations = h->n_locations;
	hdr.n_lines = h->n_lines;
	hdr.n_stack = h->n_stack;
	hdr.n_samples = h->n_samples;
	hdr.n_labels = h->n_labels;

	/* the distinct stacks, numbered in order of first use */
	InternerInit(&stacks, CurrentMemoryContext, Max(h->n_samples, 16));
	sample_stack = palloc_extended(sizeof(uint32) * Max(h->n_samples, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *smp = &v->samples[i];
		bool		found;

		sample_stack[i] = InternerAdd(&stacks, &v->stack[smp->first_location],
									  sizeof(uint32) * smp->depth, &found);
	}
	hdr.n_stacks = stacks.n;

	initStringInfo(&body);
	for (i = 0; i < n_types; i++)
	{
		PutVarint(&body, v->sample_types[i].type);
		PutVarint(&body, v->sample_types[i].unit);
	}
	for (i = 0; i < h->n_strings; i++)
		PutVarint(&body, PprofStringLength(v, i));
	for (i = 0; i < h->n_strings; i++)
		appendBinaryStringInfo(&body, PprofString(v, i), PprofStringLength(v, i));

	for (i = 0; i < h->n_functions; i++)
	{
		PutVarint(&body, v->functions[i].name);
		PutVarint(&body, Zigzag(v->functions[i].start_line));
	}

	prev_addr = 0;
	for (i = 0; i < h->n_locations; i++)
	{
		const PprofLocation *l = &v->locations[i];

		PutVarint(&body, Zigzag((int64) (l->address - prev_addr)));
		prev_addr = l->address;
		PutVarint(&body, l->n_lines);
		for (k = 0; k < l->n_lines; k++)
		{
			const PprofLine *line = &v->lines[l->first_line + k];

			PutVarint(&body, line->function);
			PutVarint(&body, Zigzag(line->line));
		}
	}

	for (i = 0; i < stacks.n; i++)
	{
		uint32		len;
		const uint32 *locs = (const uint32 *) InternerKey(&stacks, i, &len);

		PutVarint(&body, len / sizeof(uint32));
		for (k = 0; k < len / sizeof(uint32); k++)
			PutVarint(&body, locs[k]);
	}

	for (i = 0; i < h->n_samples; i++)
	{
		PutVarint(&body, sample_stack[i]);
		for (k = 0; k < n_types; k++)
			PutVarint(&body, Zigzag(v->values[(Size) i * n_types + k]));
		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/* what only the expansion reads */
	extra_start = body.len;
	prev_id = 0;
	for (i = 0; i < h->n_functions; i++)
	{
		PutVarint(&body, Zigzag((int64) (v->functions[i].id - prev_id)));
		prev_id = v->functions[i].id;
	}
	prev_id = 0;
	for (i = 0; i < h->n_locations; i++)
	{
		PutVarint(&body, Zigzag((int64) (v->locations[i].id - prev_id)));
		prev_id = v->locations[i].id;
	}
	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *smp = &v->samples[i];

		PutVarint(&body, smp->n_labels);
		for (k = 0; k < smp->n_labels; k++)
		{
			PutVarint(&body, v->labels[smp->first_label + k].key);
			PutVarint(&body, v->labels[smp->first_label + k].str);
		}
	}
	hdr.extra_bytes = body.len - extra_start;

	size = COMPACT_BODY_OFFSET + body.len;
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pgo projection is too large"),
				 errdetail("Its stored form would take %zu bytes; a PostgreSQL value holds at most %zu.",
						   size, (Size) MaxAllocSize)));
	result = palloc0(size);
	memcpy(result, &hdr, sizeof(hdr));
	SET_VARSIZE(result, size);
	memcpy((char *) result + COMPACT_BODY_OFFSET, body.data, body.len);
	pfree(body.data);
	pfree(sample_stack);
	return result;
}

/*
 * The version-1 layout of compact projection c, exactly the one it was made
 * from.
 */
Pprof *
PprofExpandProjection(const Pprof *c)
{
	return Decode(c, NULL);
}

/*
 * What pgo_merge reads of compact projection c: a layout of everything but
 * the samples (no samples, frames or labels), and the samples in *cs, each
 * naming its stack. Labels are skipped: the "mode" filter ran before.
 */
Pprof *
PprofOpenCompactSamples(const Pprof *c, PprofCompactSamples *cs)
{
	return Decode(c, cs);
}

/* Both of the above: cs NULL expands, else fills cs. */
static Pprof *
Decode(const Pprof *c, PprofCompactSamples *cs)
{
	PprofPgoCompact hdr;
	Pprof		lh;
	PprofView	v;
	PprofError	err;
	Pprof	   *result;
	Reader		r;
	Size		body_len;
	uint32	   *stack_first;	/* per stack: its first word in stack_words */
	uint32	   *stack_words;	/* per stack: depth, locations */
	uint32	   *sample_stack;
	int64	   *values;
	uint64		prev_id;
	uint64		prev_addr;
	uint32		n_types;
	uint32		frames = c->reserved & 0xff;
	uint32		i;
	uint32		k;
	uint32		pos;

	if (VARSIZE(c) < COMPACT_BODY_OFFSET)
		Corrupted("The value is shorter than its header.");
	memcpy(&hdr, c, sizeof(hdr));
	body_len = VARSIZE(c) - COMPACT_BODY_OFFSET;
	n_types = hdr.n_sample_types;

	/* every element takes a byte at least: bounds what is allocated */
	if (n_types > 2 || hdr.n_strings == 0 || hdr.n_strings > body_len ||
		hdr.n_functions > body_len || hdr.n_locations > body_len ||
		hdr.n_lines > body_len || hdr.n_stacks > body_len ||
		hdr.n_samples > body_len || hdr.n_labels > body_len ||
		hdr.n_stack > (uint64) hdr.n_samples * frames ||
		hdr.str_bytes < hdr.n_strings || hdr.str_bytes - hdr.n_strings > body_len ||
		hdr.extra_bytes > body_len ||
		(hdr.n_samples > 0) != (hdr.n_stacks > 0))
		Corrupted("Its header's counts do not fit its size.");

	memset(&lh, 0, sizeof(lh));
	lh.version = PPROF_LAYOUT_VERSION;
	lh.flags = PPROF_FLAG_PGO_PROJECTION;
	lh.reserved = PprofProjectionReserved(frames);
	lh.time_nanos = hdr.time_nanos;
	lh.duration_nanos = hdr.duration_nanos;
	lh.period = hdr.period;
	lh.n_sample_types = n_types;
	lh.n_locations = hdr.n_locations;
	lh.n_lines = hdr.n_lines;
	lh.n_functions = hdr.n_functions;
	lh.n_strings = hdr.n_strings;
	lh.str_bytes = hdr.str_bytes;
	if (cs == NULL)
	{
		lh.n_samples = hdr.n_samples;
		lh.n_labels = hdr.n_labels;
		lh.n_stack = hdr.n_stack;
		result = PprofLayoutAlloc(&lh, &v, &err);
		if (result == NULL)
			PprofThrow(&err);
	}
	else
	{
		PprofSections sections;

		/*
		 * Not zeroed: it never leaves pgo_merge, which reads only what is
		 * written below (a sixth of the instructions of a merge went to
		 * zeroing it)
		 */
		PprofComputeSections(&lh, &sections);
		if (sections.total > MaxAllocSize)
			Corrupted("Its header's counts do not fit its size.");
		result = palloc(sections.total);
		memcpy(result, &lh, sizeof(lh));
		SET_VARSIZE(result, sections.total);
		PprofOpen(result, &v);
	}

	r.p = (const uint8 *) c + COMPACT_BODY_OFFSET;
	r.end = r.p + body_len - hdr.extra_bytes;

	for (i = 0; i < n_types; i++)
	{
		PprofValueType *t = unconstify(PprofValueType *, &v.sample_types[i]);

		t->type = GetIndex(&r, hdr.n_strings, "string");
		t->unit = GetIndex(&r, hdr.n_strings, "string");
	}

	/* strings: lengths, then the bytes */
	{
		uint32	   *offsets = unconstify(uint32 *, v.str_offsets);
		char	   *data = unconstify(char *, v.str_data);
		uint32		total = 0;

		for (i = 0; i < hdr.n_strings; i++)
		{
			uint64		len = GetVarint(&r);

			offsets[i] = total;
			if (len >= hdr.str_bytes - total)
				Corrupted("Its strings do not fit their size.");
			total += (uint32) len + 1;
		}
		offsets[hdr.n_strings] = total;
		if (total != hdr.str_bytes || r.end - r.p < total - hdr.n_strings)
			Corrupted("Its strings do not fit their size.");
		for (i = 0; i < hdr.n_strings; i++)
		{
			uint32		len = offsets[i + 1] - offsets[i] - 1;

			memcpy(data + offsets[i], r.p, len);
			data[offsets[i] + len] = '\0';
			r.p += len;
		}
	}

	for (i = 0; i < hdr.n_functions; i++)
	{
		PprofFunction *f = unconstify(PprofFunction *, &v.functions[i]);

		f->id = 0;
		f->name = GetIndex(&r, hdr.n_strings, "string");
		f->system_name = 0;
		f->filename = 0;
		f->padding = 0;
		f->start_line = Unzigzag(GetVarint(&r));
	}

	prev_addr = 0;
	pos = 0;
	for (i = 0; i < hdr.n_locations; i++)
	{
		PprofLocation *l = unconstify(PprofLocation *, &v.locations[i]);
		uint32		n_lines;

		l->id = 0;
		l->address = prev_addr + (uint64) Unzigzag(GetVarint(&r));
		prev_addr = l->address;
		l->mapping = PPROF_NO_MAPPING;
		l->is_folded = 0;
		n_lines = GetIndex(&r, hdr.n_lines - pos + 1, "line count");
		l->first_line = pos;
		l->n_lines = n_lines;
		for (k = 0; k < n_lines; k++)
		{
			PprofLine  *line = unconstify(PprofLine *, &v.lines[pos++]);

			line->function = GetIndex(&r, hdr.n_functions, "function");
			line->padding = 0;
			line->line = Unzigzag(GetVarint(&r));
			line->column = 0;
		}
	}
	if (pos != hdr.n_lines)
		Corrupted("Its locations do not have the lines its header counts.");

	/* stacks: depth and locations back to back, a byte each at least */
	stack_first = palloc_extended(sizeof(uint32) * Max(hdr.n_stacks, 1), MCXT_ALLOC_HUGE);
	stack_words = palloc_extended(sizeof(uint32) *
								  (Min((Size) hdr.n_stacks * (frames + 1), (Size) (r.end - r.p)) + 1),
								  MCXT_ALLOC_HUGE);
	pos = 0;
	for (i = 0; i < hdr.n_stacks; i++)
	{
		uint32		depth = GetIndex(&r, frames + 1, "stack depth");

		stack_first[i] = pos;
		stack_words[pos++] = depth;
		for (k = 0; k < depth; k++)
			stack_words[pos++] = GetIndex(&r, hdr.n_locations, "location");
	}

	/* samples: their stacks and values */
	if (cs)
	{
		values = palloc_extended(sizeof(int64) * Max((Size) hdr.n_samples * n_types, 1),
								 MCXT_ALLOC_HUGE);
		sample_stack = palloc_extended(sizeof(uint32) * Max(hdr.n_samples, 1), MCXT_ALLOC_HUGE);
	}
	else
	{
		values = unconstify(int64 *, v.values);
		sample_stack = palloc_extended(sizeof(uint32) * Max(hdr.n_samples, 1), MCXT_ALLOC_HUGE);
	}
	for (i = 0; i < hdr.n_samples; i++)
	{
		sample_stack[i] = GetIndex(&r, hdr.n_stacks, "stack");
		for (k = 0; k < n_types; k++)
			values[(Size) i * n_types + k] = Unzigzag(GetVarint(&r));
	}
	if (r.p != r.end)
		Corrupted("Its samples do not end where its extra bytes begin.");

	if (cs)
	{
		/* the ids and labels are for the expansion only */
		cs->n_samples = hdr.n_samples;
		cs->n_types = n_types;
		cs->n_stacks = hdr.n_stacks;
		cs->values = values;
		cs->sample_stack = sample_stack;
		cs->stack_first = stack_first;
		cs->stack_words = stack_words;
		return result;
	}

	r.end = r.p + hdr.extra_bytes;
	prev_id = 0;
	for (i = 0; i < hdr.n_functions; i++)
	{
		PprofFunction *f = unconstify(PprofFunction *, &v.functions[i]);

		f->id = prev_id + (uint64) Unzigzag(GetVarint(&r));
		prev_id = f->id;
	}
	prev_id = 0;
	for (i = 0; i < hdr.n_locations; i++)
	{
		PprofLocation *l = unconstify(PprofLocation *, &v.locations[i]);

		l->id = prev_id + (uint64) Unzigzag(GetVarint(&r));
		prev_id = l->id;
	}

	/* the samples' frames (their stacks') and labels */
	{
		PprofSample *samples = unconstify(PprofSample *, v.samples);
		PprofLabel *labels = unconstify(PprofLabel *, v.labels);
		uint32	   *stack = unconstify(uint32 *, v.stack);
		uint32		stack_pos = 0;
		uint32		label_pos = 0;

		for (i = 0; i < hdr.n_samples; i++)
		{
			const uint32 *words = &stack_words[stack_first[sample_stack[i]]];
			uint32		n_labels;

			if (words[0] > hdr.n_stack - stack_pos)
				Corrupted("Its samples have more frames than its header counts.");
			samples[i].first_location = stack_pos;
			samples[i].depth = words[0];
			memcpy(&stack[stack_pos], &words[1], sizeof(uint32) * words[0]);
			stack_pos += words[0];
			n_labels = GetIndex(&r, hdr.n_labels - label_pos + 1, "label count");
			samples[i].first_label = label_pos;
			samples[i].n_labels = n_labels;
			for (k = 0; k < n_labels; k++)
			{
				labels[label_pos].key = GetIndex(&r, hdr.n_strings, "string");
				labels[label_pos].str = GetIndex(&r, hdr.n_strings, "string");
				label_pos++;
			}
			if ((i & 0x3ff) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (stack_pos != hdr.n_stack || label_pos != hdr.n_labels)
			Corrupted("Its samples do not have the frames and labels its header counts.");
	}
	if (r.p != r.end)
		Corrupted("It has bytes after its last label.");
	pfree(stack_first);
	pfree(stack_words);
	pfree(sample_stack);
	return result;
}
