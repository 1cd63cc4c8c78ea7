/*-------------------------------------------------------------------------
 *
 * pprof.h
 *	  The stored form of a pprof profile and the internal API around it.
 *
 * A profile is decoded and validated once, at input, into a flat varlena
 * ("layout") of fixed-width arrays: every reference (stack entry, line,
 * location mapping) is already resolved to an array index, so accessors and
 * merges walk plain arrays and never parse protobuf or inflate gzip again.
 * Original IDs and the original string table are kept, so the profile that
 * comes back out has the same content as the one that went in
 * (docs/DESIGN.md section 5).
 *
 * Layout, after the fixed header, each section MAXALIGN'ed:
 *		values		int64	[n_samples * n_sample_types]
 *		mappings	PprofMapping	[n_mappings]
 *		locations	PprofLocation	[n_locations]
 *		lines		PprofLine		[n_lines]
 *		functions	PprofFunction	[n_functions]
 *		samples		PprofSample		[n_samples]
 *		labels		PprofLabel		[n_labels]
 *		stack		uint32	[n_stack]		location indexes, leaf first
 *		sample_types PprofValueType [n_sample_types]
 *		comments	uint32	[n_comments]	string indexes
 *		str_offsets	uint32	[n_strings + 1]
 *		str_data	char	[str_bytes]		strings, each followed by a NUL
 *
 * Strings are stored byte for byte as received: Go strings are arbitrary
 * bytes, so a string may hold invalid UTF-8 and NULs (a label value set from
 * a request path, say). Its length is the distance between its offsets
 * minus the terminator; PprofBytesToServer() turns one into SQL text.
 *
 * The type is declared with ALIGNMENT = double, so a non-toasted datum
 * starts 8-byte aligned and the int64 fields below are naturally aligned.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_H
#define PPROF_H

#include "fmgr.h"
#include "nodes/pg_list.h"
#include "pprof_pgcompat.h"

/* Bumped whenever the stored layout changes; readers reject other values. */
#define PPROF_LAYOUT_VERSION	1

/*
 * Fixed caps on element counts. They bound what a decoder allocates before it
 * has seen the whole input; pprof.max_profile_bytes bounds the input itself.
 * They are far above anything runtime/pprof writes (a busy service's 60 s CPU
 * profile has ~10^4 samples and locations, stacks of at most 128 frames).
 */
#define PPROF_MAX_ELEMENTS		(16 * 1024 * 1024)	/* per kind: samples, locations, ... */
#define PPROF_MAX_SAMPLE_TYPES	64
#define PPROF_MAX_STACK_DEPTH	4096
#define PPROF_MAX_LINES_PER_LOCATION 1024
#define PPROF_MAX_LABELS_PER_SAMPLE 1024
#define PPROF_MAX_COMMENTS		4096
#define PPROF_MAX_STRING_BYTES	(1024 * 1024)

/* Index meaning "no mapping" in PprofLocation.mapping */
#define PPROF_NO_MAPPING		0

typedef struct PprofValueType
{
	uint32		type;			/* string index */
	uint32		unit;			/* string index */
} PprofValueType;

#define PPROF_MAPPING_HAS_FUNCTIONS		0x01
#define PPROF_MAPPING_HAS_FILENAMES		0x02
#define PPROF_MAPPING_HAS_LINE_NUMBERS	0x04
#define PPROF_MAPPING_HAS_INLINE_FRAMES	0x08

typedef struct PprofMapping
{
	uint64		id;
	uint64		memory_start;
	uint64		memory_limit;
	uint64		file_offset;
	uint32		filename;		/* string index */
	uint32		build_id;		/* string index */
	uint32		flags;			/* PPROF_MAPPING_HAS_* */
	uint32		padding;
} PprofMapping;

typedef struct PprofLocation
{
	uint64		id;
	uint64		address;
	uint32		mapping;		/* mapping index + 1, or PPROF_NO_MAPPING */
	uint32		first_line;		/* index into lines */
	uint32		n_lines;
	uint32		is_folded;
} PprofLocation;

typedef struct PprofLine
{
	uint32		function;		/* index into functions */
	uint32		padding;
	int64		line;
	int64		column;
} PprofLine;

typedef struct PprofFunction
{
	uint64		id;
	uint32		name;			/* string indexes */
	uint32		system_name;
	uint32		filename;
	uint32		padding;
	int64		start_line;
} PprofFunction;

typedef struct PprofSample
{
	uint32		first_location; /* index into stack */
	uint32		depth;
	uint32		first_label;	/* index into labels */
	uint32		n_labels;
} PprofSample;

typedef struct PprofLabel
{
	uint32		key;			/* string indexes */
	uint32		str;
	uint32		num_unit;
	uint32		padding;
	int64		num;
} PprofLabel;

/* The on-disk header; section sizes follow from the counts. */
typedef struct Pprof
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		version;		/* PPROF_LAYOUT_VERSION */
	uint8		flags;			/* reserved, 0 */
	uint16		reserved;
	int64		time_nanos;
	int64		duration_nanos;
	int64		period;
	PprofValueType period_type;
	uint32		default_sample_type;	/* string index, 0 = unset */
	uint32		drop_frames;	/* string index */
	uint32		keep_frames;	/* string index */
	uint32		n_sample_types;
	uint32		n_samples;
	uint32		n_mappings;
	uint32		n_locations;
	uint32		n_lines;
	uint32		n_functions;
	uint32		n_labels;
	uint32		n_stack;
	uint32		n_comments;
	uint32		n_strings;
	uint32		str_bytes;
	uint32		padding;
} Pprof;

/* Pointers into a layout, computed once per datum by PprofOpen(). */
typedef struct PprofView
{
	const Pprof *hdr;
	const int64 *values;
	const PprofMapping *mappings;
	const PprofLocation *locations;
	const PprofLine *lines;
	const PprofFunction *functions;
	const PprofSample *samples;
	const PprofLabel *labels;
	const uint32 *stack;
	const PprofValueType *sample_types;
	const uint32 *comments;
	const uint32 *str_offsets;
	const char *str_data;
} PprofView;

/* Section sizes of a layout with the given counts (header fields filled). */
typedef struct PprofSections
{
	Size		values;
	Size		mappings;
	Size		locations;
	Size		lines;
	Size		functions;
	Size		samples;
	Size		labels;
	Size		stack;
	Size		sample_types;
	Size		comments;
	Size		str_offsets;
	Size		str_data;
	Size		total;			/* whole varlena, header included */
} PprofSections;

/*
 * A decoding error, reported by the caller: the decoder itself never throws
 * for bad input, so pprof_validate() can return the reason as text without a
 * subtransaction.
 */
typedef struct PprofError
{
	int			sqlerrcode;
	const char *message;		/* errmsg: short, lower case */
	const char *detail;			/* errdetail: full sentence, may be NULL */
	const char *hint;			/* errhint, may be NULL */
} PprofError;

/*
 * Writes the samples of a layout from PprofLayoutAlloc() in order, each
 * one's frames and labels right after the previous one's (as the decoder
 * lays them out and readers expect), within the counts of its header.
 */
typedef struct PprofSampleWriter
{
	const Pprof *hdr;
	PprofSample *samples;
	PprofLabel *labels;
	uint32	   *stack;
	uint32		n_samples;		/* written so far */
	uint32		stack_pos;
	uint32		label_pos;
} PprofSampleWriter;

#define DatumGetPprofP(X)		((Pprof *) PG_DETOAST_DATUM(X))
#define PG_GETARG_PPROF_P(n)	DatumGetPprofP(PG_GETARG_DATUM(n))
#define PG_RETURN_PPROF_P(x)	PG_RETURN_POINTER(x)

/* GUCs (pprof.c) */
extern int	pprof_max_profile_bytes;

/* pprof_layout.c */
extern void PprofComputeSections(const Pprof *hdr, PprofSections *sections);
extern Pprof *PprofLayoutAlloc(const Pprof *hdr, PprofView *view, PprofError *err);
extern void PprofOpen(const Pprof *pprof, PprofView *view);
extern void PprofSampleWriterInit(PprofSampleWriter *w, const PprofView *out);
extern PprofSample *PprofWriteSample(PprofSampleWriter *w, uint32 depth, uint32 n_labels);
extern const char *PprofString(const PprofView *view, uint32 index);
extern uint32 PprofStringLength(const PprofView *view, uint32 index);
extern bool PprofStringEquals(const PprofView *view, uint32 index, const char *s);
extern const char *PprofBytesToServer(const char *bytes, Size len);
extern const char *PprofStringServer(const PprofView *view, uint32 index);
extern text *PprofStringText(const PprofView *view, uint32 index);
extern int	PprofFindSampleType(const PprofView *view, const char *name);

/* pprof_inspect.c */
extern bool PprofOpenWithSampleType(FunctionCallInfo fcinfo, int type_arg,
									PprofView *view, int *k);
extern char *PprofSampleTypeName(const PprofView *view, int index);
extern char *PprofSampleTypeList(const PprofView *view);
extern bool PprofOpenArgWithSampleType(FunctionCallInfo fcinfo, int arg,
									   int type_arg, PprofView *view, int *k);

/* pprof_report.c */
extern const char *PprofFrameName(const PprofView *view, const PprofLocation *loc,
								  const PprofLine *line, uint32 *len);
extern void PprofAddChecked(int64 *acc, int64 value, const PprofView *view, int k);

/*
 * pprof_pgo.c: what go build -pgo (Go 1.21-1.27) makes of a profile.
 * PprofPgoSampleIndex() (pprof_layout.c) is the sample type the compiler
 * weighs edges with, or -1; PprofPgoProblems() lists, as sentences in the database encoding,
 * why the profile is rejected or ignored by go build (NIL when usable).
 */
extern int	PprofPgoSampleIndex(const PprofView *view);
extern List *PprofPgoProblems(const PprofView *view);

/*
 * pprof_pgo_edges.c: the weighted call edges the compiler builds from a
 * profile (what go tool preprofile prints), sorted as it sorts them.
 */
typedef enum PgoEdgesStatus
{
	PGO_EDGES_OK,				/* edges with a non-zero total weight */
	PGO_EDGES_NO_SAMPLES,		/* ignored: no samples */
	PGO_EDGES_NO_SAMPLE_TYPE,	/* rejected: no samples/count, cpu/nanoseconds */
	PGO_EDGES_ALL_ZERO,			/* no graph node: Go 1.27 ignores, 1.23 rejects */
	PGO_EDGES_NO_START_LINE,	/* rejected: no Function.start_line */
	PGO_EDGES_NO_WEIGHT,		/* ignored: the edges weigh 0 in total */
	PGO_EDGES_OVERFLOW			/* weights beyond int64 (Go wraps them) */
} PgoEdgesStatus;

typedef struct PgoEdge
{
	const char *caller;			/* bytes, into the profile's strings */
	uint32		caller_len;
	uint32		callee_len;
	const char *callee;
	int64		offset;			/* call line - caller's start line */
	int64		weight;
} PgoEdge;

typedef struct PgoEdges
{
	PgoEdgesStatus status;
	int			sample_index;	/* PprofPgoSampleIndex() */
	int64		total_weight;
	uint32		n_edges;
	PgoEdge    *edges;			/* heaviest first */
} PgoEdges;

extern void PgoEdgesBuild(const PprofView *view, PgoEdges *out);
extern PgoEdgesStatus PgoEdgesVerdict(const PprofView *view);

/* pprof_gzip.c */
extern bool PprofIsGzip(const char *data, Size len);
extern char *PprofGunzip(const char *data, Size len, Size max_bytes,
						 Size *out_len, PprofError *err);
extern bytea *PprofGzip(const char *data, Size len);

/* pprof_decode.c */
extern Pprof *PprofDecode(const char *data, Size len, PprofError *err);
extern Pprof *PprofDecodeRaw(const char *data, Size len, PprofError *err);
pg_noreturn extern void PprofThrow(const PprofError *err);
extern char *PprofErrorText(const PprofError *err);

/* pprof_sniff.c */
extern void PprofNameFormat(const char *data, Size len, PprofError *err);

/* pprof_encode.c */
extern char *PprofEncodeRaw(const Pprof *pprof, Size *out_len);
extern bytea *PprofEncode(const Pprof *pprof);

#endif							/* PPROF_H */
