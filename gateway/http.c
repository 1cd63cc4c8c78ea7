/*
 * http.c
 *	  libmicrohttpd daemon of pprof-gateway: the request lifecycle, replies
 *	  turned into HTTP responses, and the hand-off to the database threads.
 *	  It names no handler: a router (routes.c, handed over by main.c) says
 *	  which route serves a request, the route's callbacks do the rest.
 *
 * Lifecycle of a request (all callbacks of one connection run on the same
 * MHD thread):
 *   RequestStart    request line parsed: state allocated, raw URI kept
 *   RequestStep     called several times:
 *     (headers)     the router picks the route (method, token,
 *                   parameters); its begin callback may answer at once,
 *                   BEFORE the body is read (413, 415, ...)
 *     (data)        body pieces to the route's body callback (bounded)
 *     (end)         the route's complete callback either replies, or
 *                   submits a database job and the connection is suspended;
 *                   the job's done callback (another thread) resumes it and
 *                   RequestStep runs again
 *   RequestEnd      access log line, metrics, state freed (route->free)
 *
 * Error bodies: JSON for POST and other methods; EMPTY for GET and HEAD,
 * with the reason in X-PGO-Error (and the SQLSTATE, when the database gave
 * one, in X-PGO-SQLSTATE), so `curl -o default.pgo` without -f never writes
 * an error text where `go build` expects a profile.
 */
#include "http.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "linger.h"
#include "log.h"
#include "metrics.h"
#include "url.h"

static const struct router *router;

struct db_executor *db_primary;
struct db_executor *db_reader;
volatile int server_draining;

/* Header lookup on the request's connection (HTTP thread only). */
const char *
request_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The value of key among params, or NULL. */
static const char *
ParamValue(const struct param *params, int n, const char *key)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(params[i].key, key) == 0)
			return params[i].value;
	return NULL;
}

/* Decoded query parameter, or NULL. */
const char *
request_param(struct request *r, const char *key)
{
	return ParamValue(r->params, r->nparams, key);
}

/* The part of the path that the route's {name} matched, decoded, or NULL. */
const char *
request_capture(struct request *r, const char *name)
{
	return ParamValue(r->captures, r->ncaptures, name);
}

/* Replace the reply by an error. */
void
reply_error(struct request *r, int status, const char *error, const char *detail)
{
	free(r->reply.body);
	r->reply.body = NULL;
	r->reply.len = 0;
	cache_unref(r->reply.entry);
	r->reply.entry = NULL;
	free(r->reply.error);
	free(r->reply.detail);
	r->reply.status = status;
	r->reply.error = strdup(error);
	r->reply.detail = (detail && detail[0]) ? strdup(detail) : NULL;
	r->reply.sqlstate[0] = '\0';
}

/* Error with a printf-formatted detail. */
void
reply_errorf(struct request *r, int status, const char *error, const char *fmt,...)
{
	char		detail[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	reply_error(r, status, error, detail);
}

/* The error of every allocation that fails while serving a request. */
void
reply_out_of_memory(struct request *r)
{
	reply_error(r, 503, "gateway busy", "Out of memory.");
}

/* Error from a database failure. */
void
reply_db_error(struct request *r, const struct db_error *err)
{
	reply_error(r, err->http_status, err->message, err->detail);
	snprintf(r->reply.sqlstate, sizeof(r->reply.sqlstate), "%s", err->sqlstate);
}

/* A JSON reply; takes the buffer's memory. */
void
reply_json(struct request *r, int status, struct buf *json)
{
	if (json->oom)
	{
		buf_free(json);
		reply_out_of_memory(r);
		return;
	}
	buf_put(json, "\n", 1);
	r->reply.status = status;
	r->reply.body = buf_steal(json, &r->reply.len);
	r->reply.content_type = "application/json";
	if (r->reply.body == NULL)
		reply_out_of_memory(r);
}

/* Copy an error reason into an HTTP header value: printable ASCII only. */
static void
HeaderSafe(char *out, size_t cap, const char *error, const char *detail)
{
	size_t		o = 0;
	const char *parts[2] = {error, detail};
	int			i;

	for (i = 0; i < 2; i++)
	{
		const unsigned char *s = (const unsigned char *) parts[i];

		if (s == NULL || *s == '\0')
			continue;
		if (i == 1 && o + 2 < cap)
		{
			out[o++] = ':';
			out[o++] = ' ';
		}
		for (; *s && o + 1 < cap; s++)
			out[o++] = (*s >= 0x20 && *s < 0x7F) ? (char) *s : '?';
	}
	out[o] = '\0';
}

/* Body of a JSON error. */
static char *
ErrorJson(const struct reply *rep, size_t *len)
{
	struct buf	b;

	buf_init(&b);
	buf_printf(&b, "{\"status\":%d,\"error\":", rep->status);
	json_cstr(&b, rep->error ? rep->error : "error");
	if (rep->detail)
	{
		buf_puts(&b, ",\"detail\":");
		json_cstr(&b, rep->detail);
	}
	if (rep->sqlstate[0])
	{
		buf_puts(&b, ",\"sqlstate\":");
		json_cstr(&b, rep->sqlstate);
	}
	buf_puts(&b, "}\n");
	return buf_steal(&b, len);
}

/* Release a cache entry held by a response. */
static void
FreeEntry(void *cls)
{
	cache_unref(cls);
}

/* where reply headers go: an MHD response, or the bytes of an answer */
typedef void (*add_header_fn) (void *sink, const char *name, const char *value);

/* Every header of r->reply but Content-Length, to add(sink, ...). */
static void
ReplyHeaders(struct request *r, add_header_fn add, void *sink)
{
	struct reply *rep = &r->reply;
	char		retry[16];

	if (rep->status >= 400)
	{
		add(sink, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		if (r->get_style)
		{
			char		h[MAX_ERROR_HEADER_LEN];

			HeaderSafe(h, sizeof(h), rep->error, rep->detail);
			add(sink, "X-PGO-Error", h);
			if (rep->sqlstate[0])
				add(sink, "X-PGO-SQLSTATE", rep->sqlstate);
		}
		else
			add(sink, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		if (rep->status == MHD_HTTP_SERVICE_UNAVAILABLE)
		{
			snprintf(retry, sizeof(retry), "%u", cfg.retry_after_s);
			add(sink, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		}
		if (rep->status == MHD_HTTP_UNAUTHORIZED)
		{
			/* Basic (the token as password) is what a browser can send */
			add(sink, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"pprof-gateway\", charset=\"UTF-8\"");
			add(sink, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"pprof-gateway\"");
		}
	}
	else
	{
		if (rep->content_type && rep->status != MHD_HTTP_NOT_MODIFIED)
			add(sink, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
		if (rep->etag[0])
			add(sink, MHD_HTTP_HEADER_ETAG, rep->etag);
		if (rep->attachment && rep->status != MHD_HTTP_NOT_MODIFIED)
			add(sink, MHD_HTTP_HEADER_CONTENT_DISPOSITION, "attachment; filename=default.pgo");
		add(sink, MHD_HTTP_HEADER_CACHE_CONTROL,
			rep->cache_control ? rep->cache_control : "no-store");
	}
	if (rep->allow[0])
		add(sink, MHD_HTTP_HEADER_ALLOW, rep->allow);
	if (rep->x_cache)
		add(sink, "X-PGO-Cache", rep->x_cache);
	add(sink, "X-Content-Type-Options", "nosniff");
	/* an answer before the end of the body ends the connection */
	if (server_draining || r->linger)
		add(sink, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* add_header_fn of an MHD response */
static void
AddToResponse(void *sink, const char *name, const char *value)
{
	MHD_add_response_header(sink, name, value);
}

/* add_header_fn of an answer written by the gateway itself */
static void
AddToBytes(void *sink, const char *name, const char *value)
{
	buf_printf(sink, "%s: %s\r\n", name, value);
}

/* The MHD response of r->reply (without headers); NULL when out of memory. */
static struct MHD_Response *
ReplyResponse(struct request *r)
{
	struct reply *rep = &r->reply;
	struct MHD_Response *resp;

	if (rep->status >= 400 && !r->get_style)
	{
		size_t		len = 0;
		char	   *body = ErrorJson(rep, &len);

		resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE) : NULL;
		if (resp == NULL)
			free(body);
		r->bytes_out = len;
	}
	else if (rep->status >= 400 || rep->status == MHD_HTTP_NOT_MODIFIED)
		resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	else if (rep->entry != NULL)
	{
		resp = MHD_create_response_from_buffer_with_free_callback_cls(
			rep->entry->len, rep->entry->data, FreeEntry, rep->entry);
		if (resp != NULL)
		{
			r->bytes_out = rep->entry->len;
			rep->entry = NULL;	/* the response holds the reference now */
		}
	}
	else
	{
		resp = MHD_create_response_from_buffer(rep->len, rep->body ? rep->body : (void *) "",
											   rep->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		if (resp != NULL)
		{
			r->bytes_out = rep->len;
			rep->body = NULL;
		}
	}
	return resp;
}

/* Turn r->reply into a queued MHD response. */
static enum MHD_Result
Respond(struct request *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->reply.status == 0)
		reply_error(r, 500, "internal error", "No reply was produced.");
	resp = ReplyResponse(r);
	if (resp == NULL)
	{
		log_event("error", "cannot create a response", "out of memory");
		return MHD_NO;			/* MHD closes the connection */
	}
	if (strcmp(r->method, "HEAD") == 0)
		r->bytes_out = 0;
	ReplyHeaders(r, AddToResponse, resp);
	ret = MHD_queue_response(r->conn, (unsigned int) r->reply.status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	return ret;
}

/*
 * The route refused the rest of the body (a chunked body over --max-body):
 * libmicrohttpd cannot queue a response before the body ended, so the
 * gateway writes r->reply (an error) on the socket itself, and the socket
 * lingers (linger.c) while MHD drops the connection.
 */
static enum MHD_Result
AnswerMidBody(struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	size_t		len = 0;
	char	   *body;
	struct buf	b;

	if (r->reply.status < 400 || ci == NULL)
		return MHD_NO;
	r->linger = true;
	body = ErrorJson(&r->reply, &len);
	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 %d %s\r\n", r->reply.status,
			   MHD_get_reason_phrase_for((unsigned int) r->reply.status));
	ReplyHeaders(r, AddToBytes, &b);
	buf_printf(&b, "Content-Length: %zu\r\n\r\n", len);
	buf_put(&b, body ? body : "", body ? len : 0);
	if (body != NULL && !b.oom && linger_socket(ci->connect_fd, b.data, b.len))
	{
		r->responded = true;
		r->bytes_out = len;
	}
	r->linger = false;			/* done: nothing more at the end */
	free(body);
	buf_free(&b);
	return MHD_NO;				/* MHD closes its side of the connection */
}

/* Does a body follow the headers? */
static bool
HasBody(struct request *r)
{
	const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
		(cl != NULL && strcmp(cl, "0") != 0);
}

/* Headers are in: find the route; its begin callback sees them first. */
static enum action
Begin(struct request *r)
{
	enum action a = router->dispatch(r);

	if (a != ACT_CONTINUE || r->route->begin == NULL)
		return a;
	return r->route->begin(r);
}

/*
 * A handler's answer when the database must be asked: run `run` on ex;
 * after_db (may be NULL) continues on the HTTP thread, else r->reply is
 * sent. timeout_ms 0: the statement timeout plus grace.
 */
enum action
request_db(struct request *r, bool (*run) (struct db_ctx *ctx, void *arg),
		   struct db_executor *ex, unsigned timeout_ms,
		   enum action (*after_db) (struct request *r))
{
	r->job.run = run;
	r->job.timeout_ms = timeout_ms;
	r->executor = ex;
	r->after_db = after_db;
	return ACT_DB;
}

/* The job is over (any thread): wake the connection up. */
void
request_job_done(void *arg)
{
	struct request *r = arg;

	MHD_resume_connection(r->conn);
}

/*
 * Suspend the connection and hand r->job to its executor, or to the
 * handler's own submit function (coalescing).
 */
static enum MHD_Result
SubmitJob(struct request *r)
{
	r->job.done = request_job_done;
	r->job.arg = r;
	r->db_pending = true;
	MHD_suspend_connection(r->conn);
	if (r->submit != NULL)
		r->submit(r);
	else if (!db_submit(r->executor, &r->job))
		MHD_resume_connection(r->conn);	/* job->err says why */
	return MHD_YES;
}

/* Act on a handler's decision. */
static enum MHD_Result
Act(struct request *r, enum action a)
{
	switch (a)
	{
		case ACT_REPLY:
			return Respond(r);
		case ACT_DB:
			return SubmitJob(r);
		case ACT_CONTINUE:
			break;
	}
	return MHD_YES;
}

/* Allocate the state of a new request. */
static struct request *
RequestNew(struct MHD_Connection *c, const char *uri)
{
	struct request *r = calloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;

	if (r == NULL)
		return NULL;
	r->raw_uri = strdup(uri);
	if (r->raw_uri == NULL)
	{
		free(r);
		return NULL;
	}
	r->conn = c;
	r->start_ns = now_ns();
	r->route_number = -1;		/* none yet */
	snprintf(r->method, sizeof(r->method), "-");
	snprintf(r->remote, sizeof(r->remote), "-");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
	{
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr,
					  r->remote, sizeof(r->remote));
		else if (sa->sa_family == AF_INET6)
		{
			const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;

			/* IPv4 clients of a dual-stack socket: log them as IPv4 */
			if (IN6_IS_ADDR_V4MAPPED(a))
				inet_ntop(AF_INET, &a->s6_addr[12], r->remote, sizeof(r->remote));
			else
				inet_ntop(AF_INET6, a, r->remote, sizeof(r->remote));
		}
	}
	metrics_in_flight(1);
	return r;
}

/*
 * MHD: the request line is parsed (called once per request, as MHD's "URI
 * log" callback, the first that sees a request): allocate its state.
 */
static void *
RequestStart(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void) cls;
	return RequestNew(c, uri ? uri : "/");
}

/* MHD: the access handler, called several times per request. */
static enum MHD_Result
RequestStep(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size,
	   void **con_cls)
{
	struct request *r = *con_cls;

	(void) cls;
	(void) version;
	if (r == NULL)
	{
		r = RequestNew(c, url);
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
	}
	if (r->responded)
	{
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (!r->started)
	{
		enum action a;

		r->started = true;
		snprintf(r->method, sizeof(r->method), "%s", method);
		a = Begin(r);

		/*
		 * An error found in the headers: answer now if a body follows, so
		 * it is never read (MHD then closes the connection); else answer
		 * at the end of the request, which keeps the connection alive.
		 */
		if (a == ACT_REPLY && !HasBody(r))
		{
			r->reply_pending = true;
			return MHD_YES;
		}
		r->linger = a == ACT_REPLY;
		return Act(r, a);
	}

	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		r->bytes_in += n;
		if (r->route != NULL && r->route->body != NULL &&
			!r->route->body(r, upload_data, n))
			return AnswerMidBody(r);
		return MHD_YES;			/* other routes ignore a body */
	}

	if (r->db_pending)
	{
		/* resumed: the job is over */
		r->db_pending = false;
		if (r->job.err.http_status != 0 && !(r->after_db_on_error && r->after_db))
		{
			reply_db_error(r, &r->job.err);
			return Respond(r);
		}
		return Act(r, r->after_db ? r->after_db(r) : ACT_REPLY);
	}

	if (r->reply_pending)
		return Respond(r);
	if (!r->body_done && r->route != NULL)
	{
		r->body_done = true;
		return Act(r, r->route->complete(r));
	}
	/* nothing left to do: should not happen */
	if (!r->responded)
	{
		reply_error(r, 500, "internal error", "Request in an unexpected state.");
		return Respond(r);
	}
	return MHD_YES;
}

/* MHD: the request is over (answered or not): log, count, free. */
static void
RequestEnd(void *cls, struct MHD_Connection *c, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	struct access_entry e;
	char		path[MAX_LOGGED_PATH_LEN + 1];
	double		seconds;
	static const char *const term[] = {
		NULL, "error", "timeout", "daemon_shutdown", "read_error", "client_abort"
	};

	(void) cls;
	if (r == NULL)
		return;
	*con_cls = NULL;

	seconds = (double) (now_ns() - r->start_ns) / 1e9;
	if (r->path_end == NULL)
	{
		const char *q = strchr(r->raw_uri, '?');

		r->path_end = q ? q : r->raw_uri + strlen(r->raw_uri);
	}
	snprintf(path, sizeof(path), "%.*s",
			 (int) ((size_t) (r->path_end - r->raw_uri) > MAX_LOGGED_PATH_LEN ?
					MAX_LOGGED_PATH_LEN : (size_t) (r->path_end - r->raw_uri)),
			 r->raw_uri);
	memset(&e, 0, sizeof(e));
	e.method = r->method;
	e.path = path;
	e.route = router->name(r->route_number);
	e.status = r->responded ? r->reply.status : 0;
	e.bytes_in = r->bytes_in;
	e.bytes_out = r->responded ? r->bytes_out : 0;
	e.ms = seconds * 1000;
	e.remote = r->remote;
	e.tag = request_capture(r, "tag");
	e.cache = r->cache_result;
	e.id = r->id;
	e.error = (r->responded && r->reply.status >= 400) ? r->reply.error : NULL;
	e.termination = ((unsigned) toe < sizeof(term) / sizeof(term[0])) ? term[toe] : "other";
	log_access(&e);
	metrics_request(r->route_number, e.status, seconds);

	/* answered before the end of the body: keep reading, then close */
	if (r->linger && r->responded && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (ci != NULL)
			(void) linger_socket(ci->connect_fd, NULL, 0);
	}

	if (r->state != NULL && r->route != NULL && r->route->free != NULL)
		r->route->free(r->state);
	params_free(r->params, r->nparams);
	params_free(r->captures, r->ncaptures);
	free(r->reply.body);
	free(r->reply.error);
	free(r->reply.detail);
	cache_unref(r->reply.entry);
	free(r->raw_uri);
	free(r);
	metrics_in_flight(-1);
}

/* MHD's own diagnostics, into the structured log. */
static void
MhdLog(void *cls, const char *fmt, va_list ap)
{
	char		msg[512];
	size_t		n;

	(void) cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_event("warning", "libmicrohttpd", msg);
}

/* Start the daemon on an already listening socket. */
struct MHD_Daemon *
http_start(int listen_fd, const struct router *r)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_ITC;

	router = r;
	if (!linger_start())
		return NULL;
	/* the logger must come first, or MHD logs the options' errors itself */
	return MHD_start_daemon(flags, 0, NULL, NULL, RequestStep, NULL,
							MHD_OPTION_EXTERNAL_LOGGER, MhdLog, NULL,
							MHD_OPTION_LISTEN_SOCKET, listen_fd,
							MHD_OPTION_THREAD_POOL_SIZE, cfg.threads,
							MHD_OPTION_CONNECTION_TIMEOUT, cfg.http_timeout_s,
							MHD_OPTION_CONNECTION_LIMIT, cfg.max_connections,
							MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg.max_per_ip,
							MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg.conn_memory,
							MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
							MHD_OPTION_URI_LOG_CALLBACK, RequestStart, NULL,
							MHD_OPTION_NOTIFY_COMPLETED, RequestEnd, NULL,
							MHD_OPTION_END);
}

/* Stop the daemon (no request in flight), then the lingering sockets. */
void
http_stop(struct MHD_Daemon *daemon)
{
	MHD_stop_daemon(daemon);
	linger_stop();
}
