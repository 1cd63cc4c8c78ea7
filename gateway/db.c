/*
 * db.c
 *	  Database executors of pprof-gateway.
 *
 * Each executor (primary; optionally a read replica) has N worker threads;
 * each worker owns one libpq connection (libpq connections are not thread
 * safe, so a connection never changes threads). Jobs wait in a FIFO queue of
 * bounded length; a watchdog thread fails jobs that waited longer than
 * --pool-wait, so a saturated or hung database turns into quick 503s, never
 * into requests that hang.
 *
 * Every wait is bounded: connecting by --connect-timeout (enforced here with
 * PQconnectPoll, not left to libpq), every query by a client-side deadline
 * (statement_timeout plus a grace period, for the case where the server or
 * the network is gone and statement_timeout cannot fire). A connection that
 * timed out or broke is closed and reopened for the next job; after a failed
 * connect, jobs fail fast for DB_RECONNECT_BACKOFF_MS instead of each paying
 * for a connect attempt.
 *
 * Statements are prepared on first use and then executed by name: parsing
 * and planning the outer statement was ~10% of the database's work on a
 * cached GET (perf), which runs a single cheap function call.
 */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"

/* the statements prepared on one connection, by SQL text */
struct stmt_cache
{
	int			n;
	unsigned	serial;			/* names are never reused on a connection */
	struct
	{
		char	   *sql;
		char		name[16];
	}			e[DB_MAX_PREPARED];
};

struct worker
{
	struct db_executor *ex;
	pthread_t	thread;
	PGconn	   *conn;
	unsigned	index;
	struct stmt_cache stmts;
};

struct db_executor
{
	char		name[16];		/* "primary" or "replica" */
	char	   *conninfo;
	bool		read_only;
	unsigned	nworkers;
	struct worker *workers;
	pthread_t	watchdog;

	pthread_mutex_t mu;
	pthread_cond_t work_cv;		/* a job was queued, or stopping */
	pthread_cond_t watchdog_cv;	/* the queue head changed, or stopping */
	struct db_job *head;
	struct db_job *tail;
	unsigned	queued;
	unsigned	max_queued;
	bool		stopping;
	int64_t		down_until_ns;	/* fail fast until then */
	char		last_error[768];
	unsigned	connections;	/* open connections */
};

#define MAX_EXECUTORS 2
static struct db_executor *executors[MAX_EXECUTORS];
static pthread_mutex_t executors_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t error_counts[DBERR_COUNT];

const char *const db_error_kind_names[DBERR_COUNT] = {
	"connect", "connection_lost", "timeout", "query", "pool"
};

static void *WorkerMain(void *arg);
static void *WatchdogMain(void *arg);
static bool RetainMergeMemory(struct db_ctx *ctx, const char *name);

/* Count one database failure (GET /metrics shows the counts). */
static void
CountError(enum db_error_kind k)
{
	__atomic_fetch_add(&error_counts[k], 1, __ATOMIC_RELAXED);
}

/* Copy src into dst (size n) up to its first newline, trimmed. */
static void
CopyFirstLine(char *dst, size_t n, const char *src)
{
	size_t		len = 0;

	if (src == NULL)
		src = "";
	while (src[len] != '\0' && src[len] != '\n' && len + 1 < n)
		len++;
	while (len > 0 && (src[len - 1] == ' ' || src[len - 1] == '\r'))
		len--;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Fill err. */
void
db_set_error(struct db_error *err, int http_status, enum db_error_kind kind,
			 const char *message, const char *detail)
{
	err->http_status = http_status;
	err->kind = kind;
	snprintf(err->message, sizeof(err->message), "%s", message ? message : "");
	snprintf(err->detail, sizeof(err->detail), "%s", detail ? detail : "");
}

/*
 * HTTP status for a server error: client mistakes (bad profile, bad
 * parameter, limit exceeded) are 400; conditions that pass (connection
 * trouble, shutdown, timeouts, overload, conflicts, a read-only replica
 * during failover) are 503; anything else is a gateway/catalog bug: 500.
 */
static int
StatusForSqlstate(const char *s, enum db_error_kind *kind)
{
	*kind = DBERR_QUERY;
	if (s == NULL || strlen(s) != 5)
		return 500;
	if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0 ||
		strncmp(s, "53", 2) == 0)
	{
		*kind = DBERR_CONNECTION_LOST;
		return 503;
	}
	if (strcmp(s, "57014") == 0)	/* query_canceled: statement_timeout */
	{
		*kind = DBERR_TIMEOUT;
		return 503;
	}
	if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
		strcmp(s, "55P03") == 0 || strcmp(s, "25006") == 0)
		return 503;
	if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0 ||
		strncmp(s, "54", 2) == 0 || strcmp(s, "XX001") == 0)
		return 400;
	return 500;
}

/* Fill err from a failed result (res may be NULL) on conn. */
static void
SetQueryError(struct db_ctx *ctx, const PGresult *res)
{
	struct db_error *err = ctx->err;
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	enum db_error_kind kind;
	int			status = StatusForSqlstate(sqlstate, &kind);

	memset(err->sqlstate, 0, sizeof(err->sqlstate));
	if (PQstatus(ctx->conn) == CONNECTION_BAD || sqlstate == NULL)
	{
		char		line[256];

		CopyFirstLine(line, sizeof(line),
					  primary ? primary : PQerrorMessage(ctx->conn));
		ctx->broken = true;
		err->conn_lost = PQstatus(ctx->conn) == CONNECTION_BAD;
		db_set_error(err, 503, DBERR_CONNECTION_LOST, "database unavailable", line);
		if (sqlstate != NULL)
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
		CountError(DBERR_CONNECTION_LOST);
		return;
	}
	db_set_error(err, status, kind, primary ? primary : "database error", detail);
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
	if (status == 503 && kind == DBERR_TIMEOUT)
		snprintf(err->message, sizeof(err->message), "database query timed out");
	CountError(kind);
}

/* Wait until conn's socket is readable (or writable); false at the deadline. */
static bool
WaitSocket(PGconn *conn, bool for_write, int64_t deadline)
{
	struct pollfd p;

	p.fd = PQsocket(conn);
	if (p.fd < 0)
		return false;
	p.events = POLLIN | (for_write ? POLLOUT : 0);
	for (;;)
	{
		int64_t		left = (deadline - now_ns()) / 1000000;
		int			r;

		if (left <= 0)
			return false;
		p.revents = 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int) left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* Mark a client-side timeout: the connection is abandoned. */
static void
SetTimeout(struct db_ctx *ctx)
{
	ctx->broken = true;
	db_set_error(ctx->err, 503, DBERR_TIMEOUT, "database query timed out",
				 "No answer from the database within the gateway's deadline.");
	CountError(DBERR_TIMEOUT);
}

/* Send what PQsend* queued, then collect the results (see db_query). */
static PGresult *
Finish(struct db_ctx *ctx, int sent, int64_t deadline)
{
	PGconn	   *conn = ctx->conn;
	PGresult   *last = NULL;

	if (!sent)
	{
		SetQueryError(ctx, NULL);
		return NULL;
	}
	for (;;)
	{
		int			f = PQflush(conn);

		if (f == 0)
			break;
		if (f < 0)
		{
			SetQueryError(ctx, NULL);
			return NULL;
		}
		if (!WaitSocket(conn, true, deadline))
		{
			SetTimeout(ctx);
			return NULL;
		}
		if (!PQconsumeInput(conn))
		{
			SetQueryError(ctx, NULL);
			return NULL;
		}
	}
	for (;;)
	{
		PGresult   *r;

		while (PQisBusy(conn))
		{
			if (!WaitSocket(conn, false, deadline))
			{
				PQclear(last);
				SetTimeout(ctx);
				return NULL;
			}
			if (!PQconsumeInput(conn))
			{
				PQclear(last);
				SetQueryError(ctx, NULL);
				return NULL;
			}
		}
		r = PQgetResult(conn);
		if (r == NULL)
			break;
		/* keep the first error, else the last result (as PQexec) */
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR)
			PQclear(r);
		else
		{
			PQclear(last);
			last = r;
		}
	}
	if (last != NULL && (PQresultStatus(last) == PGRES_TUPLES_OK ||
						 PQresultStatus(last) == PGRES_COMMAND_OK))
		return last;
	SetQueryError(ctx, last);
	PQclear(last);
	return NULL;
}

/*
 * The name sql is prepared under on this connection, preparing it first if
 * needed; NULL with *failed false when the cache is full (run it unnamed),
 * NULL with *failed true (ctx->err set) when preparing failed.
 */
static const char *
Prepared(struct db_ctx *ctx, const char *sql, int nparams, int64_t deadline,
		 bool *failed)
{
	struct stmt_cache *c = ctx->stmts;
	PGresult   *res;
	int			i;

	*failed = false;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i].sql, sql) == 0)
			return c->e[i].name;
	if (c->n == DB_MAX_PREPARED || (c->e[c->n].sql = strdup(sql)) == NULL)
		return NULL;
	snprintf(c->e[c->n].name, sizeof(c->e[c->n].name), "pgw_%u", ++c->serial);
	res = Finish(ctx, PQsendPrepare(ctx->conn, c->e[c->n].name, sql, nparams, NULL),
				 deadline);
	if (res == NULL)
	{
		free(c->e[c->n].sql);
		*failed = true;
		return NULL;
	}
	PQclear(res);
	return c->e[c->n++].name;
}

/* Forget a connection's prepared statements (it is closed or was replaced). */
static void
ForgetPrepared(struct stmt_cache *c)
{
	while (c->n > 0)
		free(c->e[--c->n].sql);
}

/* Run one statement with a client-side deadline (see db.h). */
PGresult *
db_query(struct db_ctx *ctx, const char *sql, int nparams,
		 const char *const *values, const int *lengths, const int *formats,
		 int result_format)
{
	int64_t		deadline = now_ns() + (int64_t) ctx->timeout_ms * 1000000;
	const char *name = NULL;
	PGresult   *res;

	if (nparams < 0)
		return Finish(ctx, PQsendQuery(ctx->conn, sql), deadline);
	if (ctx->stmts != NULL)
	{
		bool		failed;

		name = Prepared(ctx, sql, nparams, deadline, &failed);
		if (failed)
			return NULL;
	}
	if (name == NULL)
		return Finish(ctx, PQsendQueryParams(ctx->conn, sql, nparams, NULL, values,
											 lengths, formats, result_format),
					  deadline);
	res = Finish(ctx, PQsendQueryPrepared(ctx->conn, name, nparams, values, lengths,
										  formats, result_format),
				 deadline);

	/*
	 * "cached plan must not change result type": a function's result type
	 * changed under the statement (an extension update). A new connection
	 * prepares it afresh.
	 */
	if (res == NULL && strcmp(ctx->err->sqlstate, "0A000") == 0)
		ctx->broken = true;
	return res;
}

/* Connect with a deadline, set the session up; NULL with err filled on failure. */
static PGconn *
Connect(struct db_executor *ex, struct db_error *err)
{
	char		connect_timeout[16];
	char		tcp_user_timeout[16];
	const char *keys[] = {
		"dbname", "connect_timeout", "fallback_application_name",
		"client_encoding", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout", NULL
	};
	const char *vals[] = {
		ex->conninfo, connect_timeout, "pprof-gateway",
		"UTF8", "1", "30", "10", "3", tcp_user_timeout, NULL
	};
	int64_t		deadline = now_ns() + (int64_t) cfg.connect_timeout_s * 1000000000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn	   *conn;
	char		setup[512];
	struct db_ctx ctx;
	PGresult   *res;

	snprintf(connect_timeout, sizeof(connect_timeout), "%u", cfg.connect_timeout_s);
	snprintf(tcp_user_timeout, sizeof(tcp_user_timeout), "%u",
			 cfg.statement_timeout_ms + DB_QUERY_GRACE_MS);

	conn = PQconnectStartParams(keys, vals, 1);
	if (conn == NULL)
	{
		db_set_error(err, 503, DBERR_CONNECT, "database unavailable", "out of memory");
		return NULL;
	}
	while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
		   st != PGRES_POLLING_FAILED)
	{
		if (!WaitSocket(conn, st == PGRES_POLLING_WRITING, deadline))
		{
			PQfinish(conn);
			db_set_error(err, 503, DBERR_CONNECT, "database unavailable",
						 "Connecting to the database timed out.");
			return NULL;
		}
		st = PQconnectPoll(conn);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		char		line[256];

		CopyFirstLine(line, sizeof(line), PQerrorMessage(conn));
		PQfinish(conn);
		db_set_error(err, 503, DBERR_CONNECT, "database unavailable", line);
		return NULL;
	}
	if (PQsetnonblocking(conn, 1) != 0)
	{
		PQfinish(conn);
		db_set_error(err, 503, DBERR_CONNECT, "database unavailable",
					 "Cannot make the connection non-blocking.");
		return NULL;
	}

	/*
	 * 201 means committed and flushed: synchronous_commit is forced on
	 * whatever the role or database default says.
	 */
	snprintf(setup, sizeof(setup),
			 "SET synchronous_commit = on; SET statement_timeout = %u; "
			 "SET idle_in_transaction_session_timeout = %u;%s",
			 cfg.statement_timeout_ms, cfg.statement_timeout_ms + DB_QUERY_GRACE_MS,
			 ex->read_only ? " SET default_transaction_read_only = on;" : "");
	ctx.conn = conn;
	ctx.stmts = NULL;
	ctx.timeout_ms = (unsigned) (cfg.connect_timeout_s * 1000);
	ctx.err = err;
	ctx.broken = false;
	res = db_query(&ctx, setup, -1, NULL, NULL, NULL, 0);
	if (res == NULL)
	{
		PQfinish(conn);
		if (err->http_status != 503)
			err->http_status = 503;
		err->kind = DBERR_CONNECT;
		return NULL;
	}
	PQclear(res);
	if (cfg.merge_memory > 0 && !RetainMergeMemory(&ctx, ex->name))
	{
		PQfinish(conn);
		err->http_status = 503;
		err->kind = DBERR_CONNECT;
		return NULL;
	}
	return conn;
}

/*
 * The session keeps the memory of one merge for the next
 * (pprof.retain_memory): faulting fresh pages in was half of an uncached
 * GET's time (BENCHMARKS.md, "Page faults"). Only a speed-up: a server
 * that refuses the setting (a pprof library of an older version loaded
 * at start) is logged and served as it is. False if the connection broke
 * or timed out.
 */
static bool
RetainMergeMemory(struct db_ctx *ctx, const char *name)
{
	char		sql[80];
	struct db_error err;
	struct db_error *saved = ctx->err;
	PGresult   *res;

	snprintf(sql, sizeof(sql), "SET pprof.retain_memory = '%zukB'",
			 (cfg.merge_memory + 1023) / 1024);
	memset(&err, 0, sizeof(err));
	ctx->err = &err;
	res = db_query(ctx, sql, -1, NULL, NULL, NULL, 0);
	ctx->err = saved;
	if (res != NULL)
	{
		PQclear(res);
		return true;
	}
	if (err.conn_lost || ctx->broken)
	{
		*saved = err;
		return false;
	}
	log_eventf("warning", "pprof.retain_memory not set", "%s: %s", name, err.message);
	return true;
}

/* Start an executor with nconns workers. */
struct db_executor *
db_executor_start(const char *name, const char *conninfo, unsigned nconns,
				  bool read_only)
{
	struct db_executor *ex = calloc(1, sizeof(*ex));
	pthread_condattr_t ca;
	unsigned	i;

	if (ex == NULL)
		return NULL;
	snprintf(ex->name, sizeof(ex->name), "%s", name);
	ex->conninfo = strdup(conninfo);
	ex->read_only = read_only;
	ex->nworkers = nconns;
	ex->max_queued = nconns * DB_QUEUE_PER_WORKER;
	ex->workers = calloc(nconns, sizeof(struct worker));
	if (ex->conninfo == NULL || ex->workers == NULL)
	{
		free(ex->conninfo);
		free(ex->workers);
		free(ex);
		return NULL;
	}
	pthread_mutex_init(&ex->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ex->work_cv, &ca);
	pthread_cond_init(&ex->watchdog_cv, &ca);
	pthread_condattr_destroy(&ca);

	for (i = 0; i < nconns; i++)
	{
		ex->workers[i].ex = ex;
		ex->workers[i].index = i;
		if (pthread_create(&ex->workers[i].thread, NULL, WorkerMain, &ex->workers[i]) != 0)
		{
			log_event("fatal", "cannot start database thread", ex->name);
			exit(1);
		}
	}
	if (pthread_create(&ex->watchdog, NULL, WatchdogMain, ex) != 0)
	{
		log_event("fatal", "cannot start database watchdog thread", ex->name);
		exit(1);
	}
	pthread_mutex_lock(&executors_mu);
	for (i = 0; i < MAX_EXECUTORS; i++)
		if (executors[i] == NULL)
		{
			executors[i] = ex;
			break;
		}
	pthread_mutex_unlock(&executors_mu);
	return ex;
}

/* Queue a job; false with job->err set when the queue is full. */
bool
db_submit(struct db_executor *ex, struct db_job *job)
{
	memset(&job->err, 0, sizeof(job->err));
	job->next = NULL;
	job->enqueued_ns = now_ns();
	pthread_mutex_lock(&ex->mu);
	if (ex->stopping || ex->queued >= ex->max_queued)
	{
		pthread_mutex_unlock(&ex->mu);
		db_set_error(&job->err, 503, DBERR_POOL, "gateway busy",
					 "Too many requests are waiting for a database connection.");
		CountError(DBERR_POOL);
		return false;
	}
	if (ex->tail)
		ex->tail->next = job;
	else
		ex->head = job;
	ex->tail = job;
	ex->queued++;
	pthread_cond_signal(&ex->work_cv);
	if (ex->head == job)
		pthread_cond_signal(&ex->watchdog_cv);
	pthread_mutex_unlock(&ex->mu);
	return true;
}

/* Pop the queue head (lock held). */
static struct db_job *
Pop(struct db_executor *ex)
{
	struct db_job *job = ex->head;

	if (job != NULL)
	{
		ex->head = job->next;
		if (ex->head == NULL)
			ex->tail = NULL;
		job->next = NULL;
		ex->queued--;
		pthread_cond_signal(&ex->watchdog_cv);
	}
	return job;
}

/* Close a worker's connection. */
static void
CloseConn(struct worker *w)
{
	if (w->conn == NULL)
		return;
	PQfinish(w->conn);
	w->conn = NULL;
	ForgetPrepared(&w->stmts);
	pthread_mutex_lock(&w->ex->mu);
	w->ex->connections--;
	pthread_mutex_unlock(&w->ex->mu);
}

/*
 * Make sure the worker has a usable connection; *fresh tells whether it was
 * opened now. A connection the server closed while idle (restart, admin
 * shutdown, idle timeout) is noticed here without blocking: libpq sockets
 * are non-blocking, so PQconsumeInput only reads what is already there.
 */
static bool
EnsureConn(struct worker *w, struct db_error *err, bool *fresh)
{
	struct db_executor *ex = w->ex;
	int64_t		now;
	int64_t		down_until;

	*fresh = false;
	if (w->conn != NULL)
	{
		if (PQstatus(w->conn) == CONNECTION_OK && PQconsumeInput(w->conn) &&
			PQstatus(w->conn) == CONNECTION_OK &&
			PQtransactionStatus(w->conn) == PQTRANS_IDLE)
			return true;
		CloseConn(w);
	}

	now = now_ns();
	pthread_mutex_lock(&ex->mu);
	down_until = ex->down_until_ns;
	if (now < down_until)
	{
		db_set_error(err, 503, DBERR_CONNECT, "database unavailable", ex->last_error);
		pthread_mutex_unlock(&ex->mu);
		CountError(DBERR_CONNECT);
		return false;
	}
	pthread_mutex_unlock(&ex->mu);

	w->conn = Connect(ex, err);
	pthread_mutex_lock(&ex->mu);
	if (w->conn == NULL)
	{
		bool		was_up = ex->down_until_ns == 0;

		ex->down_until_ns = now_ns() + (int64_t) DB_RECONNECT_BACKOFF_MS * 1000000;
		snprintf(ex->last_error, sizeof(ex->last_error), "%s", err->detail);
		pthread_mutex_unlock(&ex->mu);
		CountError(DBERR_CONNECT);
		if (was_up)
			log_eventf("warning", "database unavailable", "%s: %s", ex->name, err->detail);
		return false;
	}
	ex->connections++;
	if (ex->down_until_ns != 0)
	{
		ex->down_until_ns = 0;
		pthread_mutex_unlock(&ex->mu);
		log_eventf("info", "database available again", "%s", ex->name);
	}
	else
		pthread_mutex_unlock(&ex->mu);
	*fresh = true;
	return true;
}

/* Run one job on a worker, retrying once on a fresh connection if allowed. */
static void
RunJob(struct worker *w, struct db_job *job)
{
	int			attempt;

	for (attempt = 0; attempt < 2; attempt++)
	{
		struct db_ctx ctx;
		bool		fresh;
		bool		finished;

		memset(&job->err, 0, sizeof(job->err));
		if (!EnsureConn(w, &job->err, &fresh))
			return;
		ctx.conn = w->conn;
		ctx.stmts = &w->stmts;
		ctx.timeout_ms = job->timeout_ms ? job->timeout_ms :
			cfg.statement_timeout_ms + DB_QUERY_GRACE_MS;
		ctx.err = &job->err;
		ctx.broken = false;
		finished = job->run(&ctx, job->arg);
		if (ctx.broken || PQstatus(w->conn) != CONNECTION_OK ||
			PQtransactionStatus(w->conn) != PQTRANS_IDLE)
			CloseConn(w);
		if (finished || fresh)
			return;
		/* a connection that broke while idle: once more on a new one */
	}
}

/* Worker thread: take jobs until stopped. */
static void *
WorkerMain(void *arg)
{
	struct worker *w = arg;
	struct db_executor *ex = w->ex;

	for (;;)
	{
		struct db_job *job;

		pthread_mutex_lock(&ex->mu);
		while (!ex->stopping && ex->head == NULL)
			pthread_cond_wait(&ex->work_cv, &ex->mu);
		job = Pop(ex);
		pthread_mutex_unlock(&ex->mu);
		if (job == NULL)
			break;				/* stopping, queue empty */
		RunJob(w, job);
		job->done(job->arg);
	}
	CloseConn(w);
	return NULL;
}

/* Watchdog thread: fail jobs that waited longer than --pool-wait. */
static void *
WatchdogMain(void *arg)
{
	struct db_executor *ex = arg;
	int64_t		wait_ns = (int64_t) cfg.pool_wait_ms * 1000000;

	pthread_mutex_lock(&ex->mu);
	while (!ex->stopping)
	{
		int64_t		now = now_ns();
		struct timespec until;
		int64_t		t;

		if (ex->head != NULL && ex->head->enqueued_ns + wait_ns <= now)
		{
			struct db_job *job = Pop(ex);

			pthread_mutex_unlock(&ex->mu);
			db_set_error(&job->err, 503, DBERR_POOL,
						 "database connection pool exhausted",
						 "No database connection became free in time.");
			CountError(DBERR_POOL);
			job->done(job->arg);
			pthread_mutex_lock(&ex->mu);
			continue;
		}
		t = ex->head != NULL ? ex->head->enqueued_ns + wait_ns : now + 1000000000;
		until.tv_sec = t / 1000000000;
		until.tv_nsec = t % 1000000000;
		pthread_cond_timedwait(&ex->watchdog_cv, &ex->mu, &until);
	}
	pthread_mutex_unlock(&ex->mu);
	return NULL;
}

/* Stop the workers (after the queue drained) and close the connections. */
void
db_executor_stop(struct db_executor *ex)
{
	unsigned	i;

	if (ex == NULL)
		return;
	pthread_mutex_lock(&ex->mu);
	ex->stopping = true;
	pthread_cond_broadcast(&ex->work_cv);
	pthread_cond_broadcast(&ex->watchdog_cv);
	pthread_mutex_unlock(&ex->mu);
	for (i = 0; i < ex->nworkers; i++)
		pthread_join(ex->workers[i].thread, NULL);
	pthread_join(ex->watchdog, NULL);

	pthread_mutex_lock(&executors_mu);
	for (i = 0; i < MAX_EXECUTORS; i++)
		if (executors[i] == ex)
			executors[i] = NULL;
	pthread_mutex_unlock(&executors_mu);

	pthread_cond_destroy(&ex->work_cv);
	pthread_cond_destroy(&ex->watchdog_cv);
	pthread_mutex_destroy(&ex->mu);
	free(ex->workers);
	free(ex->conninfo);
	free(ex);
}

/* Open connections and queued jobs over all executors; failures by kind. */
void
db_get_stats(struct db_stats *s)
{
	unsigned	i;

	s->connections = 0;
	s->queued = 0;
	for (i = 0; i < DBERR_COUNT; i++)
		s->errors[i] = __atomic_load_n(&error_counts[i], __ATOMIC_RELAXED);
	pthread_mutex_lock(&executors_mu);
	for (i = 0; i < MAX_EXECUTORS; i++)
	{
		struct db_executor *ex = executors[i];

		if (ex == NULL)
			continue;
		pthread_mutex_lock(&ex->mu);
		s->connections += ex->connections;
		s->queued += ex->queued;
		pthread_mutex_unlock(&ex->mu);
	}
	pthread_mutex_unlock(&executors_mu);
}
