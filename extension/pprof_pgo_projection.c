/*-------------------------------------------------------------------------
 *
 * pprof_pgo_projection.c
 *	  The compiler's projection of a profile: what pgo_merge reads of it.
 *
 * pgo_merge (pprof_merge_pgo.c) reads of an input only: the first sample
 * type that is samples/count or cpu/nanoseconds and the cpu/nanoseconds
 * one; every sample's values of those, and its pprof.pgo_frames leaf-most
 * locations, of which the address (only to tell which share one) and the
 * lines (function name and start line, line); time, duration and period;
 * and whether any function has a start line. The fleet catalog also
 * filters samples by their string label "mode". The projection is the
 * profile reduced to exactly that, for up to `frames` leaf-most locations:
 * a profile in the stored layout, flagged PPROF_FLAG_PGO_PROJECTION with
 * its frames and projection version in the header, returned in its compact
 * form (pprof_pgo_compact.c), which every reader expands back to it. pgo_merge of it gives
 * the bytes pgo_merge of the profile gives, under any pprof.pgo_frames up
 * to `frames` (pgo_merge refuses it beyond), with any weight, normalized
 * or not, and after pprof_filter_label(..., 'mode', ...) of either.
 *
 * pgo.profiles stores it beside each profile (generated column
 * pgo_projection), so a catalog merge reads a few kilobytes per row instead
 * of the whole layout (docs/DESIGN.md section 7, BENCHMARKS.md "Merge path").
 *
 * Samples are kept one for one, not summed by projected stack: pgo_merge
 * rounds each sample's weight on its own, so summing first could change the
 * result by a rounding.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pprof_merge.h"

/* pprof.pgo_frames is at most this (pprof.c) */
#define MAX_PROJECTION_FRAMES 64

/* not kept / not mapped yet */
#define DROPPED			PG_UINT32_MAX

/* The projection being built: old index -> new index, per kind. */
typedef struct Projection
{
	const PprofView *v;
	uint32	   *strings;
	uint32	   *functions;
	uint32	   *locations;
	uint32		n_strings;
	uint32		str_bytes;
	uint32		n_functions;
	uint32		n_locations;
	uint32		n_lines;
} Projection;

static void KeepString(Projection *p, uint32 index);
static void NumberStrings(Projection *p);
static void KeepFunction(Projection *p, uint32 index);
static void KeepLocation(Projection *p, uint32 index);
static bool IsModeLabel(const PprofView *v, const PprofLabel *label, uint8 *cache);

PG_FUNCTION_INFO_V1(pprof_pgo_projection);

/*
 * Mark a string kept. Kept strings are numbered afterwards, in the
 * profile's order (NumberStrings), so the string data stays in order.
 */
static void
KeepString(Projection *p, uint32 index)
{
	if (p->strings[index] == DROPPED)
	{
		p->strings[index] = 0;
		p->n_strings++;
		p->str_bytes += PprofStringLength(p->v, index) + 1;
	}
}

/* Number the kept strings 0, 1, ... in the profile's order. */
static void
NumberStrings(Projection *p)
{
	uint32		n = 0;
	uint32		i;

	for (i = 0; i < p->v->hdr->n_strings; i++)
		if (p->strings[i] != DROPPED)
			p->strings[i] = n++;
}

static void
KeepFunction(Projection *p, uint32 index)
{
	if (p->functions[index] != DROPPED)
		return;
	p->functions[index] = p->n_functions++;
	KeepString(p, p->v->functions[index].name);
}

static void
KeepLocation(Projection *p, uint32 index)
{
	const PprofLocation *l = &p->v->locations[index];
	uint32		k;

	if (p->locations[index] != DROPPED)
		return;
	p->locations[index] = p->n_locations++;
	p->n_lines += l->n_lines;
	for (k = 0; k < l->n_lines; k++)
		KeepFunction(p, p->v->lines[l->first_line + k].function);
}

/*
 * A string label whose key reads as "mode", as pprof_filter_label compares
 * keys (PprofStringServer), so a filter keeps the same samples of the
 * projection as of the profile. cache: per string index, 0 unknown, 1 no,
 * 2 yes.
 */
static bool
IsModeLabel(const PprofView *v, const PprofLabel *label, uint8 *cache)
{
	if (label->str == 0)
		return false;
	if (cache[label->key] == 0)
		cache[label->key] = strcmp(PprofStringServer(v, label->key), "mode") == 0 ? 2 : 1;
	return cache[label->key] == 2;
}

/*
 * The projection of v keeping `frames` leaf-most locations (file header),
 * as a layout: PprofCompactProjection() makes its stored form.
 */
Pprof *
PprofPgoProject(const PprofView *v, int frames)
{
	const Pprof *h = v->hdr;
	Projection	p;
	Pprof		hdr;
	Pprof	   *result;
	PprofView	out;
	PprofError	err;
	PprofSampleWriter w;
	int64	   *values;
	uint8	   *mode_cache;
	int			types[2];
	int			n_types = 0;
	int			value_index = PprofPgoSampleIndex(v);
	int			ns_index = PprofFindSampleType(v, "cpu/nanoseconds");
	bool		start_line = false;
	uint32		witness = DROPPED;
	uint32		i;
	uint32		k;

	memset(&p, 0, sizeof(p));
	p.v = v;
	p.strings = palloc_extended(sizeof(uint32) * Max(h->n_strings, 1), MCXT_ALLOC_HUGE);
	memset(p.strings, 0xff, sizeof(uint32) * h->n_strings);
	p.functions = palloc_extended(sizeof(uint32) * Max(h->n_functions, 1), MCXT_ALLOC_HUGE);
	memset(p.functions, 0xff, sizeof(uint32) * h->n_functions);
	p.locations = palloc_extended(sizeof(uint32) * Max(h->n_locations, 1), MCXT_ALLOC_HUGE);
	memset(p.locations, 0xff, sizeof(uint32) * h->n_locations);
	mode_cache = palloc_extended(Max(h->n_strings, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	/* string 0 is "" in every profile */
	KeepString(&p, 0);

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = PPROF_LAYOUT_VERSION;
	hdr.flags = PPROF_FLAG_PGO_PROJECTION;
	hdr.reserved = PprofProjectionReserved(frames);
	hdr.time_nanos = h->time_nanos;
	hdr.duration_nanos = h->duration_nanos;
	hdr.period = h->period;

	/*
	 * Without a sample type the compiler reads, pgo_merge skips the profile:
	 * so does it skip a projection without samples.
	 */
	if (value_index >= 0)
	{
		/* the two sample types pgo_merge reads, in the profile's order */
		for (i = 0; i < h->n_sample_types; i++)
			if ((int) i == value_index || (int) i == ns_index)
				types[n_types++] = i;
		for (k = 0; k < n_types; k++)
		{
			KeepString(&p, v->sample_types[types[k]].type);
			KeepString(&p, v->sample_types[types[k]].unit);
		}
		hdr.n_samples = h->n_samples;
	}
	hdr.n_sample_types = n_types;

	for (i = 0; i < hdr.n_samples; i++)
	{
		const PprofSample *smp = &v->samples[i];
		uint32		depth = Min(smp->depth, (uint32) frames);

		for (k = 0; k < depth; k++)
			KeepLocation(&p, v->stack[smp->first_location + k]);
		hdr.n_stack += depth;
		for (k = 0; k < smp->n_labels; k++)
		{
			const PprofLabel *label = &v->labels[smp->first_label + k];

			if (IsModeLabel(v, label, mode_cache))
			{
				KeepString(&p, label->key);
				KeepString(&p, label->str);
				hdr.n_labels++;
			}
		}
		if ((i & 0x3ff) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/*
	 * pgo_merge skips a profile in which no function has a start line: keep
	 * the first function that has one if no kept function does.
	 */
	for (i = 0; i < h->n_functions; i++)
	{
		if (v->functions[i].start_line == 0)
			continue;
		if (p.functions[i] != DROPPED)
		{
			start_line = true;
			break;
		}
		if (witness == DROPPED)
			witness = i;
	}
	if (!start_line && witness != DROPPED && hdr.n_samples > 0)
		KeepFunction(&p, witness);

	NumberStrings(&p);
	hdr.n_strings = p.n_strings;
	hdr.str_bytes = p.str_bytes;
	hdr.n_functions = p.n_functions;
	hdr.n_locations = p.n_locations;
	hdr.n_lines = p.n_lines;

	result = PprofLayoutAlloc(&hdr, &out, &err);
	if (result == NULL)
		PprofThrow(&err);

	/* strings */
	{
		uint32	   *offsets = unconstify(uint32 *, out.str_offsets);
		char	   *data = unconstify(char *, out.str_data);
		uint32		pos = 0;

		for (i = 0; i < h->n_strings; i++)
		{
			uint32		len;

			if (p.strings[i] == DROPPED)
				continue;
			len = PprofStringLength(v, i) + 1;
			offsets[p.strings[i]] = pos;
			memcpy(data + pos, PprofString(v, i), len);
			pos += len;
		}
		offsets[hdr.n_strings] = pos;
	}

	for (i = 0; i < n_types; i++)
	{
		PprofValueType *t = unconstify(PprofValueType *, &out.sample_types[i]);

		t->type = p.strings[v->sample_types[types[i]].type];
		t->unit = p.strings[v->sample_types[types[i]].unit];
	}

	for (i = 0; i < h->n_functions; i++)
	{
		PprofFunction *f;

		if (p.functions[i] == DROPPED)
			continue;
		f = unconstify(PprofFunction *, &out.functions[p.functions[i]]);
		f->id = v->functions[i].id;
		f->name = p.strings[v->functions[i].name];
		f->start_line = v->functions[i].start_line;
	}

	/*
	 * locations without mapping, in the order they were kept; lines without
	 * column, location after location
	 */
	{
		uint32	   *kept = palloc_extended(sizeof(uint32) * Max(p.n_locations, 1), MCXT_ALLOC_HUGE);
		uint32		line_pos = 0;
		uint32		j;

		for (i = 0; i < h->n_locations; i++)
			if (p.locations[i] != DROPPED)
				kept[p.locations[i]] = i;
		for (j = 0; j < p.n_locations; j++)
		{
			const PprofLocation *l = &v->locations[kept[j]];
			PprofLocation *o = unconstify(PprofLocation *, &out.locations[j]);

			o->id = l->id;
			o->address = l->address;
			o->first_line = line_pos;
			o->n_lines = l->n_lines;
			for (k = 0; k < l->n_lines; k++)
			{
				const PprofLine *line = &v->lines[l->first_line + k];
				PprofLine  *ol = unconstify(PprofLine *, &out.lines[line_pos++]);

				ol->function = p.functions[line->function];
				ol->line = line->line;
			}
		}
		pfree(kept);
	}

	/*
	 * samples in order: values of the kept types, stack, mode labels (counted
	 * first: the writer reserves a sample's labels with it)
	 */
	PprofSampleWriterInit(&w, &out);
	values = unconstify(int64 *, out.values);
	for (i = 0; i < hdr.n_samples; i++)
	{
		const PprofSample *smp = &v->samples[i];
		const PprofLabel *labels = &v->labels[smp->first_label];
		uint32		depth = Min(smp->depth, (uint32) frames);
		uint32		n_modes = 0;
		PprofSample *o;
		PprofLabel *ol;
		int			t;

		for (k = 0; k < smp->n_labels; k++)
			if (IsModeLabel(v, &labels[k], mode_cache))
				n_modes++;
		o = PprofWriteSample(&w, depth, n_modes);
		if (o == NULL)
			elog(ERROR, "pprof projection: samples exceed their count");
		for (t = 0; t < n_types; t++)
			values[(Size) i * n_types + t] =
				v->values[(Size) i * h->n_sample_types + types[t]];
		for (k = 0; k < depth; k++)
			w.stack[o->first_location + k] = p.locations[v->stack[smp->first_location + k]];
		ol = &w.labels[o->first_label];
		for (k = 0; k < smp->n_labels; k++)
		{
			if (IsModeLabel(v, &labels[k], mode_cache))
			{
				ol->key = p.strings[labels[k].key];
				ol->str = p.strings[labels[k].str];
				ol++;
			}
		}
	}
	return result;
}

/*
 * pprof_pgo_projection(pprof, frames): the profile reduced to what
 * pgo_merge reads of it, for pprof.pgo_frames up to frames.
 */
Datum
pprof_pgo_projection(PG_FUNCTION_ARGS)
{
	Pprof	   *in = PG_GETARG_PPROF_P(0);
	int32		frames = PG_GETARG_INT32(1);
	PprofView	v;

	if (frames < 2 || frames > MAX_PROJECTION_FRAMES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frames must be between 2 and %d, not %d",
						MAX_PROJECTION_FRAMES, frames),
				 errdetail("It is the largest pprof.pgo_frames the projection serves.")));
	PprofCheckMergeInput(in, MERGE_PGO, frames);
	PprofOpen(in, &v);
	PprofOpen(PprofPgoProject(&v, frames), &v);
	PG_RETURN_PPROF_P(PprofCompactProjection(&v));
}
