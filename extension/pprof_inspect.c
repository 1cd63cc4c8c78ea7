/*-------------------------------------------------------------------------
 *
 * pprof_inspect.c
 *	  Accessors: what a stored profile says about itself (sample types,
 *	  period, time, counts, totals, comments, build ID).
 *
 * Everything here reads the header and a section or two of the layout; the
 * reports that walk every sample are in pprof_report.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "pprof.h"

PG_FUNCTION_INFO_V1(pprof_sample_types);
PG_FUNCTION_INFO_V1(pprof_sample_type_names);
PG_FUNCTION_INFO_V1(pprof_default_sample_type);
PG_FUNCTION_INFO_V1(pprof_period_type);
PG_FUNCTION_INFO_V1(pprof_period);
PG_FUNCTION_INFO_V1(pprof_duration);
PG_FUNCTION_INFO_V1(pprof_time);
PG_FUNCTION_INFO_V1(pprof_sample_count);
PG_FUNCTION_INFO_V1(pprof_location_count);
PG_FUNCTION_INFO_V1(pprof_function_count);
PG_FUNCTION_INFO_V1(pprof_mapping_count);
PG_FUNCTION_INFO_V1(pprof_total);
PG_FUNCTION_INFO_V1(pprof_comments);
PG_FUNCTION_INFO_V1(pprof_build_id);

/*
 * "type/unit" of sample type index, in the database encoding.
 */
char *
PprofSampleTypeName(const PprofView *view, int index)
{
	if (index < 0 || index >= view->hdr->n_sample_types)
		elog(ERROR, "pprof sample type index %d out of range", index);
	return psprintf("%s/%s",
					PprofStringServer(view, view->sample_types[index].type),
					PprofStringServer(view, view->sample_types[index].unit));
}

/*
 * The profile's sample types as "a/b, c/d", for hints; "none" if it has none.
 */
char *
PprofSampleTypeList(const PprofView *view)
{
	StringInfoData buf;
	int			i;

	if (view->hdr->n_sample_types == 0)
		return pstrdup("none");
	initStringInfo(&buf);
	for (i = 0; i < view->hdr->n_sample_types; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, PprofSampleTypeName(view, i));
	}
	return buf.data;
}

/*
 * Start of the functions taking (pprof, ..., sample_type DEFAULT NULL),
 * which are not strict: false when the profile (argument 0) is NULL, else
 * open it into *view and resolve argument type_arg into *k. A NULL
 * sample_type means the default sample type (the one go tool pprof shows),
 * else a type ("cpu") or "type/unit". Errors out when the profile has no
 * such sample type, listing the ones it has.
 */
bool
PprofOpenWithSampleType(FunctionCallInfo fcinfo, int type_arg, PprofView *view,
						int *k)
{
	return PprofOpenArgWithSampleType(fcinfo, 0, type_arg, view, k);
}

/* PprofOpenWithSampleType() of the profile in argument arg. */
bool
PprofOpenArgWithSampleType(FunctionCallInfo fcinfo, int arg, int type_arg,
						   PprofView *view, int *k)
{
	char	   *server;

	if (PG_ARGISNULL(arg))
		return false;
	PprofOpen(PG_GETARG_PPROF_P(arg), view);

	if (view->hdr->n_sample_types == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("profile has no sample types")));

	if (PG_ARGISNULL(type_arg))
	{
		*k = PprofFindSampleType(view, NULL);
		return true;
	}

	server = text_to_cstring(PG_GETARG_TEXT_PP(type_arg));
	*k = PprofFindSampleType(view, server);
	if (*k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("profile has no sample type \"%s\"", server),
				 errhint("The profile's sample types are %s.",
						 PprofSampleTypeList(view))));
	return true;
}

/* pprof_sample_types(pprof): (type, unit) of every sample type, in order. */
Datum
pprof_sample_types(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PprofView	view;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	PprofOpen(PG_GETARG_PPROF_P(0), &view);

	for (i = 0; i < view.hdr->n_sample_types; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = PointerGetDatum(PprofStringText(&view, view.sample_types[i].type));
		values[1] = PointerGetDatum(PprofStringText(&view, view.sample_types[i].unit));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* pprof_sample_type_names(pprof): the sample types as "type/unit" text[]. */
Datum
pprof_sample_type_names(PG_FUNCTION_ARGS)
{
	PprofView	view;
	Datum	   *elems;
	int			i;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	if (view.hdr->n_sample_types == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));

	elems = palloc(sizeof(Datum) * view.hdr->n_sample_types);
	for (i = 0; i < view.hdr->n_sample_types; i++)
		elems[i] = PointerGetDatum(cstring_to_text(PprofSampleTypeName(&view, i)));
	PG_RETURN_ARRAYTYPE_P(construct_array_builtin(elems, view.hdr->n_sample_types, TEXTOID));
}

/* pprof_default_sample_type(pprof): "type/unit" go tool pprof shows by default. */
Datum
pprof_default_sample_type(PG_FUNCTION_ARGS)
{
	PprofView	view;
	int			index;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	index = PprofFindSampleType(&view, NULL);
	if (index < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(PprofSampleTypeName(&view, index)));
}

/* pprof_period_type(pprof): "type/unit" of the sampling period, NULL if unset. */
Datum
pprof_period_type(PG_FUNCTION_ARGS)
{
	PprofView	view;
	const PprofValueType *pt;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	pt = &view.hdr->period_type;
	if (PprofStringLength(&view, pt->type) == 0 &&
		PprofStringLength(&view, pt->unit) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s/%s",
											  PprofStringServer(&view, pt->type),
											  PprofStringServer(&view, pt->unit))));
}

/* pprof_period(pprof): the sampling period, in units of the period type. */
Datum
pprof_period(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	PG_RETURN_INT64(view.hdr->period);
}

/* pprof_duration(pprof): how long the profile was collected, NULL if unknown. */
Datum
pprof_duration(PG_FUNCTION_ARGS)
{
	PprofView	view;
	Interval   *result;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	if (view.hdr->duration_nanos == 0)
		PG_RETURN_NULL();

	result = palloc0(sizeof(Interval));
	result->time = view.hdr->duration_nanos / 1000;
	PG_RETURN_INTERVAL_P(result);
}

/* pprof_time(pprof): when collection started, NULL if unknown. */
Datum
pprof_time(PG_FUNCTION_ARGS)
{
	PprofView	view;
	TimestampTz result;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	if (view.hdr->time_nanos == 0)
		PG_RETURN_NULL();

	/*
	 * Nanoseconds since the Unix epoch fit in int64 only between 1677 and
	 * 2262, well inside timestamptz's range, so this cannot overflow.
	 */
	result = view.hdr->time_nanos / 1000 -
		(Timestamp) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	PG_RETURN_TIMESTAMPTZ(result);
}

/* pprof_sample_count(pprof): number of Sample records. */
Datum
pprof_sample_count(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	PG_RETURN_INT64(view.hdr->n_samples);
}

/* pprof_location_count(pprof): number of Location records. */
Datum
pprof_location_count(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	PG_RETURN_INT64(view.hdr->n_locations);
}

/* pprof_function_count(pprof): number of Function records. */
Datum
pprof_function_count(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	PG_RETURN_INT64(view.hdr->n_functions);
}

/* pprof_mapping_count(pprof): number of Mapping records. */
Datum
pprof_mapping_count(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	PG_RETURN_INT64(view.hdr->n_mappings);
}

/*
 * pprof_total(pprof, sample_type DEFAULT NULL): sum of one sample type's
 * values over all samples; NULL sample_type is the default sample type.
 */
Datum
pprof_total(PG_FUNCTION_ARGS)
{
	PprofView	view;
	int			k;
	uint32		n_types;
	uint32		s;
	int64		total = 0;

	if (!PprofOpenWithSampleType(fcinfo, 1, &view, &k))
		PG_RETURN_NULL();

	n_types = view.hdr->n_sample_types;
	for (s = 0; s < view.hdr->n_samples; s++)
	{
		if (pg_add_s64_overflow(total, view.values[(Size) s * n_types + k], &total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range"),
					 errdetail("The sum of the profile's %s values overflows.",
							   PprofSampleTypeName(&view, k))));
	}
	PG_RETURN_INT64(total);
}

/* pprof_comments(pprof): the profile's comments, in order. */
Datum
pprof_comments(PG_FUNCTION_ARGS)
{
	PprofView	view;
	Datum	   *elems;
	int			i;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	if (view.hdr->n_comments == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));

	elems = palloc(sizeof(Datum) * view.hdr->n_comments);
	for (i = 0; i < view.hdr->n_comments; i++)
		elems[i] = PointerGetDatum(PprofStringText(&view, view.comments[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array_builtin(elems, view.hdr->n_comments, TEXTOID));
}

/*
 * pprof_build_id(pprof): build ID of the main binary, which pprof takes to
 * be the first mapping; NULL when there is none or it is empty.
 */
Datum
pprof_build_id(PG_FUNCTION_ARGS)
{
	PprofView	view;

	PprofOpen(PG_GETARG_PPROF_P(0), &view);
	if (view.hdr->n_mappings == 0 ||
		PprofStringLength(&view, view.mappings[0].build_id) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(PprofStringText(&view, view.mappings[0].build_id));
}
