/*
 * metrics.c
 *	  Counters of pprof-worker and the /metrics listener (libmicrohttpd).
 *
 * Per job kind: pgo_worker_<metric>_total{result}, a duration histogram
 * pgo_worker_<metric>_seconds, pgo_worker_<metric>_released_total,
 * pgo_worker_<metric>_lease_lost_total and the gauge
 * pgo_worker_<metric>_lag_seconds (how long the oldest due, unclaimed job
 * has waited: the sign that workers are too few). Counters are updated
 * with atomics; the exposition is rendered per request.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "jobs.h"
#include "json.h"
#include "log.h"

#define MAX_KINDS 8
static const double buckets[] = {0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct kind_metrics
{
	uint64_t	results[JOB_MAX_RESULTS];
	uint64_t	bucket[NBUCKETS];	/* non-cumulative, summed at render */
	uint64_t	count;
	double		sum;			/* under lock */
	uint64_t	released;
	uint64_t	lease_lost;
	double		lag;			/* under lock */
};

static struct kind_metrics km[MAX_KINDS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t db_errors;
static int64_t in_flight;
static struct MHD_Daemon *daemon_;

/* Count one job's outcome and duration. */
void
metrics_job(int kind, int result, double seconds)
{
	size_t		b = 0;

	if (kind < 0 || kind >= MAX_KINDS || result < 0 || result >= JOB_MAX_RESULTS)
		return;
	__atomic_add_fetch(&km[kind].results[result], 1, __ATOMIC_RELAXED);
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	if (b < NBUCKETS)
		__atomic_add_fetch(&km[kind].bucket[b], 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&lock);
	km[kind].count++;
	km[kind].sum += seconds;
	pthread_mutex_unlock(&lock);
}

/* Count a job given back. */
void
metrics_released(int kind)
{
	if (kind >= 0 && kind < MAX_KINDS)
		__atomic_add_fetch(&km[kind].released, 1, __ATOMIC_RELAXED);
}

/* Count a finish that found its lease taken over. */
void
metrics_lease_lost(int kind)
{
	if (kind >= 0 && kind < MAX_KINDS)
		__atomic_add_fetch(&km[kind].lease_lost, 1, __ATOMIC_RELAXED);
}

/* Count a failed statement or connection. */
void
metrics_db_error(void)
{
	__atomic_add_fetch(&db_errors, 1, __ATOMIC_RELAXED);
}

/* Jobs running now. */
void
metrics_in_flight(int delta)
{
	__atomic_add_fetch(&in_flight, delta, __ATOMIC_RELAXED);
}

/* Set the lag gauge of a kind. */
void
metrics_set_lag(int kind, double seconds)
{
	if (kind < 0 || kind >= MAX_KINDS)
		return;
	pthread_mutex_lock(&lock);
	km[kind].lag = seconds;
	pthread_mutex_unlock(&lock);
}

/* HELP and TYPE lines of one metric family. */
static void
Family(struct buf *b, const char *metric, const char *suffix, const char *type,
	   const char *help)
{
	buf_printf(b, "# HELP pgo_worker_%s%s %s\n# TYPE pgo_worker_%s%s %s\n",
			   metric, suffix, help, metric, suffix, type);
}

/* The exposition of one job kind. */
static void
RenderKind(struct buf *b, int k)
{
	const struct job_kind *kind = job_kinds[k];
	struct kind_metrics *m = &km[k];
	uint64_t	cum = 0;
	uint64_t	count;
	double		sum;
	double		lag;

	Family(b, kind->metric, "_total", "counter", "Jobs run to an outcome, by result.");
	for (int r = 0; kind->results[r] != NULL && r < JOB_MAX_RESULTS; r++)
		buf_printf(b, "pgo_worker_%s_total{result=\"%s\"} %llu\n", kind->metric,
				   kind->results[r],
				   (unsigned long long) __atomic_load_n(&m->results[r], __ATOMIC_RELAXED));

	pthread_mutex_lock(&lock);
	count = m->count;
	sum = m->sum;
	lag = m->lag;
	pthread_mutex_unlock(&lock);
	Family(b, kind->metric, "_seconds", "histogram",
		   "Duration of a job, from claim to its recorded outcome.");
	for (size_t i = 0; i < NBUCKETS; i++)
	{
		cum += __atomic_load_n(&m->bucket[i], __ATOMIC_RELAXED);
		buf_printf(b, "pgo_worker_%s_seconds_bucket{le=\"%g\"} %llu\n", kind->metric,
				   buckets[i], (unsigned long long) cum);
	}
	buf_printf(b, "pgo_worker_%s_seconds_bucket{le=\"+Inf\"} %llu\n"
			   "pgo_worker_%s_seconds_sum %.6f\npgo_worker_%s_seconds_count %llu\n",
			   kind->metric, (unsigned long long) count, kind->metric, sum,
			   kind->metric, (unsigned long long) count);

	Family(b, kind->metric, "_released_total", "counter",
		   "Jobs given back unfinished at shutdown.");
	buf_printf(b, "pgo_worker_%s_released_total %llu\n", kind->metric,
			   (unsigned long long) __atomic_load_n(&m->released, __ATOMIC_RELAXED));
	Family(b, kind->metric, "_lease_lost_total", "counter",
		   "Jobs whose lease had expired and been taken by another worker at finish.");
	buf_printf(b, "pgo_worker_%s_lease_lost_total %llu\n", kind->metric,
			   (unsigned long long) __atomic_load_n(&m->lease_lost, __ATOMIC_RELAXED));
	Family(b, kind->metric, "_lag_seconds", "gauge",
		   "How long the oldest due, unclaimed job has waited (0: none waits).");
	buf_printf(b, "pgo_worker_%s_lag_seconds %.3f\n", kind->metric, lag);
}

/* The whole exposition. */
static void
Render(struct buf *b)
{
	for (int k = 0; k < n_job_kinds && k < MAX_KINDS; k++)
		RenderKind(b, k);
	Family(b, "jobs_in_flight", "", "gauge", "Jobs running now.");
	buf_printf(b, "pgo_worker_jobs_in_flight %lld\n",
			   (long long) __atomic_load_n(&in_flight, __ATOMIC_RELAXED));
	Family(b, "db_errors", "_total", "counter", "Failed database connections and statements.");
	buf_printf(b, "pgo_worker_db_errors_total %llu\n",
			   (unsigned long long) __atomic_load_n(&db_errors, __ATOMIC_RELAXED));
}

/* MHD handler: GET /metrics, 404 elsewhere. */
static enum MHD_Result
Handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size,
	   void **con_cls)
{
	struct MHD_Response *resp;
	struct buf	b;
	enum MHD_Result ret;
	unsigned	status = MHD_HTTP_OK;

	buf_init(&b);
	if (strcmp(url, "/metrics") != 0)
	{
		status = MHD_HTTP_NOT_FOUND;
		buf_puts(&b, "{\"error\":\"not found\",\"detail\":\"The worker serves GET /metrics only.\"}\n");
	}
	else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
	{
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		buf_puts(&b, "{\"error\":\"method not allowed\"}\n");
	}
	else
		Render(&b);
	if (b.oom)
	{
		buf_free(&b);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
	{
		buf_free(&b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", status == MHD_HTTP_OK ?
							"text/plain; version=0.0.4; charset=utf-8" : "application/json");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Start the /metrics listener. */
bool
metrics_start(const char *listen_at)
{
	char		addr[300];
	int			fd = cli_listen(listen_at, "metrics-listen", addr, sizeof(addr));

	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
							   NULL, NULL, Handle, NULL,
							   MHD_OPTION_LISTEN_SOCKET, fd,
							   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
							   MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64,
							   MHD_OPTION_END);
	if (daemon_ == NULL)
	{
		close(fd);
		log_eventf("fatal", "cannot start the /metrics listener", "addr=%s", listen_at);
		return false;
	}
	log_eventf("info", "metrics listening", "addr=%s", addr);
	return true;
}

/* Stop the listener. */
void
metrics_stop(void)
{
	if (daemon_ != NULL)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
