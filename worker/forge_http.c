/*
 * forge_http.c
 *	  One REST call to a forge, retried while it fails transiently.
 *
 * Transient: no answer (connection refused, timeout), 5xx, 429, and a 403
 * that carries Retry-After or an exhausted rate limit (GitHub's secondary
 * rate limits). The wait is the forge's Retry-After (or rate-limit reset)
 * when it gives one, else 1 s, 2 s, 4 s; a wait longer than
 * FORGE_HTTP_MAX_WAIT_S is not slept here: the run ends TRANSIENT with
 * retry_after_s, and the catalog schedules the retry.
 */
#include "forge_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define FORGE_HTTP_MAX_BODY	(((size_t) FORGE_MAX_FILE / 3 + 1) * 4 + (1u << 20))

struct body
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		too_big;
};

struct answer_headers
{
	long		retry_after_s;	/* -1: none */
	long		ratelimit_remaining;	/* -1: none */
	long		ratelimit_reset;	/* epoch seconds, -1: none */
};

/* Accumulate the body, doubling the buffer, up to the cap. */
static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t		n = size * nmemb;

	if (b->len + n + 1 > FORGE_HTTP_MAX_BODY)
	{
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 16384;
		char	   *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* A header's value as a number if the line is that header, else -2. */
static long
header_number(const char *line, size_t n, const char *name)
{
	size_t		k = strlen(name);
	char		buf[32];
	size_t		m = 0;

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return -2;
	for (size_t i = k + 1; i < n && m < sizeof(buf) - 1; i++)
		if (!isspace((unsigned char) line[i]))
			buf[m++] = line[i];
	buf[m] = '\0';
	if (m == 0 || strspn(buf, "0123456789") != m)
		return -1;			/* e.g. an HTTP date: treated as absent */
	return strtol(buf, NULL, 10);
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct answer_headers *h = userdata;
	size_t		n = size * nmemb;
	long		v;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
		h->retry_after_s = h->ratelimit_remaining = h->ratelimit_reset = -1;
	else if ((v = header_number(line, n, "Retry-After")) != -2)
		h->retry_after_s = v;
	else if ((v = header_number(line, n, "X-RateLimit-Remaining")) != -2)
		h->ratelimit_remaining = v;
	else if ((v = header_number(line, n, "X-RateLimit-Reset")) != -2)
		h->ratelimit_reset = v;
	return n;
}

const char *
forge_json_string(const json_t *o, const char *key)
{
	json_t	   *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

void
forge_json_copy(const json_t *o, const char *key, char *buf, size_t size)
{
	const char *v = forge_json_string(o, key);

	snprintf(buf, size, "%s", v ? v : "");
}

json_t *
forge_json_first(json_t *a)
{
	return json_is_array(a) && json_array_size(a) > 0 ? json_array_get(a, 0) : NULL;
}

/*
 * GitHub: {"message", "errors": [{"message"} | {"resource","code","field"}]};
 * GitLab: {"message": "text" | {"field": ["text"]} | ["text"]} or {"error"};
 * Gitea: {"message", "url"}. Whatever it is, say it in one line.
 */
void
forge_http_message(const json_t *j, char *buf, size_t size)
{
	const char *msg = forge_json_string(j, "message");
	json_t	   *m = json_is_object(j) ? json_object_get(j, "message") : NULL;
	json_t	   *errors = json_is_object(j) ? json_object_get(j, "errors") : NULL;
	size_t		used;

	buf[0] = '\0';
	if (msg)
		snprintf(buf, size, "%s", msg);
	else if (m)
	{
		char	   *s = json_dumps(m, JSON_COMPACT);

		snprintf(buf, size, "%s", s ? s : "");
		free(s);
	}
	else if (forge_json_string(j, "error"))
		snprintf(buf, size, "%s%s%s", forge_json_string(j, "error"),
				 forge_json_string(j, "error_description") ? ": " : "",
				 forge_json_string(j, "error_description") ? forge_json_string(j, "error_description") : "");
	if (json_is_array(errors))
	{
		size_t		i;
		json_t	   *e;

		json_array_foreach(errors, i, e)
		{
			const char *em = forge_json_string(e, "message");
			char	   *dump = NULL;

			if (!em)
				em = dump = json_dumps(e, JSON_COMPACT);
			used = strlen(buf);
			if (em && used + 3 < size)
				snprintf(buf + used, size - used, "%s%s", used ? "; " : "", em);
			free(dump);
		}
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "(no message)");
}

char *
forge_http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		n = strlen(s);
	char	   *out = malloc(3 * n + 1),
			   *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			*p++ = (char) c;
		else
		{
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

bool
forge_http_repository(struct forge_http *h, const char *repository,
					  const char *public_api, const char *api_path,
					  char *name, size_t name_size, struct forge_error *err)
{
	const char *rest = repository;
	size_t		n;

	if (strncmp(repository, "https://", 8) == 0 || strncmp(repository, "http://", 7) == 0)
	{
		const char *host = strstr(repository, "://") + 3;
		const char *slash = strchr(host, '/');

		if (!slash)
		{
			forge_fail(err, FORGE_PERMANENT, "repository %s has no owner/name after the host", repository);
			return false;
		}
		if ((size_t) (slash - host) == strlen("github.com") && strncmp(host, "github.com", slash - host) == 0
			&& public_api)
			snprintf(h->api, sizeof(h->api), "%s", public_api);
		else
			snprintf(h->api, sizeof(h->api), "%.*s%s", (int) (slash - repository), repository, api_path);
		rest = slash + 1;
	}
	else if (public_api)
		snprintf(h->api, sizeof(h->api), "%s", public_api);
	else
	{
		forge_fail(err, FORGE_PERMANENT, "repository %s is not a URL", repository);
		return false;
	}
	n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	if (n > 4 && strncmp(rest + n - 4, ".git", 4) == 0)
		n -= 4;
	if (n == 0 || n >= name_size)
	{
		forge_fail(err, FORGE_PERMANENT, "repository %s: bad owner/name", repository);
		return false;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	return true;
}

bool
forge_http_open(struct forge_http *h, const struct forge_target *t,
				const char *public_api, const char *api_path, const char *auth_scheme,
				char *name, size_t name_size, struct forge_error *err)
{
	h->abort = t->abort;
	h->ca_file = t->ca_file;
	if (!forge_http_repository(h, t->repository, public_api, api_path, name, name_size, err))
		return false;
	if (!auth_scheme)
		return true;
	if (!t->secret)
	{
		forge_fail(err, FORGE_PERMANENT, "no credential for %s", t->repository);
		return false;
	}
	snprintf(h->auth, sizeof(h->auth), "%s %s", auth_scheme, t->secret);
	return true;
}

/* Sleep, waking every 100 ms to see whether the worker gives up. */
static bool
wait_or_abort(const volatile sig_atomic_t *abort, long seconds)
{
	for (long i = 0; i < seconds * 10; i++)
	{
		if (abort && *abort)
			return false;
		usleep(100 * 1000);
	}
	return !(abort && *abort);
}

void
forge_http_response_free(struct forge_response *r)
{
	if (r->json)
		json_decref(r->json);
	r->json = NULL;
}

bool
forge_http_call(struct forge_http *h, const char *method, const char *path,
				json_t *body, struct forge_response *r, struct forge_error *err)
{
	char	   *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char		url[4096];
	unsigned	attempts = h->attempts ? h->attempts : FORGE_HTTP_ATTEMPTS;
	bool		answered = false;

	r->status = 0;
	r->json = NULL;
	if (body)
		json_decref(body);
	if ((body && !payload) || (!body && strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0))
	{
		forge_fail(err, FORGE_TRANSIENT, "%s %s: out of memory", method, path);
		return false;
	}
	if ((size_t) snprintf(url, sizeof(url), "%s%s", h->api, path) >= sizeof(url))
	{
		free(payload);
		forge_fail(err, FORGE_PERMANENT, "%s %s: URL too long", method, path);
		return false;
	}

	for (unsigned attempt = 1;; attempt++)
	{
		CURL	   *c = curl_easy_init();
		struct curl_slist *hdrs = NULL;
		struct body b = {0};
		struct answer_headers ah = {-1, -1, -1};
		char		cerr[CURL_ERROR_SIZE] = "";
		CURLcode	code;
		long		status = 0,
					wait = -1;
		bool		transient;

		if (!c)
		{
			forge_fail(err, FORGE_TRANSIENT, "%s %s: curl_easy_init failed", method, path);
			break;
		}
		if (!h->headers)
			hdrs = curl_slist_append(hdrs, "Accept: application/json");
		if (payload)
			hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		if (h->auth[0])
			hdrs = curl_slist_append(hdrs, h->auth);
		for (const char *const *x = h->headers; x && *x; x++)
			hdrs = curl_slist_append(hdrs, *x);
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "pprof-worker");
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long) FORGE_HTTP_CONNECT_S);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) FORGE_HTTP_TIMEOUT_S);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &ah);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
		if (h->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		if (payload)
		{
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(payload));
		}
		else if (strcmp(method, "GET") == 0)
			curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);

		code = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(c);

		err->http_status = status;
		err->retry_after_s = -1;
		if (code != CURLE_OK)
		{
			/* a certificate that does not verify will not verify next time */
			transient = !(code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE
						  || code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT || b.too_big);
			forge_fail(err, transient ? FORGE_TRANSIENT : FORGE_PERMANENT, "%s %s: %s", method, path,
					   b.too_big ? "answer too large" : (cerr[0] ? cerr : curl_easy_strerror(code)));
		}
		else
		{
			json_t	   *j = b.data ? json_loadb(b.data, b.len, 0, NULL) : NULL;
			bool		limited = ah.retry_after_s >= 0 || ah.ratelimit_remaining == 0;

			transient = status >= 500 || status == 429 || (status == 403 && limited);
			if (ah.retry_after_s >= 0)
				wait = ah.retry_after_s;
			else if (ah.ratelimit_remaining == 0 && ah.ratelimit_reset > 0)
				wait = ah.ratelimit_reset - (long) time(NULL) + 1;
			if (status >= 400)
			{
				char		msg[FORGE_MESSAGE_LEN / 2];

				if (j)
					forge_http_message(j, msg, sizeof(msg));
				else
					snprintf(msg, sizeof(msg), "%.200s", b.data ? b.data : "(empty body)");
				forge_fail(err, transient ? FORGE_TRANSIENT : FORGE_PERMANENT,
						   "%s %s: HTTP %ld: %s", method, path, status, msg);
				err->retry_after_s = wait;
			}
			if (!transient)
			{
				r->status = status;
				r->json = j;
				if (status < 400)
					err->kind = FORGE_OK;
				answered = true;
			}
			else if (j)
				json_decref(j);
		}
		free(b.data);
		if (answered || !transient)
			break;
		if (attempt >= attempts || wait > FORGE_HTTP_MAX_WAIT_S)
			break;
		if (!wait_or_abort(h->abort, wait >= 0 ? wait : (1L << (attempt - 1))))
			break;
	}
	free(payload);
	return answered;
}

/* GET path: 200 (true, found), 404 (true, not found), else false. */
static bool
exists(struct forge_http *h, const char *path, bool *found, struct forge_error *err)
{
	struct forge_response r;
	bool		ok = forge_http_call(h, "GET", path, NULL, &r, err) && (r.status == 200 || r.status == 404);

	*found = r.status == 200;
	forge_http_response_free(&r);
	return ok;
}

bool
forge_http_read_file(struct forge_http *h, const char *file_path, const char *blob_key,
					 const char *branch_path, bool want_data, struct forge_file *out,
					 struct forge_error *err)
{
	struct forge_response r;
	const char *blob;
	const char *type;
	const char *content;
	const char *encoding;

	memset(out, 0, sizeof(*out));
	if (!forge_http_call(h, "GET", file_path, NULL, &r, err))
		return false;
	if (r.status == 404)
	{
		/* no such file, or no such branch (or repository): tell which */
		forge_http_response_free(&r);
		return exists(h, branch_path, &out->branch_exists, err);
	}
	if (r.status != 200)
	{
		forge_http_response_free(&r);
		return false;
	}
	blob = forge_json_string(r.json, blob_key);
	type = forge_json_string(r.json, "type");
	if (!blob || strlen(blob) != 40 || (type && strcmp(type, "file") != 0))
	{
		forge_http_response_free(&r);
		forge_fail(err, FORGE_PERMANENT, "GET %s: not a file", file_path);
		return false;
	}
	out->branch_exists = out->exists = true;
	memcpy(out->blob, blob, 41);
	content = forge_json_string(r.json, "content");
	encoding = forge_json_string(r.json, "encoding");
	if (want_data && !(content && encoding && strcmp(encoding, "base64") == 0
					   && (out->data = forge_unbase64(content, &out->len)) != NULL))
	{
		forge_http_response_free(&r);
		forge_fail(err, FORGE_PERMANENT, "GET %s: no base64 content", file_path);
		return false;
	}
	forge_http_response_free(&r);
	return true;
}
