/*-------------------------------------------------------------------------
 *
 * pg_shim.c
 *	  Just enough of the PostgreSQL backend to run the pprof decoder, the
 *	  encoder and the gzip code outside the server, under the sanitizers.
 *
 * Those files are compiled unchanged, with the server headers. What they
 * need comes from three places:
 *
 *	- libpgcommon.a / libpgport.a (frontend builds): psprintf, StringInfo,
 *	  pg_encoding_verifymbstr, pg_qsort, pg_vsnprintf. Their frontend forms
 *	  call palloc/repalloc/pfree, which resolve to this file.
 *	- this file: memory contexts, elog/ereport, interrupts, the GUCs, and
 *	  aborting stubs for what the harness never reaches.
 *	- zlib and protobuf-c.
 *
 * Memory contexts are real, not libpgcommon's fe_memutils.o (a malloc-based
 * palloc that cannot free a context): every chunk is its own malloc() with a
 * header linking it into its context, so AddressSanitizer sees the bounds of
 * each palloc'd chunk, deleting a context frees its chunks and children, and
 * LeakSanitizer reports anything the decoder leaves outside the per-input
 * context. The Makefile checks that fe_memutils.o was not linked in as well.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pprof.h"
#include "pg_shim.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define SHIM_ASAN 1
#endif
#endif

#ifdef SHIM_ASAN
/* chunk headers are poisoned except while this file looks at them */
#define POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)	((void) 0)
#define UNPOISON(p, n)	((void) 0)
#endif

/* The GUCs of pprof.c (not linked: it is the module's _PG_init). 16 MiB. */
int			pprof_max_profile_bytes = 16 * 1024 * 1024;
/* pgo_merge's settings, at their defaults; the merge harness varies them */
bool		pprof_pgo_normalize = false;
int			pprof_pgo_frames = 4;
char	   *pprof_pgo_denylist = NULL;

/* CHECK_FOR_INTERRUPTS() reads this; nothing ever sets it here. */
volatile sig_atomic_t InterruptPending = false;

/*
 * ---------------------------------------------------------------------------
 * Memory contexts
 * ---------------------------------------------------------------------------
 */

#define SHIM_CHUNK_MAGIC	UINT64CONST(0x70616c6c6f634f4b)

/*
 * Header in front of every palloc'd chunk, a multiple of 16 bytes so the
 * user pointer keeps malloc's alignment (palloc promises MAXALIGN).
 */
typedef struct ShimChunk
{
	struct ShimContext *context;
	struct ShimChunk *prev;
	struct ShimChunk *next;
	Size		size;			/* requested size, for repalloc */
	uint64		magic;
	uint64		padding;
} ShimChunk;

StaticAssertDecl(sizeof(ShimChunk) % 16 == 0, "chunk header breaks alignment");

/*
 * A context: the backend's MemoryContextData first, so MemoryContext
 * pointers and the tree links (parent, firstchild, ...) are the real ones,
 * followed by the list of live chunks.
 */
typedef struct ShimContext
{
	MemoryContextData hdr;
	ShimChunk  *chunks;
	Size		n_chunks;
	Size		bytes;			/* sum of the live chunks' sizes */
} ShimContext;

static ShimContext TopContextData;
MemoryContext TopMemoryContext = &TopContextData.hdr;
MemoryContext CurrentMemoryContext = &TopContextData.hdr;

#define ChunkOf(ptr)	((ShimChunk *) ((char *) (ptr) - sizeof(ShimChunk)))
#define PtrOf(chunk)	((void *) ((char *) (chunk) + sizeof(ShimChunk)))

static void ShimFatal(const char *what, const void *ptr) pg_attribute_noreturn();

static void
ShimFatal(const char *what, const void *ptr)
{
	fprintf(stderr, "pg_shim: %s (%p)\n", what, ptr);
	abort();
}

/*
 * Link a fresh chunk of size bytes into context and return its data; flags
 * are MCXT_ALLOC_HUGE and MCXT_ALLOC_ZERO.
 */
static void *
ChunkAlloc(MemoryContext context, Size size, int flags)
{
	ShimContext *cxt = (ShimContext *) context;
	ShimChunk  *chunk;
	bool		zero = (flags & MCXT_ALLOC_ZERO) != 0;

	/*
	 * the backend's palloc: a request above 1 GB (a huge one: above
	 * MaxAllocHugeSize) is a can't-happen ERROR
	 */
	if ((flags & MCXT_ALLOC_HUGE) ? !AllocHugeSizeIsValid(size) : !AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	if (cxt == NULL)
		ShimFatal("palloc without a current memory context", NULL);

	chunk = zero ? calloc(1, sizeof(ShimChunk) + size) :
		malloc(sizeof(ShimChunk) + size);
	if (chunk == NULL)
		elog(ERROR, "out of memory (request of %zu bytes)", size);
	chunk->context = cxt;
	chunk->size = size;
	chunk->prev = NULL;
	chunk->next = cxt->chunks;
	chunk->magic = SHIM_CHUNK_MAGIC;
	if (cxt->chunks)
	{
		UNPOISON(cxt->chunks, sizeof(ShimChunk));
		cxt->chunks->prev = chunk;
		POISON(cxt->chunks, sizeof(ShimChunk));
	}
	cxt->chunks = chunk;
	cxt->n_chunks++;
	cxt->bytes += size;
	POISON(chunk, sizeof(ShimChunk));
	return PtrOf(chunk);
}

/*
 * The header of a chunk palloc returned, unpoisoned; aborts, naming caller,
 * for any other pointer.
 */
static ShimChunk *
ChunkHeader(void *ptr, const char *caller)
{
	ShimChunk  *chunk;
	char		what[128];

	if (ptr == NULL)
	{
		snprintf(what, sizeof(what), "%s of a NULL pointer", caller);
		ShimFatal(what, ptr);
	}
	chunk = ChunkOf(ptr);
	UNPOISON(chunk, sizeof(ShimChunk));
	if (chunk->magic != SHIM_CHUNK_MAGIC)
	{
		snprintf(what, sizeof(what), "%s of a pointer palloc did not return", caller);
		ShimFatal(what, ptr);
	}
	return chunk;
}

/* Unlink a chunk from its context; returns the (unpoisoned) header. */
static ShimChunk *
ChunkUnlink(void *ptr)
{
	ShimChunk  *chunk = ChunkHeader(ptr, "pfree/repalloc");
	ShimContext *cxt = chunk->context;

	if (chunk->prev)
	{
		UNPOISON(chunk->prev, sizeof(ShimChunk));
		chunk->prev->next = chunk->next;
		POISON(chunk->prev, sizeof(ShimChunk));
	}
	else
		cxt->chunks = chunk->next;
	if (chunk->next)
	{
		UNPOISON(chunk->next, sizeof(ShimChunk));
		chunk->next->prev = chunk->prev;
		POISON(chunk->next, sizeof(ShimChunk));
	}
	cxt->n_chunks--;
	cxt->bytes -= chunk->size;
	chunk->magic = 0;
	return chunk;
}

void *
palloc(Size size)
{
	return ChunkAlloc(CurrentMemoryContext, size, 0);
}

void *
palloc0(Size size)
{
	return ChunkAlloc(CurrentMemoryContext, size, MCXT_ALLOC_ZERO);
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return ChunkAlloc(context, size, 0);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return ChunkAlloc(context, size, MCXT_ALLOC_ZERO);
}

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	return ChunkAlloc(context, size, MCXT_ALLOC_HUGE);
}

/* MCXT_ALLOC_NO_OOM is not honoured: the harness has no use for it */
void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	return ChunkAlloc(context, size, flags);
}

void
pfree(void *pointer)
{
	free(ChunkUnlink(pointer));
}

/*
 * Always moves the chunk (new allocation, copy, free), so ASan catches a
 * caller that keeps using the old pointer; the chunk stays in its context.
 */
static void *
Realloc(void *pointer, Size size, int flags)
{
	ShimChunk  *old;
	Size		old_size;
	void	   *result;

	old = ChunkHeader(pointer, "repalloc");
	old_size = old->size;
	result = ChunkAlloc(&old->context->hdr, size, flags);
	POISON(old, sizeof(ShimChunk));
	memcpy(result, pointer, Min(old_size, size));
	pfree(pointer);
	return result;
}

void *
repalloc(void *pointer, Size size)
{
	return Realloc(pointer, size, 0);
}

void *
repalloc_huge(void *pointer, Size size)
{
	return Realloc(pointer, size, MCXT_ALLOC_HUGE);
}

char *
pstrdup(const char *in)
{
	Size		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

/* Only the shape of AllocSetContextCreate() matters: no size classes here. */
MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize,
							  Size maxBlockSize)
{
	ShimContext *cxt = calloc(1, sizeof(ShimContext));

	if (cxt == NULL)
		elog(ERROR, "out of memory creating memory context \"%s\"", name);
	cxt->hdr.type = T_AllocSetContext;
	cxt->hdr.isReset = true;
	cxt->hdr.name = name;
	cxt->hdr.parent = parent;
	if (parent)
	{
		cxt->hdr.nextchild = parent->firstchild;
		if (parent->firstchild)
			parent->firstchild->prevchild = &cxt->hdr;
		parent->firstchild = &cxt->hdr;
	}
	return &cxt->hdr;
}

/* Free every chunk of a context (MemoryContextReset without the children). */
static void
ContextFreeChunks(ShimContext *cxt)
{
	ShimChunk  *chunk = cxt->chunks;

	while (chunk)
	{
		ShimChunk  *next;

		UNPOISON(chunk, sizeof(ShimChunk));
		next = chunk->next;
		free(chunk);
		chunk = next;
	}
	cxt->chunks = NULL;
	cxt->n_chunks = 0;
	cxt->bytes = 0;
}

void
MemoryContextDeleteChildren(MemoryContext context)
{
	while (context->firstchild)
		MemoryContextDelete(context->firstchild);
}

void
MemoryContextReset(MemoryContext context)
{
	MemoryContextDeleteChildren(context);
	ContextFreeChunks((ShimContext *) context);
}

void
MemoryContextDelete(MemoryContext context)
{
	/* the backend Asserts both; here they would leave dangling pointers */
	if (context == TopMemoryContext)
		ShimFatal("MemoryContextDelete(TopMemoryContext)", context);
	if (context == CurrentMemoryContext)
		ShimFatal("MemoryContextDelete of CurrentMemoryContext", context);

	MemoryContextDeleteChildren(context);
	ContextFreeChunks((ShimContext *) context);
	if (context->prevchild)
		context->prevchild->nextchild = context->nextchild;
	else if (context->parent)
		context->parent->firstchild = context->nextchild;
	if (context->nextchild)
		context->nextchild->prevchild = context->prevchild;
	free(context);
}

/*
 * Live chunks and bytes of a context (not its children): the harness checks
 * what the decoder leaves behind in the caller's context.
 */
void
ShimContextStats(MemoryContext context, Size *chunks, Size *bytes)
{
	*chunks = ((ShimContext *) context)->n_chunks;
	*bytes = ((ShimContext *) context)->bytes;
}

/*
 * One fuzz input: run(data, size) in a memory context of its own, which is
 * deleted after; then nothing may be left in TopMemoryContext. A leak
 * across inputs would only show much later, as libFuzzer's RSS limit, far
 * from the input that caused it.
 */
void
ShimRunInput(void (*run) (const uint8 *data, Size size), const uint8 *data, Size size)
{
	MemoryContext cxt,
				old;
	Size		chunks,
				bytes;

	cxt = AllocSetContextCreate(TopMemoryContext, "fuzz input", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	run(data, size);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	ShimContextStats(TopMemoryContext, &chunks, &bytes);
	if (chunks != 0 || TopMemoryContext->firstchild != NULL)
	{
		fprintf(stderr, "FUZZ CHECK FAILED: %zu chunks (%zu bytes) leaked into TopMemoryContext\n",
				chunks, bytes);
		abort();
	}
}

/*
 * ---------------------------------------------------------------------------
 * elog/ereport
 *
 * Below ERROR: printed and ignored. ERROR and above only occur on states the
 * decoder treats as impossible (elog(ERROR)) or on limits the fuzzer must
 * never reach with its bounded inputs, so they print the report and abort(),
 * which libFuzzer records as a crash with the input that caused it.
 * ---------------------------------------------------------------------------
 */

static int	shim_elevel;
static int	shim_sqlerrcode;
static char shim_message[1024];
static char shim_detail[1024];
static char shim_where[256];

bool
errstart(int elevel, const char *domain)
{
	shim_elevel = elevel;
	shim_sqlerrcode = 0;
	shim_message[0] = '\0';
	shim_detail[0] = '\0';
	return elevel >= WARNING;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

int
errcode(int sqlerrcode)
{
	shim_sqlerrcode = sqlerrcode;
	return 0;
}

#define SHIM_FORMAT(buf, fmt) \
	do { \
		va_list		args; \
		va_start(args, fmt); \
		vsnprintf((buf), sizeof(buf), (fmt), args); \
		va_end(args); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	SHIM_FORMAT(shim_message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	SHIM_FORMAT(shim_message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	SHIM_FORMAT(shim_detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

/*
 * An ERROR jumps to shim_error_jump when a harness set it (ShimCatchErrors):
 * the merges refuse some inputs by ereport, as the server would. Anything
 * else, and any ERROR while nobody catches, is printed and abort()s.
 */
static sigjmp_buf *shim_error_jump;

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (shim_elevel >= ERROR && shim_error_jump != NULL)
	{
		sigjmp_buf *jump = shim_error_jump;

		shim_error_jump = NULL;
		snprintf(shim_where, sizeof(shim_where), "%s:%d", filename, lineno);
		siglongjmp(*jump, 1);
	}
	fprintf(stderr, "pg_shim: elevel %d at %s:%d (%s): %s%s%s [SQLSTATE %s]\n",
			shim_elevel, filename, lineno, funcname ? funcname : "?",
			shim_message, shim_detail[0] ? " DETAIL: " : "", shim_detail,
			shim_sqlerrcode ? unpack_sql_state(shim_sqlerrcode) : "none");
	if (shim_elevel >= ERROR)
		abort();
}

/* The next ERROR jumps to jump (NULL: aborts again); see errfinish. */
void
ShimCatchErrors(sigjmp_buf *jump)
{
	shim_error_jump = jump;
}

/*
 * The ERROR caught last: its SQLSTATE (0 for elog, the backend's
 * can't-happen errors), message, detail and source location.
 */
int
ShimCaughtError(const char **message, const char **detail, const char **where)
{
	*message = shim_message;
	*detail = shim_detail;
	*where = shim_where;
	return shim_sqlerrcode;
}

/* unpack_sql_state lives in elog.c; this is its five-character body. */
char *
unpack_sql_state(int sql_state)
{
	static char buf[6];
	int			i;

	for (i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(sql_state);
		sql_state >>= 6;
	}
	buf[i] = '\0';
	return buf;
}

/* Only reached if InterruptPending were set, which nothing does. */
void
ProcessInterrupts(void)
{
	ShimFatal("ProcessInterrupts called", NULL);
}

/*
 * ---------------------------------------------------------------------------
 * Encodings. The harness turns every accepted string into text with
 * pprof_layout.c's PprofBytesToServer() in a UTF-8 "database", which needs no
 * conversion; the rest is referenced by paths it never takes.
 * ---------------------------------------------------------------------------
 */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

Oid
FindDefaultConversionProc(int32 for_encoding, int32 to_encoding)
{
	ShimFatal("FindDefaultConversionProc is not available in the fuzz shim", NULL);
}

int
pg_do_encoding_conversion_buf(Oid proc, int src_encoding, int dest_encoding,
							  unsigned char *src, int srclen,
							  unsigned char *dest, int destlen, bool noError)
{
	ShimFatal("pg_do_encoding_conversion_buf is not available in the fuzz shim", NULL);
}

text *
cstring_to_text(const char *s)
{
	ShimFatal("cstring_to_text is not available in the fuzz shim", s);
}
