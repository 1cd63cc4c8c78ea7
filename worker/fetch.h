/*
 * fetch.h
 *	  HTTP GETs with libcurl, several at once, bounded in time and size.
 */
#ifndef PGWK_FETCH_H
#define PGWK_FETCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

struct fetch
{
	/* in */
	const char *url;
	const char *connect_to;		/* "HOST:PORT:ADDR:PORT" pins the address, or NULL */
	long		connect_timeout_ms;
	long		timeout_ms;		/* whole transfer */
	size_t		max_bytes;		/* body cap */

	/* out */
	CURLcode	code;			/* CURLE_OK: a response came */
	long		status;			/* HTTP status, 0 if none */
	char	   *body;			/* malloc'd, len bytes (+ NUL), NULL if none */
	size_t		len;
	bool		too_big;		/* the body passed max_bytes */
	long		retry_after_s;	/* Retry-After in seconds, -1 if absent */
	char		content_type[128];
	char		location[256];	/* Location of a redirect (not followed) */
	char		error[CURL_ERROR_SIZE];
	double		seconds;

	CURL	   *h;				/* private */
	size_t		cap;
};

/*
 * Run every fetch at once; returns false if *abort was set before all
 * were done (each unfinished one then has code CURLE_ABORTED_BY_CALLBACK).
 * ca_file: CA bundle (NULL: libcurl's default).
 */
extern bool fetch_all(struct fetch *f, int n, const char *ca_file,
					  const volatile sig_atomic_t *abort);
extern void fetch_free(struct fetch *f, int n);

#endif							/* PGWK_FETCH_H */
