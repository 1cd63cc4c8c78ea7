/*
 * metrics.h
 *	  Prometheus counters and histograms of pprof-gateway.
 */
#ifndef PGW_METRICS_H
#define PGW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* what a request was for; the `route` label of the metrics */
enum route
{
	ROUTE_UPLOAD,				/* POST /profile/<tag> */
	ROUTE_PROFILE,				/* GET /profile/<tag> */
	ROUTE_RELEASE,				/* GET /profile/<tag>@<sha256> */
	ROUTE_TAGS,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_OTHER,				/* unknown path or method */
	ROUTE_COUNT
};

/* kinds of database failure, the `kind` label of pgo_gateway_db_errors_total */
enum db_error_kind
{
	DBERR_CONNECT,				/* could not connect */
	DBERR_CONNECTION_LOST,		/* connection broke during a query */
	DBERR_TIMEOUT,				/* statement or client-side timeout */
	DBERR_QUERY,				/* any other error reported by the server */
	DBERR_POOL,					/* no connection free in time, queue full */
	DBERR_COUNT
};

/* outcome of GET /profile, the `result` label of pgo_gateway_cache_requests_total */
enum cache_result
{
	CACHE_HIT,					/* key checked, bytes from the cache */
	CACHE_MISS,					/* key checked, merged */
	CACHE_SHARED,				/* answered by a coalesced request's check */
	CACHE_RESULT_COUNT
};

extern const char *route_name(enum route r);

extern void metrics_request(enum route r, int status, double seconds);
extern void metrics_upload_bytes(size_t n);
extern void metrics_merge_seconds(double seconds);
extern void metrics_db_error(enum db_error_kind k);
extern void metrics_cache(enum cache_result result);
extern void metrics_in_flight(int delta);
extern long metrics_get_in_flight(void);

/* the whole exposition, text format 0.0.4 */
extern void metrics_render(struct buf *out);
/* one gauge sample with its HELP and TYPE lines */
extern void metrics_gauge(struct buf *out, const char *name, const char *help,
						  double value);

#endif							/* PGW_METRICS_H */
