/*
 * coalesce.h
 *	  Request coalescing: concurrent requests for the same thing share one
 *	  database job, without ever being answered from a snapshot older than
 *	  their own arrival.
 */
#ifndef PGW_COALESCE_H
#define PGW_COALESCE_H

#include <stddef.h>

struct request;
struct db_executor;

/* gives `to` the outcome of `from`'s job (reply or job.err) */
typedef void (*coalesce_share_fn) (struct request *from, struct request *to);

/*
 * Run r's job (r->job.run/arg set, connection suspended), or attach r to
 * the job already queued or running for key. Called on an HTTP thread.
 */
extern void coalesce_submit(struct request *r, struct db_executor *ex,
							const char *key, size_t keylen,
							coalesce_share_fn share);

/*
 * Called by the job's run function right before its first query: from here
 * on, requests for the key wait for the next job.
 */
extern void coalesce_board(struct request *leader);

#endif							/* PGW_COALESCE_H */
