/*-------------------------------------------------------------------------
 *
 * pprof_report.c
 *	  Reports over every sample of a profile: top functions (as go tool
 *	  pprof -top prints them), per-function weights, labels, raw stacks.
 *
 * pprof_top follows go tool pprof (google/pprof internal/graph New() and
 * Nodes.Sort(FlatNameOrder), internal/report TextItems(), driver
 * aggregate() at the default "functions" granularity):
 *	- a node is a function NAME: aggregation clears file names, lines and
 *	  addresses, so functions of the same name from different files (or
 *	  binaries) are one node; a frame without a function name is named
 *	  after its binary, "[file]", else "<unknown>";
 *	- samples whose value is 0 are skipped;
 *	- flat: the value of every sample whose leaf-most frame (inlined frames
 *	  included) is the node; cum: the value of every sample in which the node
 *	  appears at all, once per sample even under recursion;
 *	- nodes with flat = cum = 0 are dropped; the rest sort by |flat| desc,
 *	  then name (bytewise) asc, then |cum| desc; the first n are shown;
 *	- percentages are of the sum of |value| over all samples.
 *
 * Names are grouped and ordered by their bytes, as pprof does, and made text
 * only for output (PprofBytesToServer), so two names that differ only in
 * invalid UTF-8 are two rows that read alike. Labels are the other way round:
 * pprof_labels and pprof_stacks key their output by label text (rows of
 * (key, value), jsonb object keys), so they group labels by the text they
 * show, as pprof_label_values and pprof_filter_label do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "pprof.h"

/* A node of pprof_top: one function name. */
typedef struct TopNode
{
	const char *name;			/* bytes, followed by a NUL */
	uint32		name_len;
	int32		function;		/* lowest function index of that name, or -1 */
	int64		flat;
	int64		cum;
} TopNode;

/*
 * Flat and cum values per node, for pprof_top (a node per function name)
 * and pprof_functions (a node per Function record), and which node each
 * frame counts for: node_of[FrameSlot()], -1 for a frame that counts for
 * none.
 */
typedef struct Weights
{
	const int32 *node_of;
	int64	   *flat;
	int64	   *cum;
	uint32	   *stamp;			/* per node: last sample counted in cum, + 1 */
} Weights;

/*
 * A "slot" is a frame that can carry a name: each line (slot = line index)
 * and each location without lines (slot = n_lines + location index).
 */
typedef struct SlotName
{
	const char *name;			/* bytes, followed by a NUL */
	uint32		name_len;
	uint32		function;		/* function index, PG_UINT32_MAX if none */
	uint32		slot;
} SlotName;

/* One label of one sample, for pprof_labels. */
typedef struct LabelRef
{
	const char *key;			/* text (database encoding) */
	const char *str;			/* text of a string label's value, else NULL */
	int64		num;			/* value of a numeric label */
	const char *unit;			/* text of a numeric label's unit, maybe "" */
	const PprofLabel *label;
	uint32		sample;
} LabelRef;

/* A label of one sample and the text of its key, for pprof_stacks. */
typedef struct KeyedLabel
{
	const char *key;			/* text (database encoding) */
	uint32		label;			/* label index */
} KeyedLabel;

pg_noreturn static void OverflowError(const PprofView *view, int k);
static uint64 Abs64(int64 v);
static int	CompareBytes(const char *a, uint32 alen, const char *b, uint32 blen);
static text *FrameText(const PprofView *view, const PprofLocation *loc,
					   const PprofLine *line);
static void TextOrNull(const PprofView *view, uint32 index, Datum *value,
					   bool *isnull);
static inline uint32 FrameSlot(const PprofView *view, uint32 location, uint32 line);
static void WeightsInit(Weights *wt, const int32 *node_of, uint32 n_nodes);
static void WeighSample(const PprofView *view, int k, uint32 s, int64 w,
						Weights *wt);
static int	CompareSlotNames(const void *a, const void *b);
static int	CompareTopNodes(const void *a, const void *b);
static int	CompareLabelRefs(const void *a, const void *b);
static int	CompareKeyedLabels(const void *a, const void *b);
static bool IsStringLabel(const PprofLabel *label);
static bool IsNumericLabel(const PprofLabel *label);
static char *LabelValue(const PprofView *view, const PprofLabel *label);
static bool OpenReportArgs(FunctionCallInfo fcinfo, int type_arg,
						   PprofView *view, int *k);

PG_FUNCTION_INFO_V1(pprof_top);
PG_FUNCTION_INFO_V1(pprof_functions);
PG_FUNCTION_INFO_V1(pprof_labels);
PG_FUNCTION_INFO_V1(pprof_stacks);

/* A sum of sample type k's values left bigint's range. */
static void
OverflowError(const PprofView *view, int k)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("bigint out of range"),
			 errdetail("A sum of the profile's %s values overflows.",
					   PprofSampleTypeName(view, k))));
	pg_unreachable();
}

/* *acc += value, or ERROR when the sum leaves bigint's range. */
void
PprofAddChecked(int64 *acc, int64 value, const PprofView *view, int k)
{
	if (pg_add_s64_overflow(*acc, value, acc))
		OverflowError(view, k);
}

/* |v| without overflow on INT64_MIN. */
static uint64
Abs64(int64 v)
{
	return v < 0 ? (uint64) 0 - (uint64) v : (uint64) v;
}

/* Bytewise order of two byte strings, a shorter prefix first. */
static int
CompareBytes(const char *a, uint32 alen, const char *b, uint32 blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	if (c != 0)
		return c;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/*
 * The name go tool pprof gives a frame: its function's name; without one,
 * "[" + the binary's base name (as Go's filepath.Base) + "]", else
 * "<unknown>". line is NULL for a location without lines. Bytes of *len,
 * followed by a NUL.
 */
const char *
PprofFrameName(const PprofView *view, const PprofLocation *loc, const PprofLine *line,
		  uint32 *len)
{
	if (line != NULL)
	{
		uint32		name = view->functions[line->function].name;

		*len = PprofStringLength(view, name);
		if (*len > 0)
			return PprofString(view, name);
	}
	if (loc->mapping != PPROF_NO_MAPPING)
	{
		uint32		file = view->mappings[loc->mapping - 1].filename;
		const char *path = PprofString(view, file);
		uint32		end = PprofStringLength(view, file);
		uint32		start;

		if (end > 0)
		{
			StringInfoData buf;

			while (end > 1 && path[end - 1] == '/')
				end--;
			start = 0;
			if (end > 1)
				for (start = end; start > 0 && path[start - 1] != '/'; start--)
					;
			initStringInfo(&buf);
			appendStringInfoChar(&buf, '[');
			appendBinaryStringInfo(&buf, path + start, end - start);
			appendStringInfoChar(&buf, ']');
			*len = buf.len;
			return buf.data;
		}
	}
	*len = strlen("<unknown>");
	return "<unknown>";
}

/* PprofFrameName() as text. */
static text *
FrameText(const PprofView *view, const PprofLocation *loc, const PprofLine *line)
{
	uint32		len;
	const char *name = PprofFrameName(view, loc, line, &len);

	return cstring_to_text(PprofBytesToServer(name, len));
}

/* A column holding the string at index as text, or NULL when it is empty. */
static void
TextOrNull(const PprofView *view, uint32 index, Datum *value, bool *isnull)
{
	*isnull = PprofStringLength(view, index) == 0;
	if (!*isnull)
		*value = PointerGetDatum(PprofStringText(view, index));
}

/* Slot of line j (0 = innermost) of a location; j is ignored without lines. */
static inline uint32
FrameSlot(const PprofView *view, uint32 location, uint32 j)
{
	const PprofLocation *loc = &view->locations[location];

	if (loc->n_lines == 0)
		return view->hdr->n_lines + location;
	return loc->first_line + j;
}

/* Weights of n_nodes nodes, all zero, for frames mapped by node_of. */
static void
WeightsInit(Weights *wt, const int32 *node_of, uint32 n_nodes)
{
	wt->node_of = node_of;
	wt->flat = palloc_extended(sizeof(int64) * Max(n_nodes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	wt->cum = palloc_extended(sizeof(int64) * Max(n_nodes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	wt->stamp = palloc_extended(sizeof(uint32) * Max(n_nodes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/*
 * Add sample s, of value w in sample type k, as pprof does: to the flat
 * value of its leaf-most frame's node (inlined frames included), and to the
 * cum value of every node among its frames, once even under recursion.
 */
static void
WeighSample(const PprofView *view, int k, uint32 s, int64 w, Weights *wt)
{
	const PprofSample *sample = &view->samples[s];
	uint32		d,
				j;

	for (d = 0; d < sample->depth; d++)
	{
		uint32		l = view->stack[sample->first_location + d];
		uint32		n_frames = Max(view->locations[l].n_lines, 1);

		for (j = 0; j < n_frames; j++)
		{
			int32		node = wt->node_of[FrameSlot(view, l, j)];

			if (node >= 0 && wt->stamp[node] != s + 1)
			{
				wt->stamp[node] = s + 1;
				PprofAddChecked(&wt->cum[node], w, view, k);
			}
		}
	}
	if (sample->depth > 0)
	{
		int32		leaf = wt->node_of[FrameSlot(view, view->stack[sample->first_location], 0)];

		if (leaf >= 0)
			PprofAddChecked(&wt->flat[leaf], w, view, k);
	}
}

/* qsort: by name, then function index (the lowest names the node's file). */
static int
CompareSlotNames(const void *a, const void *b)
{
	const SlotName *x = a;
	const SlotName *y = b;
	int			c = CompareBytes(x->name, x->name_len, y->name, y->name_len);

	if (c != 0)
		return c;
	if (x->function != y->function)
		return x->function < y->function ? -1 : 1;
	return x->slot < y->slot ? -1 : (x->slot > y->slot ? 1 : 0);
}

/* qsort: pprof's FlatNameOrder. Names are unique, so this is total. */
static int
CompareTopNodes(const void *a, const void *b)
{
	const TopNode *x = a;
	const TopNode *y = b;
	uint64		xv = Abs64(x->flat),
				yv = Abs64(y->flat);
	int			c;

	if (xv != yv)
		return xv > yv ? -1 : 1;
	c = CompareBytes(x->name, x->name_len, y->name, y->name_len);
	if (c != 0)
		return c;
	xv = Abs64(x->cum);
	yv = Abs64(y->cum);
	if (xv != yv)
		return xv > yv ? -1 : 1;
	return 0;
}

/* qsort: by key, string labels before numeric ones, value, sample. */
static int
CompareLabelRefs(const void *a, const void *b)
{
	const LabelRef *x = a;
	const LabelRef *y = b;
	int			c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if ((x->str == NULL) != (y->str == NULL))
		return x->str != NULL ? -1 : 1;
	if (x->str != NULL)
	{
		c = strcmp(x->str, y->str);
		if (c != 0)
			return c;
	}
	else
	{
		if (x->num != y->num)
			return x->num < y->num ? -1 : 1;
		c = strcmp(x->unit, y->unit);
		if (c != 0)
			return c;
	}
	return x->sample < y->sample ? -1 : (x->sample > y->sample ? 1 : 0);
}

/* qsort: by key text, then label index. */
static int
CompareKeyedLabels(const void *a, const void *b)
{
	const KeyedLabel *x = a;
	const KeyedLabel *y = b;
	int			c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->label < y->label ? -1 : (x->label > y->label ? 1 : 0);
}

/* pprof's reading of a Label: a string label if str is set... */
static bool
IsStringLabel(const PprofLabel *label)
{
	return label->str != 0;
}

/* ... else a numeric one if num or num_unit is set, else nothing. */
static bool
IsNumericLabel(const PprofLabel *label)
{
	return label->str == 0 && (label->num != 0 || label->num_unit != 0);
}

/* A label's value as text in the database encoding: "v", "n" or "n unit". */
static char *
LabelValue(const PprofView *view, const PprofLabel *label)
{
	if (IsStringLabel(label))
		return unconstify(char *, PprofStringServer(view, label->str));
	if (PprofStringLength(view, label->num_unit) > 0)
		return psprintf(INT64_FORMAT " %s", label->num,
						PprofStringServer(view, label->num_unit));
	return psprintf(INT64_FORMAT, label->num);
}

/*
 * Common start of the reports taking (pprof, ..., sample_type DEFAULT NULL):
 * set up materialize mode, then PprofOpenWithSampleType (false: a NULL
 * profile, an empty result).
 */
static bool
OpenReportArgs(FunctionCallInfo fcinfo, int type_arg, PprofView *view, int *k)
{
	InitMaterializedSRF(fcinfo, 0);
	return PprofOpenWithSampleType(fcinfo, type_arg, view, k);
}

/*
 * pprof_top(pprof, n, sample_type DEFAULT NULL): the n functions go tool
 * pprof -top lists first, in its order, with flat and cum values.
 */
Datum
pprof_top(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofView	view;
	int			k;
	int32		limit;
	uint32		n_types;
	uint32		n_slots;
	uint32		n_named = 0;
	SlotName   *names;
	int32	   *slot_node;
	TopNode    *nodes;
	Weights		wt;
	uint32		n_nodes = 0;
	uint32		n_kept = 0;
	int64		total_abs = 0;
	uint32		i,
				j,
				s;

	if (!OpenReportArgs(fcinfo, 2, &view, &k) || PG_ARGISNULL(1))
		return (Datum) 0;
	limit = PG_GETARG_INT32(1);
	if (limit < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of functions must not be negative")));
	n_types = view.hdr->n_sample_types;

	/* name every slot, then give each distinct name a node */
	n_slots = view.hdr->n_lines + view.hdr->n_locations;
	names = palloc_extended(sizeof(SlotName) * Max(n_slots, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < view.hdr->n_locations; i++)
	{
		const PprofLocation *loc = &view.locations[i];

		if (loc->n_lines == 0)
		{
			names[n_named].name = PprofFrameName(&view, loc, NULL, &names[n_named].name_len);
			names[n_named].function = PG_UINT32_MAX;
			names[n_named].slot = FrameSlot(&view, i, 0);
			n_named++;
		}
		for (j = 0; j < loc->n_lines; j++)
		{
			const PprofLine *line = &view.lines[loc->first_line + j];

			names[n_named].name = PprofFrameName(&view, loc, line, &names[n_named].name_len);
			names[n_named].function = line->function;
			names[n_named].slot = FrameSlot(&view, i, j);
			n_named++;
		}
	}
	qsort(names, n_named, sizeof(SlotName), CompareSlotNames);

	slot_node = palloc_extended(sizeof(int32) * Max(n_slots, 1), MCXT_ALLOC_HUGE);
	nodes = palloc_extended(sizeof(TopNode) * Max(n_named, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0; i < n_named; i++)
	{
		if (i == 0 || CompareBytes(names[i].name, names[i].name_len,
								   names[i - 1].name, names[i - 1].name_len) != 0)
		{
			nodes[n_nodes].name = names[i].name;
			nodes[n_nodes].name_len = names[i].name_len;
			nodes[n_nodes].function = names[i].function == PG_UINT32_MAX ? -1 : (int32) names[i].function;
			n_nodes++;
		}
		if (names[i].slot >= n_slots)
			elog(ERROR, "pprof frame slot %u out of range", names[i].slot);
		slot_node[names[i].slot] = n_nodes - 1;
	}

	/* weigh */
	WeightsInit(&wt, slot_node, n_nodes);
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		int64		w = view.values[(Size) s * n_types + k];

		if (w == 0)
			continue;
		if (w == PG_INT64_MIN)
			OverflowError(&view, k);	/* |w| is not a bigint */
		PprofAddChecked(&total_abs, w < 0 ? -w : w, &view, k);
		WeighSample(&view, k, s, w, &wt);
	}

	/* keep the nodes that have weight, in pprof's order */
	for (i = 0; i < n_nodes; i++)
	{
		if (wt.flat[i] != 0 || wt.cum[i] != 0)
		{
			nodes[n_kept] = nodes[i];
			nodes[n_kept].flat = wt.flat[i];
			nodes[n_kept].cum = wt.cum[i];
			n_kept++;
		}
	}
	qsort(nodes, n_kept, sizeof(TopNode), CompareTopNodes);

	for (i = 0; i < n_kept && i < (uint32) limit; i++)
	{
		const TopNode *node = &nodes[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = PointerGetDatum(cstring_to_text(PprofBytesToServer(node->name, node->name_len)));
		if (node->function < 0)
			nulls[1] = true;
		else
			TextOrNull(&view, view.functions[node->function].filename, &values[1], &nulls[1]);
		values[2] = Int64GetDatum(node->flat);
		values[3] = Float8GetDatum(total_abs == 0 ? 0.0 :
								   (double) Abs64(node->flat) / (double) total_abs * 100.0);
		values[4] = Int64GetDatum(node->cum);
		values[5] = Float8GetDatum(total_abs == 0 ? 0.0 :
								   (double) Abs64(node->cum) / (double) total_abs * 100.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pprof_functions(pprof, sample_type DEFAULT NULL): every Function record
 * with its flat and cum values (as in pprof_top, but per record, not name).
 */
Datum
pprof_functions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofView	view;
	int			k;
	uint32		n_types;
	uint32		n_functions;
	int32	   *slot_function;
	Weights		wt;
	uint32		i,
				f,
				s;

	if (!OpenReportArgs(fcinfo, 1, &view, &k))
		return (Datum) 0;
	n_types = view.hdr->n_sample_types;
	n_functions = view.hdr->n_functions;

	/* a line counts for its function; a location without lines for none */
	slot_function = palloc_extended(sizeof(int32) * Max(view.hdr->n_lines + view.hdr->n_locations, 1),
									MCXT_ALLOC_HUGE);
	for (i = 0; i < view.hdr->n_lines; i++)
		slot_function[i] = (int32) view.lines[i].function;
	for (i = 0; i < view.hdr->n_locations; i++)
		slot_function[view.hdr->n_lines + i] = -1;

	WeightsInit(&wt, slot_function, n_functions);
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		int64		w = view.values[(Size) s * n_types + k];

		if (w != 0)
			WeighSample(&view, k, s, w, &wt);
	}

	for (f = 0; f < n_functions; f++)
	{
		const PprofFunction *fn = &view.functions[f];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = PointerGetDatum(PprofStringText(&view, fn->name));
		TextOrNull(&view, fn->system_name, &values[1], &nulls[1]);
		TextOrNull(&view, fn->filename, &values[2], &nulls[2]);
		values[3] = Int64GetDatum(fn->start_line);
		values[4] = Int64GetDatum(wt.flat[f]);
		values[5] = Int64GetDatum(wt.cum[f]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pprof_labels(pprof, sample_type DEFAULT NULL): every (key, value) label,
 * how many samples carry it, and the sum of their values.
 */
Datum
pprof_labels(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofView	view;
	int			k;
	uint32		n_types;
	LabelRef   *refs;
	uint32		n_refs = 0;
	uint32		i,
				s;

	if (!OpenReportArgs(fcinfo, 1, &view, &k))
		return (Datum) 0;
	n_types = view.hdr->n_sample_types;

	refs = palloc_extended(sizeof(LabelRef) * Max(view.hdr->n_labels, 1), MCXT_ALLOC_HUGE);
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		const PprofSample *sample = &view.samples[s];

		for (i = 0; i < sample->n_labels; i++)
		{
			const PprofLabel *label = &view.labels[sample->first_label + i];
			LabelRef   *ref = &refs[n_refs];

			if (!IsStringLabel(label) && !IsNumericLabel(label))
				continue;
			ref->key = PprofStringServer(&view, label->key);
			ref->str = IsStringLabel(label) ? PprofStringServer(&view, label->str) : NULL;
			ref->num = label->num;
			ref->unit = PprofStringServer(&view, label->num_unit);
			ref->label = label;
			ref->sample = s;
			n_refs++;
		}
	}
	qsort(refs, n_refs, sizeof(LabelRef), CompareLabelRefs);

	/* one row per run of equal (key, value); a sample counts once per run */
	for (i = 0; i < n_refs;)
	{
		uint32		end = i + 1;
		int64		samples = 0;
		int64		total = 0;
		uint32		r;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		while (end < n_refs &&
			   strcmp(refs[end].key, refs[i].key) == 0 &&
			   (refs[end].str == NULL) == (refs[i].str == NULL) &&
			   (refs[i].str != NULL ? strcmp(refs[end].str, refs[i].str) == 0 :
				refs[end].num == refs[i].num && strcmp(refs[end].unit, refs[i].unit) == 0))
			end++;

		for (r = i; r < end; r++)
		{
			if (r > i && refs[r].sample == refs[r - 1].sample)
				continue;
			samples++;
			PprofAddChecked(&total, view.values[(Size) refs[r].sample * n_types + k], &view, k);
		}

		values[0] = PointerGetDatum(cstring_to_text(refs[i].key));
		values[1] = PointerGetDatum(cstring_to_text(LabelValue(&view, refs[i].label)));
		values[2] = Int64GetDatum(samples);
		values[3] = Int64GetDatum(total);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		i = end;
	}
	return (Datum) 0;
}

/*
 * pprof_stacks(pprof): one row per sample: function names leaf first with
 * inlined frames, every sample type's value, labels as a jsonb object (a
 * key that repeats within a sample maps to an array of its values).
 */
Datum
pprof_stacks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofView	view;
	MemoryContext row_cxt;
	MemoryContext old_cxt;
	uint32		n_types;
	uint32		s;

	InitMaterializedSRF(fcinfo, 0);
	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	n_types = view.hdr->n_sample_types;

	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "pprof_stacks row",
									ALLOCSET_DEFAULT_SIZES);
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		const PprofSample *sample = &view.samples[s];
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		Datum	   *frames;
		Datum	   *nums;
		KeyedLabel *order;
		uint32		n_frames = 0;
		uint32		n_order = 0;
		uint32		d,
					j,
					i;
		StringInfoData json;

		CHECK_FOR_INTERRUPTS();
		old_cxt = MemoryContextSwitchTo(row_cxt);

		/* functions, leaf first; a location's lines are innermost first */
		for (d = 0; d < sample->depth; d++)
			n_frames += Max(view.locations[view.stack[sample->first_location + d]].n_lines, 1);
		frames = palloc(sizeof(Datum) * Max(n_frames, 1));
		n_frames = 0;
		for (d = 0; d < sample->depth; d++)
		{
			const PprofLocation *loc = &view.locations[view.stack[sample->first_location + d]];

			if (loc->n_lines == 0)
				frames[n_frames++] = PointerGetDatum(FrameText(&view, loc, NULL));
			for (j = 0; j < loc->n_lines; j++)
				frames[n_frames++] = PointerGetDatum(FrameText(&view, loc, &view.lines[loc->first_line + j]));
		}
		values[0] = PointerGetDatum(n_frames == 0 ? construct_empty_array(TEXTOID) :
									construct_array_builtin(frames, n_frames, TEXTOID));

		nums = palloc(sizeof(Datum) * Max(n_types, 1));
		for (i = 0; i < n_types; i++)
			nums[i] = Int64GetDatum(view.values[(Size) s * n_types + i]);
		values[1] = PointerGetDatum(n_types == 0 ? construct_empty_array(INT8OID) :
									construct_array_builtin(nums, n_types, INT8OID));

		/* labels, grouped by key text: a jsonb object keeps one of equal keys */
		order = palloc(sizeof(KeyedLabel) * Max(sample->n_labels, 1));
		for (i = 0; i < sample->n_labels; i++)
		{
			const PprofLabel *label = &view.labels[sample->first_label + i];

			if (IsStringLabel(label) || IsNumericLabel(label))
			{
				order[n_order].key = PprofStringServer(&view, label->key);
				order[n_order].label = sample->first_label + i;
				n_order++;
			}
		}
		qsort(order, n_order, sizeof(KeyedLabel), CompareKeyedLabels);
		initStringInfo(&json);
		appendStringInfoChar(&json, '{');
		for (i = 0; i < n_order;)
		{
			uint32		end = i + 1;
			uint32		r;

			while (end < n_order && strcmp(order[end].key, order[i].key) == 0)
				end++;
			if (i > 0)
				appendStringInfoString(&json, ", ");
			escape_json(&json, order[i].key);
			appendStringInfoString(&json, ": ");
			if (end - i > 1)
				appendStringInfoChar(&json, '[');
			for (r = i; r < end; r++)
			{
				if (r > i)
					appendStringInfoString(&json, ", ");
				escape_json(&json, LabelValue(&view, &view.labels[order[r].label]));
			}
			if (end - i > 1)
				appendStringInfoChar(&json, ']');
			i = end;
		}
		appendStringInfoChar(&json, '}');
		values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data));

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old_cxt);
		MemoryContextReset(row_cxt);
	}
	MemoryContextDelete(row_cxt);
	return (Datum) 0;
}
