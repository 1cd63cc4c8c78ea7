/*-------------------------------------------------------------------------
 *
 * make_seeds.c
 *	  Write hand-made seed inputs for the pprof fuzzer.
 *
 * Usage:
 *	make_seeds OUTDIR                 synthetic profiles (see Synthetic())
 *	make_seeds OUTDIR FILE...         damaged variants of each FILE:
 *	                                  truncations and single bit flips
 *
 * The synthetic profiles are built with protobuf-c (valid ones) or by hand
 * (wire forms protobuf-c never writes: unpacked repeated fields, unknown
 * fields, a repeated period_type, non-dense IDs) so the fuzzer starts from
 * every branch of the decoder rather than only from what Go writes. Plain C
 * with protobuf-c and zlib; no PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "wire.h"

static const char *outdir;

static void
Die(const char *what)
{
	fprintf(stderr, "make_seeds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
WriteFile(const char *name, const void *data, size_t len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		Die(path);
	if (len > 0 && fwrite(data, 1, len, f) != len)
		Die(path);
	if (fclose(f) != 0)
		Die(path);
}

/* gzip a buffer the way Go does (one member, no name) */
static Buf
Gzip(const void *data, size_t len)
{
	z_stream	zs;
	Buf			out = {0};

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
		Die("deflateInit2");
	out.cap = deflateBound(&zs, len) + 64;
	out.data = malloc(out.cap);
	zs.next_in = (Bytef *) data;
	zs.avail_in = len;
	zs.next_out = out.data;
	zs.avail_out = out.cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		Die("deflate");
	out.len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* Write a buffer's bytes, then empty it for the next seed (as wire_field_msg does). */
static void
WriteBuf(const char *name, Buf *b)
{
	WriteFile(name, b->data, b->len);
	b->len = 0;
}

/* Write data gzipped. */
static void
WriteGzip(const char *name, const void *data, size_t len)
{
	Buf			gz = Gzip(data, len);

	WriteFile(name, gz.data, gz.len);
	free(gz.data);
}

/* A small profile with every field set, packed by protobuf-c. */
static void
FullProfile(void)
{
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st[2], pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *stp[2];
	Perftools__Profiles__Sample s[2], *sp[2];
	Perftools__Profiles__Label lab[2], *labp[2];
	Perftools__Profiles__Mapping m, *mp[1];
	Perftools__Profiles__Location loc[3], *locp[3];
	Perftools__Profiles__Line ln[3], *lnp[3];
	Perftools__Profiles__Function fn[2], *fnp[2];
	/* string 12, a label value, holds invalid UTF-8 and a NUL, as Go strings may */
	static const char value[] = "val\xff\0ue";
	const char *texts[] = {"", "samples", "count", "cpu", "nanoseconds",
		"main.main", "main.go", "runtime.goexit", "proc.go", "/bin/app",
	"abc123", "key", NULL, "bytes", "comment"};
	ProtobufCBinaryData strings[sizeof(texts) / sizeof(texts[0])];
	uint64_t	loc_a[] = {30, 10}, loc_b[] = {20, 20, 10};
	int64_t		val_a[] = {1, 10000000}, val_b[] = {-3, 0};
	int64_t		comments[] = {14, 0};
	int			i;

	for (i = 0; i < (int) (sizeof(texts) / sizeof(texts[0])); i++)
	{
		strings[i].data = (uint8_t *) (texts[i] ? texts[i] : value);
		strings[i].len = texts[i] ? strlen(texts[i]) : sizeof(value) - 1;
	}

	for (i = 0; i < 2; i++)
	{
		perftools__profiles__value_type__init(&st[i]);
		stp[i] = &st[i];
	}
	st[0].type = 1;
	st[0].unit = 2;
	st[1].type = 3;
	st[1].unit = 4;

	for (i = 0; i < 2; i++)
	{
		perftools__profiles__label__init(&lab[i]);
		labp[i] = &lab[i];
	}
	lab[0].key = 11;
	lab[0].str = 12;
	lab[1].key = 11;
	lab[1].num = -42;
	lab[1].num_unit = 13;

	for (i = 0; i < 2; i++)
	{
		perftools__profiles__sample__init(&s[i]);
		sp[i] = &s[i];
		s[i].n_value = 2;
	}
	s[0].location_id = loc_a;
	s[0].n_location_id = 2;
	s[0].value = val_a;
	s[0].label = labp;
	s[0].n_label = 2;
	s[1].location_id = loc_b;
	s[1].n_location_id = 3;
	s[1].value = val_b;

	perftools__profiles__mapping__init(&m);
	mp[0] = &m;
	m.id = 7;
	m.memory_start = 0x400000;
	m.memory_limit = 0x800000;
	m.file_offset = 0x1000;
	m.filename = 9;
	m.build_id = 10;
	m.has_functions = 1;
	m.has_line_numbers = 1;

	for (i = 0; i < 2; i++)
	{
		perftools__profiles__function__init(&fn[i]);
		fnp[i] = &fn[i];
	}
	/* IDs that are not 1..n, so the decoder needs its sorted ID map */
	fn[0].id = 5;
	fn[0].name = 5;
	fn[0].system_name = 5;
	fn[0].filename = 6;
	fn[0].start_line = 10;
	fn[1].id = 2;
	fn[1].name = 7;
	fn[1].filename = 8;
	fn[1].start_line = -1;

	for (i = 0; i < 3; i++)
	{
		perftools__profiles__line__init(&ln[i]);
		lnp[i] = &ln[i];
		perftools__profiles__location__init(&loc[i]);
		locp[i] = &loc[i];
	}
	ln[0].function_id = 5;
	ln[0].line = 12;
	ln[0].column = 3;
	ln[1].function_id = 2;
	ln[1].line = 250;
	ln[2].function_id = 5;
	ln[2].line = 13;
	loc[0].id = 10;
	loc[0].mapping_id = 7;
	loc[0].address = 0x401000;
	loc[0].line = &lnp[0];
	loc[0].n_line = 2;		/* an inlined frame */
	loc[1].id = 20;
	loc[1].address = 0x402000;
	loc[1].is_folded = 1;
	loc[2].id = 30;
	loc[2].mapping_id = 7;
	loc[2].line = &lnp[2];
	loc[2].n_line = 1;

	p.sample_type = stp;
	p.n_sample_type = 2;
	p.sample = sp;
	p.n_sample = 2;
	p.mapping = mp;
	p.n_mapping = 1;
	p.location = locp;
	p.n_location = 3;
	p.function = fnp;
	p.n_function = 2;
	p.string_table = strings;
	p.n_string_table = sizeof(strings) / sizeof(strings[0]);
	p.drop_frames = 7;
	p.keep_frames = 5;
	p.time_nanos = 1700000000000000000LL;
	p.duration_nanos = 10000000000LL;
	pt.type = 3;
	pt.unit = 4;
	p.period_type = &pt;
	p.period = 10000000;
	p.comment = comments;
	p.n_comment = 2;
	p.default_sample_type = 3;

	{
		size_t		len = perftools__profiles__profile__get_packed_size(&p);
		uint8_t    *buf = malloc(len + 1);
		Buf			gz;
		Buf			two = {0};

		perftools__profiles__profile__pack(&p, buf);
		WriteFile("synthetic-full.pb", buf, len);
		gz = Gzip(buf, len);
		WriteFile("synthetic-full.pb.gz", gz.data, gz.len);
		/*
		 * two members, and trailing garbage: both must be rejected. The two
		 * members go to a buffer of their own: wire_put() may move the buffer it
		 * appends to, so gz cannot be appended to itself.
		 */
		wire_put(&two, gz.data, gz.len);
		wire_put(&two, gz.data, gz.len);
		WriteFile("synthetic-two-members.pb.gz", two.data, two.len);
		wire_put(&gz, "trailing", 8);
		WriteFile("synthetic-trailing.pb.gz", gz.data, gz.len);
		free(two.data);
		free(gz.data);
		free(buf);
	}
}

/* Wire forms protobuf-c does not write, built by hand. */
static void
HandMade(void)
{
	Buf			p = {0},
				m = {0},
				sub = {0};
	static uint8_t zeros[17 * 1024 * 1024];

	/* the smallest valid profile: a string table holding "" */
	wire_field_string(&p, 6, "");
	WriteGzip("min-empty-string-table.pb.gz", p.data, p.len);
	WriteBuf("min-empty-string-table.pb", &p);

	/* unpacked repeated fields, unknown fields of every wire type, fields
	 * out of order, a repeated period_type (merged field by field) */
	wire_field_string(&p, 6, "");
	wire_field_string(&p, 6, "cpu");
	wire_field_string(&p, 6, "ns");
	wire_field_string(&p, 6, "f");
	wire_field_varint(&m, 1, 3);
	wire_field_varint(&m, 1, 1);	/* last one wins */
	wire_field_varint(&m, 2, 2);
	wire_field_varint(&m, 99, 12345);		/* unknown varint */
	wire_field_msg(&p, 1, &m);
	wire_field_varint(&m, 1, 1);
	wire_field_msg(&p, 11, &m);
	wire_field_varint(&m, 2, 2);
	wire_field_msg(&p, 11, &m);
	wire_field_varint(&sub, 1, 9);	/* line: function 9, parked before the id */
	wire_field_varint(&sub, 2, 42);
	wire_field_msg(&m, 4, &sub);
	wire_field_varint(&m, 1, 1000);	/* location id after its lines */
	wire_tag(&m, 77, 5);				/* unknown fixed32 */
	wire_put(&m, "\1\2\3\4", 4);
	wire_field_msg(&p, 4, &m);
	wire_field_varint(&m, 1, 9);
	wire_field_varint(&m, 2, 3);
	wire_tag(&m, 77, 1);				/* unknown fixed64 */
	wire_put(&m, "\1\2\3\4\5\6\7\10", 8);
	wire_field_msg(&p, 5, &m);
	wire_field_varint(&m, 1, 1000);	/* unpacked location_id */
	wire_field_varint(&m, 1, 1000);
	wire_field_varint(&m, 2, (uint64_t) -5);	/* unpacked value */
	wire_field_string(&m, 1000, "unknown bytes");
	wire_field_msg(&p, 2, &m);
	wire_field_varint(&p, 13, 3);		/* unpacked comments */
	wire_field_varint(&p, 13, 1);
	wire_field_varint(&p, 12, 100);
	wire_field_varint(&p, 12, 200);	/* repeated scalar: last wins */
	WriteBuf("handmade-unpacked.pb", &p);

	/* gzip bomb: 17 MiB of zeros inflate past the 16 MiB limit */
	WriteGzip("bomb-17mib.pb.gz", zeros, sizeof(zeros));

	/* amplification: 100,000 empty samples (2 wire bytes each) */
	wire_field_varint(&m, 1, 1);
	wire_field_varint(&m, 2, 2);
	wire_field_msg(&p, 1, &m);
	for (int i = 0; i < 100000; i++)
		wire_field_bytes(&p, 2, "", 0);
	wire_field_string(&p, 6, "");
	wire_field_string(&p, 6, "cpu");
	wire_field_string(&p, 6, "ns");
	WriteGzip("amplification.pb.gz", p.data, p.len);
	p.len = 0;

	/* a sample pointing at a missing location; a function with an unknown
	 * string index: both fail only in the FILL walk */
	wire_field_string(&p, 6, "");
	wire_field_varint(&m, 1, 1);
	wire_field_varint(&m, 2, 99);
	wire_field_msg(&p, 5, &m);
	WriteBuf("bad-function-name-index.pb", &p);
	wire_field_string(&p, 6, "");
	wire_field_varint(&m, 1, 4);
	wire_field_msg(&p, 2, &m);
	WriteBuf("bad-sample-location.pb", &p);

	/* duplicate IDs */
	wire_field_string(&p, 6, "");
	wire_field_varint(&m, 1, 3);
	wire_field_msg(&p, 5, &m);
	wire_field_varint(&m, 1, 3);
	wire_field_msg(&p, 5, &m);
	WriteBuf("bad-duplicate-function-id.pb", &p);

	/* overlong varint (11 bytes) and a 10-byte one that overflows */
	wire_field_string(&p, 6, "");
	wire_tag(&p, 9, 0);
	wire_put(&p, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
	WriteBuf("bad-varint-11-bytes.pb", &p);
	wire_field_string(&p, 6, "");
	wire_tag(&p, 9, 0);
	wire_put(&p, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10);
	WriteBuf("bad-varint-overflow.pb", &p);

	/* invalid UTF-8 and a NUL in strings (both stored as they are), and a
	 * non-empty first string (rejected) */
	wire_field_string(&p, 6, "");
	wire_field_bytes(&p, 6, "\xc3\x28", 2);
	WriteBuf("string-invalid-utf8.pb", &p);
	wire_field_string(&p, 6, "");
	wire_field_bytes(&p, 6, "a\0b", 3);
	WriteBuf("string-nul.pb", &p);
	wire_field_string(&p, 6, "x");
	WriteBuf("bad-first-string.pb", &p);

	free(p.data);
	free(m.data);
	free(sub.data);
}

/*
 * Each decoding limit of pprof.h, at the limit (accepted) and one past it
 * (rejected): the fuzzer rarely grows an input that far by itself.
 */
static void
Limits(void)
{
	Buf			p = {0},
				m = {0},
				sub = {0};
	char		name[64];
	int			extra;

	WriteFile("empty", "", 0);

	for (extra = 0; extra <= 1; extra++)
	{
		int			i;
		char	   *big;

		/* stack depth: one packed run of location IDs */
		wire_field_string(&p, 6, "");
		wire_field_varint(&m, 1, 1);
		wire_field_msg(&p, 4, &m);
		for (i = 0; i < 4096 + extra; i++)
			wire_varint(&sub, 1);
		wire_field_msg(&m, 1, &sub);
		wire_field_msg(&p, 2, &m);
		snprintf(name, sizeof(name), "limit-stack-depth-%d.pb", 4096 + extra);
		WriteBuf(name, &p);

		/* labels per sample */
		wire_field_string(&p, 6, "");
		wire_field_string(&p, 6, "k");
		for (i = 0; i < 1024 + extra; i++)
		{
			wire_field_varint(&sub, 1, 1);
			wire_field_msg(&m, 3, &sub);
		}
		wire_field_msg(&p, 2, &m);
		snprintf(name, sizeof(name), "limit-labels-%d.pb", 1024 + extra);
		WriteBuf(name, &p);

		/* lines per location */
		wire_field_string(&p, 6, "");
		wire_field_varint(&m, 1, 1);
		wire_field_msg(&p, 5, &m);
		wire_field_varint(&m, 1, 1);
		for (i = 0; i < 1024 + extra; i++)
		{
			wire_field_varint(&sub, 1, 1);
			wire_field_varint(&sub, 2, i);
			wire_field_msg(&m, 4, &sub);
		}
		wire_field_msg(&p, 4, &m);
		snprintf(name, sizeof(name), "limit-lines-%d.pb", 1024 + extra);
		WriteBuf(name, &p);

		/* comments, half packed, half not */
		wire_field_string(&p, 6, "");
		for (i = 0; i < 2048; i++)
			wire_varint(&sub, 0);
		wire_field_msg(&p, 13, &sub);
		for (i = 0; i < 2048 + extra; i++)
			wire_field_varint(&p, 13, 0);
		snprintf(name, sizeof(name), "limit-comments-%d.pb", 4096 + extra);
		WriteBuf(name, &p);

		/* sample types, and one sample with as many values */
		wire_field_string(&p, 6, "");
		for (i = 0; i < 64 + extra; i++)
		{
			wire_field_msg(&p, 1, &m);
			wire_varint(&sub, i);
		}
		wire_field_msg(&m, 2, &sub);
		wire_field_msg(&p, 2, &m);
		snprintf(name, sizeof(name), "limit-sample-types-%d.pb", 64 + extra);
		WriteBuf(name, &p);

		/* string length, gzipped */
		big = malloc(1024 * 1024 + 1);
		memset(big, 'a', 1024 * 1024 + 1);
		wire_field_string(&p, 6, "");
		wire_field_bytes(&p, 6, big, 1024 * 1024 + extra);
		snprintf(name, sizeof(name), "limit-string-bytes-%d.pb.gz", 1024 * 1024 + extra);
		WriteGzip(name, p.data, p.len);
		free(big);
		p.len = 0;
	}
	free(p.data);
	free(m.data);
	free(sub.data);
}

/* Truncations and bit flips of one file; deterministic. */
static void
Damage(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	Buf			b = {0};
	uint8_t		chunk[65536];
	size_t		n;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char		name[1024];
	size_t		cuts[4];
	int			i;
	uint64_t	x = 0x9e3779b97f4a7c15ULL;

	if (f == NULL)
		Die(path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		wire_put(&b, chunk, n);
	fclose(f);
	if (b.len < 4)
		return;

	cuts[0] = 1;
	cuts[1] = b.len / 3;
	cuts[2] = b.len / 2;
	cuts[3] = b.len - 1;
	for (i = 0; i < 4; i++)
	{
		snprintf(name, sizeof(name), "%s.trunc%zu", base, cuts[i]);
		WriteFile(name, b.data, cuts[i]);
	}
	for (i = 0; i < 6; i++)
	{
		size_t		pos;
		int			bit;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pos = (size_t) (x % b.len);
		bit = (int) ((x >> 32) % 8);
		b.data[pos] ^= 1 << bit;
		snprintf(name, sizeof(name), "%s.flip%zu.%d", base, pos, bit);
		WriteFile(name, b.data, b.len);
		b.data[pos] ^= 1 << bit;
	}
	free(b.data);
}

int
main(int argc, char **argv)
{
	int			i;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s OUTDIR [FILE...]\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (argc == 2)
	{
		FullProfile();
		HandMade();
		Limits();
	}
	for (i = 2; i < argc; i++)
		Damage(argv[i]);
	return 0;
}
