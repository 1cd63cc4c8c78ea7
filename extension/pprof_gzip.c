/*-------------------------------------------------------------------------
 *
 * pprof_gzip.c
 *	  Bounded gzip inflate for profile input and deterministic deflate for
 *	  output.
 *
 * Inflation stops as soon as the output would exceed the caller's limit, so a
 * gzip bomb costs at most that many bytes of memory and the time to inflate
 * them. The output buffer doubles, never grows by a constant, so large inputs
 * stay linear.
 *
 * Exactly one gzip member is accepted: the Go toolchain refuses a profile
 * made of two concatenated members, and trailing bytes are a sign of a
 * damaged upload, so both are errors rather than silently ignored.
 *
 * Inflating tries libdeflate first: it inflates a whole buffer ~2x faster
 * than zlib's streaming inflate (BENCHMARKS.md), into a buffer sized by the
 * gzip trailer. Whatever it does not accept as exactly one valid member
 * within the limits goes the zlib way, which finds and reports the problem,
 * so errors read the same whichever way the input took. Output is deflated
 * by libdeflate too (PprofGzip).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <libdeflate.h>
#include <zlib.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof.h"

#define GUNZIP_INITIAL_BYTES	(64 * 1024)

static void *ZallocPalloc(void *opaque, unsigned int items, unsigned int size);
static void ZfreePalloc(void *opaque, void *address);
static void ZStreamInit(z_stream *zs);
static void SetTooLarge(PprofError *err, Size max_bytes);
static void SetCorrupt(PprofError *err, const char *detail, const char *hint);
static char *GunzipWhole(const char *data, Size len, Size max_bytes, Size *out_len);
static char *GunzipStream(const char *data, Size len, Size max_bytes, Size *out_len,
						  PprofError *err);

/* deflate's best ratio is 1032:1; a trailer claiming more is not believed */
#define DEFLATE_MAX_RATIO	1032

/*
 * libdeflate's decompressor keeps no state between calls: one per backend,
 * made on first use and kept (malloc'd by libdeflate, a few KB).
 */
static struct libdeflate_decompressor *decompressor = NULL;

/* zlib allocator on palloc, so an ERROR cannot leak zlib's state. */
static void *
ZallocPalloc(void *opaque, unsigned int items, unsigned int size)
{
	return palloc((Size) items * size);
}

static void
ZfreePalloc(void *opaque, void *address)
{
	pfree(address);
}

/* A zeroed z_stream on the palloc allocator, for inflateInit2. */
static void
ZStreamInit(z_stream *zs)
{
	memset(zs, 0, sizeof(*zs));
	zs->zalloc = ZallocPalloc;
	zs->zfree = ZfreePalloc;
}

static void
SetTooLarge(PprofError *err, Size max_bytes)
{
	err->sqlerrcode = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	err->message = "pprof profile is too large";
	err->detail = psprintf("The profile inflates to more than %zu bytes, the limit set by pprof.max_profile_bytes.",
						   max_bytes);
	err->hint = "Raise pprof.max_profile_bytes if profiles this large are expected.";
}

/* *err for input that is not exactly one valid gzip member. */
static void
SetCorrupt(PprofError *err, const char *detail, const char *hint)
{
	err->sqlerrcode = ERRCODE_DATA_CORRUPTED;
	err->message = "invalid gzip data in pprof profile";
	err->detail = detail;
	err->hint = hint;
}

/* True if data starts with the gzip magic number. */
bool
PprofIsGzip(const char *data, Size len)
{
	return len >= 2 && (unsigned char) data[0] == 0x1f &&
		(unsigned char) data[1] == 0x8b;
}

/*
 * Inflate one gzip member of at most max_bytes decompressed bytes. Returns a
 * palloc'd buffer (with one spare byte, NUL, so callers may treat it as a
 * string), or NULL with *err set.
 */
char *
PprofGunzip(const char *data, Size len, Size max_bytes, Size *out_len,
			PprofError *err)
{
	char	   *out = GunzipWhole(data, len, max_bytes, out_len);

	if (out != NULL)
		return out;
	return GunzipStream(data, len, max_bytes, out_len, err);
}

/*
 * The fast way: libdeflate into a buffer of the size the gzip trailer gives
 * (ISIZE, the size mod 2^32, the sender's word: believed only within
 * max_bytes and deflate's best ratio, so the allocation is bounded as on the
 * zlib way). libdeflate checks the CRC and that ISIZE matches. NULL, with
 * nothing allocated, if the input is anything but exactly one valid member
 * of that size.
 */
static char *
GunzipWhole(const char *data, Size len, Size max_bytes, Size *out_len)
{
	const unsigned char *trailer = (const unsigned char *) data + len - 4;
	Size		isize;
	size_t		in_used;
	size_t		out_used;
	char	   *out;

	/* a gzip header and trailer are 18 bytes */
	if (len < 18 || !PprofIsGzip(data, len))
		return NULL;
	isize = (Size) trailer[0] | (Size) trailer[1] << 8 |
		(Size) trailer[2] << 16 | (Size) trailer[3] << 24;
	if (isize > max_bytes || isize / DEFLATE_MAX_RATIO > len)
		return NULL;

	if (decompressor == NULL)
	{
		decompressor = libdeflate_alloc_decompressor();
		if (decompressor == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Could not allocate a gzip decompressor.")));
	}

	out = palloc(isize + 1);
	if (libdeflate_gzip_decompress_ex(decompressor, data, len, out, isize,
									  &in_used, &out_used) != LIBDEFLATE_SUCCESS ||
		in_used != len || out_used != isize)
	{
		pfree(out);
		return NULL;
	}
	out[isize] = '\0';
	*out_len = isize;
	return out;
}

/*
 * The zlib way: streaming inflate into a buffer that doubles, stopping as
 * soon as the output would exceed max_bytes; reports exactly what is wrong
 * with the input.
 */
static char *
GunzipStream(const char *data, Size len, Size max_bytes, Size *out_len,
			 PprofError *err)
{
	z_stream	zs;
	char	   *out;
	Size		cap;
	int			rc;

	ZStreamInit(&zs);
	zs.next_in = (Bytef *) data;
	zs.avail_in = 0;

	/* 16 + MAX_WBITS: gzip wrapper only, with CRC-32 and length check. */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		elog(ERROR, "could not initialize zlib: %s", zs.msg ? zs.msg : "unknown error");

	cap = Min(Max(len * 4, GUNZIP_INITIAL_BYTES), max_bytes + 1);
	out = palloc(cap + 1);
	zs.next_out = (Bytef *) out;
	zs.avail_out = cap;

	for (;;)
	{
		/* zlib counts in uInt; feed the input in chunks it can take. */
		if (zs.avail_in == 0)
		{
			Size		consumed = (const char *) zs.next_in - data;

			zs.avail_in = Min(len - consumed, (Size) 1 << 30);
		}

		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
		{
			const char *msg = zs.msg ? zs.msg : "unknown error";

			inflateEnd(&zs);
			pfree(out);
			SetCorrupt(err, psprintf("zlib reports \"%s\" at compressed byte %zu.",
									 msg, (Size) ((const char *) zs.next_in - data)),
					   NULL);
			return NULL;
		}

		if (zs.avail_out == 0)
		{
			Size		used = cap;

			if (used > max_bytes)
			{
				inflateEnd(&zs);
				pfree(out);
				SetTooLarge(err, max_bytes);
				return NULL;
			}
			cap = Min(cap * 2, max_bytes + 1);
			out = repalloc(out, cap + 1);
			zs.next_out = (Bytef *) out + used;
			zs.avail_out = cap - used;
		}
		else if (zs.avail_in == 0 && (const char *) zs.next_in == data + len)
		{
			/* all input consumed, room left, and still no end of stream */
			inflateEnd(&zs);
			pfree(out);
			SetCorrupt(err, psprintf("The gzip stream is truncated after %zu compressed bytes.", len),
					   NULL);
			return NULL;
		}
		CHECK_FOR_INTERRUPTS();
	}

	*out_len = zs.total_out;
	inflateEnd(&zs);

	if (*out_len > max_bytes)
	{
		pfree(out);
		SetTooLarge(err, max_bytes);
		return NULL;
	}

	if ((const char *) zs.next_in != data + len)
	{
		Size		trailing = data + len - (const char *) zs.next_in;
		const char *detail;

		if (PprofIsGzip((const char *) zs.next_in, trailing))
			detail = psprintf("The input holds more than one gzip member (%zu bytes follow the first).",
							  trailing);
		else
			detail = psprintf("%zu bytes of trailing data follow the gzip stream.",
							  trailing);
		SetCorrupt(err, detail,
				   "Go tools reject such files; upload the profile exactly as written by runtime/pprof.");
		pfree(out);
		return NULL;
	}

	out[*out_len] = '\0';
	return out;
}

/*
 * Gzip a buffer into a new bytea. The output is deterministic for a given
 * input and libdeflate version: the header carries no name and mtime 0,
 * which matters because Go keys its build cache on the profile's bytes.
 *
 * libdeflate at level 1, as fast as the level runtime/pprof writes with:
 * against zlib's level 1 it takes 2.3x fewer instructions and its output is
 * ~5% smaller (zlib's level 6 made files ~9% smaller than its level 1 but
 * cost 16-29% of a merge's instructions; BENCHMARKS.md).
 */
bytea *
PprofGzip(const char *data, Size len)
{
	/* like the decompressor: per backend, kept (its tables, ~0.1-1 MB) */
	static struct libdeflate_compressor *compressor = NULL;
	bytea	   *result;
	Size		bound;
	size_t		written;

	if (compressor == NULL)
	{
		compressor = libdeflate_alloc_compressor(1);
		if (compressor == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Could not allocate a gzip compressor.")));
	}

	bound = libdeflate_gzip_compress_bound(compressor, len);
	if (bound + VARHDRSZ > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("encoded pprof profile is too large")));

	result = palloc(bound + VARHDRSZ);
	written = libdeflate_gzip_compress(compressor, data, len, VARDATA(result), bound);
	if (written == 0)
		elog(ERROR, "could not compress pprof profile: the output exceeds its bound");
	SET_VARSIZE(result, written + VARHDRSZ);
	return result;
}
