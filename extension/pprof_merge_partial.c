/*-------------------------------------------------------------------------
 *
 * pprof_merge_partial.c
 *	  A merge state's partial form: serialized, and added to another state.
 *
 * Parallel plans send each worker's state to the leader as bytes, which
 * the leader adds to its state (MergeStateSerialize,
 * MergeStateAddSerialized); combining two states in one process is the
 * same (MergeStateAddState). The bytes are the state's interned tables as
 * they are, in intern order: a header, the strings, then the comments,
 * functions, mappings, locations and samples as their keys, whose words
 * refer to earlier tables by the partial's indexes, then the samples'
 * values. Writing them is copying. Adding them maps the partial's indexes
 * to the receiving state's, table by table: each key, its references
 * mapped, is interned once, and is the key an input of that content would
 * have made there (keys are contents, pprof_merge_state.h), so a state
 * that took partials holds what one that took their inputs would.
 *
 * No order is written or read: the output sorts everything by content
 * (pprof_merge_output.c), so the intern order of a state never shows, and
 * every plan gives the same bytes. (A sample key's labels are sorted by
 * string id; mapped, they are sorted again.) The earlier partial form was
 * a canonical layout, sorted and then added as a profile: in a parallel
 * plan the leader's combining took longer than the workers' merging
 * (BENCHMARKS.md, "Partial states: serialize and combine").
 *
 * The bytes never leave the server, but they cross processes: every
 * count, length and reference is checked before it is used, and a bad
 * one is an error, never a read out of bounds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof_merge_state.h"

/* "PMS1": what the bytes are, and which form of them */
#define PARTIAL_MAGIC			0x31534d50

/* PartialHeader.flags */
#define PARTIAL_PERIOD_TYPE		0x01	/* period_type is set */
#define PARTIAL_MAIN_SAMPLES	0x02	/* main_has_samples */
#define PARTIAL_PGO_NANOSECONDS 0x04	/* pgo_nanoseconds */

/* words of a mapping: its key (5), start, limit, offset (2 each), strings, flags */
#define MAPPING_WORDS			14

/*
 * The header: the state's scalar fields, its pprof_merge sample types
 * (state order), and the size of each table. String fields are the
 * partial's string indexes. Zeroed before it is filled: its padding is
 * sent too.
 */
typedef struct PartialHeader
{
	uint32		magic;
	uint32		mode;
	uint32		n_inputs;
	int32		pgo_frames;
	uint32		flags;
	uint32		period_type[2];
	uint32		default_sample_type;
	uint32		drop_frames;
	uint32		keep_frames;
	uint32		main_mapping;	/* NO_INDEX: none */
	uint32		n_sample_types;
	uint32		n_strings;
	uint32		n_comments;
	uint32		n_functions;
	uint32		n_mappings;
	uint32		n_locations;
	uint32		n_samples;		/* written: those with a non-zero value */
	uint64		str_bytes;
	uint64		location_words; /* a length word and the key, each */
	uint64		sample_words;	/* the same */
	int64		time_nanos;
	int64		duration_nanos;
	int64		period;
	uint32		sample_types[2 * PPROF_MAX_SAMPLE_TYPES];
	uint32		type_inputs[PPROF_MAX_SAMPLE_TYPES];
	uint64		type_before[PPROF_MAX_SAMPLE_TYPES];
} PartialHeader;

/* Sections start 8-byte aligned, relative to the start of the bytes. */
#define SECTION(bytes)			TYPEALIGN(8, (Size) (bytes))

/* Bytes being read: each Take checks the bytes are there. */
typedef struct Reader
{
	const char *p;
	const char *start;
	const char *end;
} Reader;

/*
 * The partial being added: its header, and the receiving state's index of
 * each of its strings, functions, mappings and locations.
 */
typedef struct Adding
{
	MergeState *s;
	const PartialHeader *h;
	uint32	   *strings;
	uint32	   *functions;
	uint32	   *mappings;
	uint32	   *locations;
	uint32	   *key;			/* a key being mapped */
	Size		key_cap;		/* words */
} Adding;

static bool SampleHasValue(const MergeState *s, uint32 index);
static char *WriteKeys(char *p, const PprofInterner *it, const MergeState *valued);
static char *EndSection(const char *start, char *p);
pg_noreturn static void Malformed(const char *what);
static const void *Take(Reader *r, Size bytes);
static void SkipPadding(Reader *r);
static uint32 Ref(uint32 index, uint32 n, const char *what);
static void CheckKeyCount(const Reader *r, uint32 n);
static uint32 *KeyBuffer(Adding *a, Size words);
static const uint32 *TakeKey(Reader *r, uint32 *len);
static void AddHeader(Adding *a, uint32 *columns);
static void AddStrings(Adding *a, Reader *r);
static void AddComments(Adding *a, Reader *r);
static void AddFunctions(Adding *a, Reader *r);
static void AddMappings(Adding *a, Reader *r);
static void AddLocations(Adding *a, Reader *r);
static void AddSamples(Adding *a, Reader *r, const uint32 *columns);

/*
 * A partial state as bytes; no bytes at all for a state no input
 * contributed to (a worker that saw only rows pgo_merge skips), so that it
 * stays empty, and the result NULL, under every plan.
 */
bytea *
MergeStateSerialize(const MergeState *s)
{
	PartialHeader h;
	Size		size;
	Size		sample_words = 0;
	uint32		n_samples = 0;
	bytea	   *result;
	char	   *start;
	char	   *p;
	uint32		i;

	/* a deserialized state not added yet: its bytes (it has no others) */
	if (s->pending)
	{
		result = palloc(VARHDRSZ + s->pending_len);
		SET_VARSIZE(result, VARHDRSZ + s->pending_len);
		memcpy(VARDATA(result), s->pending, s->pending_len);
		return result;
	}
	if (s->n_inputs == 0)
	{
		result = palloc(VARHDRSZ);
		SET_VARSIZE(result, VARHDRSZ);
		return result;
	}

	memset(&h, 0, sizeof(h));
	h.magic = PARTIAL_MAGIC;
	h.mode = s->mode;
	h.n_inputs = s->n_inputs;
	h.pgo_frames = s->pgo_frames;
	h.flags = (s->have_period_type ? PARTIAL_PERIOD_TYPE : 0) |
		(s->main_has_samples ? PARTIAL_MAIN_SAMPLES : 0) |
		(s->pgo_nanoseconds ? PARTIAL_PGO_NANOSECONDS : 0);
	h.period_type[0] = s->period_type[0];
	h.period_type[1] = s->period_type[1];
	h.default_sample_type = s->default_sample_type;
	h.drop_frames = s->drop_frames;
	h.keep_frames = s->keep_frames;
	h.main_mapping = s->main_mapping;
	h.n_sample_types = s->n_sample_types;
	h.n_strings = s->strings.n;
	h.n_comments = s->comments.n;
	h.n_functions = s->functions.n;
	h.n_mappings = s->mappings.n;
	h.n_locations = s->locations.n;
	h.time_nanos = s->time_nanos;
	h.duration_nanos = s->duration_nanos;
	h.period = s->period;
	memcpy(h.sample_types, s->sample_types, sizeof(uint32) * 2 * s->n_sample_types);
	memcpy(h.type_inputs, s->type_inputs, sizeof(uint32) * s->n_sample_types);
	memcpy(h.type_before, s->type_before, sizeof(uint64) * s->n_sample_types);

	for (i = 0; i < s->strings.n; i++)
		h.str_bytes += s->strings.entries[i].length;
	h.location_words = s->locations.n;
	for (i = 0; i < s->locations.n; i++)
		h.location_words += s->locations.entries[i].length / sizeof(uint32);
	for (i = 0; i < s->samples.n; i++)
	{
		if (!SampleHasValue(s, i))
			continue;
		n_samples++;
		sample_words += 1 + s->samples.entries[i].length / sizeof(uint32);
	}
	h.n_samples = n_samples;
	h.sample_words = sample_words;

	size = SECTION(sizeof(h)) +
		SECTION(sizeof(uint32) * (Size) h.n_strings + h.str_bytes) +
		SECTION(sizeof(uint32) * (Size) h.n_comments) +
		SECTION(sizeof(uint32) * 5 * (Size) h.n_functions) +
		SECTION(sizeof(uint32) * MAPPING_WORDS * (Size) h.n_mappings) +
		SECTION(sizeof(uint32) * h.location_words) +
		SECTION(sizeof(uint32) * h.sample_words) +
		sizeof(int64) * (Size) n_samples * s->n_value_slots;
	if (size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pprof merge state is too large to combine"),
				 errdetail("Its partial form takes %zu bytes; at most %zu can be sent.",
						   size, (Size) (MaxAllocSize - VARHDRSZ)),
				 errhint("Merge fewer rows per query, or with no parallel workers (max_parallel_workers_per_gather = 0).")));

	result = palloc(VARHDRSZ + size);
	SET_VARSIZE(result, VARHDRSZ + size);
	start = p = VARDATA(result);
	memcpy(p, &h, sizeof(h));
	p = EndSection(start, p + sizeof(h));

	/* strings: their lengths, then their bytes */
	for (i = 0; i < s->strings.n; i++)
	{
		uint32		len = s->strings.entries[i].length;

		memcpy(p, &len, sizeof(len));
		p += sizeof(len);
	}
	for (i = 0; i < s->strings.n; i++)
	{
		uint32		len;
		const char *str = InternerKey(&s->strings, i, &len);

		memcpy(p, str, len);
		p += len;
	}
	p = EndSection(start, p);

	/* comments and functions: keys of fixed length */
	for (i = 0; i < s->comments.n; i++)
	{
		memcpy(p, KeyWords(&s->comments, i), sizeof(uint32));
		p += sizeof(uint32);
	}
	p = EndSection(start, p);
	for (i = 0; i < s->functions.n; i++)
	{
		memcpy(p, KeyWords(&s->functions, i), sizeof(uint32) * 5);
		p += sizeof(uint32) * 5;
	}
	p = EndSection(start, p);

	/* mappings: key and content */
	for (i = 0; i < s->mappings.n; i++)
	{
		const MappingData *d = &s->mapping_data[i];
		uint32		w[MAPPING_WORDS];

		memcpy(w, KeyWords(&s->mappings, i), sizeof(uint32) * 5);
		PutWord64(&w[5], d->start);
		PutWord64(&w[7], d->limit);
		PutWord64(&w[9], d->offset);
		w[11] = d->filename;
		w[12] = d->build_id;
		w[13] = d->flags;
		memcpy(p, w, sizeof(w));
		p += sizeof(w);
	}
	p = EndSection(start, p);

	p = WriteKeys(p, &s->locations, NULL);
	p = EndSection(start, p);
	p = WriteKeys(p, &s->samples, s);
	p = EndSection(start, p);

	/* the samples' values, in the order of their keys */
	for (i = 0; i < s->samples.n; i++)
	{
		if (!SampleHasValue(s, i))
			continue;
		memcpy(p, &s->values[(Size) i * s->n_value_slots], sizeof(int64) * s->n_value_slots);
		p += sizeof(int64) * s->n_value_slots;
	}
	Assert(p == start + size);
	return result;
}

/*
 * Whether state sample index has a non-zero value: the others add nothing
 * (pprof drops samples whose values are all zero; the output writes only
 * samples with a value).
 */
static bool
SampleHasValue(const MergeState *s, uint32 index)
{
	const int64 *v = &s->values[(Size) index * s->n_value_slots];
	uint32		k;

	for (k = 0; k < s->n_value_slots; k++)
		if (v[k] != 0)
			return true;
	return false;
}

/*
 * Past the padding that ends a section written up to p (zeroed: it is
 * sent too).
 */
static char *
EndSection(const char *start, char *p)
{
	Size		pad = SECTION(p - start) - (p - start);

	memset(p, 0, pad);
	return p + pad;
}

/*
 * Every key of interner it (uint32 words): its length in words, its words;
 * with valued, of the samples of state valued only those with a value.
 */
static char *
WriteKeys(char *p, const PprofInterner *it, const MergeState *valued)
{
	uint32		i;

	for (i = 0; i < it->n; i++)
	{
		uint32		len;
		const char *key;
		uint32		words;

		if (valued && !SampleHasValue(valued, i))
			continue;
		key = InternerKey(it, i, &len);
		words = len / sizeof(uint32);
		memcpy(p, &words, sizeof(words));
		memcpy(p + sizeof(words), key, len);
		p += sizeof(words) + len;
	}
	return p;
}

/*
 * A partial state deserialized (data, len bytes) into a new state in cxt,
 * which keeps the bytes and adds them only when it is combined: into
 * another state directly (MergeStateAddState), or when it becomes the
 * state of the merge, to itself (MergeStateResolve; adding anything to it
 * does that first, serializing it gives the bytes back). A deserialized
 * state is thus interned once, not once into a new state and again into
 * the state it is combined with.
 */
MergeState *
MergeStateDeserialize(MergeMode mode, MemoryContext cxt, const char *data, Size len)
{
	MergeState *s = MergeStateCreate(mode, cxt);

	if (len > 0)
	{
		s->pending = MemoryContextAllocHuge(cxt, len);
		memcpy(s->pending, data, len);
		s->pending_len = len;
	}
	return s;
}

/* Add the bytes a deserialized state still holds (MergeStateDeserialize). */
void
MergeStateResolve(MergeState *s)
{
	char	   *pending = s->pending;

	if (pending == NULL)
		return;
	s->pending = NULL;
	MergeStateAddSerialized(s, pending, s->pending_len);
	pfree(pending);
}

/* Combine: add other to s (other is unchanged). */
void
MergeStateAddState(MergeState *s, const MergeState *other)
{
	bytea	   *b;

	MergeStateResolve(s);
	if (other->pending)
	{
		MergeStateAddSerialized(s, other->pending, other->pending_len);
		return;
	}
	if (other->n_inputs == 0)
		return;
	b = MergeStateSerialize(other);
	MergeStateAddSerialized(s, VARDATA(b), VARSIZE(b) - VARHDRSZ);
	pfree(b);
}

/*
 * Add the partial state serialized in data (len bytes, any alignment), in
 * the order its tables refer to each other.
 */
void
MergeStateAddSerialized(MergeState *s, const char *data, Size len)
{
	MemoryContext tmp,
				old;
	Reader		r;
	Adding		a;
	PartialHeader h;
	uint32		columns[PPROF_MAX_SAMPLE_TYPES];

	if (len == 0)
		return;
	/* a state holds bytes not added yet only while it has no others */
	MergeStateResolve(s);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof merge partial",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);

	/* words are read in place: a copy when they would not be aligned */
	if ((uintptr_t) data % sizeof(uint32) != 0)
	{
		char	   *copy = MemoryContextAllocHuge(tmp, len);

		memcpy(copy, data, len);
		data = copy;
	}
	r.p = r.start = data;
	r.end = data + len;
	memcpy(&h, Take(&r, sizeof(h)), sizeof(h));
	SkipPadding(&r);
	if (h.magic != PARTIAL_MAGIC || h.mode != (uint32) s->mode || h.n_inputs == 0)
		Malformed("not a partial state of this aggregate");
	if (s->mode == MERGE_PGO && h.pgo_frames != s->pgo_frames)
		Malformed("pprof.pgo_frames differs");
	if (h.n_sample_types > (s->mode == MERGE_PGO ? 0 : PPROF_MAX_SAMPLE_TYPES))
		Malformed("sample types");

	memset(&a, 0, sizeof(a));
	a.s = s;
	a.h = &h;
	AddStrings(&a, &r);
	AddHeader(&a, columns);
	AddComments(&a, &r);
	AddFunctions(&a, &r);
	AddMappings(&a, &r);
	AddLocations(&a, &r);
	AddSamples(&a, &r, columns);
	if (r.p != r.end)
		Malformed("trailing bytes");
	s->n_inputs += h.n_inputs;

	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
}

pg_noreturn static void
Malformed(const char *what)
{
	elog(ERROR, "malformed partial pprof merge state: %s", what);
}

/* The next bytes of r, which must be there. */
static const void *
Take(Reader *r, Size bytes)
{
	const char *p = r->p;

	if (bytes > (Size) (r->end - r->p))
		Malformed("truncated");
	r->p += bytes;
	return p;
}

/* Past the padding that ends a section. */
static void
SkipPadding(Reader *r)
{
	Size		at = r->p - r->start;

	Take(r, SECTION(at) - at);
}

/* A reference (index) to one of n things, checked. */
static uint32
Ref(uint32 index, uint32 n, const char *what)
{
	if (index >= n)
		Malformed(what);
	return index;
}

/*
 * That n keys (a length word and a word at least, each) can be in what is
 * left of r: what is allocated for them is then bounded by the bytes.
 */
static void
CheckKeyCount(const Reader *r, uint32 n)
{
	if ((Size) n > (Size) (r->end - r->p) / (2 * sizeof(uint32)))
		Malformed("truncated");
}

/* Room for a key of words words in a->key. */
static uint32 *
KeyBuffer(Adding *a, Size words)
{
	if (words > a->key_cap)
	{
		a->key_cap = Max(words, Max(2 * a->key_cap, 64));
		if (a->key)
			pfree(a->key);
		a->key = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * a->key_cap);
	}
	return a->key;
}

/* The next key of a WriteKeys section: its words, *len of them (at least 1). */
static const uint32 *
TakeKey(Reader *r, uint32 *len)
{
	memcpy(len, Take(r, sizeof(uint32)), sizeof(uint32));
	if (*len == 0)
		Malformed("empty key");
	return Take(r, sizeof(uint32) * (Size) *len);
}

/* The strings, each interned: their state ids in a->strings. */
static void
AddStrings(Adding *a, Reader *r)
{
	const PartialHeader *h = a->h;
	const uint32 *lengths = Take(r, sizeof(uint32) * (Size) h->n_strings);
	const char *bytes;
	Size		total = 0;
	Size		pos = 0;
	uint32		i;

	for (i = 0; i < h->n_strings; i++)
		total += lengths[i];
	if (total != h->str_bytes)
		Malformed("string lengths");
	bytes = Take(r, total);
	SkipPadding(r);
	a->strings = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(uint32) * Max(h->n_strings, 1));
	for (i = 0; i < h->n_strings; i++)
	{
		a->strings[i] = MergeInternString(a->s, bytes + pos, lengths[i]);
		pos += lengths[i];
	}
}

/*
 * The header's fields; pprof_merge's period type and sample types (the
 * state slot of each of the partial's in columns), as its inputs had them.
 */
static void
AddHeader(Adding *a, uint32 *columns)
{
	const PartialHeader *h = a->h;
	MergeState *s = a->s;
	MergeHeader mh;
	uint32		n = h->n_strings;

	mh.time_nanos = h->time_nanos;
	mh.duration_nanos = h->duration_nanos;
	mh.period = h->period;
	mh.default_sample_type = a->strings[Ref(h->default_sample_type, n, "header string")];
	mh.drop_frames = a->strings[Ref(h->drop_frames, n, "header string")];
	mh.keep_frames = a->strings[Ref(h->keep_frames, n, "header string")];
	MergeCombineHeader(s, &mh);
	if (h->flags & PARTIAL_PGO_NANOSECONDS)
		s->pgo_nanoseconds = true;
	if (s->mode == MERGE_PGO)
		return;

	if (h->flags & PARTIAL_PERIOD_TYPE)
	{
		uint32		period_type[2];

		period_type[0] = a->strings[Ref(h->period_type[0], n, "period type")];
		period_type[1] = a->strings[Ref(h->period_type[1], n, "period type")];
		MergeLosslessPeriodType(s, period_type);
	}
	if (h->n_sample_types > 0)
	{
		uint32		types[2 * PPROF_MAX_SAMPLE_TYPES];
		uint32		i;

		for (i = 0; i < 2 * h->n_sample_types; i++)
			types[i] = a->strings[Ref(h->sample_types[i], n, "sample type")];
		MergeLosslessSampleTypes(s, types, h->n_sample_types, h->type_inputs, h->type_before,
								 columns);
	}
}

static void
AddComments(Adding *a, Reader *r)
{
	const PartialHeader *h = a->h;
	const uint32 *sids = Take(r, sizeof(uint32) * (Size) h->n_comments);
	uint32		i;

	SkipPadding(r);
	for (i = 0; i < h->n_comments; i++)
		MergeAddComment(a->s, a->strings[Ref(sids[i], h->n_strings, "comment")]);
}

/* Functions: [name, system_name, filename, start_line (2)]. */
static void
AddFunctions(Adding *a, Reader *r)
{
	const PartialHeader *h = a->h;
	const uint32 *keys = Take(r, sizeof(uint32) * 5 * (Size) h->n_functions);
	uint32		i;

	SkipPadding(r);
	a->functions = MemoryContextAllocHuge(CurrentMemoryContext,
										  sizeof(uint32) * Max(h->n_functions, 1));
	for (i = 0; i < h->n_functions; i++)
	{
		const uint32 *k = &keys[5 * i];
		uint32		key[5];
		bool		found;

		key[0] = a->strings[Ref(k[0], h->n_strings, "function name")];
		key[1] = a->strings[Ref(k[1], h->n_strings, "function name")];
		key[2] = a->strings[Ref(k[2], h->n_strings, "function file")];
		key[3] = k[3];
		key[4] = k[4];
		a->functions[i] = InternerAdd(&a->s->functions, key, sizeof(key), &found);
	}
}

/* Mappings: key and content (MAPPING_WORDS); then the main one. */
static void
AddMappings(Adding *a, Reader *r)
{
	const PartialHeader *h = a->h;
	const uint32 *words = Take(r, sizeof(uint32) * MAPPING_WORDS * (Size) h->n_mappings);
	uint32		i;

	SkipPadding(r);
	a->mappings = MemoryContextAllocHuge(CurrentMemoryContext,
										 sizeof(uint32) * Max(h->n_mappings, 1));
	for (i = 0; i < h->n_mappings; i++)
	{
		const uint32 *w = &words[MAPPING_WORDS * i];
		uint32		key[5];
		MappingData d;

		memcpy(key, w, sizeof(key));
		key[4] = a->strings[Ref(w[4], h->n_strings, "mapping file")];
		d.start = Word64(&w[5]);
		d.limit = Word64(&w[7]);
		d.offset = Word64(&w[9]);
		d.filename = a->strings[Ref(w[11], h->n_strings, "mapping file")];
		d.build_id = a->strings[Ref(w[12], h->n_strings, "mapping build ID")];
		d.flags = w[13];
		a->mappings[i] = MergeInternMapping(a->s, key, &d);
	}
	if (h->main_mapping != NO_INDEX)
		MergeLosslessMainMapping(a->s, a->mappings[Ref(h->main_mapping, h->n_mappings,
														"main mapping")],
								 (h->flags & PARTIAL_MAIN_SAMPLES) != 0);
}

/*
 * Locations (pprof_merge_state.h): pprof_merge's [mapping + 1 or 0,
 * address (2), is_folded, n_lines, {function, line (2), column (2)}*],
 * pgo_merge's [synthetic address, n_lines, {function, line (2)}*].
 */
static void
AddLocations(Adding *a, Reader *r)
{
	const PartialHeader *h = a->h;
	bool		pgo = a->s->mode == MERGE_PGO;
	uint32		head = pgo ? 2 : 5;
	uint32		stride = pgo ? 3 : 5;
	uint32		i;

	CheckKeyCount(r, h->n_locations);
	a->locations = MemoryContextAllocHuge(CurrentMemoryContext,
										  sizeof(uint32) * Max(h->n_locations, 1));
	for (i = 0; i < h->n_locations; i++)
	{
		uint32		len;
		const uint32 *k = TakeKey(r, &len);
		uint32	   *key;
		uint32		n_lines;
		uint32		j;
		bool		found;

		if (len < head)
			Malformed("location");
		n_lines = k[head - 1];
		if ((Size) len != head + (Size) stride * n_lines)
			Malformed("location lines");
		key = KeyBuffer(a, len);
		memcpy(key, k, sizeof(uint32) * len);
		if (!pgo && k[0] != 0)
			key[0] = a->mappings[Ref(k[0] - 1, h->n_mappings, "location mapping")] + 1;
		for (j = 0; j < n_lines; j++)
		{
			uint32	   *fn = &key[head + stride * j];

			*fn = a->functions[Ref(*fn, h->n_functions, "line function")];
		}
		a->locations[i] = InternerAdd(&a->s->locations, key, sizeof(uint32) * len, &found);
		if ((i & 0x3fff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SkipPadding(r);
}

/*
 * Samples (pprof_merge_state.h): [depth, location*], and pprof_merge's
 * labels, [n_labels, {key, str, num (2), num_unit}*], sorted again once
 * mapped; then their values, each of the partial's sample types in its
 * state slot (columns), pgo_merge's two weights as they are.
 */
static void
AddSamples(Adding *a, Reader *r, const uint32 *columns)
{
	const PartialHeader *h = a->h;
	MergeState *s = a->s;
	bool		pgo = s->mode == MERGE_PGO;
	uint32		n_slots = pgo ? 2 : h->n_sample_types;
	uint32	   *index;
	const char *values;
	int64	   *v;
	uint32		i,
				k;

	CheckKeyCount(r, h->n_samples);
	index = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(h->n_samples, 1));
	for (i = 0; i < h->n_samples; i++)
	{
		uint32		len;
		const uint32 *k0 = TakeKey(r, &len);
		uint32		depth = k0[0];
		uint32		n_labels = 0;
		uint32	   *key;

		if (depth > len - 1 || (pgo ? depth > (uint32) s->pgo_frames : depth > PPROF_MAX_STACK_DEPTH))
			Malformed("sample depth");
		if (!pgo)
		{
			if (depth == len - 1)
				Malformed("sample labels");
			n_labels = k0[1 + depth];
			if (n_labels > PPROF_MAX_LABELS_PER_SAMPLE ||
				(Size) len != 2 + (Size) depth + 5 * (Size) n_labels)
				Malformed("sample labels");
		}
		else if (len != 1 + depth)
			Malformed("sample");
		key = KeyBuffer(a, len);
		key[0] = depth;
		for (k = 0; k < depth; k++)
			key[1 + k] = a->locations[Ref(k0[1 + k], h->n_locations, "sample location")];
		if (!pgo)
		{
			uint32	   *labels = &key[2 + depth];

			key[1 + depth] = n_labels;
			for (k = 0; k < n_labels; k++)
			{
				const uint32 *l = &k0[2 + depth + 5 * k];
				uint32	   *m = &labels[5 * k];

				m[0] = a->strings[Ref(l[0], h->n_strings, "label")];
				m[1] = a->strings[Ref(l[1], h->n_strings, "label")];
				m[2] = l[2];
				m[3] = l[3];
				m[4] = a->strings[Ref(l[4], h->n_strings, "label")];
			}
			MergeLosslessSortLabels(labels, n_labels);
		}
		index[i] = MergeSampleIndex(s, key, len);
		if ((i & 0x3fff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SkipPadding(r);

	/* int64s, read with memcpy: the bytes may be only 4-byte aligned */
	values = Take(r, sizeof(int64) * (Size) n_slots * h->n_samples);
	v = palloc0(sizeof(int64) * Max(s->n_value_slots, 1));
	for (i = 0; i < h->n_samples; i++)
	{
		const char *sv = values + sizeof(int64) * (Size) n_slots * i;

		if (pgo)
			memcpy(v, sv, sizeof(int64) * 2);
		else
			for (k = 0; k < n_slots; k++)
				memcpy(&v[columns[k]], sv + sizeof(int64) * k, sizeof(int64));
		MergeAddValues(s, index[i], v);
	}
}
