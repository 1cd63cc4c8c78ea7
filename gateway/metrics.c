/*
 * metrics.c
 *	  Prometheus metrics of pprof-gateway: lock-free counters updated by
 *	  the HTTP and database threads, rendered by GET /metrics.
 */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define MAX_STATUS 600

/* upper bounds of the latency histograms, seconds */
static const double buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct histogram
{
	uint64_t	counts[NBUCKETS + 1];	/* last: above every bound */
	uint64_t	sum_ns;
};

static const char *const *route_names;
static int	nroutes;
static uint64_t requests[MAX_METRIC_ROUTES][MAX_STATUS];
static struct histogram request_seconds[MAX_METRIC_ROUTES];
static struct histogram merge_seconds;
static uint64_t upload_bytes;
static long in_flight;

/* Name the routes (once, before the first request). */
void
metrics_define_routes(const char *const *names, int n)
{
	route_names = names;
	nroutes = n < MAX_METRIC_ROUTES ? n : MAX_METRIC_ROUTES;
}

/* Add one observation to a histogram. */
static void
Observe(struct histogram *h, double seconds)
{
	size_t		i = 0;

	if (seconds < 0)
		seconds = 0;
	while (i < NBUCKETS && seconds > buckets[i])
		i++;
	__atomic_fetch_add(&h->counts[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, (uint64_t) (seconds * 1e9), __ATOMIC_RELAXED);
}

/* Count one finished request. */
void
metrics_request(int r, int status, double seconds)
{
	if (r < 0 || r >= nroutes)
		r = nroutes - 1;
	if (status < 0 || status >= MAX_STATUS)
		status = 0;
	__atomic_fetch_add(&requests[r][status], 1, __ATOMIC_RELAXED);
	Observe(&request_seconds[r], seconds);
}

/* Count bytes of a received upload body. */
void
metrics_upload_bytes(size_t n)
{
	__atomic_fetch_add(&upload_bytes, (uint64_t) n, __ATOMIC_RELAXED);
}

/* Record the latency of one merge (pgo.profile_for). */
void
metrics_merge_seconds(double seconds)
{
	Observe(&merge_seconds, seconds);
}

/* Requests started (+1) or finished (-1). */
void
metrics_in_flight(int delta)
{
	__atomic_fetch_add(&in_flight, delta, __ATOMIC_SEQ_CST);
}

/* Requests currently being processed. */
long
metrics_get_in_flight(void)
{
	return __atomic_load_n(&in_flight, __ATOMIC_SEQ_CST);
}

/* A counter with one label, a sample per label value. */
void
metrics_counters(struct buf *out, const char *name, const char *help,
				 const char *label, const char *const *values,
				 const uint64_t *counts, int n)
{
	int			i;

	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (i = 0; i < n; i++)
		buf_printf(out, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
				   (unsigned long long) counts[i]);
}

/* Render a histogram's samples; labels is "" or `route="x",`. */
static void
RenderHistogram(struct buf *out, const char *name, const char *labels,
				const struct histogram *h)
{
	uint64_t	cum = 0;
	size_t		i;

	for (i = 0; i < NBUCKETS; i++)
	{
		cum += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
		buf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels,
				   buckets[i], (unsigned long long) cum);
	}
	cum += __atomic_load_n(&h->counts[NBUCKETS], __ATOMIC_RELAXED);
	buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
			   (unsigned long long) cum);
	if (labels[0] != '\0')
	{
		/* drop the trailing comma for _sum and _count */
		int			l = (int) strlen(labels) - 1;

		buf_printf(out, "%s_sum{%.*s} %.9f\n", name, l, labels,
				   __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) / 1e9);
		buf_printf(out, "%s_count{%.*s} %llu\n", name, l, labels,
				   (unsigned long long) cum);
	}
	else
	{
		buf_printf(out, "%s_sum %.9f\n", name,
				   __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) / 1e9);
		buf_printf(out, "%s_count %llu\n", name, (unsigned long long) cum);
	}
}

/* One gauge with its HELP and TYPE lines. */
void
metrics_gauge(struct buf *out, const char *name, const char *help, double value)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n",
			   name, help, name, name, value);
}

/* The counters and histograms kept here. */
void
metrics_render(struct buf *out)
{
	int			r;
	int			s;

	buf_puts(out, "# HELP pgo_gateway_requests_total HTTP requests by route and status (status 0: no response sent).\n"
			 "# TYPE pgo_gateway_requests_total counter\n");
	for (r = 0; r < nroutes; r++)
		for (s = 0; s < MAX_STATUS; s++)
		{
			uint64_t	n = __atomic_load_n(&requests[r][s], __ATOMIC_RELAXED);

			if (n > 0)
				buf_printf(out, "pgo_gateway_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
						   route_names[r], s, (unsigned long long) n);
		}

	buf_puts(out, "# HELP pgo_gateway_request_duration_seconds Time from request line to response, by route.\n"
			 "# TYPE pgo_gateway_request_duration_seconds histogram\n");
	for (r = 0; r < nroutes; r++)
	{
		char		labels[64];

		snprintf(labels, sizeof(labels), "route=\"%s\",", route_names[r]);
		RenderHistogram(out, "pgo_gateway_request_duration_seconds", labels,
						&request_seconds[r]);
	}

	buf_puts(out, "# HELP pgo_gateway_merge_seconds Latency of merges (pgo.profile_for) on response cache misses.\n"
			 "# TYPE pgo_gateway_merge_seconds histogram\n");
	RenderHistogram(out, "pgo_gateway_merge_seconds", "", &merge_seconds);

	buf_printf(out, "# HELP pgo_gateway_upload_bytes_total Bytes of upload bodies received.\n"
			   "# TYPE pgo_gateway_upload_bytes_total counter\n"
			   "pgo_gateway_upload_bytes_total %llu\n",
			   (unsigned long long) __atomic_load_n(&upload_bytes, __ATOMIC_RELAXED));
}
