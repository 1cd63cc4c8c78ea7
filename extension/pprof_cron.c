/*-------------------------------------------------------------------------
 *
 * pprof_cron.c
 *	  SQL face of the cron parser (cron.c): pgo.cron_next(expr, after).
 *
 * The catalog judges schedules: the CHECK on pgo.scrape_targets and the
 * next-run computation both call this, so the worker never parses cron.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cron.h"

PG_FUNCTION_INFO_V1(pgo_cron_next);

/* pgo.cron_next(expr text, after timestamptz) -> timestamptz or NULL */
Datum
pgo_cron_next(PG_FUNCTION_ARGS)
{
	char	   *expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(1);
	struct cron c;
	char		err[256];
	int64		secs;
	int64		next;

	if (!cron_parse(expr, &c, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cron expression \"%s\"",
						strlen(expr) > 64 ? "(too long)" : expr),
				 errdetail("%s", err),
				 errhint("A cron schedule is \"minute hour day-of-month month day-of-week\" in UTC, "
						 "e.g. \"*/10 * * * *\", or a macro such as @hourly.")));
	if (TIMESTAMP_NOT_FINITE(after))
		PG_RETURN_NULL();
	/* before 1970 the result is NULL (cron_next answers only from 1970) */
	secs = after / USECS_PER_SEC - (after % USECS_PER_SEC < 0 ? 1 : 0) +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	next = cron_next(&c, secs);
	if (next < 0)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ((next - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)
						  * USECS_PER_SEC);
}
