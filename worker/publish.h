/*
 * publish.h
 *	  The publish job kind: pgo.publications written to git forges.
 */
#ifndef PGWK_PUBLISH_H
#define PGWK_PUBLISH_H

#include "jobs.h"

extern const struct job_kind publish_job_kind;

#endif							/* PGWK_PUBLISH_H */
