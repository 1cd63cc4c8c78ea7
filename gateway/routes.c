/*
 * routes.c
 *	  The route table of pprof-gateway: which handler serves a request, for
 *	  which methods, and who may use it.
 *
 * To add a route:
 *   1. write its handler file (say, ui.c): the callbacks of struct route
 *      (http.h) that it needs, at least `complete`; per-request state goes
 *      behind r->state and is freed by the row's `free` callback;
 *   2. declare the callbacks in handlers.h;
 *   3. add one row to `routes` below (earlier rows win when two patterns
 *      match the same path), and the file to SRCS in the Makefile.
 * Nothing else: the lifecycle (http.c) calls the row's callbacks, the
 * metrics and the access log use its metrics name, a 405 lists the methods
 * of the rows that share its pattern, a 404 lists the patterns.
 *
 * A pattern is matched against the DECODED path. A {name} part is one path
 * segment: the gateway refuses a part that contains a slash (%2F). What a
 * part may otherwise hold is for its handler, and in the end for the
 * catalog, to judge (a tag by pgo.check_tag, which refuses "." and "..",
 * the parts a client would read as a step of the path).
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "headers.h"
#include "metrics.h"
#include "url.h"

static const struct route routes[] = {
	/* methods, pattern, auth, begin, body, complete, free, metrics name */
	{METHOD_GET | METHOD_HEAD, "/profile/{tag}/flamegraph.svg", AUTH_READ,
	NULL, NULL, flamegraph_get, ui_free, "flamegraph"},
	{METHOD_GET | METHOD_HEAD, "/profile/{tag}@{release}", AUTH_READ,
	NULL, NULL, release_get, download_free, "release"},
	{METHOD_GET | METHOD_HEAD, "/profile/{tag}", AUTH_READ,
	NULL, NULL, profile_get, download_free, "profile"},
	{METHOD_POST, "/profile/{tag}", AUTH_UPLOAD,
	upload_begin, upload_body, upload_complete, upload_free, "upload"},
	{METHOD_GET | METHOD_HEAD, "/tags", AUTH_READ,
	NULL, NULL, tags_get, NULL, "tags"},
	{METHOD_GET | METHOD_HEAD, "/ui", AUTH_READ,
	NULL, NULL, ui_index_get, ui_free, "ui"},
	{METHOD_GET | METHOD_HEAD, "/ui/{tag}", AUTH_READ,
	NULL, NULL, ui_tag_get, ui_free, "ui_tag"},
	{METHOD_GET | METHOD_HEAD, "/healthz", AUTH_NONE,
	NULL, NULL, healthz_get, NULL, "healthz"},
	{METHOD_GET | METHOD_HEAD, "/metrics", AUTH_NONE,
	NULL, NULL, metrics_get, metrics_free, "metrics"},
};

#define NROUTES ((int) (sizeof(routes) / sizeof(routes[0])))

_Static_assert(NROUTES < MAX_METRIC_ROUTES, "raise MAX_METRIC_ROUTES");

/* the metrics names by route number; the last: no route */
static const char *names[NROUTES + 1];
/* detail of a 404: every pattern with its methods */
static char not_found_detail[512];

/* The method's bit, 0 for a method no route serves. */
static unsigned
MethodBit(const char *method)
{
	if (strcmp(method, "GET") == 0)
		return METHOD_GET;
	if (strcmp(method, "HEAD") == 0)
		return METHOD_HEAD;
	if (strcmp(method, "POST") == 0)
		return METHOD_POST;
	return 0;
}

/* Append the methods of mask to out, as in an Allow header ("GET, HEAD"). */
static void
MethodList(char *out, size_t cap, unsigned mask, const char *sep, bool head)
{
	static const struct
	{
		unsigned	bit;
		const char *name;
	}			m[] = {{METHOD_GET, "GET"}, {METHOD_HEAD, "HEAD"}, {METHOD_POST, "POST"}};
	size_t		o = strlen(out);
	bool		first = true;
	size_t		i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
	{
		if (!(mask & m[i].bit) || (m[i].bit == METHOD_HEAD && !head))
			continue;
		o += (size_t) snprintf(out + o, o < cap ? cap - o : 0, "%s%s",
							   first ? "" : sep, m[i].name);
		first = false;
	}
}

/* The methods of the rows that share row i's pattern (one resource). */
static unsigned
ResourceMethods(int i)
{
	unsigned	mask = 0;
	int			j;

	for (j = 0; j < NROUTES; j++)
		if (strcmp(routes[j].pattern, routes[i].pattern) == 0)
			mask |= routes[j].methods;
	return mask;
}

static enum action Dispatch(struct request *r);
static const char *Name(int n);

static const struct router router = {Dispatch, Name};

/* Name the routes for the metrics; build the 404's list of routes. */
const struct router *
routes_init(void)
{
	size_t		o;
	int			i;
	int			j;

	for (i = 0; i < NROUTES; i++)
		names[i] = routes[i].metrics_name;
	names[NROUTES] = "other";
	metrics_define_routes(names, NROUTES + 1);

	snprintf(not_found_detail, sizeof(not_found_detail), "Routes:");
	for (i = 0; i < NROUTES; i++)
	{
		for (j = 0; j < i; j++)
			if (strcmp(routes[j].pattern, routes[i].pattern) == 0)
				break;
		if (j < i)
			continue;			/* listed with its first row */
		o = strlen(not_found_detail);
		snprintf(not_found_detail + o, sizeof(not_found_detail) - o, "%s ", i ? "," : "");
		MethodList(not_found_detail, sizeof(not_found_detail), ResourceMethods(i), "/", false);
		o = strlen(not_found_detail);
		snprintf(not_found_detail + o, sizeof(not_found_detail) - o, " %s", routes[i].pattern);
	}
	o = strlen(not_found_detail);
	snprintf(not_found_detail + o, sizeof(not_found_detail) - o, ".");
	return &router;
}

/* The `route` label of route number n; "other" when none. */
static const char *
Name(int n)
{
	return (n >= 0 && n < NROUTES) ? routes[n].metrics_name : "other";
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

/*
 * Does the request carry one of the accepted tokens: "Bearer <token>", or
 * "Basic" with the token as the password (any user name), which is what a
 * browser sends for the web pages?
 */
static bool
HasToken(struct request *r, const char *token1, const char *token2)
{
	const char *t;
	size_t		n;
	bool		ok = false;
	char		basic[512];

	if (!header_auth_token(request_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
						   basic, sizeof(basic), &t, &n))
		return false;
	/* check both without short-circuit */
	if (token1 && TokenMatches(t, n, token1))
		ok = true;
	if (token2 && TokenMatches(t, n, token2))
		ok = true;
	return ok;
}

/* May the request use a route of this level? Else r->reply is the 401. */
static bool
Authorized(struct request *r, enum auth_level level)
{
	const char *detail = NULL;

	if (level == AUTH_UPLOAD && cfg.upload_token &&
		!HasToken(r, cfg.upload_token, NULL))
		detail = "This gateway requires an upload token: Authorization: Bearer <token>.";
	else if (level == AUTH_READ && cfg.read_token &&
			 !HasToken(r, cfg.read_token, cfg.upload_token))
		detail = "This gateway requires a read token: Authorization: Bearer <token>.";
	if (detail == NULL)
		return true;
	reply_error(r, 401, "unauthorized", detail);
	return false;
}

/* May the request read (a read token, when one is set)? No reply is made. */
bool
routes_may_read(struct request *r)
{
	return cfg.read_token == NULL || HasToken(r, cfg.read_token, cfg.upload_token);
}

/*
 * Keep the parts the pattern named, decoded. A part is one path segment
 * (no slash); else r->reply is the 400.
 */
static bool
KeepCaptures(struct request *r, const struct span *caps, int ncaps)
{
	int			i;

	for (i = 0; i < ncaps; i++)
	{
		const struct span *c = &caps[i];
		struct param *kept = &r->captures[r->ncaptures];

		if (!path_segment_valid(c->value, c->len))
		{
			char		error[32];

			snprintf(error, sizeof(error), "invalid %.*s", (int) c->namelen, c->name);
			reply_errorf(r, 400, error,
						 "The %.*s is one segment of the path: it cannot contain a slash (%%2F).",
						 (int) c->namelen, c->name);
			return false;
		}
		kept->key = strndup(c->name, c->namelen);
		kept->value = strndup(c->value, c->len);
		r->ncaptures++;
		if (kept->key == NULL || kept->value == NULL)
		{
			reply_out_of_memory(r);
			return false;
		}
	}
	return true;
}

/* Find the route of a request whose headers are in; see routes.h. */
static enum action
Dispatch(struct request *r)
{
	const char *raw;
	const char *q;
	size_t		rawlen;
	char		path[MAX_PATH_LEN + 1];
	struct span caps[MAX_CAPTURES];
	int			ncaps = 0;
	unsigned	method = MethodBit(r->method);
	const char *why = NULL;
	int			i;
	int			j;

	r->get_style = (method & (METHOD_GET | METHOD_HEAD)) != 0;

	raw = target_path(r->raw_uri, &rawlen, &q);
	r->path_end = raw + rawlen;

	if (!url_decode(raw, rawlen, false, path, sizeof(path), NULL))
	{
		reply_error(r, 400, "invalid request path",
					"The path has a malformed %-escape, a control character or invalid UTF-8, "
					"or is longer than " PGW_STR(MAX_PATH_LEN) " bytes.");
		return ACT_REPLY;
	}

	/* the first row that matches names the resource */
	for (i = 0; i < NROUTES; i++)
		if (path_match(routes[i].pattern, path, caps, &ncaps))
			break;
	if (i == NROUTES)
	{
		reply_error(r, 404, "not found", not_found_detail);
		return ACT_REPLY;
	}
	/* its row for this method */
	for (j = i; j < NROUTES; j++)
		if (strcmp(routes[j].pattern, routes[i].pattern) == 0 &&
			(routes[j].methods & method) != 0)
			break;
	if (j == NROUTES)
	{
		MethodList(r->reply.allow, sizeof(r->reply.allow), ResourceMethods(i), ", ", true);
		reply_errorf(r, 405, "method not allowed", "Use %s.", r->reply.allow);
		return ACT_REPLY;
	}
	r->route = &routes[j];
	r->route_number = j;

	/* the token before anything else is revealed */
	if (!Authorized(r, r->route->auth) || !KeepCaptures(r, caps, ncaps))
		return ACT_REPLY;

	if (q != NULL)
	{
		int			n = query_parse(q, r->params, MAX_QUERY_PARAMS, &why);

		if (n < 0)
		{
			reply_error(r, 400, "invalid query string", why);
			return ACT_REPLY;
		}
		r->nparams = n;
	}
	return ACT_CONTINUE;
}
