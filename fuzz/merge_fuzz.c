/*-------------------------------------------------------------------------
 *
 * merge_fuzz.c
 *	  libFuzzer target for the merge aggregates pprof_merge and pgo_merge:
 *	  their state's add, combine, serialize and deserialize, as the server
 *	  runs them under serial and parallel plans.
 *
 * The input makes two to five valid profiles. By default they are built
 * from the input's bytes (BuildProfile): a small shared vocabulary of
 * sample types, functions, files and labels, so that the profiles overlap
 * the way a fleet's do, with each profile's string table in its own order,
 * and header values and sample values drawn from a table that includes
 * zero, negatives and the int64 limits. An input whose first byte has the
 * high bit set is instead a list of length-prefixed profile files (any
 * format the pprof type reads), each decoded or skipped. Every profile is
 * encoded to protobuf and decoded by PprofDecode, as an upload would be.
 *
 * For each aggregate (the first byte also picks pgo_merge's settings, and
 * whether its rows have weights, as pgo_merge(p, weight)) the profiles are
 * merged in several ways:
 *	- row by row, in input order and in reverse order;
 *	- as two partial states (a split the input picks) combined both ways
 *	  round: as they are, and through serialize and deserialize, as the
 *	  combine function gets them, with an empty state (a worker that saw
 *	  nothing) combined in too.
 * The partial state of all profiles is also added damaged (truncated, one
 * byte changed: the input's last byte says where), which must be refused
 * or read, never read out of bounds.
 * pgo_merge also merges the profiles' pgo projections, in their stored
 * (compact) form, which must give the same result: as this build stores
 * them (version 3, with stack hashes), with every stack hash made equal
 * (each stack then checked against every other's content), and with the
 * version 2 of earlier builds mixed in.
 * Checked, besides the sanitizers and the shim's memory context checks:
 *	- every way gives byte-identical results (or none: all empty), or every
 *	  way refuses the input (when it has two faults, which one is reported
 *	  may depend on the order); a refusal is an ereport with a SQLSTATE,
 *	  never an elog (a can't-happen error);
 *	- pprof_merge keeps the total of every sample type it keeps: per
 *	  (type, unit), the output's total is the sum of the inputs' totals;
 *	- the result encodes to protobuf that PprofDecode accepts.
 * A failed check abort()s, which libFuzzer records as a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "utils/elog.h"
#include "utils/memutils.h"

#include "pprof.h"
#include "pprof_merge.h"
#include "encode_ref.h"
#include "fuzz_check.h"
#include "pg_shim.h"
#include "wire.h"

#define MAX_PROFILES	5
#define MAX_TYPES		4

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *fuzz_target_name = "merge_fuzz";

/*
 * ---------------------------------------------------------------------------
 * Reading the input: bytes, then zeros once it is used up.
 * ---------------------------------------------------------------------------
 */
typedef struct Reader
{
	const uint8_t *p;
	size_t		left;
} Reader;

static uint8_t
Byte(Reader *r)
{
	if (r->left == 0)
		return 0;
	r->left--;
	return *r->p++;
}

/* A value from the table of interesting ones, or a small one. */
static int64
Value(Reader *r)
{
	static const int64 table[] = {
		0, 1, 2, 3, 7, 100, 1000, 10000000, 52631578, 1000000000,
		INT64CONST(1) << 40, -1, -1000, PG_INT64_MAX, PG_INT64_MIN, PG_INT64_MAX / 2
	};
	uint8_t		b = Byte(r);

	return b < 16 * 8 ? table[b % 16] : (int64) (b - 16 * 8);
}

/*
 * ---------------------------------------------------------------------------
 * Profiles from the input's bytes
 * ---------------------------------------------------------------------------
 */

/* the shared vocabulary: strings 1..NWORDS of every profile, in some order */
static const char *const words[] = {
	"samples", "count", "cpu", "nanoseconds", "alloc_objects", "alloc_space",
	"bytes", "space", "contentions", "delay", "main.main", "runtime.mcall",
	"pkg.(*T).Method", "pkg.Method.func1", "runtime.goexit", "main.go",
	"/usr/lib/go/src/runtime/proc.go", "/bin/app", "libc.so.6", "b1d0", "thread",
	"goroutine", "ms", "",
};
#define NWORDS ((int) lengthof(words))

/* sample types as pairs of words: the ones profilers write, and odd ones */
static const uint8_t type_pairs[][2] = {
	{0, 1}, {2, 3}, {4, 1}, {5, 6}, {8, 1}, {9, 3}, {0, 22}, {2, 3},
};

/* The string index of word i in a profile whose table starts at word rot. */
static uint64
Word(int i, int rot)
{
	return 1 + (uint64) ((i - rot + NWORDS) % NWORDS);
}

/* A word of the input: a function name, file, label key... (by range) */
static uint64
PickWord(Reader *r, int first, int n, int rot)
{
	return Word(first + Byte(r) % n, rot);
}

/* One profile from the input's bytes; its protobuf bytes into out. */
static void
BuildProfile(Reader *r, Buf *out)
{
	Buf			sub = {0};
	Buf			packed = {0};
	uint8_t		shape = Byte(r);
	int			rot = Byte(r) % NWORDS;
	int			ntypes = 1 + shape % MAX_TYPES;
	int			nfunctions = 1 + Byte(r) % 6;
	int			nmappings = Byte(r) % 3;
	int			nlocations = 1 + Byte(r) % 8;
	int			nsamples = Byte(r) % 12;
	uint64		mapping_start[3];
	int			i,
				k;

	out->len = 0;
	wire_field_bytes(out, 6, "", 0);	/* index 0 is "" */
	for (i = 0; i < NWORDS; i++)
	{
		const char *wd = words[(rot + i) % NWORDS];

		wire_field_bytes(out, 6, wd, strlen(wd));
	}

	for (i = 0; i < ntypes; i++)
	{
		uint8_t		b = Byte(r);
		const uint8_t *pair = type_pairs[b % lengthof(type_pairs)];

		wire_field_varint(&sub, 1, Word(b >= 250 ? b % NWORDS : pair[0], rot));
		wire_field_varint(&sub, 2, Word(pair[1], rot));
		wire_field_msg(out, 1, &sub);
	}
	/* mostly cpu/nanoseconds: pprof_merge refuses different period types */
	{
		uint8_t		b = Byte(r);

		wire_field_varint(&sub, 1, Word(b < 224 ? 2 : b < 240 ? 7 : 8, rot));
		wire_field_varint(&sub, 2, Word(b < 224 ? 3 : b < 240 ? 6 : 1, rot));
		wire_field_msg(out, 11, &sub);
	}
	if (shape & 0x10)
	{
		wire_field_varint(out, 12, (uint64) Value(r));
		wire_field_varint(out, 9, (uint64) Value(r));
		wire_field_varint(out, 10, (uint64) Value(r));
	}
	if (shape & 0x20)
		wire_field_varint(out, 14, PickWord(r, 0, 10, rot));
	if (shape & 0x40)
	{
		wire_field_varint(out, 13, PickWord(r, 10, 6, rot));
		wire_field_varint(out, 7, PickWord(r, 11, 4, rot));
		wire_field_varint(out, 8, PickWord(r, 10, 5, rot));
	}

	for (i = 0; i < nmappings; i++)
	{
		uint8_t		flags = Byte(r);

		mapping_start[i] = (uint64) Byte(r) * 0x1000 + (flags & 0x80 ? 0x400000 : 0);
		wire_field_varint(&sub, 1, i + 1);
		wire_field_varint(&sub, 2, mapping_start[i]);
		wire_field_varint(&sub, 3, mapping_start[i] + (uint64) (1 + Byte(r)) * 0x800);
		wire_field_varint(&sub, 4, (uint64) (flags & 0x3) * 0x1000);
		wire_field_varint(&sub, 5, PickWord(r, 17, 2, rot));
		if (flags & 0x4)
			wire_field_varint(&sub, 6, Word(19, rot));
		for (k = 0; k < 4; k++)
			if (flags & (0x8 << k))
				wire_field_varint(&sub, 7 + k, 1);
		wire_field_msg(out, 3, &sub);
	}

	for (i = 0; i < nfunctions; i++)
	{
		wire_field_varint(&sub, 1, i + 1);
		wire_field_varint(&sub, 2, PickWord(r, 10, 6, rot));
		wire_field_varint(&sub, 3, PickWord(r, 10, 6, rot));
		wire_field_varint(&sub, 4, PickWord(r, 15, 2, rot));
		wire_field_varint(&sub, 5, Byte(r) % 4 * 10);
		wire_field_msg(out, 5, &sub);
	}

	for (i = 0; i < nlocations; i++)
	{
		uint8_t		b = Byte(r);
		int			mapping = nmappings ? b % (nmappings + 1) : 0;
		int			nlines = (b >> 2) % 4;
		Buf			line = {0};

		wire_field_varint(&sub, 1, i + 1);
		if (mapping)
			wire_field_varint(&sub, 2, mapping);
		wire_field_varint(&sub, 3, (mapping ? mapping_start[mapping - 1] : 0x1000) +
					(uint64) Byte(r) * 16);
		for (k = 0; k < nlines; k++)
		{
			wire_field_varint(&line, 1, 1 + Byte(r) % nfunctions);
			wire_field_varint(&line, 2, (uint64) Value(r));
			if (b & 0x40)
				wire_field_varint(&line, 3, Byte(r) % 3);
			wire_field_msg(&sub, 4, &line);
		}
		if (b & 0x80)
			wire_field_varint(&sub, 5, 1);
		wire_field_msg(out, 4, &sub);
		free(line.data);
	}

	for (i = 0; i < nsamples; i++)
	{
		uint8_t		b = Byte(r);
		int			depth = b % 6;
		int			nlabels = (b >> 4) % 3;
		Buf			label = {0};

		for (k = 0; k < depth; k++)
			wire_varint(&packed, 1 + Byte(r) % nlocations);
		wire_field_msg(&sub, 1, &packed);
		for (k = 0; k < ntypes; k++)
			wire_varint(&packed, (uint64) Value(r));
		wire_field_msg(&sub, 2, &packed);
		for (k = 0; k < nlabels; k++)
		{
			uint8_t		lb = Byte(r);

			wire_field_varint(&label, 1, Word(20 + lb % 2, rot));
			if (lb & 0x10)
			{
				wire_field_varint(&label, 3, (uint64) Value(r));
				if (lb & 0x20)
					wire_field_varint(&label, 4, Word(6, rot));
			}
			else
				wire_field_varint(&label, 2, PickWord(r, 10, 6, rot));
			wire_field_msg(&sub, 3, &label);
		}
		wire_field_msg(out, 2, &sub);
		free(label.data);
	}
	free(sub.data);
	free(packed.data);
}

/*
 * ---------------------------------------------------------------------------
 * Merging
 * ---------------------------------------------------------------------------
 */

/* What one way of merging gave: a SQLSTATE, or the result (NULL: none). */
typedef struct Outcome
{
	int			sqlerrcode;
	Pprof	   *result;
} Outcome;

typedef enum Way
{
	WAY_ROWS,					/* one state, row by row */
	WAY_ROWS_REVERSED,
	WAY_COMBINE,				/* two partial states: first + second */
	WAY_COMBINE_SERIALIZED,		/* second + first, both deserialized, + empty */
	N_WAYS
} Way;

static const char *const way_names[] = {
	"rows", "rows reversed", "combine", "combine after serialize"
};

/* pgo_merge(p, weight): the weight of each profile (1: pgo_merge(p)) */
static double pgo_weights[MAX_PROFILES];

/* A state holding profiles [from, to) of p, row by row (reversed: backwards). */
static MergeState *
StateOf(MergeMode mode, Pprof **p, int from, int to, bool reversed)
{
	MergeState *s = MergeStateCreate(mode, CurrentMemoryContext);
	int			i;

	for (i = from; i < to; i++)
	{
		int			k = reversed ? to - 1 - (i - from) : i;

		MergeStateAdd(s, p[k], mode == MERGE_PGO ? pgo_weights[k] : 1.0);
	}
	return s;
}

/* Merge p[0..n) one way; split: where the partial states part. */
static Pprof *
MergeOneWay(MergeMode mode, Pprof **p, int n, int split, Way way)
{
	MergeState *s;

	switch (way)
	{
		case WAY_ROWS:
			s = StateOf(mode, p, 0, n, false);
			break;
		case WAY_ROWS_REVERSED:
			s = StateOf(mode, p, 0, n, true);
			break;
		case WAY_COMBINE:
			s = StateOf(mode, p, 0, split, false);
			MergeStateAddState(s, StateOf(mode, p, split, n, false));
			break;
		default:
			{
				/*
				 * as the combine function sees them: the first deserialized
				 * state adopted, the others added from their bytes
				 */
				bytea	   *b = MergeStateSerialize(StateOf(mode, p, split, n, true));
				bytea	   *a = MergeStateSerialize(StateOf(mode, p, 0, split, true));
				bytea	   *none = MergeStateSerialize(MergeStateCreate(mode, CurrentMemoryContext));

				s = MergeStateDeserialize(mode, CurrentMemoryContext, VARDATA(b),
										  VARSIZE(b) - VARHDRSZ);
				MergeStateResolve(s);
				MergeStateAddState(s, MergeStateDeserialize(mode, CurrentMemoryContext,
															VARDATA(a), VARSIZE(a) - VARHDRSZ));
				MergeStateAddState(s, MergeStateDeserialize(mode, CurrentMemoryContext,
															VARDATA(none), VARSIZE(none) - VARHDRSZ));
				MergeStateAddSerialized(s, VARDATA(none), VARSIZE(none) - VARHDRSZ);
				MergeStateAddState(s, MergeStateCreate(mode, CurrentMemoryContext));
				break;
			}
	}
	return MergeStateIsEmpty(s) ? NULL : MergeStateToPprof(s);
}

/* An ERROR that Try caught: its SQLSTATE (0: none), message and place. */
typedef struct Caught
{
	int			sqlerrcode;
	const char *message;
	const char *detail;
	const char *where;
} Caught;

/* Run fn(arg) with ERRORs caught into *c, as the server would catch them. */
static void
Try(void (*fn) (void *arg), void *arg, Caught *c)
{
	sigjmp_buf	jump;
	MemoryContext cxt = CurrentMemoryContext;

	memset(c, 0, sizeof(*c));
	if (sigsetjmp(jump, 0) == 0)
	{
		ShimCatchErrors(&jump);
		fn(arg);
		ShimCatchErrors(NULL);
	}
	else
	{
		MemoryContextSwitchTo(cxt);
		c->sqlerrcode = ShimCaughtError(&c->message, &c->detail, &c->where);
	}
}

/* One way of merging (MergeOneWay), for Try. */
typedef struct WayRun
{
	MergeMode	mode;
	Pprof	  **p;
	int			n;
	int			split;
	Way			way;
	Pprof	   *result;
} WayRun;

static void
RunWay(void *arg)
{
	WayRun	   *w = arg;

	w->result = MergeOneWay(w->mode, w->p, w->n, w->split, w->way);
}

/*
 * Run one way with ERRORs caught: an ereport is an outcome (the server
 * would report it), an elog is a bug.
 */
static Outcome
TryWay(MergeMode mode, Pprof **p, int n, int split, Way way)
{
	WayRun		w = {mode, p, n, split, way, NULL};
	Caught		c;
	Outcome		o;

	Try(RunWay, &w, &c);
	o.sqlerrcode = c.sqlerrcode;
	o.result = c.sqlerrcode == 0 ? w.result : NULL;
	if (c.sqlerrcode != 0)
	{
		CHECK(c.sqlerrcode != ERRCODE_INTERNAL_ERROR,
			  "%s (%s): internal error at %s: %s %s",
			  mode == MERGE_PGO ? "pgo_merge" : "pprof_merge", way_names[way], c.where,
			  c.message, c.detail);
		CHECK(c.message[0] != '\0', "an ERROR without a message at %s", c.where);
	}
	return o;
}

/* The total of each sample type of v, wrapping as int64 sums do in Go. */
static void
Totals(const PprofView *v, uint64 *totals)
{
	uint32		i,
				k;

	for (k = 0; k < v->hdr->n_sample_types; k++)
		totals[k] = 0;
	for (i = 0; i < v->hdr->n_samples; i++)
		for (k = 0; k < v->hdr->n_sample_types; k++)
			totals[k] += (uint64) v->values[(Size) i * v->hdr->n_sample_types + k];
}

/* Does sample type k of a equal sample type j of b (as strings)? */
static bool
SameType(const PprofView *a, uint32 k, const PprofView *b, uint32 j)
{
	return PprofStringLength(a, a->sample_types[k].type) == PprofStringLength(b, b->sample_types[j].type) &&
		PprofStringLength(a, a->sample_types[k].unit) == PprofStringLength(b, b->sample_types[j].unit) &&
		memcmp(PprofString(a, a->sample_types[k].type), PprofString(b, b->sample_types[j].type),
			   PprofStringLength(a, a->sample_types[k].type)) == 0 &&
		memcmp(PprofString(a, a->sample_types[k].unit), PprofString(b, b->sample_types[j].unit),
			   PprofStringLength(a, a->sample_types[k].unit)) == 0;
}

/*
 * pprof_merge keeps totals: for each (type, unit) of the output, kept m
 * times, the output's total over its m columns equals the sum over the
 * inputs of their first m columns of that type (a type an input lists
 * twice fills two slots; a slot is kept when every input has it).
 */
static void
CheckTotals(Pprof **p, int n, const Pprof *merged)
{
	PprofView	out;
	uint64		out_totals[PPROF_MAX_SAMPLE_TYPES];
	uint32		k,
				j;
	int			i;

	PprofOpen(merged, &out);
	Totals(&out, out_totals);
	for (k = 0; k < out.hdr->n_sample_types; k++)
	{
		uint32		m = 0;
		uint64		want = 0;
		uint64		got = 0;
		bool		first = true;

		/* only the first column of each (type, unit) checks the group */
		for (j = 0; j < out.hdr->n_sample_types; j++)
			if (SameType(&out, k, &out, j))
			{
				if (j < k)
					first = false;
				m++;
				got += out_totals[j];
			}
		if (!first)
			continue;
		for (i = 0; i < n; i++)
		{
			PprofView	in;
			uint64		in_totals[PPROF_MAX_SAMPLE_TYPES];
			uint32		taken = 0;

			PprofOpen(p[i], &in);
			Totals(&in, in_totals);
			for (j = 0; j < in.hdr->n_sample_types && taken < m; j++)
				if (SameType(&out, k, &in, j))
				{
					want += in_totals[j];
					taken++;
				}
			CHECK(taken == m, "input %d has sample type %u of the output %u times, not %u",
				  i, k, taken, m);
		}
		CHECK(got == want, "pprof_merge: total of sample type %u is %lld, the inputs' %lld",
			  k, (long long) got, (long long) want);
	}
}

/*
 * The merged profile must encode to protobuf the decoder accepts, in
 * protobuf-c's bytes (encode_ref.c).
 */
static void
CheckEncodes(const Pprof *merged)
{
	PprofError	err;
	Size		len;
	char	   *raw;
	Pprof	   *again;

	CheckEncodeMatchesReference(merged);
	raw = PprofEncodeRaw(merged, &len);

	memset(&err, 0, sizeof(err));
	again = PprofDecode(raw, len, &err);
	CHECK(again != NULL, "the merged profile's encoding is rejected: %s", PprofErrorText(&err));
	pfree(raw);
	pfree(again);
}

/*
 * For a failure's diagnosis: with MERGE_FUZZ_DUMP=DIR, every way's result
 * as a protobuf file DIR/<aggregate>-<way number>.pb (go tool pprof -raw
 * shows them), and the inputs (DumpInputs).
 */
static void
Dump(MergeMode mode, const Outcome *o, int n)
{
	const char *dir = getenv("MERGE_FUZZ_DUMP");
	int			w;

	for (w = 0; dir != NULL && w < n; w++)
	{
		char		path[1024];
		Size		len;
		char	   *raw;
		FILE	   *f;

		if (o[w].result == NULL)
			continue;
		raw = PprofEncodeRaw(o[w].result, &len);
		snprintf(path, sizeof(path), "%s/%s-%d.pb", dir,
				 mode == MERGE_PGO ? "pgo_merge" : "pprof_merge", w);
		f = fopen(path, "wb");
		if (f != NULL)
		{
			fwrite(raw, 1, len, f);
			fclose(f);
		}
	}
}

/*
 * With MERGE_FUZZ_DUMP=DIR, the inputs as DIR/input-<i>.pb, and in
 * DIR/split how many of them the first partial state of "combine" takes:
 * what a regression test of a finding needs.
 */
static void
DumpInputs(Pprof **p, int n, int split)
{
	const char *dir = getenv("MERGE_FUZZ_DUMP");
	char		path[1024];
	FILE	   *f;
	int			i;

	for (i = 0; dir != NULL && i < n; i++)
	{
		Size		len;
		char	   *raw = PprofEncodeRaw(p[i], &len);

		snprintf(path, sizeof(path), "%s/input-%d.pb", dir, i);
		f = fopen(path, "wb");
		if (f != NULL)
		{
			fwrite(raw, 1, len, f);
			fclose(f);
		}
		pfree(raw);
	}
	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/split", dir);
	f = fopen(path, "w");
	if (f != NULL)
	{
		fprintf(f, "%d\n", split);
		fclose(f);
	}
}

/* pgo_merge of the projections q must give what pgo_merge of the inputs gave (want). */
static void
CheckProjectionMerge(Pprof **q, int n, const Outcome *want, const char *what)
{
	Outcome		o = TryWay(MERGE_PGO, q, n, 0, WAY_ROWS);

	CHECK((o.sqlerrcode != 0) == (want->sqlerrcode != 0),
		  "pgo_merge of the projections (%s) gives SQLSTATE %s, of the profiles %s", what,
		  o.sqlerrcode ? pstrdup(unpack_sql_state(o.sqlerrcode)) : "none",
		  want->sqlerrcode ? unpack_sql_state(want->sqlerrcode) : "none");
	CHECK((o.result == NULL) == (want->result == NULL) &&
		  (o.result == NULL ||
		   (VARSIZE(o.result) == VARSIZE(want->result) &&
			memcmp(o.result, want->result, VARSIZE(want->result)) == 0)),
		  "pgo_merge of the projections (%s) differs from pgo_merge of the profiles", what);
}

/*
 * pgo_merge of the inputs' pgo projections (pprof_pgo_projection.c), in
 * their stored, compact form, must give what pgo_merge of the inputs gave
 * (want), or refuse them as well, in every version and with colliding
 * stack hashes; and each compact form must expand to exactly the layout it
 * was made from.
 */
static void
CheckProjections(Pprof **p, int n, const Outcome *want)
{
	Pprof	   *q[MAX_PROFILES];
	Pprof	   *collide[MAX_PROFILES];
	Pprof	   *mixed[MAX_PROFILES];
	int			k;

	for (k = 0; k < n; k++)
	{
		PprofView	v;
		Pprof	   *layout;
		Pprof	   *expanded;

		PprofOpen(p[k], &v);
		layout = PprofPgoProject(&v, pprof_pgo_frames);
		PprofOpen(layout, &v);
		q[k] = PprofCompactProjection(&v);
		/* all stack hashes 0: every stack a candidate for every other */
		collide[k] = PprofCompactProjectionAs(&v, PPROF_PROJECTION_HASHED, 0);
		mixed[k] = k % 2 ? q[k] : PprofCompactProjectionAs(&v, PPROF_PROJECTION_COMPACT,
															PG_UINT32_MAX);
		expanded = PprofExpandProjection(q[k]);
		CHECK(VARSIZE(expanded) == VARSIZE(layout) &&
			  memcmp(expanded, layout, VARSIZE(layout)) == 0,
			  "the compact projection of input %d does not expand to its layout", k);
		expanded = PprofExpandProjection(mixed[k]);
		CHECK(VARSIZE(expanded) == VARSIZE(layout) &&
			  memcmp(expanded, layout, VARSIZE(layout)) == 0,
			  "the version-2 projection of input %d does not expand to its layout", k);
	}
	CheckProjectionMerge(q, n, want, "version 3");
	CheckProjectionMerge(collide, n, want, "colliding stack hashes");
	CheckProjectionMerge(mixed, n, want, "versions 2 and 3");
}

/* Partial state bytes added to a new state, written out (AddDamaged). */
typedef struct DamagedRun
{
	MergeMode	mode;
	const char *bytes;
	Size		len;
} DamagedRun;

static void
RunDamaged(void *arg)
{
	DamagedRun *d = arg;
	MergeState *s = MergeStateCreate(d->mode, CurrentMemoryContext);

	MergeStateAddSerialized(s, d->bytes, d->len);
	if (!MergeStateIsEmpty(s))
		(void) MergeStateToPprof(s);
}

/*
 * Add partial state bytes (len of them) to a new state and write it out:
 * a partial state damaged in transit must be refused, with any error, or
 * read, never read out of bounds (the sanitizers check).
 */
static void
AddDamaged(MergeMode mode, const char *bytes, Size len)
{
	/* exactly len bytes, so that reading past them is caught */
	char	   *copy = palloc(Max(len, 1));
	DamagedRun	d = {mode, copy, len};
	Caught		c;

	memcpy(copy, bytes, len);
	Try(RunDamaged, &d, &c);
	pfree(copy);
}

/*
 * The partial state of all inputs, truncated, and with one byte changed
 * (where and how: damage), added to a new state (AddDamaged).
 */
static void
CheckDamaged(MergeMode mode, Pprof **p, int n, uint8 damage)
{
	bytea	   *b = MergeStateSerialize(StateOf(mode, p, 0, n, false));
	Size		len = VARSIZE(b) - VARHDRSZ;
	char	   *bytes = VARDATA(b);

	if (len == 0)
		return;
	AddDamaged(mode, bytes, len * damage / 256);
	bytes[(len * damage / 256 + damage) % len] ^= damage | 1;
	AddDamaged(mode, bytes, len);
}

/* All ways of one aggregate must agree; then its own checks. */
static void
CheckMode(MergeMode mode, Pprof **p, int n, int split, uint8 damage)
{
	Outcome		o[N_WAYS];
	int			w;

	for (w = 0; w < N_WAYS; w++)
	{
		o[w] = TryWay(mode, p, n, split, (Way) w);
		/* an input can be refused for two reasons; which one comes first may differ */
		CHECK((o[w].sqlerrcode != 0) == (o[0].sqlerrcode != 0),
			  "%s: %s gives SQLSTATE %s, %s gives %s",
			  mode == MERGE_PGO ? "pgo_merge" : "pprof_merge",
			  way_names[0], o[0].sqlerrcode ? pstrdup(unpack_sql_state(o[0].sqlerrcode)) : "none",
			  way_names[w], o[w].sqlerrcode ? unpack_sql_state(o[w].sqlerrcode) : "none");
		if (!((o[w].result == NULL) == (o[0].result == NULL) &&
			  (o[w].result == NULL ||
			   (VARSIZE(o[w].result) == VARSIZE(o[0].result) &&
				memcmp(o[w].result, o[0].result, VARSIZE(o[0].result)) == 0))))
			Dump(mode, o, w + 1);
		CHECK((o[w].result == NULL) == (o[0].result == NULL) &&
			  (o[w].result == NULL ||
			   (VARSIZE(o[w].result) == VARSIZE(o[0].result) &&
				memcmp(o[w].result, o[0].result, VARSIZE(o[0].result)) == 0)),
			  "%s: %s and %s give different results",
			  mode == MERGE_PGO ? "pgo_merge" : "pprof_merge", way_names[0], way_names[w]);
	}
	if (mode == MERGE_PGO)
		CheckProjections(p, n, &o[0]);
	if (o[0].sqlerrcode == 0)
		CheckDamaged(mode, p, n, damage);
	if (o[0].result == NULL)
	{
		/* pprof_merge has a result whenever there was an input */
		CHECK(mode == MERGE_PGO || o[0].sqlerrcode != 0, "pprof_merge of %d inputs is empty", n);
		return;
	}
	if (mode == MERGE_LOSSLESS)
		CheckTotals(p, n, o[0].result);
	CheckEncodes(o[0].result);
}

/*
 * ---------------------------------------------------------------------------
 * The profiles of an input
 * ---------------------------------------------------------------------------
 */

/* Decode bytes as an upload would; NULL (skipped) when the type refuses them. */
static Pprof *
Decode(const void *data, size_t len)
{
	PprofError	err;

	memset(&err, 0, sizeof(err));
	return PprofDecode(data, len, &err);
}

/*
 * The profiles of the input into p, and their pgo_merge weights when
 * weighted (else 1); returns how many.
 */
static int
Profiles(Reader *r, bool files, bool weighted, Pprof **p)
{
	static const double weights[] = {1, 0, 0.5, 2, 3.7, 1e-9, 1e12, 1};
	int			n = 0;
	int			want = 2 + Byte(r) % (MAX_PROFILES - 1);

	while (n < want && r->left > 0)
	{
		Pprof	   *pprof;

		if (files)
		{
			/* a 3-byte length, then that many bytes of a profile file */
			size_t		len = (size_t) Byte(r) << 16;

			len |= (size_t) Byte(r) << 8;
			len |= Byte(r);
			len = Min(len, r->left);
			pprof = Decode(r->p, len);
			r->p += len;
			r->left -= len;
		}
		else
		{
			Buf			w = {0};

			BuildProfile(r, &w);
			pprof = Decode(w.data, w.len);
			CHECK(pprof != NULL, "a built profile is rejected");
			free(w.data);
		}
		if (pprof != NULL)
		{
			pgo_weights[n] = weighted ? weights[Byte(r) % lengthof(weights)] : 1.0;
			p[n++] = pprof;
		}
	}
	return n;
}

/* One input: settings, the profiles, and every check of both aggregates. */
static void
MergeOne(const uint8 *data, Size size)
{
	Reader		r = {data, size};
	uint8_t		settings = Byte(&r);
	Pprof	   *p[MAX_PROFILES];
	int			n;

	/* pgo_merge's settings, read when a state is created */
	pprof_pgo_normalize = (settings & 0x01) != 0;
	pprof_pgo_frames = ((settings >> 1) & 3) == 3 ? 64 : 2 + ((settings >> 1) & 3);
	pprof_pgo_denylist = (settings & 0x10) ? "runtime.mcall,runtime.goexit" : NULL;

	n = Profiles(&r, (settings & 0x80) != 0, (settings & 0x20) != 0, p);
	if (n > 0)
	{
		int			split = Byte(&r) % (n + 1);
		uint8		damage = Byte(&r);

		DumpInputs(p, n, split);
		CheckMode(MERGE_LOSSLESS, p, n, split, damage);
		CheckMode(MERGE_PGO, p, n, split, damage);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ShimRunInput(MergeOne, data, size);
	return 0;
}
