/*
 * scrape.h
 *	  The scrape job kind: GET /debug/pprof/profile of pgo.scrape_targets.
 */
#ifndef PGWK_SCRAPE_H
#define PGWK_SCRAPE_H

#include "jobs.h"

extern const struct job_kind scrape_job_kind;

#endif							/* PGWK_SCRAPE_H */
