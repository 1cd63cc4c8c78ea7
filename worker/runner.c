/*
 * runner.c
 *	  The runner threads of pprof-worker.
 *
 * --concurrency threads, each with its own connection, loop over the job
 * kinds (job_kinds[], jobs.c): claim one due job, run it, record its
 * outcome; when no kind had anything due, sleep --poll-interval (with
 * jitter, so the runners of many workers do not poll in step). A job that
 * fails or hangs occupies one runner until its own timeout; the others go
 * on. On SIGTERM a runner claims nothing more and finishes the job in
 * hand; when the drain timeout passes, the job sees *abort, gives up and
 * is released for another worker.
 */
#include "runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

static pthread_t *threads;
static unsigned nthreads;
static int	alive;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

/* Sleep up to ms, returning early when the worker stops. */
static void
Nap(unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long) (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000)
	{
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	while (!worker_stopping &&
		   pthread_cond_timedwait(&wake, &lock, &until) == 0)
		;
	pthread_mutex_unlock(&lock);
}

/* Run one claimed job to its recorded outcome (or release). */
static void
RunJob(int k, PGconn *conn, PGresult *row)
{
	const struct job_kind *kind = job_kinds[k];
	struct job	j;
	int64_t		t0 = now_ms();
	double		seconds;

	memset(&j, 0, sizeof(j));
	j.kind = kind;
	j.conn = conn;
	j.row = row;
	j.worker_id = wcfg.worker_id;
	j.abort = &worker_abort;
	snprintf(j.what, sizeof(j.what), "row=%s", PQnfields(row) > 0 ? PQgetvalue(row, 0, 0) : "?");

	metrics_in_flight(1);
	if (kind->run(&j) == JOB_ABORTED)
	{
		kind->release(&j);
		metrics_released(k);
		log_eventf("warning", "job released", "kind=%s %s reason=shutdown", kind->name, j.what);
	}
	else
	{
		bool		recorded = kind->finish(&j);

		seconds = (double) (now_ms() - t0) / 1000.0;
		metrics_job(k, j.result, seconds);
		if (!recorded)
			log_eventf("warning", "job outcome not recorded",
					   "kind=%s %s result=%s error=%s", kind->name, j.what,
					   kind->results[j.result], j.error);
		else if (j.result < (kind->successes > 0 ? kind->successes : 1))
			log_eventf("info", "job done", "kind=%s %s result=%s ms=%.0f",
					   kind->name, j.what, kind->results[j.result], seconds * 1000);
		else
			log_eventf("warning", "job failed", "kind=%s %s result=%s ms=%.0f error=%s",
					   kind->name, j.what, kind->results[j.result], seconds * 1000,
					   j.error);
	}
	metrics_in_flight(-1);
	if (kind->cleanup != NULL)
		kind->cleanup(&j);
}

/* One runner thread. */
static void *
Runner(void *arg)
{
	unsigned	id = (unsigned) (uintptr_t) arg;
	unsigned	seed = id * 2654435761u ^ (unsigned) now_ms();
	PGconn	   *conn = NULL;
	unsigned	backoff = 100;
	int			first = (int) (id % (unsigned) n_job_kinds);

	while (!worker_stopping)
	{
		bool		claimed = false;
		struct db_error err;

		if (db_broken(conn))
		{
			PQfinish(conn);
			conn = db_connect(&err);
			if (conn == NULL)
			{
				log_eventf("error", "database unavailable", "runner=%u %s", id, err.message);
				Nap(backoff + (unsigned) rand_r(&seed) % (backoff + 1));
				backoff = backoff * 2 > DB_RECONNECT_MAX_MS ? DB_RECONNECT_MAX_MS : backoff * 2;
				continue;
			}
			backoff = 100;
		}
		for (int i = 0; i < n_job_kinds && !worker_stopping && !db_broken(conn); i++)
		{
			int			k = (first + i) % n_job_kinds;
			const char *params[1] = {wcfg.worker_id};
			PGresult   *row = db_exec(conn, job_kinds[k]->claim_sql, 1, params,
									  NULL, NULL, &err);

			if (row == NULL)
			{
				log_eventf("error", "claim failed", "kind=%s sqlstate=%s %s",
						   job_kinds[k]->name, err.sqlstate, err.message);
				continue;
			}
			if (PQntuples(row) == 1)
			{
				claimed = true;
				RunJob(k, conn, row);
			}
			PQclear(row);
		}
		/* the next round starts with the next kind: none starves */
		first = (first + 1) % n_job_kinds;
		if (!claimed && !worker_stopping)
			Nap(wcfg.poll_ms / 2 + (unsigned) rand_r(&seed) % (wcfg.poll_ms / 2 + 1));
	}
	PQfinish(conn);
	pthread_mutex_lock(&lock);
	alive--;
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Start the runners. */
bool
runner_start(void)
{
	threads = calloc(wcfg.concurrency, sizeof(pthread_t));
	if (threads == NULL)
		return false;
	for (nthreads = 0; nthreads < wcfg.concurrency; nthreads++)
	{
		pthread_mutex_lock(&lock);
		alive++;
		pthread_mutex_unlock(&lock);
		if (pthread_create(&threads[nthreads], NULL, Runner,
						   (void *) (uintptr_t) nthreads) != 0)
		{
			pthread_mutex_lock(&lock);
			alive--;
			pthread_mutex_unlock(&lock);
			return false;
		}
	}
	return true;
}

/* Wake sleeping runners so they see worker_stopping. */
void
runner_wake(void)
{
	pthread_mutex_lock(&lock);
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
}

/* Runners still running. */
int
runner_alive(void)
{
	int			n;

	pthread_mutex_lock(&lock);
	n = alive;
	pthread_mutex_unlock(&lock);
	return n;
}

/* Join every runner. */
void
runner_join(void)
{
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	nthreads = 0;
}
