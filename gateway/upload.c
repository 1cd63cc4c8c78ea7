/*
 * upload.c
 *	  POST /profile/<tag>: receive a profile and store it with pgo.ingest.
 *
 * Size is decided before the body is read: a Content-Length above
 * --max-body is answered 413 at once (no "100 Continue" is sent, and the
 * connection lingers so that the answer arrives, see linger.c); a chunked
 * body is answered 413 as soon as it passes the limit. All buffered uploads
 * together are bounded by --upload-memory (503 beyond), so many concurrent
 * large uploads cannot exhaust memory.
 *
 * The profile bytes are passed to PostgreSQL as they came, gzip or not
 * (Content-Encoding: gzip included): the pprof type decodes both, bounded,
 * and is the only place that judges a profile. The answer 201 is sent only
 * after the commit, on a session with synchronous_commit = on.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "headers.h"
#include "json.h"
#include "metrics.h"
#include "multipart.h"
#include "url.h"

struct upload
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		reserved;		/* bytes counted against --upload-memory */
	bool		chunked;
	bool		multipart;
	char		boundary[80];
	char	   *idempotency_key;	/* NULL: none */
	/* set by upload_complete */
	const char *profile;
	size_t		profile_len;
	char	   *labels;			/* JSON object */
};

static size_t upload_memory_used;	/* atomic */

/* Count n more bytes against --upload-memory; false if over budget. */
static bool
Reserve(struct upload *up, size_t n)
{
	size_t		now = __atomic_add_fetch(&upload_memory_used, n, __ATOMIC_RELAXED);

	if (now > cfg.upload_memory)
	{
		__atomic_sub_fetch(&upload_memory_used, n, __ATOMIC_RELAXED);
		return false;
	}
	up->reserved += n;
	return true;
}

/* Free the upload state of a request. */
void
upload_free(void *state)
{
	struct upload *up = state;

	__atomic_sub_fetch(&upload_memory_used, up->reserved, __ATOMIC_RELAXED);
	free(up->data);
	free(up->labels);
	free(up->idempotency_key);
	free(up);
}

/*
 * What the body is, from Content-Encoding and Content-Type; false with
 * r->reply set (415, 400) when the gateway cannot take it.
 */
static bool
BodyKind(struct request *r, struct upload *up)
{
	const char *ct = request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *ce = request_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
	char		media[64];
	bool		gzip = false;

	if (ce != NULL && ce[0] != '\0' && strcasecmp(ce, "identity") != 0)
	{
		if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
			gzip = true;
		else
		{
			reply_error(r, 415, "unsupported Content-Encoding",
						"Send the profile as is, or with Content-Encoding: gzip.");
			return false;
		}
	}
	header_media_type(ct ? ct : "", media, sizeof(media));
	if (strcmp(media, "multipart/form-data") == 0)
	{
		const char *why = multipart_boundary(ct, up->boundary, sizeof(up->boundary));

		if (gzip)
		{
			reply_error(r, 415, "unsupported Content-Encoding",
						"A multipart body cannot be gzip-encoded; gzip the profile inside the part instead.");
			return false;
		}
		if (why != NULL)
		{
			reply_error(r, 400, "invalid multipart body", why);
			return false;
		}
		up->multipart = true;
	}
	else if (header_not_a_profile(media))
	{
		reply_errorf(r, 415, "unsupported Content-Type",
					 "A body of type %.40s is not a pprof profile. Send the profile file as it is "
					 "(curl --data-binary @cpu.pprof, any type but text, JSON, XML or HTML, e.g. "
					 "application/octet-stream) or as multipart/form-data with a part cpu_profile "
					 "(curl -F cpu_profile=@cpu.pprof).", media);
		return false;
	}
	return true;
}

/*
 * How big the body is, decided before a byte of it is read: *length from
 * Content-Length, or chunked. False with r->reply set (411, 400, 413).
 */
static bool
BodyLength(struct request *r, struct upload *up, size_t *length)
{
	const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;

	*length = 0;
	up->chunked = header_chunked(request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING));
	if (up->chunked)
		return true;
	if (cl == NULL)
	{
		reply_error(r, 411, "length required",
					"Send a Content-Length header (or a chunked body).");
		return false;
	}
	if (!header_content_length(cl, &n))
	{
		reply_error(r, 400, "invalid Content-Length", NULL);
		return false;
	}
	if (n > cfg.max_body)
	{
		reply_errorf(r, 413, "request body too large",
					 "The body is %llu bytes; this gateway accepts at most %zu bytes (--max-body).",
					 n, cfg.max_body);
		return false;
	}
	if (n == 0)
	{
		reply_error(r, 400, "empty request body", "The body must be a pprof profile.");
		return false;
	}
	*length = (size_t) n;
	return true;
}

/*
 * Headers are in: what the body is and how big, then its buffer. Labels
 * and the Idempotency-Key are the catalog's to judge (pgo.ingest).
 */
enum action
upload_begin(struct request *r)
{
	const char *ik = request_header(r, "Idempotency-Key");
	struct upload *up;
	size_t		length;
	size_t		initial;

	up = calloc(1, sizeof(*up));
	if (up == NULL)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}
	r->state = up;
	if (!BodyKind(r, up) || !BodyLength(r, up, &length))
		return ACT_REPLY;
	if (ik != NULL && (up->idempotency_key = strdup(ik)) == NULL)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}

	initial = up->chunked ? CHUNKED_INITIAL_BUFFER : length;
	if (initial > cfg.max_body)
		initial = cfg.max_body;
	if (!Reserve(up, initial))
	{
		reply_error(r, 503, "gateway busy", "Too many uploads are being received; retry later.");
		return ACT_REPLY;
	}
	up->data = malloc(initial);
	if (up->data == NULL)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}
	up->cap = initial;
	return ACT_CONTINUE;
}

/*
 * A piece of the body; false, with r->reply set, when the rest is refused.
 *
 * A chunked body that passes --max-body (or --upload-memory) is answered
 * at once, 413 (503), in the middle of the body (http.c writes the answer
 * itself and the connection lingers): the client learns it now, not after
 * sending the rest, and the buffer is freed with the request.
 */
bool
upload_body(struct request *r, const char *data, size_t n)
{
	struct upload *up = r->state;

	if (n > cfg.max_body - up->len)
	{
		reply_errorf(r, 413, "request body too large",
					 "The body is larger than %zu bytes (--max-body).", cfg.max_body);
		return false;
	}
	if (up->len + n > up->cap)
	{
		size_t		cap = up->cap;
		char	   *p = NULL;

		while (cap < up->len + n)
			cap = cap > cfg.max_body / 2 ? cfg.max_body : cap * 2;
		if (!Reserve(up, cap - up->cap) || (p = realloc(up->data, cap)) == NULL)
		{
			reply_error(r, 503, "gateway busy", "Too many uploads are being received; retry later.");
			return false;
		}
		up->data = p;
		up->cap = cap;
	}
	memcpy(up->data + up->len, data, n);
	up->len += n;
	return true;
}

/*
 * Database thread: one autocommit statement stores the profile and builds
 * the 201 body from the stored row (pgo.ingest_summary). An implicit
 * transaction commits at the protocol's Sync, after the row was sent, and
 * db_query returns only once ReadyForQuery arrived: a failing commit is an
 * error here, never a 201.
 */
static bool
UploadRun(struct db_ctx *ctx, void *arg)
{
	struct request *r = arg;
	struct upload *up = r->state;
	const char *values[4];
	int			lengths[4] = {0, 0, 0, 0};
	int			formats[4] = {0, 1, 0, 0};
	PGresult   *res;
	struct buf	b;

	values[0] = request_capture(r, "tag");
	values[1] = up->profile;
	lengths[1] = (int) up->profile_len;
	values[2] = up->labels;
	values[3] = up->idempotency_key;
	res = db_query(ctx,
				   "SELECT s.id, json_build_object('id', s.id, 'tag', $1::text, "
				   "'samples', s.samples, 'duration_seconds', s.duration_seconds, "
				   "'pgo_usable', s.pgo_usable, 'problems', s.problems)::text "
				   "FROM pgo.ingest_summary($1, $2, $3::jsonb, 'push', $4) AS s",
				   4, values, lengths, formats, 0);
	if (res == NULL)
	{
		/*
		 * The statement was sent: if the connection broke, it may have
		 * committed. Never retried here; the client retries, with its
		 * Idempotency-Key if it has one.
		 */
		if (ctx->err->conn_lost)
			snprintf(ctx->err->detail, sizeof(ctx->err->detail),
					 "The connection to the database broke during the upload, which may or may not "
					 "have been stored; retry with the same Idempotency-Key to store it once.");
		return true;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		db_set_error(ctx->err, 500, DBERR_QUERY, "internal error",
					 "pgo.ingest_summary returned no id.");
		return true;
	}
	r->id = atoll(PQgetvalue(res, 0, 0));
	buf_init(&b);
	buf_puts(&b, PQgetvalue(res, 0, 1));
	PQclear(res);
	reply_json(r, 201, &b);
	return true;
}

/* The body is in: find the profile, build the labels, submit. */
enum action
upload_complete(struct request *r)
{
	struct upload *up = r->state;
	struct buf	labels;

	metrics_upload_bytes(up->len);
	if (up->len == 0)
	{
		reply_error(r, 400, "empty request body", "The body must be a pprof profile.");
		return ACT_REPLY;
	}
	if (up->multipart)
	{
		const char *why = multipart_find(up->data, up->len, up->boundary,
										 "cpu_profile", &up->profile, &up->profile_len);

		if (why != NULL)
		{
			reply_error(r, 400, "invalid multipart body", why);
			return ACT_REPLY;
		}
		if (up->profile_len == 0)
		{
			reply_error(r, 400, "empty profile", "The cpu_profile part is empty.");
			return ACT_REPLY;
		}
	}
	else
	{
		up->profile = up->data;
		up->profile_len = up->len;
	}
	if (up->profile_len > 0x7FFFFFFF)
	{
		reply_error(r, 413, "request body too large", NULL);
		return ACT_REPLY;
	}

	buf_init(&labels);
	query_labels_json(&labels, r->params, r->nparams);
	up->labels = buf_steal(&labels, NULL);
	if (up->labels == NULL)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}

	return request_db(r, UploadRun, db_primary, 0, NULL);
}
