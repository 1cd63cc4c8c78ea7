/*
 * server.c
 *	  libmicrohttpd daemon of pprof-gateway: request lifecycle, routing,
 *	  authentication and turning replies into HTTP responses.
 *
 * Lifecycle of a request (all callbacks of one connection run on the same
 * MHD thread):
 *   UriLog          request line parsed: state allocated, raw URI kept
 *   Handle (1st)    headers known: route, method, token, parameters; an
 *                   upload checks its size and type here, BEFORE reading
 *                   the body, and may answer at once (413, 415, ...)
 *   Handle (data)   body chunks appended (bounded, also when chunked)
 *   Handle (end)    the handler either replies, or submits a database job
 *                   and suspends the connection; the job's done callback
 *                   (another thread) resumes it and Handle runs again
 *   Completed       access log line, metrics, state freed
 *
 * Error bodies: JSON for POST and other methods; EMPTY for GET and HEAD,
 * with the reason in X-PGO-Error, so `curl -o default.pgo` without -f never
 * writes an error text where `go build` expects a profile.
 */
#include "server.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"

struct db_executor *db_primary;
struct db_executor *db_reader;
volatile int server_draining;

/* Header lookup on the request's connection (HTTP thread only). */
const char *
request_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Decoded query parameter, or NULL. */
const char *
request_param(struct request *r, const char *key)
{
	int			i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].value;
	return NULL;
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
		reply_error(r, 500, "out of memory", NULL);
		return;
	}
	buf_put(json, "\n", 1);
	r->reply.status = status;
	r->reply.body = buf_steal(json, &r->reply.len);
	r->reply.content_type = "application/json";
	if (r->reply.body == NULL)
		reply_error(r, 500, "out of memory", NULL);
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

/* Turn r->reply into a queued MHD response. */
static enum MHD_Result
Respond(struct request *r)
{
	struct reply *rep = &r->reply;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool		is_error = rep->status >= 400;
	char		retry[16];

	if (rep->status == 0)
		reply_error(r, 500, "internal error", "No reply was produced.");

	if (is_error && r->get_style)
		resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	else if (is_error)
	{
		size_t		len = 0;
		char	   *body = ErrorJson(rep, &len);

		resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE) : NULL;
		if (resp == NULL)
			free(body);
		else
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		r->bytes_out = len;
	}
	else if (rep->status == MHD_HTTP_NOT_MODIFIED)
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
	if (resp == NULL)
	{
		log_event("error", "cannot create a response", "out of memory");
		return MHD_NO;			/* MHD closes the connection */
	}
	if (strcmp(r->method, "HEAD") == 0)
		r->bytes_out = 0;

	if (is_error)
	{
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		if (r->get_style)
		{
			char		h[MAX_ERROR_HEADER_LEN];

			HeaderSafe(h, sizeof(h), rep->error, rep->detail);
			MHD_add_response_header(resp, "X-PGO-Error", h);
		}
		if (rep->status == MHD_HTTP_SERVICE_UNAVAILABLE)
		{
			snprintf(retry, sizeof(retry), "%u", cfg.retry_after_s);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		}
		if (rep->status == MHD_HTTP_UNAUTHORIZED)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
									"Bearer realm=\"pprof-gateway\"");
	}
	else
	{
		if (rep->content_type && rep->status != MHD_HTTP_NOT_MODIFIED)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
		if (rep->etag[0])
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rep->etag);
		if (rep->attachment && rep->status != MHD_HTTP_NOT_MODIFIED)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
									"attachment; filename=default.pgo");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
								rep->cache_control ? rep->cache_control : "no-store");
	}
	if (rep->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
	if (rep->x_cache)
		MHD_add_response_header(resp, "X-PGO-Cache", rep->x_cache);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (server_draining)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");

	ret = MHD_queue_response(r->conn, (unsigned int) rep->status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	return ret;
}

/*
 * Constant-time token check: the time depends on the configured secret's
 * length only, never on how much of the given token matches.
 */
static bool
TokenMatches(const char *given, size_t glen, const char *secret)
{
	size_t		slen = strlen(secret);
	volatile unsigned char diff = (unsigned char) (glen != slen);
	size_t		i;

	for (i = 0; i < slen; i++)
		diff |= (unsigned char) (secret[i] ^ (i < glen ? given[i] : 0));
	return diff == 0;
}

/* Does the request carry one of the accepted bearer tokens? */
static bool
Authorized(struct request *r, const char *token1, const char *token2)
{
	const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *t;
	size_t		n;
	bool		ok = false;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	t = h + 7;
	while (*t == ' ')
		t++;
	n = strlen(t);
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	/* check both without short-circuit */
	if (token1 && TokenMatches(t, n, token1))
		ok = true;
	if (token2 && TokenMatches(t, n, token2))
		ok = true;
	return ok;
}

/*
 * Route the request: path, method, token, parameters. Returns ACT_REPLY
 * with an error, or ACT_CONTINUE.
 */
static enum action
Route(struct request *r)
{
	const char *raw = r->raw_uri;
	const char *q;
	size_t		rawlen;
	char		path[MAX_TAG_LEN + 80];
	size_t		plen;
	bool		get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	bool		post = strcmp(r->method, "POST") == 0;
	const char *allow = NULL;
	const char *why = NULL;
	bool		is_release = false;

	r->get_style = get;
	r->route = ROUTE_OTHER;

	/* absolute-form request-target: keep the path */
	if (strncasecmp(raw, "http://", 7) == 0 || strncasecmp(raw, "https://", 8) == 0)
	{
		const char *s = strchr(strstr(raw, "//") + 2, '/');

		raw = s ? s : "/";
	}
	q = strchr(raw, '?');
	rawlen = q ? (size_t) (q - raw) : strlen(raw);
	r->path_end = raw + rawlen;

	if (!url_decode(raw, rawlen, false, path, sizeof(path), &plen))
	{
		if (rawlen >= sizeof(path) - 1 && strncmp(raw, "/profile/", 9) == 0)
			reply_error(r, 400, "invalid tag", "The tag is longer than 128 characters.");
		else
			reply_error(r, 400, "invalid request path",
						"The path has a malformed %-escape, a control character or invalid UTF-8, or is too long.");
		return ACT_REPLY;
	}

	if (strncmp(path, "/profile/", 9) == 0)
	{
		char	   *spec = path + 9;
		char	   *at = strchr(spec, '@');
		size_t		taglen = at ? (size_t) (at - spec) : strlen(spec);

		is_release = at != NULL;
		allow = is_release ? "GET, HEAD" : "GET, HEAD, POST";
		if (get)
			r->route = is_release ? ROUTE_RELEASE : ROUTE_PROFILE;
		else if (post && !is_release)
			r->route = ROUTE_UPLOAD;
		else
		{
			r->reply.allow = allow;
			reply_errorf(r, 405, "method not allowed", "Use %s.", allow);
			return ACT_REPLY;
		}
		/* token before anything else is revealed */
		if (r->route == ROUTE_UPLOAD && cfg.upload_token &&
			!Authorized(r, cfg.upload_token, NULL))
		{
			reply_error(r, 401, "unauthorized", "This gateway requires an upload token: Authorization: Bearer <token>.");
			return ACT_REPLY;
		}
		if (r->route != ROUTE_UPLOAD && cfg.read_token &&
			!Authorized(r, cfg.read_token, cfg.upload_token))
		{
			reply_error(r, 401, "unauthorized", "This gateway requires a read token: Authorization: Bearer <token>.");
			return ACT_REPLY;
		}
		if (!tag_valid(spec, taglen, &why))
		{
			reply_error(r, 400, "invalid tag", why);
			return ACT_REPLY;
		}
		memcpy(r->tag, spec, taglen);
		r->tag[taglen] = '\0';
		if (is_release)
		{
			const char *sha = at + 1;
			size_t		i;

			if (strlen(sha) != 64)
			{
				reply_error(r, 400, "invalid release", "A release is /profile/<tag>@<sha256>, the SHA-256 in 64 hex digits.");
				return ACT_REPLY;
			}
			for (i = 0; i < 64; i++)
			{
				char		c = sha[i];

				if (c >= 'A' && c <= 'F')
					c = (char) (c - 'A' + 'a');
				if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				{
					reply_error(r, 400, "invalid release", "A release is /profile/<tag>@<sha256>, the SHA-256 in 64 hex digits.");
					return ACT_REPLY;
				}
				r->sha256[i] = c;
			}
			r->sha256[64] = '\0';
		}
	}
	else if (strcmp(path, "/tags") == 0)
	{
		r->route = ROUTE_TAGS;
		allow = "GET, HEAD";
	}
	else if (strcmp(path, "/healthz") == 0)
	{
		r->route = ROUTE_HEALTHZ;
		allow = "GET, HEAD";
	}
	else if (strcmp(path, "/metrics") == 0)
	{
		r->route = ROUTE_METRICS;
		allow = "GET, HEAD";
	}
	else
	{
		reply_error(r, 404, "not found",
					"Routes: POST/GET /profile/<tag>, GET /profile/<tag>@<sha256>, GET /tags, /healthz, /metrics.");
		return ACT_REPLY;
	}

	if (!is_release && r->route != ROUTE_PROFILE && r->route != ROUTE_UPLOAD && !get)
	{
		r->route = ROUTE_OTHER;
		r->reply.allow = allow;
		reply_errorf(r, 405, "method not allowed", "Use %s.", allow);
		return ACT_REPLY;
	}
	if (r->route == ROUTE_TAGS && cfg.read_token &&
		!Authorized(r, cfg.read_token, cfg.upload_token))
	{
		reply_error(r, 401, "unauthorized", "This gateway requires a read token: Authorization: Bearer <token>.");
		return ACT_REPLY;
	}

	if (q != NULL)
	{
		int			n = query_parse(q + 1, r->params, MAX_QUERY_PARAMS, &why);

		if (n < 0)
		{
			reply_error(r, 400, "invalid query string", why);
			return ACT_REPLY;
		}
		r->nparams = n;
	}
	return ACT_CONTINUE;
}

/* Does a body follow the headers? */
static bool
HasBody(struct request *r)
{
	const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
		(cl != NULL && strcmp(cl, "0") != 0);
}

/* First handler call of a route with the headers known. */
static enum action
Begin(struct request *r)
{
	enum action a = Route(r);

	if (a != ACT_CONTINUE)
		return a;
	if (r->route == ROUTE_UPLOAD)
		return upload_begin(r);
	return ACT_CONTINUE;
}

/* The whole request is in: dispatch to the route's handler. */
static enum action
Complete(struct request *r)
{
	switch (r->route)
	{
		case ROUTE_UPLOAD:
			return upload_complete(r);
		case ROUTE_PROFILE:
			return profile_get(r);
		case ROUTE_RELEASE:
			return release_get(r);
		case ROUTE_TAGS:
			return tags_get(r);
		case ROUTE_HEALTHZ:
			return healthz_get(r);
		case ROUTE_METRICS:
			return metrics_get(r);
		default:
			reply_error(r, 404, "not found", NULL);
			return ACT_REPLY;
	}
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
	r->route = ROUTE_OTHER;
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

/* MHD: the request line is parsed (called once per request). */
static void *
UriLog(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void) cls;
	return RequestNew(c, uri ? uri : "/");
}

/* MHD: the access handler, called several times per request. */
static enum MHD_Result
Handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
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
		return Act(r, a);
	}

	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		r->bytes_in += n;
		if (r->route == ROUTE_UPLOAD && !upload_body(r, upload_data, n))
			return MHD_NO;		/* close the connection */
		return MHD_YES;			/* other routes ignore a body */
	}

	if (r->db_pending)
	{
		/* resumed: the job is over */
		r->db_pending = false;
		if (r->job.err.http_status != 0)
		{
			reply_db_error(r, &r->job.err);
			return Respond(r);
		}
		return Act(r, r->after_db ? r->after_db(r) : ACT_REPLY);
	}

	if (r->reply_pending)
		return Respond(r);
	if (!r->body_done)
	{
		r->body_done = true;
		return Act(r, Complete(r));
	}
	/* nothing left to do: should not happen */
	if (!r->responded)
	{
		reply_error(r, 500, "internal error", "Request in an unexpected state.");
		return Respond(r);
	}
	return MHD_YES;
}

/* MHD: the request is over: log, count, free. */
static void
Completed(void *cls, struct MHD_Connection *c, void **con_cls,
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
	(void) c;
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
	e.route = route_name(r->route);
	e.status = r->responded ? r->reply.status : 0;
	e.bytes_in = r->bytes_in;
	e.bytes_out = r->responded ? r->bytes_out : 0;
	e.ms = seconds * 1000;
	e.remote = r->remote;
	e.tag = r->tag[0] ? r->tag : NULL;
	e.cache = r->cache_result;
	e.id = r->id;
	e.error = (r->responded && r->reply.status >= 400) ? r->reply.error : NULL;
	e.termination = ((unsigned) toe < sizeof(term) / sizeof(term[0])) ? term[toe] : "other";
	log_access(&e);
	metrics_request(r->route, e.status, seconds);

	upload_free(r);
	download_free(r);
	params_free(r->params, r->nparams);
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
server_start(int listen_fd)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_ITC;

	/* the logger must come first, or MHD logs the options' errors itself */
	return MHD_start_daemon(flags, 0, NULL, NULL, Handle, NULL,
							MHD_OPTION_EXTERNAL_LOGGER, MhdLog, NULL,
							MHD_OPTION_LISTEN_SOCKET, listen_fd,
							MHD_OPTION_THREAD_POOL_SIZE, cfg.threads,
							MHD_OPTION_CONNECTION_TIMEOUT, cfg.http_timeout_s,
							MHD_OPTION_CONNECTION_LIMIT, cfg.max_connections,
							MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg.max_per_ip,
							MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg.conn_memory,
							MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
							MHD_OPTION_URI_LOG_CALLBACK, UriLog, NULL,
							MHD_OPTION_NOTIFY_COMPLETED, Completed, NULL,
							MHD_OPTION_END);
}
