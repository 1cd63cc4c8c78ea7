/*
 * jobs.c
 *	  The table of job kinds: a kind of scheduled work is one row here and
 *	  one file of its own (scrape.c, ...). The runner (runner.c) names no
 *	  kind.
 *
 * How a kind plugs in
 * -------------------
 * The catalog owns the schedule, the leases and the outcome; a kind's C
 * code only does the work that needs the network. Each runner thread has
 * one database connection and loops over the kinds:
 *
 *	 claim_sql($1 = worker id)
 *		One short statement (autocommit) returning zero rows (nothing due)
 *		or one row: the job, now leased to this worker until an expiry the
 *		SQL chose. It must skip rows another worker holds (FOR UPDATE SKIP
 *		LOCKED, or a lease column whose expiry has not passed), so any
 *		number of workers share the work and no job runs twice; a worker
 *		killed mid-job loses nothing, its lease expires and another worker
 *		claims the job again. The row should carry a lease token that
 *		finish and release pass back, so a worker whose lease was taken
 *		over changes nothing.
 *	 run(job)
 *		The work (HTTP, git...). No transaction is open; j->conn may run
 *		autocommit statements (e.g. pgo.ingest). Reads the job's columns
 *		with job_field(). Sets j->result (index into results, 0 = success)
 *		and j->error, returns JOB_DONE. Polls *j->abort in any wait longer
 *		than a second: once set (SIGTERM and the drain timeout passed), it
 *		stops and returns JOB_ABORTED.
 *	 finish(job)
 *		Records the outcome through one SQL function of the catalog (which
 *		also computes the next run). Returns false if that failed: the
 *		lease then expires and the job runs again, so run must be
 *		idempotent (scrape: pgo.ingest's idempotency key per slot).
 *	 release(job)
 *		After JOB_ABORTED: hands the job back unrun so another worker can
 *		claim it at once (best effort: on failure the lease expires).
 *	 cleanup(job)
 *		Frees j->state; called once after finish or release.
 *	 lag_sql
 *		For /metrics: seconds the oldest due, unclaimed job has waited.
 *	 metric, results
 *		pgo_worker_<metric>_total{result="<results[i]>"} and
 *		pgo_worker_<metric>_seconds (histogram of run + finish).
 *
 * The runner logs "job done" / "job failed" lines with kind, what, result
 * and error, counts the metrics, and never lets one job's failure stop
 * the others.
 */
#include "jobs.h"

#include <stdarg.h>
#include <stdio.h>

#include "publish.h"
#include "scrape.h"

const struct job_kind *const job_kinds[] = {
	&scrape_job_kind,
	&publish_job_kind,
};
const int	n_job_kinds = sizeof(job_kinds) / sizeof(job_kinds[0]);

/* A text column of the claimed row; "" for NULL, NULL if there is no such column. */
const char *
job_field(const struct job *j, const char *column)
{
	int			c = PQfnumber(j->row, column);

	if (c < 0)
		return NULL;
	return PQgetvalue(j->row, 0, c);
}

/* A text column of the claimed row; NULL for NULL or no such column. */
const char *
job_field_null(const struct job *j, const char *column)
{
	int			c = PQfnumber(j->row, column);

	if (c < 0 || PQgetisnull(j->row, 0, c))
		return NULL;
	return PQgetvalue(j->row, 0, c);
}

/* Set the job's error text. */
void
job_error(struct job *j, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
}
