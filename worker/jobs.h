/*
 * jobs.h
 *	  The job kinds of pprof-worker and what the runner gives each job.
 *
 * The interface is documented at the top of jobs.c, beside the table.
 */
#ifndef PGWK_JOBS_H
#define PGWK_JOBS_H

#include <signal.h>
#include <stdbool.h>

#include <libpq-fe.h>

#define JOB_ERROR_LEN		1024
#define JOB_MAX_RESULTS		16

struct job_kind;

/* one claimed job, owned by one runner thread from claim to finish */
struct job
{
	const struct job_kind *kind;
	PGconn	   *conn;			/* the runner's connection, no transaction open */
	PGresult   *row;			/* the claim's result: exactly one row */
	const char *worker_id;		/* this worker, as given to the claim */
	const volatile sig_atomic_t *abort; /* set: give up now, the job is released */
	void	   *state;			/* the kind's own, from run to finish/release */
	int			result;			/* index into kind->results, set by run */
	char		error[JOB_ERROR_LEN];	/* why, when the result is not a success */
	char		what[256];		/* the job in log lines, e.g. "tag=api id=3" */
};

/*
 * run's answer: the job ran to an outcome (finish records it), or it was
 * aborted before one (release gives it back).
 */
enum job_run
{
	JOB_DONE,
	JOB_ABORTED
};

struct job_kind
{
	const char *name;			/* "scrape": log lines, the `kind` label */
	const char *metric;			/* "scrapes": pgo_worker_<metric>_total{result} */
	const char *const *results; /* result labels, NULL-terminated, [0] = success */
	int			successes;		/* results[0 .. successes-1] are successes (0: only [0]) */
	const char *claim_sql;		/* $1 worker id -> 0 or 1 row, the lease taken */
	const char *lag_sql;		/* -> one float8: seconds the oldest due job waits */
	bool		(*prepare) (void);	/* once at start-up (NULL: nothing); false: exit 1 */
	enum job_run (*run) (struct job *j);	/* the work; sets result, error */
	bool		(*finish) (struct job *j);	/* records the outcome; false: lease left to expire */
	void		(*release) (struct job *j); /* gives an unfinished job back */
	void		(*cleanup) (struct job *j); /* frees state (NULL: nothing) */
};

extern const struct job_kind *const job_kinds[];
extern const int n_job_kinds;

/* a text column of the claimed row by name; "" when NULL, NULL when absent */
extern const char *job_field(const struct job *j, const char *column);
/* same, NULL when the value is NULL */
extern const char *job_field_null(const struct job *j, const char *column);
/* set j->error with printf formatting */
extern void job_error(struct job *j, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

#endif							/* PGWK_JOBS_H */
