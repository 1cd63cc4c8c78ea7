/*
 * download.c
 *	  GET /profile/<tag>: the merged default.pgo; GET /profile/<tag>@<sha256>:
 *	  a pinned release.
 *
 * A merge can take a while, so responses are cached on the catalog's
 * pgo.selection_key(...): one cheap query (index and derived columns only)
 * tells whether the rows a merge would select changed. Only on a miss does
 * the gateway call pgo.profile_for(...), and it computes the key again in
 * the SAME statement, so the bytes are stored under the key of exactly the
 * rows they were merged from (an upload landing between the two queries
 * cannot pair old key with new bytes). The ETag is the SHA-256 of the bytes,
 * computed by the database.
 *
 * Concurrent GETs of the same selection share one key check (coalesce.c):
 * under a fan-out of builds the database sees one query per round, not one
 * per build, and no request is answered from before its arrival.
 *
 * Releases are immutable: cached without expiry, and answered 304 without a
 * database query when the client already holds the URL's hash.
 *
 * ?format=preprofile serves the same merge in the compiler's serialized
 * form (pgo.preprofile: what go tool preprofile -i writes), cached under
 * its own key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "handlers.h"
#include "json.h"
#include "metrics.h"
#include "url.h"

struct download
{
	struct selection sel;		/* GET /profile/{tag}: $1 = the tag */
	struct buf	key_prefix;		/* cache key without the selection key */
	char	   *if_none_match;
	struct cache_entry *result; /* the job's answer, for coalesced requests */
	const char *tag;
	bool		preprofile;		/* ?format=preprofile */
	char		sha256[65];		/* a release's, lower case */
};

/*
 * query parameters of GET /profile/<tag>, and the catalog argument each
 * sets; the values are the catalog's to judge (their types' input functions
 * and pgo.check_selection), their errors come back as 400
 */
static const struct
{
	const char *param;
	const char *arg;			/* pgo.profile_for / pgo.selection_key argument */
	const char *cast;
}			select_params[MAX_SELECT_ARGS] =
{
	/* quoted: "window" and "normalize" are SQL keywords */
	{"window", "\"window\"", "interval"},
	{"max", "\"max_profiles\"", "integer"},
	{"mode", "\"mode\"", "text"},
	{"normalize", "\"normalize\"", "boolean"},
	{"min_duration", "\"min_duration\"", "interval"},
	{"top_by_cpu", "\"top_by_cpu\"", "integer"},
	{"go_version", "\"go_version\"", "text"},
	{"version", "\"version\"", "text"},
};

/* Free the download state of a request. */
void
download_free(void *state)
{
	struct download *d = state;

	buf_free(&d->key_prefix);
	free(d->if_none_match);
	if (d->result != NULL)
		cache_unref(d->result);
	free(d);
}

/* New download state for r, with its cache key's first parts; NULL: r->reply. */
static struct download *
DownloadNew(struct request *r, const char *kind)
{
	struct download *d = calloc(1, sizeof(*d));
	const char *inm = request_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);

	if (d == NULL)
	{
		reply_out_of_memory(r);
		return NULL;
	}
	r->state = d;
	d->tag = request_capture(r, "tag");
	buf_init(&d->key_prefix);
	buf_puts(&d->key_prefix, kind);
	buf_put(&d->key_prefix, "\x1f", 1);
	buf_puts(&d->key_prefix, d->tag);
	/* If-None-Match (bounded) for the database thread */
	if (inm != NULL)
		d->if_none_match = strndup(inm, 4096);
	if (inm != NULL && d->if_none_match == NULL)
	{
		reply_out_of_memory(r);
		return NULL;
	}
	return d;
}

/* Make a reply from a cache entry (taking the caller's reference). */
static void
ReplyEntry(struct request *r, struct cache_entry *e, bool immutable)
{
	struct download *d = r->state;

	snprintf(r->reply.etag, sizeof(r->reply.etag), "\"%s\"", e->etag);
	r->reply.cache_control = immutable ? "public, max-age=31536000, immutable" : "no-cache";
	if (d != NULL && etag_matches(d->if_none_match, r->reply.etag))
	{
		r->reply.status = 304;
		cache_unref(e);
		return;
	}
	r->reply.status = 200;
	r->reply.entry = e;
	if (d != NULL && d->preprofile)
		r->reply.content_type = "text/plain; charset=utf-8";
	else
	{
		r->reply.content_type = "application/octet-stream";
		r->reply.attachment = true;
	}
}

/* 404: the selection has nothing to merge (res is freed). */
static bool
NoUsableProfile(struct request *r, PGresult *res)
{
	struct download *d = r->state;

	PQclear(res);
	reply_errorf(r, 404, "no usable profile",
				 "No PGO-usable profile of tag %s matches the selection.", d->tag);
	return true;
}

/* Database thread, on a cache miss: merge, cache under the merged rows' key, answer. */
static bool
Merge(struct db_ctx *ctx, struct request *r, struct download *d)
{
	char		sql[1400];
	PGresult   *res;
	struct buf	key;
	struct cache_entry *e;
	int64_t		t0;
	char	   *bytes;
	size_t		len;

	/* one statement: the key of exactly the rows that were merged */
	snprintf(sql, sizeof(sql),
			 d->preprofile
			 ? "SELECT k, p, encode(sha256(p), 'hex') "
			 "FROM pgo.selection_key($1%s) AS k, pgo.preprofile(pgo.profile_for($1%s)) AS p"
			 : "SELECT k, p, encode(sha256(p), 'hex') "
			 "FROM pgo.selection_key($1%s) AS k, pgo.profile_for($1%s) AS p",
			 d->sel.args, d->sel.args);
	t0 = now_ns();
	res = db_query(ctx, sql, d->sel.nvalues, d->sel.values, NULL, NULL, 1);
	metrics_merge_seconds((double) (now_ns() - t0) / 1e9);
	if (res == NULL)
		return !ctx->err->conn_lost;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1))
		return NoUsableProfile(r, res);
	len = (size_t) PQgetlength(res, 0, 1);
	bytes = malloc(len ? len : 1);
	if (bytes == NULL)
	{
		PQclear(res);
		reply_out_of_memory(r);
		return true;
	}
	memcpy(bytes, PQgetvalue(res, 0, 1), len);

	buf_init(&key);
	buf_put(&key, d->key_prefix.data, d->key_prefix.len);
	if (!PQgetisnull(res, 0, 0))
		buf_put(&key, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
	e = key.oom ? NULL : cache_entry_new(key.data, key.len, bytes, len, PQgetvalue(res, 0, 2));
	if (e == NULL)
	{
		free(bytes);
		buf_free(&key);
		PQclear(res);
		reply_out_of_memory(r);
		return true;
	}
	if (!PQgetisnull(res, 0, 0))
		cache_put(e);
	buf_free(&key);
	PQclear(res);
	cache_ref(e);
	d->result = e;
	ReplyEntry(r, e, false);
	return true;
}

/* Database thread: selection key, then the cache; a miss merges. */
static bool
ProfileRun(struct db_ctx *ctx, void *arg)
{
	struct request *r = arg;
	struct download *d = r->state;
	char		sql[700];
	PGresult   *res;
	struct buf	key;
	struct cache_entry *e;

	coalesce_board(r);
	snprintf(sql, sizeof(sql), "SELECT pgo.selection_key($1%s)", d->sel.args);
	res = db_query(ctx, sql, d->sel.nvalues, d->sel.values, NULL, NULL, 0);
	if (res == NULL)
		return !ctx->err->conn_lost;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return NoUsableProfile(r, res);
	buf_init(&key);
	buf_put(&key, d->key_prefix.data, d->key_prefix.len);
	buf_puts(&key, PQgetvalue(res, 0, 0));
	PQclear(res);
	e = key.oom ? NULL : cache_get(key.data, key.len);
	buf_free(&key);
	cache_count_result(e != NULL ? CACHE_HIT : CACHE_MISS);
	if (e == NULL)
	{
		r->cache_result = r->reply.x_cache = "miss";
		return Merge(ctx, r, d);
	}
	r->cache_result = r->reply.x_cache = "hit";
	cache_ref(e);
	d->result = e;
	ReplyEntry(r, e, false);
	return true;
}

/*
 * A coalesced request: the answer of the request whose job served it. Only
 * the conditional part (If-None-Match) is its own.
 */
static void
ShareResult(struct request *from, struct request *to)
{
	struct download *fd = from->state;

	cache_count_result(CACHE_SHARED);
	to->cache_result = "shared";
	if (from->job.err.http_status != 0)
		to->job.err = from->job.err;
	else if (fd->result != NULL)
	{
		to->reply.x_cache = from->reply.x_cache;
		cache_ref(fd->result);
		ReplyEntry(to, fd->result, false);
	}
	else if (from->reply.error != NULL)
		reply_error(to, from->reply.status, from->reply.error, from->reply.detail);
	else
		reply_error(to, 500, "internal error", "The shared request produced no answer.");
}

/* Run the job, or join the one running for the same selection. */
static void
ProfileSubmit(struct request *r)
{
	struct download *d = r->state;

	coalesce_submit(r, r->executor, d->key_prefix.data, d->key_prefix.len, ShareResult);
}

/*
 * The selection of a request (the query parameters of GET /profile/{tag})
 * as named arguments of the catalog's selection functions, in a fixed
 * order so equal selections give equal SQL; $1 is the tag. key (may be
 * NULL) gets the parameters for a cache key. also (may be NULL) names one
 * more parameter the caller reads itself. false: r->reply is the 400 (or
 * the out-of-memory answer).
 */
bool
download_selection(struct request *r, const char *tag, struct selection *sel,
				   struct buf *key, const char *also)
{
	size_t		off = 0;
	int			i;
	int			j;

	for (i = 0; i < r->nparams; i++)
	{
		for (j = 0; j < MAX_SELECT_ARGS; j++)
			if (strcmp(r->params[i].key, select_params[j].param) == 0)
				break;
		if (j == MAX_SELECT_ARGS && (also == NULL || strcmp(r->params[i].key, also) != 0))
		{
			reply_errorf(r, 400, "invalid query parameter",
						 "Unknown parameter %.64s; use window, max, mode, normalize, min_duration, top_by_cpu, go_version, version%s%s.",
						 r->params[i].key, also ? ", " : "", also ? also : "");
			return false;
		}
	}
	sel->nvalues = 0;
	sel->args[0] = '\0';
	sel->values[sel->nvalues++] = tag;
	for (j = 0; j < MAX_SELECT_ARGS; j++)
	{
		const char *v = request_param(r, select_params[j].param);

		if (v == NULL)
			continue;
		sel->values[sel->nvalues] = v;
		off += (size_t) snprintf(sel->args + off, sizeof(sel->args) - off, ", %s => $%d::%s",
								 select_params[j].arg, sel->nvalues + 1, select_params[j].cast);
		sel->nvalues++;
		if (key != NULL)
		{
			buf_printf(key, "\x1f%s=", select_params[j].param);
			buf_puts(key, v);
		}
	}
	if (key != NULL)
	{
		buf_put(key, "\x1f", 1);
		if (key->oom)
		{
			reply_out_of_memory(r);
			return false;
		}
	}
	return true;
}

/* GET /profile/<tag>: map the selection to the catalog's arguments, look it up. */
enum action
profile_get(struct request *r)
{
	const char *format = request_param(r, "format");
	bool		preprofile = format != NULL && strcmp(format, "preprofile") == 0;
	struct download *d;

	if (format != NULL && !preprofile && strcmp(format, "pprof") != 0)
	{
		reply_error(r, 400, "invalid query parameter",
					"format is pprof (default.pgo, the default) or preprofile (go tool preprofile's form).");
		return ACT_REPLY;
	}
	/* the kind in the cache key keeps the two forms apart */
	d = DownloadNew(r, preprofile ? "V" : "P");
	if (d == NULL)
		return ACT_REPLY;
	d->preprofile = preprofile;
	if (!download_selection(r, d->tag, &d->sel, &d->key_prefix, "format"))
		return ACT_REPLY;
	r->submit = ProfileSubmit;
	return request_db(r, ProfileRun, db_reader, 0, NULL);
}

/* Database thread: fetch a release. */
static bool
ReleaseRun(struct db_ctx *ctx, void *arg)
{
	struct request *r = arg;
	struct download *d = r->state;
	const char *values[2] = {d->tag, d->sha256};
	PGresult   *res;
	struct cache_entry *e;
	char	   *bytes;
	size_t		len;

	res = db_query(ctx, "SELECT p, encode(sha256(p), 'hex') FROM pgo.release($1, $2) AS p",
				   2, values, NULL, NULL, 1);
	if (res == NULL)
		return !ctx->err->conn_lost;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		reply_errorf(r, 404, "no such release", "Tag %s has no release %s.", d->tag, d->sha256);
		return true;
	}
	if ((size_t) PQgetlength(res, 0, 1) != 64 ||
		memcmp(PQgetvalue(res, 0, 1), d->sha256, 64) != 0)
	{
		PQclear(res);
		reply_error(r, 500, "release corrupted", "The stored bytes do not hash to the release's SHA-256.");
		return true;
	}
	len = (size_t) PQgetlength(res, 0, 0);
	bytes = malloc(len ? len : 1);
	if (bytes != NULL)
		memcpy(bytes, PQgetvalue(res, 0, 0), len);
	PQclear(res);
	e = bytes ? cache_entry_new(d->key_prefix.data, d->key_prefix.len, bytes, len, d->sha256) : NULL;
	if (e == NULL)
	{
		free(bytes);
		reply_out_of_memory(r);
		return true;
	}
	cache_put(e);
	r->cache_result = r->reply.x_cache = "miss";
	ReplyEntry(r, e, true);
	return true;
}

/* The release's SHA-256 (64 hex digits) in lower case into out; false if it is none. */
static bool
ReleaseHash(const char *s, char *out)
{
	size_t		i;

	if (strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++)
	{
		char		c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char) (c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[i] = c;
	}
	out[64] = '\0';
	return true;
}

/* GET /profile/<tag>@<sha256>. */
enum action
release_get(struct request *r)
{
	struct download *d = DownloadNew(r, "R");
	struct cache_entry *e;
	char		etag[70];

	if (d == NULL)
		return ACT_REPLY;
	if (!ReleaseHash(request_capture(r, "release"), d->sha256))
	{
		reply_error(r, 400, "invalid release", "A release is /profile/<tag>@<sha256>, the SHA-256 in 64 hex digits.");
		return ACT_REPLY;
	}
	if (r->nparams > 0)
	{
		reply_error(r, 400, "invalid query parameter", "A release takes no parameters.");
		return ACT_REPLY;
	}
	buf_put(&d->key_prefix, "\x1f", 1);
	buf_puts(&d->key_prefix, d->sha256);
	if (d->key_prefix.oom)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}

	/* the client holds these very bytes: nothing to look up */
	snprintf(etag, sizeof(etag), "\"%s\"", d->sha256);
	if (etag_matches(d->if_none_match, etag))
	{
		r->reply.status = 304;
		snprintf(r->reply.etag, sizeof(r->reply.etag), "%s", etag);
		r->reply.cache_control = "public, max-age=31536000, immutable";
		return ACT_REPLY;
	}
	e = cache_get(d->key_prefix.data, d->key_prefix.len);
	if (e != NULL)
	{
		r->cache_result = r->reply.x_cache = "hit";
		ReplyEntry(r, e, true);
		return ACT_REPLY;
	}
	return request_db(r, ReleaseRun, db_reader, 0, NULL);
}
