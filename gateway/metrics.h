/*
 * metrics.h
 *	  Prometheus counters and histograms of pprof-gateway, and the
 *	  primitives that render a sample in text format 0.0.4.
 *
 * Counters that belong to a domain live there (database failures in db.c,
 * cache results in cache.c); GET /metrics (info.c) reads them and renders
 * them with the functions below.
 */
#ifndef PGW_METRICS_H
#define PGW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* routes counted apart (the table's rows and one for "no route") */
#define MAX_METRIC_ROUTES 32

/* names of the `route` label, by route number; the last is "no route" */
extern void metrics_define_routes(const char *const *names, int n);

extern void metrics_request(int route, int status, double seconds);
extern void metrics_upload_bytes(size_t n);
extern void metrics_merge_seconds(double seconds);
extern void metrics_in_flight(int delta);
extern long metrics_get_in_flight(void);

/* the counters and histograms kept here */
extern void metrics_render(struct buf *out);
/* one counter with one label, a sample per label value */
extern void metrics_counters(struct buf *out, const char *name, const char *help,
							 const char *label, const char *const *values,
							 const uint64_t *counts, int n);
/* one gauge sample with its HELP and TYPE lines */
extern void metrics_gauge(struct buf *out, const char *name, const char *help,
						  double value);

#endif							/* PGW_METRICS_H */
