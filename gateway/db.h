/*
 * db.h
 *	  Database executors: a fixed set of worker threads per database, each
 *	  owning one libpq connection, fed from a bounded queue.
 *
 * HTTP threads never talk to the database: a request suspends its MHD
 * connection, submits a job, and is resumed by the job's done callback.
 * A slow query therefore never stalls other connections of an HTTP thread.
 */
#ifndef PGW_DB_H
#define PGW_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "clock.h"

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

/* why a job failed; http_status == 0 means it did not */
struct db_error
{
	int			http_status;	/* 400, 500 or 503 */
	enum db_error_kind kind;
	bool		conn_lost;		/* the connection broke */
	char		sqlstate[6];
	char		message[256];
	char		detail[768];
};

struct stmt_cache;

/* what a job's run function gets */
struct db_ctx
{
	PGconn	   *conn;
	struct stmt_cache *stmts;	/* the connection's prepared statements */
	unsigned	timeout_ms;		/* client-side deadline of each query */
	struct db_error *err;
	bool		broken;			/* discard the connection after the job */
};

struct db_job
{
	/*
	 * Runs on a database thread with a connected conn. Returns true when the
	 * job is finished (ctx->err->http_status != 0 on failure), false when the
	 * connection was found broken before anything could have taken effect:
	 * the job may then be run again on a fresh connection.
	 */
	bool		(*run) (struct db_ctx *ctx, void *arg);
	/* called exactly once when the job is over, on any thread */
	void		(*done) (void *arg);
	void	   *arg;
	unsigned	timeout_ms;		/* 0: statement timeout + grace */
	struct db_error err;
	/* private to db.c */
	int64_t		enqueued_ns;
	struct db_job *next;
};

struct db_stats
{
	unsigned	connections;
	unsigned	queued;
	uint64_t	errors[DBERR_COUNT];	/* failures since start, by kind */
};

struct db_executor;

extern struct db_executor *db_executor_start(const char *name,
											 const char *conninfo,
											 unsigned nconns, bool read_only);
/* queue a job; false (and job->err set, done NOT called) when the queue is full */
extern bool db_submit(struct db_executor *ex, struct db_job *job);
extern void db_executor_stop(struct db_executor *ex);

/*
 * One statement. nparams < 0: simple query protocol (sql may hold several
 * statements, no parameters); else prepared once per connection and
 * executed by name (the gateway's SQL is a small fixed set of texts).
 * Returns a result with status COMMAND_OK or TUPLES_OK, else NULL with
 * ctx->err filled.
 */
extern PGresult *db_query(struct db_ctx *ctx, const char *sql, int nparams,
						  const char *const *values, const int *lengths,
						  const int *formats, int result_format);

/* fill err from a server error */
extern void db_set_error(struct db_error *err, int http_status,
						 enum db_error_kind kind, const char *message,
						 const char *detail);

extern void db_get_stats(struct db_stats *s);
/* "connect", "timeout", ...: the label value of a kind */
extern const char *const db_error_kind_names[DBERR_COUNT];

#endif							/* PGW_DB_H */
