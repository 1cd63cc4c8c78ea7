/*-------------------------------------------------------------------------
 *
 * cron.h
 *	  5-field cron expressions: parse, and the next firing time (UTC).
 *
 * Plain C with no PostgreSQL dependency, so the fuzzer (fuzz/cron_fuzz.c)
 * compiles it unchanged.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_CRON_H
#define PPROF_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CRON_MAX_LEN 256		/* longer expressions are rejected */

struct cron
{
	uint64_t	minute;			/* bit m: minute m, 0-59 */
	uint32_t	hour;			/* 0-23 */
	uint32_t	dom;			/* 1-31 */
	uint16_t	month;			/* 1-12 */
	uint8_t		dow;			/* 0-6, Sunday = 0 */
	bool		dom_any;		/* field was '*' (or '*' with a step) */
	bool		dow_any;
};

/*
 * Parse s (NUL-terminated); on failure returns false and writes a sentence
 * saying which field is wrong and why into err.
 */
extern bool cron_parse(const char *s, struct cron *c, char *err, size_t errlen);

/*
 * The first whole minute strictly after `after` (seconds since the Unix
 * epoch, UTC, 0 or more) that the expression matches; -1 if none within 50
 * years, or `after` is before 1970 or after 9949.
 */
extern int64_t cron_next(const struct cron *c, int64_t after);

#endif							/* PPROF_CRON_H */
