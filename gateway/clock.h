/*
 * clock.h
 *	  The monotonic clock of pprof-gateway: request and query durations,
 *	  deadlines.
 */
#ifndef PGW_CLOCK_H
#define PGW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* monotonic clock, nanoseconds */
static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif							/* PGW_CLOCK_H */
