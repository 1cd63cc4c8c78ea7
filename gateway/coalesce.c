/*
 * coalesce.c
 *	  Request coalescing for GET /profile/<tag>.
 *
 * Builds fan out: a CI run starts many builds of one service at once, each
 * asking for the same default.pgo. Every such GET costs one database query
 * (pgo.selection_key) even when the answer is cached, so N simultaneous
 * builds would cost N queries that all answer the same question.
 *
 * Requests for the same key (tag and selection parameters) therefore form a
 * "flight": one of them, the leader, runs the database job; the others wait
 * (their connections suspended, no thread held) and get a copy of its
 * outcome. Freshness is never traded for this: a request is only answered
 * by a query sent AFTER it arrived. The leader's run function calls
 * coalesce_board() right before its first query; requests waiting at that
 * moment board that job, requests arriving later wait for the next one,
 * led by the first of them once the current job is over. So a client that
 * got 201 for an upload and then asks for the profile always sees a
 * selection that includes its upload, exactly as without coalescing.
 *
 * Each round costs one job however many requests it serves, so under load
 * the database work per GET falls with the number of clients, and the
 * rounds of one key never overlap (at most one of its jobs is queued or
 * running).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "hash.h"
#include "http.h"

#define FLIGHT_BUCKETS 256

struct flight
{
	struct flight *hnext;		/* hash chain */
	unsigned long hash;
	char	   *key;
	size_t		keylen;
	struct db_executor *ex;
	coalesce_share_fn share;
	struct request *leader;		/* its job is queued or running */
	bool		boarded;		/* the leader's query was sent */
	/* requests the next job will serve, oldest first */
	struct request *waiting;
	struct request **waiting_tail;
};

static pthread_mutex_t flights_mu = PTHREAD_MUTEX_INITIALIZER;
static struct flight *flights[FLIGHT_BUCKETS];

static void LeaderDone(void *arg);

/* The flight of key, or NULL (lock held). */
static struct flight *
Find(const char *key, size_t len, unsigned long hash)
{
	struct flight *f;

	for (f = flights[hash % FLIGHT_BUCKETS]; f != NULL; f = f->hnext)
		if (f->hash == hash && f->keylen == len && memcmp(f->key, key, len) == 0)
			return f;
	return NULL;
}

/* Unlink f from the table (lock held). */
static void
Remove(struct flight *f)
{
	struct flight **p = &flights[f->hash % FLIGHT_BUCKETS];

	while (*p != f)
		p = &(*p)->hnext;
	*p = f->hnext;
}

/* Queue the leader's job; on failure its done callback runs at once. */
static void
Launch(struct request *leader, struct db_executor *ex)
{
	leader->job.done = LeaderDone;
	leader->job.arg = leader;
	if (!db_submit(ex, &leader->job))
		LeaderDone(leader);		/* job.err says why */
}

/* Attach r to the flight of key, or start one with r as its leader. */
void
coalesce_submit(struct request *r, struct db_executor *ex, const char *key,
				size_t keylen, coalesce_share_fn share)
{
	unsigned long hash = hash_bytes(key, keylen);
	struct flight *f;

	r->coalesce_next = NULL;
	r->coalesced = NULL;
	r->flight = NULL;
	pthread_mutex_lock(&flights_mu);
	f = Find(key, keylen, hash);
	if (f != NULL)
	{
		*f->waiting_tail = r;
		f->waiting_tail = &r->coalesce_next;
		pthread_mutex_unlock(&flights_mu);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (f != NULL && (f->key = malloc(keylen ? keylen : 1)) == NULL)
	{
		free(f);
		f = NULL;
	}
	if (f == NULL)
	{
		/* out of memory: serve r alone */
		pthread_mutex_unlock(&flights_mu);
		if (!db_submit(ex, &r->job))
			r->job.done(r->job.arg);
		return;
	}
	memcpy(f->key, key, keylen);
	f->keylen = keylen;
	f->hash = hash;
	f->ex = ex;
	f->share = share;
	f->leader = r;
	f->waiting_tail = &f->waiting;
	f->hnext = flights[hash % FLIGHT_BUCKETS];
	flights[hash % FLIGHT_BUCKETS] = f;
	r->flight = f;
	pthread_mutex_unlock(&flights_mu);
	Launch(r, ex);
}

/* The leader's query is about to be sent: whoever waits now rides along. */
void
coalesce_board(struct request *leader)
{
	struct flight *f = leader->flight;
	struct request **tail;

	if (f == NULL)
		return;
	pthread_mutex_lock(&flights_mu);
	/* a retried job boards again: append to those already on board */
	tail = &leader->coalesced;
	while (*tail != NULL)
		tail = &(*tail)->coalesce_next;
	*tail = f->waiting;
	f->waiting = NULL;
	f->waiting_tail = &f->waiting;
	f->boarded = true;
	pthread_mutex_unlock(&flights_mu);
}

/*
 * The leader's job is over (run, or failed before it could run): hand its
 * outcome to those on board, wake everybody up, start the next round.
 */
static void
LeaderDone(void *arg)
{
	struct request *leader = arg;
	struct flight *f = leader->flight;
	struct request *batch;
	struct request *next = NULL;
	coalesce_share_fn share = f->share;
	struct db_executor *ex = f->ex;

	pthread_mutex_lock(&flights_mu);
	batch = leader->coalesced;
	leader->coalesced = NULL;
	if (!f->boarded)
	{
		/* never ran (queue full, pool exhausted): all waiting share the error */
		struct request **tail = &batch;

		while (*tail != NULL)
			tail = &(*tail)->coalesce_next;
		*tail = f->waiting;
		f->waiting = NULL;
		f->waiting_tail = &f->waiting;
	}
	if (f->waiting != NULL)
	{
		next = f->waiting;
		f->waiting = next->coalesce_next;
		if (f->waiting == NULL)
			f->waiting_tail = &f->waiting;
		next->coalesce_next = NULL;
		next->flight = f;
		f->leader = next;
		f->boarded = false;
	}
	else
		Remove(f);
	pthread_mutex_unlock(&flights_mu);

	while (batch != NULL)
	{
		struct request *m = batch;

		batch = m->coalesce_next;
		m->coalesce_next = NULL;
		share(leader, m);
		request_job_done(m);	/* m may be gone after this */
	}
	leader->flight = NULL;
	request_job_done(leader);
	if (next != NULL)
		Launch(next, ex);
	else
	{
		free(f->key);
		free(f);
	}
}
