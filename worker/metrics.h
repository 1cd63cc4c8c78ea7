/*
 * metrics.h
 *	  Prometheus metrics of pprof-worker, served on --metrics-listen.
 */
#ifndef PGWK_METRICS_H
#define PGWK_METRICS_H

#include <stdbool.h>

/* one job of job_kinds[kind] ended with results[result] after seconds */
extern void metrics_job(int kind, int result, double seconds);
/* one job of job_kinds[kind] was given back unfinished (shutdown) */
extern void metrics_released(int kind);
/* finish found the lease taken over by another worker */
extern void metrics_lease_lost(int kind);
extern void metrics_db_error(void);
extern void metrics_in_flight(int delta);
/* seconds the oldest due, unclaimed job of job_kinds[kind] waits */
extern void metrics_set_lag(int kind, double seconds);

/* listen on HOST:PORT ("" host: all interfaces); false on failure */
extern bool metrics_start(const char *listen);
extern void metrics_stop(void);

#endif							/* PGWK_METRICS_H */
