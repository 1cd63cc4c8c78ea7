/*
 * fetch.c
 *	  HTTP GETs of pprof-worker (libcurl multi interface).
 *
 * One easy handle per request; all requests of a job (the addresses of
 * one target) run in parallel. Every request is bounded: connect and
 * total timeouts, a body cap enforced by the write callback (a lying or
 * absent Content-Length cannot get past it), redirects off, http and
 * https only, TLS peer and host verified.
 */
#include "fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Body writer: grow by doubling, stop at the cap. */
static size_t
WriteBody(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t		n = size * nmemb;

	if (f->len + n > f->max_bytes)
	{
		f->too_big = true;
		return 0;				/* CURLE_WRITE_ERROR */
	}
	if (f->len + n + 1 > f->cap)
	{
		size_t		cap = f->cap ? f->cap : 64 * 1024;
		char	   *nb;

		while (cap < f->len + n + 1)
			cap *= 2;
		if (cap > f->max_bytes + 1)
			cap = f->max_bytes + 1;
		nb = realloc(f->body, cap);
		if (nb == NULL)
			return 0;
		f->body = nb;
		f->cap = cap;
	}
	memcpy(f->body + f->len, p, n);
	f->len += n;
	f->body[f->len] = '\0';
	return n;
}

/* Header reader: Content-Type and Location (Retry-After comes from libcurl). */
static size_t
ReadHeader(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t		n = size * nmemb;
	struct
	{
		const char *name;
		char	   *dst;
		size_t		cap;
	}			want[] = {
		{"content-type:", f->content_type, sizeof(f->content_type)},
		{"location:", f->location, sizeof(f->location)},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
	{
		size_t		k = strlen(want[i].name);
		size_t		v;

		if (n <= k || strncasecmp(p, want[i].name, k) != 0)
			continue;
		p += k;
		n -= k;
		while (n > 0 && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
			n--;
		v = n < want[i].cap - 1 ? n : want[i].cap - 1;
		memcpy(want[i].dst, p, v);
		want[i].dst[v] = '\0';
		return size * nmemb;
	}
	return size * nmemb;
}

/* Set up one easy handle. */
static CURL *
Setup(struct fetch *f, const char *ca_file, struct curl_slist **pins)
{
	CURL	   *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	f->error[0] = '\0';
	f->retry_after_s = -1;
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) f->max_bytes);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pprof-worker");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->error);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, ReadHeader);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(h, CURLOPT_PRIVATE, f);
	if (f->connect_to != NULL)
	{
		*pins = curl_slist_append(NULL, f->connect_to);
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, *pins);
	}
	return h;
}

/* Run every fetch at once. */
bool
fetch_all(struct fetch *f, int n, const char *ca_file, const volatile sig_atomic_t *abort)
{
	CURLM	   *m = curl_multi_init();
	struct curl_slist **pins = calloc((size_t) n, sizeof(*pins));
	int			running = 0;
	bool		aborted = false;

	for (int i = 0; i < n; i++)
	{
		f[i].code = CURLE_FAILED_INIT;
		f[i].status = 0;
		f[i].h = (m && pins) ? Setup(&f[i], ca_file, &pins[i]) : NULL;
		if (f[i].h != NULL)
			curl_multi_add_handle(m, f[i].h);
		else
			strcpy(f[i].error, "out of memory");
	}
	if (m != NULL && pins != NULL)
	{
		do
		{
			CURLMsg    *msg;
			int			left;

			if (curl_multi_perform(m, &running) != CURLM_OK)
				break;
			while ((msg = curl_multi_info_read(m, &left)) != NULL)
			{
				struct fetch *d;

				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &d);
				d->code = msg->data.result;
			}
			if (running > 0)
			{
				if (*abort)
				{
					aborted = true;
					break;
				}
				/* wake at least every 200 ms to see *abort */
				curl_multi_poll(m, NULL, 0, 200, NULL);
			}
		} while (running > 0);
	}
	for (int i = 0; i < n; i++)
	{
		curl_off_t	ra = -1;

		if (f[i].h == NULL)
			continue;
		if (aborted && f[i].code == CURLE_FAILED_INIT)
			f[i].code = CURLE_ABORTED_BY_CALLBACK;
		curl_easy_getinfo(f[i].h, CURLINFO_RESPONSE_CODE, &f[i].status);
		curl_easy_getinfo(f[i].h, CURLINFO_TOTAL_TIME, &f[i].seconds);
		if (curl_easy_getinfo(f[i].h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			f[i].retry_after_s = (long) ra;
		if (f[i].code == CURLE_WRITE_ERROR && f[i].too_big)
			f[i].code = CURLE_FILESIZE_EXCEEDED;
		if (f[i].error[0] == '\0' && f[i].code != CURLE_OK)
			strncpy(f[i].error, curl_easy_strerror(f[i].code), sizeof(f[i].error) - 1);
		curl_multi_remove_handle(m, f[i].h);
		curl_easy_cleanup(f[i].h);
		f[i].h = NULL;
		curl_slist_free_all(pins ? pins[i] : NULL);
	}
	free(pins);
	if (m != NULL)
		curl_multi_cleanup(m);
	return !aborted;
}

/* Free the bodies. */
void
fetch_free(struct fetch *f, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(f[i].body);
		f[i].body = NULL;
		f[i].len = f[i].cap = 0;
	}
}
