/*
 * server.h
 *	  The HTTP side of pprof-gateway: per-request state shared by the route
 *	  handlers (upload.c, download.c, info.c) and the MHD glue (server.c).
 */
#ifndef PGW_SERVER_H
#define PGW_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "cache.h"
#include "config.h"
#include "db.h"
#include "metrics.h"

/* a decoded query parameter */
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
	const char *allow;			/* 405 */
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

struct upload;
struct download;

struct request
{
	struct MHD_Connection *conn;
	char	   *raw_uri;		/* request-target as received */
	const char *path_end;		/* end of the path part of raw_uri */
	char		method[16];
	char		remote[64];
	int64_t		start_ns;
	enum route	route;
	bool		started;		/* the handler saw the headers */
	bool		body_done;		/* the handler saw the end of the body */
	bool		db_pending;		/* a job is queued or running */
	bool		responded;
	bool		reply_pending;	/* r->reply is ready, send it at the end */
	bool		get_style;		/* GET/HEAD: errors have an empty body */

	char		tag[MAX_TAG_LEN + 1];
	char		sha256[65];		/* releases */
	struct param params[MAX_QUERY_PARAMS];
	int			nparams;
	size_t		bytes_in;

	struct upload *up;
	struct download *down;
	int			stage;			/* for handlers that need several jobs */

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

	struct reply reply;
	size_t		bytes_out;
	const char *cache_result;	/* for the log */
	long long	id;				/* stored row, for the log */
};

/* executors, set up by main.c */
extern struct db_executor *db_primary;
extern struct db_executor *db_reader;	/* db_primary when no replica */
extern volatile int server_draining;

/* server.c */
extern struct MHD_Daemon *server_start(int listen_fd);
extern void reply_error(struct request *r, int status, const char *error,
						const char *detail);
extern void reply_errorf(struct request *r, int status, const char *error,
						 const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern void reply_db_error(struct request *r, const struct db_error *err);
extern void reply_json(struct request *r, int status, struct buf *json);
extern enum action request_db(struct request *r,
							  bool (*run) (struct db_ctx *ctx, void *arg),
							  struct db_executor *ex, unsigned timeout_ms,
							  enum action (*after_db) (struct request *r));
extern void request_job_done(void *arg);
extern const char *request_header(struct request *r, const char *name);
extern const char *request_param(struct request *r, const char *key);

/* url.c */
extern bool url_decode(const char *s, size_t n, bool plus_is_space,
					   char *out, size_t outcap, size_t *outlen);
extern bool tag_valid(const char *s, size_t n, const char **why);
extern int	query_parse(const char *q, struct param *params, int max,
						const char **why);
extern void params_free(struct param *params, int n);
extern bool label_key_valid(const char *s);
extern bool label_value_valid(const char *s, const char **why);
extern bool etag_matches(const char *if_none_match, const char *etag);

/* upload.c: POST /profile/<tag> */
extern enum action upload_begin(struct request *r);
extern bool upload_body(struct request *r, const char *data, size_t n);
extern enum action upload_complete(struct request *r);
extern void upload_free(struct request *r);

/* download.c: GET /profile/<tag>, GET /profile/<tag>@<sha256> */
extern enum action profile_get(struct request *r);
extern enum action release_get(struct request *r);
extern void download_free(struct request *r);

/* info.c: /tags, /healthz, /metrics */
extern enum action tags_get(struct request *r);
extern enum action healthz_get(struct request *r);
extern enum action metrics_get(struct request *r);

/* multipart.c */
extern const char *multipart_boundary(const char *content_type,
									  char *out, size_t outcap);
extern const char *multipart_find(const char *body, size_t len,
								  const char *boundary, const char *name,
								  const char **part, size_t *partlen);

#endif							/* PGW_SERVER_H */
