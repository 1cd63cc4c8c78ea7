/*-------------------------------------------------------------------------
 *
 * pprof_pgo_compact.c
 *	  The stored form of a pgo projection: narrow columns, stacks given once.
 *
 * A projection (pprof_pgo_projection.c) is built as a layout (projection
 * version 1: fixed-width records, the form every reader of a pprof value
 * understands). What pgo.profiles stores, and pprof_pgo_projection()
 * returns, is this compact form of it (projection version 2): the same
 * content, every number in a column of the narrowest width that holds
 * them all, and each distinct projected stack written once, the samples
 * naming it by index. It is about a third of the layout's bytes, small
 * enough to store without TOAST compression, and pgo_merge reads it
 * without building its samples, looking a row's sample keys up once per
 * distinct stack instead of once per sample (pprof_merge_pgo.c;
 * BENCHMARKS.md, "Merge path"). Version 3 adds each stack's content hash
 * (PprofStackHash), which pgo_merge looks up before building any key
 * (pprof_merge_pgo_stacks.c); version-2 values, which rows stored by
 * earlier builds hold, are read as before.
 *
 * Expanding it gives back the version-1 layout byte for byte (ids,
 * addresses and order included), so every other function reads a compact
 * projection through PprofOpen() as it read the layout, and rows stored by
 * earlier builds (version 1) merge to the same bytes.
 *
 * Format: a PprofPgoCompact header (counts), then first what pgo_merge
 * reads, as columns (a width byte, 1, 2, 4 or 8, then that many bytes per
 * value, little-endian; signed values zigzag-encoded: a load per value to
 * read, where varints cost a branch per byte):
 *	sample types	n_sample_types * (type, unit), as varints
 *	strings			lengths (n_strings), then their bytes back to back
 *	functions		name, start_line (n_functions each)
 *	locations		address - previous address, n_lines (n_locations each)
 *	lines			function, line (n_lines each)
 *	stacks			depth (n_stacks), locations (n_stack_locations), then
 *					the stacks whose synthetic addresses (pprof_merge_pgo.c)
 *					are not 0, 1, 2...: their indexes (n_odd_stacks), and
 *					their synthetic addresses (their depths' sum); version 3
 *					only: their content hashes (n_stacks)
 *	samples			stack, then each sample type's values (n_samples each)
 * then, in the last extra_bytes, what only the expansion needs, as varints:
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
#include "port/pg_bswap.h"
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
	uint32		n_stack_locations;	/* over the distinct stacks */
	uint32		n_odd_stacks;	/* stacks where two frames share an address */
	uint32		n_stack;		/* frames over all samples, as the layout's */
	uint32		n_samples;
	uint32		n_labels;
	uint32		extra_bytes;	/* the ids and labels, at the end */
} PprofPgoCompact;

#define COMPACT_BODY_OFFSET MAXALIGN(sizeof(PprofPgoCompact))

/* columns are little-endian */
#ifdef WORDS_BIGENDIAN
#define LE16(x) pg_bswap16(x)
#define LE32(x) pg_bswap32(x)
#define LE64(x) pg_bswap64(x)
#else
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#endif

/* Reading a compact body, bounded by its end. */
typedef struct Reader
{
	const uint8 *p;
	const uint8 *end;
} Reader;

static void PutVarint(StringInfo buf, uint64 v);
static void PutColumn(StringInfo buf, const uint64 *values, uint32 n);
static inline uint64 Zigzag(int64 v);
static inline int64 Unzigzag(uint64 v);
static uint64 GetVarint(Reader *r);
static uint32 GetIndex(Reader *r, uint32 n, const char *what);
static int	ColumnStart(Reader *r, uint32 n, const uint8 **values);
static uint64 ColumnValue(const uint8 *p, int width, uint32 i);
static void GetColumn(Reader *r, uint32 n, uint64 *out);
static void GetIndexColumn(Reader *r, uint32 n, uint32 bound, const char *what,
						   uint32 *out);
static void GetIndexColumnTo(Reader *r, uint32 n, uint32 bound, const char *what,
							 void *out, Size stride);
static void GetSignedColumnTo(Reader *r, uint32 n, void *out, Size stride);
static void GetStackLocations(Reader *r, uint32 n_stacks, const uint32 *depth, uint32 n,
							  uint32 bound, uint32 frames, uint32 *locations, uint32 *slot);
pg_noreturn static void Corrupted(const char *detail);
static Pprof *Decode(const Pprof *c, PprofCompactSamples *cs);
static inline uint64 HashMix(uint64 h, uint64 w);
static uint64 HashName(const char *name, uint32 len, int64 start_line);
static uint32 StackHash(const PprofView *v, const uint64 *function_hash,
						const uint32 *locations, const uint64 *synth, uint32 depth);

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

/* n values as a column of the narrowest width that holds them all. */
static void
PutColumn(StringInfo buf, const uint64 *values, uint32 n)
{
	uint64		all = 0;
	int			width;
	uint32		i;
	uint8	   *out;

	for (i = 0; i < n; i++)
		all |= values[i];
	width = all <= PG_UINT8_MAX ? 1 : all <= PG_UINT16_MAX ? 2 : all <= PG_UINT32_MAX ? 4 : 8;
	appendStringInfoChar(buf, (char) width);
	enlargeStringInfo(buf, (Size) n * width);
	out = (uint8 *) buf->data + buf->len;
	for (i = 0; i < n; i++)
	{
		int			b;

		for (b = 0; b < width; b++)
			*out++ = (uint8) (values[i] >> (8 * b));
	}
	buf->len += n * width;
	buf->data[buf->len] = '\0';
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
GetVarint(Reader *r)
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

/* A varint index below n. */
static uint32
GetIndex(Reader *r, uint32 n, const char *what)
{
	uint64		v = GetVarint(r);

	if (v >= n)
		Corrupted(psprintf("A %s index %llu is out of range (%u).", what,
						   (unsigned long long) v, n));
	return (uint32) v;
}

/* Check a column's width byte and length; its values start at *values. */
static int
ColumnStart(Reader *r, uint32 n, const uint8 **values)
{
	int			width;

	if (r->p >= r->end)
		Corrupted("A column runs past the end of the value.");
	width = *r->p++;
	if ((width != 1 && width != 2 && width != 4 && width != 8) ||
		(Size) (r->end - r->p) / width < n)
		Corrupted("A column has a bad width or runs past the end of the value.");
	*values = r->p;
	r->p += (Size) n * width;
	return width;
}

/* Value i of a column of width bytes per value, little-endian. */
static pg_attribute_always_inline uint64
ColumnValue(const uint8 *p, int width, uint32 i)
{
	switch (width)
	{
		case 1:
			return p[i];
		case 2:
			{
				uint16		x;

				memcpy(&x, p + 2 * (Size) i, 2);
				return LE16(x);
			}
		case 4:
			{
				uint32		x;

				memcpy(&x, p + 4 * (Size) i, 4);
				return LE32(x);
			}
		default:
			{
				uint64		x;

				memcpy(&x, p + 8 * (Size) i, 8);
				return LE64(x);
			}
	}
}

/*
 * The loops over a column's values, inlined once per width so that each
 * reads its values with one load.
 */
static pg_attribute_always_inline void
ValuesLoop(const uint8 *p, int width, uint32 n, uint64 *out)
{
	uint32		i;

	for (i = 0; i < n; i++)
		out[i] = ColumnValue(p, width, i);
}

/*
 * Indexes (and below, signed values) are stored straight into the field
 * they fill, stride bytes apart: one pass, no copy through a scratch array.
 */
static pg_attribute_always_inline bool
IndexesLoop(const uint8 *p, int width, uint32 n, uint32 bound, char *out, Size stride)
{
	bool		bad = false;
	uint32		i;

	for (i = 0; i < n; i++)
	{
		uint64		x = ColumnValue(p, width, i);

		bad |= x >= bound;
		*(uint32 *) (out + i * stride) = (uint32) x;
	}
	return bad;
}

static pg_attribute_always_inline void
SignedLoop(const uint8 *p, int width, uint32 n, char *out, Size stride)
{
	uint32		i;

	for (i = 0; i < n; i++)
		*(int64 *) (out + i * stride) = Unzigzag(ColumnValue(p, width, i));
}

/*
 * The stacks' locations, and each frame's slot: location * frames + its
 * depth (the synthetic address of all but the odd stacks, which the
 * caller corrects)
 */
static pg_attribute_always_inline bool
StackLoop(const uint8 *p, int width, uint32 n_stacks, const uint32 *depth, uint32 bound,
		  uint32 frames, uint32 *locations, uint32 *slot)
{
	bool		bad = false;
	uint32		pos = 0;
	uint32		i;

	for (i = 0; i < n_stacks; i++)
	{
		uint32		k;

		for (k = 0; k < depth[i]; k++, pos++)
		{
			uint64		x = ColumnValue(p, width, pos);

			bad |= x >= bound;
			locations[pos] = (uint32) x;
			slot[pos] = (uint32) x * frames + k;
		}
	}
	return bad;
}

/* A column of n values into out (NULL: skipped). */
static void
GetColumn(Reader *r, uint32 n, uint64 *out)
{
	const uint8 *p;
	int			width = ColumnStart(r, n, &p);

	if (out == NULL)
		return;
	switch (width)
	{
		case 1:
			ValuesLoop(p, 1, n, out);
			break;
		case 2:
			ValuesLoop(p, 2, n, out);
			break;
		case 4:
			ValuesLoop(p, 4, n, out);
			break;
		default:
			ValuesLoop(p, 8, n, out);
			break;
	}
}

/* A column of n indexes below bound into out. */
static void
GetIndexColumn(Reader *r, uint32 n, uint32 bound, const char *what, uint32 *out)
{
	GetIndexColumnTo(r, n, bound, what, out, sizeof(uint32));
}

/* ... into the uint32 fields at out, stride bytes apart. */
static void
GetIndexColumnTo(Reader *r, uint32 n, uint32 bound, const char *what, void *out, Size stride)
{
	const uint8 *p;
	int			width = ColumnStart(r, n, &p);
	bool		bad;

	switch (width)
	{
		case 1:
			bad = IndexesLoop(p, 1, n, bound, out, stride);
			break;
		case 2:
			bad = IndexesLoop(p, 2, n, bound, out, stride);
			break;
		case 4:
			bad = IndexesLoop(p, 4, n, bound, out, stride);
			break;
		default:
			bad = IndexesLoop(p, 8, n, bound, out, stride);
			break;
	}
	if (bad)
		Corrupted(psprintf("A %s index is out of range (%u).", what, bound));
}

/* A column of n zigzag-encoded values into the int64 fields at out, stride bytes apart. */
static void
GetSignedColumnTo(Reader *r, uint32 n, void *out, Size stride)
{
	const uint8 *p;
	int			width = ColumnStart(r, n, &p);

	switch (width)
	{
		case 1:
			SignedLoop(p, 1, n, out, stride);
			break;
		case 2:
			SignedLoop(p, 2, n, out, stride);
			break;
		case 4:
			SignedLoop(p, 4, n, out, stride);
			break;
		default:
			SignedLoop(p, 8, n, out, stride);
			break;
	}
}

/*
 * The column of the n frames of n_stacks stacks of depth: locations below
 * bound into locations, and their slots (StackLoop) into slot.
 */
static void
GetStackLocations(Reader *r, uint32 n_stacks, const uint32 *depth, uint32 n, uint32 bound,
				  uint32 frames, uint32 *locations, uint32 *slot)
{
	const uint8 *p;
	int			width = ColumnStart(r, n, &p);
	bool		bad;

	switch (width)
	{
		case 1:
			bad = StackLoop(p, 1, n_stacks, depth, bound, frames, locations, slot);
			break;
		case 2:
			bad = StackLoop(p, 2, n_stacks, depth, bound, frames, locations, slot);
			break;
		case 4:
			bad = StackLoop(p, 4, n_stacks, depth, bound, frames, locations, slot);
			break;
		default:
			bad = StackLoop(p, 8, n_stacks, depth, bound, frames, locations, slot);
			break;
	}
	if (bad)
		Corrupted(psprintf("A location index is out of range (%u).", bound));
}

/* Is pprof a compact projection (to be expanded before reading it)? */
bool
PprofIsCompactProjection(const Pprof *pprof)
{
	return pprof->flags == PPROF_FLAG_PGO_PROJECTION &&
		((pprof->reserved >> 8) == PPROF_PROJECTION_COMPACT ||
		 (pprof->reserved >> 8) == PPROF_PROJECTION_HASHED);
}

/*
 * The stack hashes of version 3 are stored: what follows must never change
 * (a row hashed another way still merges to the same bytes, through its
 * content, but finds nothing by its hashes). Words are mixed by a multiply,
 * names read 8 bytes at a time little-endian, so every platform agrees.
 */
static inline uint64
HashMix(uint64 h, uint64 w)
{
	return (((h << 23) | (h >> 41)) ^ w) * UINT64CONST(0x9E3779B97F4A7C15);
}

/* The hash of a function's content: its name's bytes and its start line. */
static uint64
HashName(const char *name, uint32 len, int64 start_line)
{
	uint64		h = HashMix(UINT64CONST(0x243F6A8885A308D3), (uint64) start_line);
	uint32		i = 0;

	h = HashMix(h, len);
	for (; i + 8 <= len; i += 8)
	{
		uint64		w;

		memcpy(&w, name + i, 8);
		h = HashMix(h, LE64(w));
	}
	if (i < len)
	{
		uint64		w = 0;
		int			b;

		for (b = 0; i < len; i++, b++)
			w |= (uint64) (uint8) name[i] << (8 * b);
		h = HashMix(h, w);
	}
	return h;
}

/*
 * The content hash of a projected stack: its depth, and per frame its
 * synthetic address and its location's lines (function content, line).
 * That is exactly what pgo_merge's key of the stack is made of
 * (pprof_merge_pgo.c), so equal stacks of any rows hash alike; pgo_merge
 * checks a stack found by its hash by content all the same.
 */
static uint32
StackHash(const PprofView *v, const uint64 *function_hash, const uint32 *locations,
		  const uint64 *synth, uint32 depth)
{
	uint64		h = HashMix(UINT64CONST(0x13198A2E03707344), depth);
	uint32		k;
	uint32		j;

	for (k = 0; k < depth; k++)
	{
		const PprofLocation *l = &v->locations[locations[k]];

		h = HashMix(h, synth[k] | ((uint64) l->n_lines << 32));
		for (j = 0; j < l->n_lines; j++)
		{
			const PprofLine *line = &v->lines[l->first_line + j];

			h = HashMix(h, function_hash[line->function]);
			h = HashMix(h, (uint64) line->line);
		}
	}
	/* murmur3's fmix64 */
	h ^= h >> 33;
	h *= UINT64CONST(0xFF51AFD7ED558CCD);
	h ^= h >> 33;
	h *= UINT64CONST(0xC4CEB9FE1A85EC53);
	h ^= h >> 33;
	return (uint32) h;
}

/*
 * The compact form of the version-1 projection v (a layout flagged
 * PPROF_FLAG_PGO_PROJECTION, made by pprof_pgo_projection.c).
 */
Pprof *
PprofCompactProjection(const PprofView *v)
{
	return PprofCompactProjectionAs(v, PPROF_PROJECTION_HASHED, PG_UINT32_MAX);
}

/*
 * ... in projection version (PPROF_PROJECTION_COMPACT or _HASHED), its
 * stack hashes ANDed with hash_mask. Only fuzz/merge_fuzz.c asks for other
 * than the above: for values of version 2, as rows stored by earlier
 * builds hold, and for colliding hashes, which must merge alike.
 */
Pprof *
PprofCompactProjectionAs(const PprofView *v, int version, uint32 hash_mask)
{
	const Pprof *h = v->hdr;
	PprofPgoCompact hdr;
	PprofInterner stacks;
	StringInfoData body;
	uint32	   *sample_stack;
	uint64	   *col;
	uint64	   *odd;
	uint64	   *function_hash;
	uint64	   *hashes;
	uint64		prev_id;
	uint64		prev_addr;
	int			extra_start;
	uint32		n_types = h->n_sample_types;
	uint32		n;
	uint32		i;
	uint32		k;
	Pprof	   *result;
	Size		size;

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = PPROF_LAYOUT_VERSION;
	hdr.flags = PPROF_FLAG_PGO_PROJECTION;
	Assert(version == PPROF_PROJECTION_COMPACT || version == PPROF_PROJECTION_HASHED);
	hdr.reserved = (uint16) ((version << 8) | (h->reserved & 0xff));
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
		if (!found)
			hdr.n_stack_locations += smp->depth;
	}
	hdr.n_stacks = stacks.n;

	/* a column is at most the largest count long */
	n = Max(Max(h->n_strings, h->n_functions), Max(h->n_locations, h->n_lines));
	n = Max(n, Max(h->n_samples, hdr.n_stack_locations));
	col = palloc_extended(sizeof(uint64) * Max(n, 1), MCXT_ALLOC_HUGE);

	initStringInfo(&body);
	for (i = 0; i < n_types; i++)
	{
		PutVarint(&body, v->sample_types[i].type);
		PutVarint(&body, v->sample_types[i].unit);
	}
	for (i = 0; i < h->n_strings; i++)
		col[i] = PprofStringLength(v, i);
	PutColumn(&body, col, h->n_strings);
	for (i = 0; i < h->n_strings; i++)
		appendBinaryStringInfo(&body, PprofString(v, i), PprofStringLength(v, i));

	for (i = 0; i < h->n_functions; i++)
		col[i] = v->functions[i].name;
	PutColumn(&body, col, h->n_functions);
	for (i = 0; i < h->n_functions; i++)
		col[i] = Zigzag(v->functions[i].start_line);
	PutColumn(&body, col, h->n_functions);

	prev_addr = 0;
	for (i = 0; i < h->n_locations; i++)
	{
		col[i] = Zigzag((int64) (v->locations[i].address - prev_addr));
		prev_addr = v->locations[i].address;
	}
	PutColumn(&body, col, h->n_locations);
	for (i = 0; i < h->n_locations; i++)
		col[i] = v->locations[i].n_lines;
	PutColumn(&body, col, h->n_locations);

	/* lines location after location (as Project lays them out) */
	n = 0;
	for (i = 0; i < h->n_locations; i++)
		for (k = 0; k < v->locations[i].n_lines; k++)
			col[n++] = v->lines[v->locations[i].first_line + k].function;
	PutColumn(&body, col, n);
	n = 0;
	for (i = 0; i < h->n_locations; i++)
		for (k = 0; k < v->locations[i].n_lines; k++)
			col[n++] = Zigzag(v->lines[v->locations[i].first_line + k].line);
	PutColumn(&body, col, n);

	for (i = 0; i < stacks.n; i++)
	{
		uint32		len;

		InternerKey(&stacks, i, &len);
		col[i] = len / sizeof(uint32);
	}
	PutColumn(&body, col, stacks.n);
	n = 0;
	for (i = 0; i < stacks.n; i++)
	{
		uint32		len;
		const uint32 *locs = (const uint32 *) InternerKey(&stacks, i, &len);

		for (k = 0; k < len / sizeof(uint32); k++)
			col[n++] = locs[k];
	}
	PutColumn(&body, col, n);

	/*
	 * The synthetic addresses pgo_merge gives a stack's frames: each the
	 * depth where its address first occurs. Only the stacks where that is
	 * not the frame's own depth are written, so the merge reads no address.
	 * Each stack's content hash, which needs them, is made on the way.
	 */
	function_hash = palloc_extended(sizeof(uint64) * Max(h->n_functions, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < h->n_functions; i++)
		function_hash[i] = HashName(PprofString(v, v->functions[i].name),
									PprofStringLength(v, v->functions[i].name),
									v->functions[i].start_line);
	hashes = palloc_extended(sizeof(uint64) * Max(stacks.n, 1), MCXT_ALLOC_HUGE);
	odd = palloc_extended(sizeof(uint64) * Max(hdr.n_stack_locations, 1), MCXT_ALLOC_HUGE);
	n = 0;
	for (i = 0; i < stacks.n; i++)
	{
		uint32		len;
		const uint32 *locs = (const uint32 *) InternerKey(&stacks, i, &len);
		uint32		depth = len / sizeof(uint32);
		uint32		d;
		bool		same = true;

		for (d = 0; d < depth; d++)
		{
			uint32		j;

			col[n + d] = d;
			for (j = 0; j < d; j++)
			{
				if (v->locations[locs[j]].address == v->locations[locs[d]].address)
				{
					col[n + d] = j;
					same = false;
					break;
				}
			}
		}
		hashes[i] = StackHash(v, function_hash, locs, &col[n], depth) & hash_mask;
		if (!same)
		{
			odd[hdr.n_odd_stacks++] = i;
			n += depth;
		}
	}
	PutColumn(&body, odd, hdr.n_odd_stacks);
	PutColumn(&body, col, n);
	if (version == PPROF_PROJECTION_HASHED)
		PutColumn(&body, hashes, stacks.n);
	pfree(odd);
	pfree(hashes);
	pfree(function_hash);

	for (i = 0; i < h->n_samples; i++)
		col[i] = sample_stack[i];
	PutColumn(&body, col, h->n_samples);
	for (k = 0; k < n_types; k++)
	{
		for (i = 0; i < h->n_samples; i++)
			col[i] = Zigzag(v->values[(Size) i * n_types + k]);
		PutColumn(&body, col, h->n_samples);
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
		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
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
	pfree(col);
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
	PprofSampleWriter w;
	Pprof	   *result;
	Reader		r;
	Size		body_len;
	uint64	   *col;
	uint32	   *idx;
	uint32	   *stack_depth;
	uint32	   *stack_first;
	uint32	   *stack_locations;
	uint32	   *stack_slot = NULL;
	uint32	   *stack_hash = NULL;
	uint32	   *sample_stack;
	int64	   *values;
	uint64		prev_id;
	uint64		prev_addr;
	uint32		n_types;
	uint32		frames = c->reserved & 0xff;
	uint32		n;
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
		hdr.n_stack_locations > body_len || hdr.n_odd_stacks > body_len ||
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
		 * written below (zeroing it was a sixth of a merge's instructions)
		 */
		PprofComputeSections(&lh, &sections);
		if (sections.total > MaxAllocSize)
			Corrupted("Its header's counts do not fit its size.");
		result = palloc(sections.total);
		memcpy(result, &lh, sizeof(lh));
		SET_VARSIZE(result, sections.total);
		PprofOpen(result, &v);
	}

	/* scratch for a column: at most the largest count long */
	n = Max(Max(hdr.n_strings, hdr.n_functions), Max(hdr.n_locations, hdr.n_lines));
	n = Max(n, Max(hdr.n_samples, hdr.n_stack_locations));
	n = Max(n, hdr.n_stacks);
	col = palloc_extended(sizeof(uint64) * Max(n, 1), MCXT_ALLOC_HUGE);
	idx = palloc_extended(sizeof(uint32) * Max(n, 1), MCXT_ALLOC_HUGE);

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
		uint64		total = 0;

		GetColumn(&r, hdr.n_strings, col);
		for (i = 0; i < hdr.n_strings; i++)
		{
			offsets[i] = (uint32) total;
			total += col[i] + 1;
			if (total > hdr.str_bytes)
				Corrupted("Its strings do not fit their size.");
		}
		offsets[hdr.n_strings] = (uint32) total;
		if (total != hdr.str_bytes || (Size) (r.end - r.p) < total - hdr.n_strings)
			Corrupted("Its strings do not fit their size.");
		for (i = 0; i < hdr.n_strings; i++)
		{
			uint32		len = offsets[i + 1] - offsets[i] - 1;

			memcpy(data + offsets[i], r.p, len);
			data[offsets[i] + len] = '\0';
			r.p += len;
		}
	}

	/*
	 * The columns go straight into the layout's fields. pgo_merge reads of
	 * a function its name and start line; of a location its lines: no
	 * address (the stacks give its synthetic ones), id or mapping; of a
	 * line no column. An expanded layout was zeroed (PprofLayoutAlloc) and
	 * gets the rest below.
	 */
	GetIndexColumnTo(&r, hdr.n_functions, hdr.n_strings, "string",
					 unconstify(uint32 *, &v.functions->name), sizeof(PprofFunction));
	GetSignedColumnTo(&r, hdr.n_functions, unconstify(int64 *, &v.functions->start_line),
					  sizeof(PprofFunction));

	GetColumn(&r, hdr.n_locations, cs ? NULL : col);
	GetIndexColumnTo(&r, hdr.n_locations, hdr.n_lines + 1, "line count",
					 unconstify(uint32 *, &v.locations->n_lines), sizeof(PprofLocation));
	pos = 0;
	for (i = 0; i < hdr.n_locations; i++)
	{
		PprofLocation *l = unconstify(PprofLocation *, &v.locations[i]);

		l->first_line = pos;
		if (l->n_lines > hdr.n_lines - pos)
			Corrupted("Its locations have more lines than its header counts.");
		pos += l->n_lines;
	}
	if (pos != hdr.n_lines)
		Corrupted("Its locations do not have the lines its header counts.");
	if (cs == NULL)
	{
		prev_addr = 0;
		for (i = 0; i < hdr.n_locations; i++)
		{
			PprofLocation *l = unconstify(PprofLocation *, &v.locations[i]);

			l->address = prev_addr + (uint64) Unzigzag(col[i]);
			prev_addr = l->address;
			l->mapping = PPROF_NO_MAPPING;
		}
	}

	GetIndexColumnTo(&r, hdr.n_lines, hdr.n_functions, "function",
					 unconstify(uint32 *, &v.lines->function), sizeof(PprofLine));
	GetSignedColumnTo(&r, hdr.n_lines, unconstify(int64 *, &v.lines->line), sizeof(PprofLine));

	/* stacks: depths, then their locations back to back */
	stack_depth = palloc_extended(sizeof(uint32) * Max(hdr.n_stacks, 1), MCXT_ALLOC_HUGE);
	stack_first = palloc_extended(sizeof(uint32) * Max(hdr.n_stacks, 1), MCXT_ALLOC_HUGE);
	stack_locations = palloc_extended(sizeof(uint32) * Max(hdr.n_stack_locations, 1),
									  MCXT_ALLOC_HUGE);
	GetIndexColumn(&r, hdr.n_stacks, frames + 1, "stack depth", stack_depth);
	pos = 0;
	for (i = 0; i < hdr.n_stacks; i++)
	{
		stack_first[i] = pos;
		if (stack_depth[i] > hdr.n_stack_locations - pos)
			Corrupted("Its stacks have more locations than its header counts.");
		pos += stack_depth[i];
	}
	if (pos != hdr.n_stack_locations)
		Corrupted("Its stacks do not have the locations its header counts.");

	/*
	 * pgo_merge maps a frame by its location and synthetic address (0, 1,
	 * 2... but for the odd stacks listed): its slot, location * frames +
	 * synthetic address, an index of the merge's map of the row
	 */
	if ((uint64) hdr.n_locations * frames > PG_UINT32_MAX)
		Corrupted("Its header's counts do not fit its size.");
	stack_slot = palloc_extended(sizeof(uint32) * Max(hdr.n_stack_locations, 1),
								 MCXT_ALLOC_HUGE);
	GetStackLocations(&r, hdr.n_stacks, stack_depth, hdr.n_stack_locations, hdr.n_locations,
					  frames, stack_locations, stack_slot);
	if (hdr.n_odd_stacks > hdr.n_stacks)
		Corrupted("Its header's counts do not fit its size.");
	GetIndexColumn(&r, hdr.n_odd_stacks, hdr.n_stacks, "stack", idx);
	n = 0;
	for (i = 0; i < hdr.n_odd_stacks; i++)
	{
		if (i > 0 && idx[i] <= idx[i - 1])
			Corrupted("Its odd stacks are not in order.");
		n += stack_depth[idx[i]];
	}
	GetColumn(&r, n, col);
	pos = 0;
	for (i = 0; i < hdr.n_odd_stacks; i++)
	{
		for (k = 0; k < stack_depth[idx[i]]; k++)
		{
			/* the depth where the frame's address first occurs */
			if (col[pos] > k)
				Corrupted("A synthetic address is deeper than its frame.");
			stack_slot[stack_first[idx[i]] + k] -= k - (uint32) col[pos];
			pos++;
		}
	}

	/* version 3: the stacks' hashes (a hint: pgo_merge checks what it finds) */
	if ((c->reserved >> 8) == PPROF_PROJECTION_HASHED)
	{
		if (cs)
		{
			stack_hash = palloc_extended(sizeof(uint32) * Max(hdr.n_stacks, 1), MCXT_ALLOC_HUGE);
			GetColumn(&r, hdr.n_stacks, col);
			for (i = 0; i < hdr.n_stacks; i++)
				stack_hash[i] = (uint32) col[i];
		}
		else
			GetColumn(&r, hdr.n_stacks, NULL);
	}

	/* samples: their stacks and values */
	sample_stack = palloc_extended(sizeof(uint32) * Max(hdr.n_samples, 1), MCXT_ALLOC_HUGE);
	GetIndexColumn(&r, hdr.n_samples, hdr.n_stacks, "stack", sample_stack);
	if (cs)
		values = palloc_extended(sizeof(int64) * Max((Size) hdr.n_samples * n_types, 1),
								 MCXT_ALLOC_HUGE);
	else
		values = unconstify(int64 *, v.values);
	for (k = 0; k < n_types; k++)
		GetSignedColumnTo(&r, hdr.n_samples, &values[k], sizeof(int64) * n_types);
	if (r.p != r.end)
		Corrupted("Its samples do not end where its extra bytes begin.");
	pfree(col);
	pfree(idx);

	if (cs)
	{
		/* the ids and labels are for the expansion only */
		cs->n_samples = hdr.n_samples;
		cs->n_types = n_types;
		cs->n_stacks = hdr.n_stacks;
		cs->values = values;
		cs->sample_stack = sample_stack;
		cs->stack_depth = stack_depth;
		cs->stack_first = stack_first;
		cs->stack_locations = stack_locations;
		cs->stack_slot = stack_slot;
		cs->stack_hash = stack_hash;
		cs->frames = frames;
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

	/*
	 * the samples' frames (their stacks') and labels; the label count is
	 * bounded by the labels left, so the writer refuses only frames
	 */
	PprofSampleWriterInit(&w, &v);
	for (i = 0; i < hdr.n_samples; i++)
	{
		uint32		st = sample_stack[i];
		uint32		n_labels = GetIndex(&r, hdr.n_labels - w.label_pos + 1, "label count");
		PprofSample *o = PprofWriteSample(&w, stack_depth[st], n_labels);
		PprofLabel *labels;

		if (o == NULL)
			Corrupted("Its samples have more frames than its header counts.");
		memcpy(&w.stack[o->first_location], &stack_locations[stack_first[st]],
			   sizeof(uint32) * o->depth);
		labels = &w.labels[o->first_label];
		for (k = 0; k < n_labels; k++)
		{
			labels[k].key = GetIndex(&r, hdr.n_strings, "string");
			labels[k].str = GetIndex(&r, hdr.n_strings, "string");
		}
		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (w.stack_pos != hdr.n_stack || w.label_pos != hdr.n_labels)
		Corrupted("Its samples do not have the frames and labels its header counts.");
	if (r.p != r.end)
		Corrupted("It has bytes after its last label.");
	pfree(stack_depth);
	pfree(stack_first);
	pfree(stack_locations);
	pfree(stack_slot);
	pfree(sample_stack);
	return result;
}
