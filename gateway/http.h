/*
 * http.h
 *	  The HTTP side of pprof-gateway: a request as the route handlers see it
 *	  (upload.c, download.c, info.c), what they answer, and the shape of a
 *	  route (the table is in routes.c; the lifecycle in http.c).
 */
#ifndef PGW_HTTP_H
#define PGW_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "cache.h"
#include "config.h"
#include "db.h"
#include "json.h"

/* a decoded query parameter, or a part of the path a route's pattern names */
struct param
{
	char	   *key;
	char	   *value;
};

/* what the gateway answers; filled by a route handler or a database job */
struct reply
{
	int			status;
	/* body: either owned bytes or a cache entry (one reference held) */
	char	   *body;
	size_t		len;
	struct cache_entry *entry;
	const char *content_type;
	/* error statuses: the reason (JSON body, or X-PGO-Error for GET/HEAD) */
	char	   *error;
	char	   *detail;
	char		sqlstate[6];
	/* extra headers */
	char		etag[70];		/* quoted, or "" */
	const char *cache_control;
	char		allow[32];		/* 405 */
	bool		attachment;		/* Content-Disposition: attachment; filename=default.pgo */
	const char *x_cache;		/* X-PGO-Cache */
};

/* what a route handler asks the server to do next */
enum action
{
	ACT_CONTINUE,				/* nothing yet (read the body) */
	ACT_REPLY,					/* r->reply is ready */
	ACT_DB						/* run r->job on r->executor */
};

struct request;

/* methods of a route, a mask */
#define METHOD_GET	0x01
#define METHOD_HEAD	0x02
#define METHOD_POST	0x04

/* who may use a route */
enum auth_level
{
	AUTH_NONE,					/* anybody (health, metrics) */
	AUTH_READ,					/* the read token (or the upload token), if set */
	AUTH_UPLOAD					/* the upload token, if set */
};

/* one row of the route table (routes.c) */
struct route
{
	unsigned	methods;		/* METHOD_* mask */
	/*
	 * The decoded path: literal text and {name} parts. A {name} matches up
	 * to the next literal character of the pattern (to the end when last);
	 * request_capture(r, "name") returns it. Rows of the same pattern are
	 * one resource (their methods make the Allow header of a 405).
	 */
	const char *pattern;
	enum auth_level auth;
	/* headers known, before any body (may answer 413, 415...); NULL: none */
	enum action (*begin) (struct request *r);
	/* a piece of the body; false closes the connection; NULL: body ignored */
	bool		(*body) (struct request *r, const char *data, size_t n);
	/* the whole request is in: answer, or ask the database */
	enum action (*complete) (struct request *r);
	/* frees r->state (NULL: the route keeps none) */
	void		(*free) (void *state);
	const char *metrics_name;	/* `route` label of the metrics and the log */
};

#define MAX_CAPTURES 4

struct request
{
	struct MHD_Connection *conn;
	char	   *raw_uri;		/* request-target as received */
	const char *path_end;		/* end of the path part of raw_uri */
	char		method[16];
	char		remote[64];
	int64_t		start_ns;
	bool		started;		/* the handler saw the headers */
	bool		body_done;		/* the handler saw the end of the body */
	bool		db_pending;		/* a job is queued or running */
	bool		responded;
	bool		reply_pending;	/* r->reply is ready, send it at the end */
	bool		get_style;		/* GET/HEAD: errors have an empty body */
	bool		linger;			/* answered before the end of the body */

	/* set by the router (routes.c) */
	const struct route *route;	/* NULL: no route (the reply says why) */
	int			route_number;	/* for the metrics */
	struct param captures[MAX_CAPTURES];
	int			ncaptures;
	struct param params[MAX_QUERY_PARAMS];
	int			nparams;

	void	   *state;			/* the route's own, freed by route->free */
	size_t		bytes_in;

	/* the database hand-off (request_db) */
	struct db_job job;
	struct db_executor *executor;
	/* NULL: db_submit(executor, &job); else submits the job itself */
	void		(*submit) (struct request *r);
	/* coalesce.c: the flight led, the requests on board, the waiting list */
	struct flight *flight;
	struct request *coalesced;
	struct request *coalesce_next;
	/* called on the HTTP thread once the job is over (err already mapped) */
	enum action (*after_db) (struct request *r);
	/* after_db answers a failed job too (job.err set), not the error reply */
	bool		after_db_on_error;

	struct reply reply;
	size_t		bytes_out;
	/* for the access log */
	const char *cache_result;
	long long	id;				/* stored row */
};

/* executors, set up by main.c */
extern struct db_executor *db_primary;
extern struct db_executor *db_reader;	/* db_primary when no replica */
extern volatile int server_draining;

/*
 * What serves the requests (routes.c): dispatch finds a request's route
 * once its headers are in (ACT_CONTINUE with r->route set, or ACT_REPLY);
 * name gives the `route` label of r->route_number.
 */
struct router
{
	enum action (*dispatch) (struct request *r);
	const char *(*name) (int route_number);
};

extern struct MHD_Daemon *http_start(int listen_fd, const struct router *router);
extern void http_stop(struct MHD_Daemon *daemon);

/* replies */
extern void reply_error(struct request *r, int status, const char *error,
						const char *detail);
extern void reply_errorf(struct request *r, int status, const char *error,
						 const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern void reply_out_of_memory(struct request *r);
extern void reply_db_error(struct request *r, const struct db_error *err);
extern void reply_json(struct request *r, int status, struct buf *json);

/* run `run` on ex; after_db (NULL: send r->reply) continues on the HTTP thread */
extern enum action request_db(struct request *r,
							  bool (*run) (struct db_ctx *ctx, void *arg),
							  struct db_executor *ex, unsigned timeout_ms,
							  enum action (*after_db) (struct request *r));
extern void request_job_done(void *arg);
extern const char *request_header(struct request *r, const char *name);
extern const char *request_param(struct request *r, const char *key);
extern const char *request_capture(struct request *r, const char *name);

#endif							/* PGW_HTTP_H */
