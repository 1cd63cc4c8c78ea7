/*
 * log.c
 *	  Structured access and event log of pprof-gateway, on stderr.
 *
 * Each line is one JSON object written with a single write(2), so lines of
 * concurrent threads never interleave. Request headers are never logged:
 * bearer tokens cannot leak through the log.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "json.h"

/* Append `"ts":"2006-01-02T15:04:05.000Z"`. */
static void
PutTimestamp(struct buf *b)
{
	struct timespec ts;
	struct tm	tm;
	char		s[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "\"ts\":\"%s.%03ldZ\"", s, ts.tv_nsec / 1000000);
}

/* Write the finished line to stderr. */
static void
Emit(struct buf *b)
{
	size_t		off = 0;

	buf_put(b, "}\n", 2);
	if (b->oom)
		return;
	while (off < b->len)
	{
		ssize_t		n = write(STDERR_FILENO, b->data + off, b->len - off);

		if (n <= 0)
			break;
		off += (size_t) n;
	}
}

/* Log a server event. */
void
log_event(const char *level, const char *msg, const char *detail)
{
	struct buf	b;

	buf_init(&b);
	buf_put(&b, "{", 1);
	PutTimestamp(&b);
	buf_puts(&b, ",\"level\":");
	json_cstr(&b, level);
	buf_puts(&b, ",\"msg\":");
	json_cstr(&b, msg);
	if (detail != NULL)
	{
		buf_puts(&b, ",\"detail\":");
		json_cstr(&b, detail);
	}
	Emit(&b);
	buf_free(&b);
}

/* Log a server event with a printf-formatted detail. */
void
log_eventf(const char *level, const char *msg, const char *fmt,...)
{
	char		detail[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	log_event(level, msg, detail);
}

/* Log one finished request. */
void
log_access(const struct access_entry *e)
{
	struct buf	b;
	size_t		pathlen = strlen(e->path);

	if (pathlen > MAX_LOGGED_PATH_LEN)
		pathlen = MAX_LOGGED_PATH_LEN;

	buf_init(&b);
	buf_put(&b, "{", 1);
	PutTimestamp(&b);
	buf_puts(&b, ",\"level\":\"info\",\"msg\":\"access\",\"method\":");
	json_cstr(&b, e->method);
	buf_puts(&b, ",\"path\":");
	json_str(&b, e->path, pathlen);
	buf_printf(&b, ",\"route\":\"%s\",\"status\":%d,\"bytes_in\":%zu,"
			   "\"bytes_out\":%zu,\"ms\":%.3f,\"remote\":",
			   e->route, e->status, e->bytes_in, e->bytes_out, e->ms);
	json_cstr(&b, e->remote);
	if (e->tag != NULL)
	{
		buf_puts(&b, ",\"tag\":");
		json_cstr(&b, e->tag);
	}
	if (e->id > 0)
		buf_printf(&b, ",\"id\":%lld", e->id);
	if (e->cache != NULL)
		buf_printf(&b, ",\"cache\":\"%s\"", e->cache);
	if (e->error != NULL)
	{
		buf_puts(&b, ",\"error\":");
		json_cstr(&b, e->error);
	}
	if (e->termination != NULL)
		buf_printf(&b, ",\"termination\":\"%s\"", e->termination);
	Emit(&b);
	buf_free(&b);
}
