/*-------------------------------------------------------------------------
 *
 * encode_ref.c
 *	  The reference encoder of the fuzz targets: a layout -> pprof protobuf
 *	  through protobuf-c's generated packer.
 *
 * This was the extension's encoder until 0.3 (pprof_encode.c now writes
 * the wire format itself, for a sixth of pprof_merge's instructions). It
 * stays here as the judge: every layout the fuzz targets encode must give
 * the same bytes from both (encode_ref.h), so the extension's output bytes,
 * which Go's build cache keys on, cannot drift.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "pprof.h"
#include "profile.pb-c.h"
#include "encode_ref.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;

/*
 * Serialize a layout to uncompressed protobuf through protobuf-c's
 * generated packer. All message structs are palloc'd in the current
 * context; the caller owns the result.
 */
char *
PprofEncodeRawReference(const Pprof *pprof, Size *out_len)
{
	PprofView	v;
	const Pprof *h;
	PbProfile	msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	PbValueType period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	PbValueType *sample_types;
	PbSample   *samples;
	PbLabel    *labels;
	PbMapping  *mappings;
	PbLocation *locations;
	PbLine	   *lines;
	PbLine	  **line_ptrs;
	PbLabel   **label_ptrs;
	PbFunction *functions;
	uint64	   *location_ids;
	Size		len;
	char	   *buf;
	uint32		i,
				k;

	/* the header of what PprofOpen opened, which it may have made */
	PprofOpen(pprof, &v);
	h = v.hdr;

	sample_types = palloc(sizeof(PbValueType) * Max(h->n_sample_types, 1));
	msg.sample_type = palloc(sizeof(PbValueType *) * Max(h->n_sample_types, 1));
	msg.n_sample_type = h->n_sample_types;
	for (i = 0; i < h->n_sample_types; i++)
	{
		perftools__profiles__value_type__init(&sample_types[i]);
		sample_types[i].type = v.sample_types[i].type;
		sample_types[i].unit = v.sample_types[i].unit;
		msg.sample_type[i] = &sample_types[i];
	}

	/* labels: one flat array, each sample points into it */
	labels = palloc(sizeof(PbLabel) * Max(h->n_labels, 1));
	label_ptrs = palloc(sizeof(PbLabel *) * Max(h->n_labels, 1));
	for (i = 0; i < h->n_labels; i++)
	{
		perftools__profiles__label__init(&labels[i]);
		labels[i].key = v.labels[i].key;
		labels[i].str = v.labels[i].str;
		labels[i].num = v.labels[i].num;
		labels[i].num_unit = v.labels[i].num_unit;
		label_ptrs[i] = &labels[i];
	}

	/* stacks go back to location IDs */
	location_ids = palloc(sizeof(uint64) * Max(h->n_stack, 1));
	for (i = 0; i < h->n_stack; i++)
		location_ids[i] = v.locations[v.stack[i]].id;

	samples = palloc(sizeof(PbSample) * Max(h->n_samples, 1));
	msg.sample = palloc(sizeof(PbSample *) * Max(h->n_samples, 1));
	msg.n_sample = h->n_samples;
	for (i = 0; i < h->n_samples; i++)
	{
		const PprofSample *s = &v.samples[i];

		perftools__profiles__sample__init(&samples[i]);
		samples[i].n_location_id = s->depth;
		samples[i].location_id = location_ids + s->first_location;
		samples[i].n_value = h->n_sample_types;
		samples[i].value = unconstify(int64 *, v.values + (Size) i * h->n_sample_types);
		samples[i].n_label = s->n_labels;
		samples[i].label = label_ptrs + s->first_label;
		msg.sample[i] = &samples[i];
		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	mappings = palloc(sizeof(PbMapping) * Max(h->n_mappings, 1));
	msg.mapping = palloc(sizeof(PbMapping *) * Max(h->n_mappings, 1));
	msg.n_mapping = h->n_mappings;
	for (i = 0; i < h->n_mappings; i++)
	{
		const PprofMapping *m = &v.mappings[i];

		perftools__profiles__mapping__init(&mappings[i]);
		mappings[i].id = m->id;
		mappings[i].memory_start = m->memory_start;
		mappings[i].memory_limit = m->memory_limit;
		mappings[i].file_offset = m->file_offset;
		mappings[i].filename = m->filename;
		mappings[i].build_id = m->build_id;
		mappings[i].has_functions = (m->flags & PPROF_MAPPING_HAS_FUNCTIONS) != 0;
		mappings[i].has_filenames = (m->flags & PPROF_MAPPING_HAS_FILENAMES) != 0;
		mappings[i].has_line_numbers = (m->flags & PPROF_MAPPING_HAS_LINE_NUMBERS) != 0;
		mappings[i].has_inline_frames = (m->flags & PPROF_MAPPING_HAS_INLINE_FRAMES) != 0;
		msg.mapping[i] = &mappings[i];
	}

	lines = palloc(sizeof(PbLine) * Max(h->n_lines, 1));
	line_ptrs = palloc(sizeof(PbLine *) * Max(h->n_lines, 1));
	for (i = 0; i < h->n_lines; i++)
	{
		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = v.functions[v.lines[i].function].id;
		lines[i].line = v.lines[i].line;
		lines[i].column = v.lines[i].column;
		line_ptrs[i] = &lines[i];
	}

	locations = palloc(sizeof(PbLocation) * Max(h->n_locations, 1));
	msg.location = palloc(sizeof(PbLocation *) * Max(h->n_locations, 1));
	msg.n_location = h->n_locations;
	for (i = 0; i < h->n_locations; i++)
	{
		const PprofLocation *l = &v.locations[i];

		perftools__profiles__location__init(&locations[i]);
		locations[i].id = l->id;
		locations[i].mapping_id = l->mapping == PPROF_NO_MAPPING ? 0 :
			v.mappings[l->mapping - 1].id;
		locations[i].address = l->address;
		locations[i].n_line = l->n_lines;
		locations[i].line = line_ptrs + l->first_line;
		locations[i].is_folded = l->is_folded != 0;
		msg.location[i] = &locations[i];
	}

	functions = palloc(sizeof(PbFunction) * Max(h->n_functions, 1));
	msg.function = palloc(sizeof(PbFunction *) * Max(h->n_functions, 1));
	msg.n_function = h->n_functions;
	for (i = 0; i < h->n_functions; i++)
	{
		const PprofFunction *f = &v.functions[i];

		perftools__profiles__function__init(&functions[i]);
		functions[i].id = f->id;
		functions[i].name = f->name;
		functions[i].system_name = f->system_name;
		functions[i].filename = f->filename;
		functions[i].start_line = f->start_line;
		msg.function[i] = &functions[i];
	}

	/* strings are bytes (profile.proto): NULs and invalid UTF-8 go out as stored */
	msg.string_table = palloc(sizeof(ProtobufCBinaryData) * Max(h->n_strings, 1));
	msg.n_string_table = h->n_strings;
	for (i = 0; i < h->n_strings; i++)
	{
		msg.string_table[i].data = (uint8_t *) unconstify(char *, PprofString(&v, i));
		msg.string_table[i].len = PprofStringLength(&v, i);
	}

	msg.drop_frames = h->drop_frames;
	msg.keep_frames = h->keep_frames;
	msg.time_nanos = h->time_nanos;
	msg.duration_nanos = h->duration_nanos;
	if (h->period_type.type != 0 || h->period_type.unit != 0)
	{
		period_type.type = h->period_type.type;
		period_type.unit = h->period_type.unit;
		msg.period_type = &period_type;
	}
	msg.period = h->period;
	msg.n_comment = h->n_comments;
	msg.comment = palloc(sizeof(int64) * Max(h->n_comments, 1));
	for (k = 0; k < h->n_comments; k++)
		msg.comment[k] = v.comments[k];
	msg.default_sample_type = h->default_sample_type;

	len = perftools__profiles__profile__get_packed_size(&msg);
	if (len > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("encoded pprof profile is too large"),
				 errdetail("The profile would take %zu bytes.", len)));
	buf = palloc(Max(len, 1));
	if (perftools__profiles__profile__pack(&msg, (uint8_t *) buf) != len)
		elog(ERROR, "protobuf-c packed a different size than it computed");

	pfree(sample_types);
	pfree(labels);
	pfree(label_ptrs);
	pfree(location_ids);
	pfree(samples);
	pfree(msg.sample);
	pfree(mappings);
	pfree(msg.mapping);
	pfree(lines);
	pfree(line_ptrs);
	pfree(locations);
	pfree(msg.location);
	pfree(functions);
	pfree(msg.function);
	pfree(msg.string_table);
	pfree(msg.comment);
	pfree(msg.sample_type);

	*out_len = len;
	return buf;
}

/* abort() unless our encoder gives the reference's bytes. */
void
CheckEncodeMatchesReference(const Pprof *pprof)
{
	Size		ours_len,
				ref_len,
				i;
	char	   *ours = PprofEncodeRaw(pprof, &ours_len);
	char	   *ref = PprofEncodeRawReference(pprof, &ref_len);

	if (ours_len != ref_len || memcmp(ours, ref, ref_len) != 0)
	{
		for (i = 0; i < Min(ours_len, ref_len) && ours[i] == ref[i]; i++)
			;
		fprintf(stderr, "PprofEncodeRaw differs from protobuf-c: %zu bytes against %zu, "
				"first difference at byte %zu\n", ours_len, ref_len, i);
		abort();
	}
	pfree(ours);
	pfree(ref);
}
