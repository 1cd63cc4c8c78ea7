/*
 * json.c
 *	  Growable buffer and JSON string escaping for pprof-gateway.
 *
 * Capacity doubles, so building an n-byte document costs O(n) copies.
 * Everything the gateway writes as JSON (error bodies, labels, log lines)
 * goes through json_str, which never emits invalid UTF-8 or raw control
 * characters whatever the input.
 */
#include "json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Initialize an empty buffer. */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = false;
}

/* Release the buffer's memory. */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Make room for extra more bytes plus a NUL; false (and oom) on failure. */
bool
buf_reserve(struct buf *b, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (b->oom)
		return false;
	if (extra > SIZE_MAX / 2 - b->len - 1)
	{
		b->oom = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
	{
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

/* Append n bytes. */
void
buf_put(struct buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Append a NUL-terminated string. */
void
buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* Append printf-formatted text. */
void
buf_printf(struct buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/* Take the buffer's memory (NUL-terminated, never NULL unless oom). */
char *
buf_steal(struct buf *b, size_t *len)
{
	char	   *p;

	if (b->oom)
	{
		buf_free(b);
		return NULL;
	}
	if (b->data == NULL && !buf_reserve(b, 0))
		return NULL;
	if (b->len == 0)
		b->data[0] = '\0';
	p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
Utf8SeqLen(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0;			/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;
}

/* Is s[0..n) valid UTF-8? */
bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < n)
	{
		size_t		l = Utf8SeqLen(p + i, n - i);

		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

/* Append s[0..n) as a JSON string literal. */
void
json_str(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	buf_put(b, "\"", 1);
	while (i < n)
	{
		unsigned char c = p[i];
		size_t		l;

		if (c == '"' || c == '\\')
		{
			char		e[2] = {'\\', (char) c};

			buf_put(b, e, 2);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7F)
		{
			switch (c)
			{
				case '\n':
					buf_put(b, "\\n", 2);
					break;
				case '\r':
					buf_put(b, "\\r", 2);
					break;
				case '\t':
					buf_put(b, "\\t", 2);
					break;
				default:
					buf_printf(b, "\\u%04x", c);
			}
			i++;
			continue;
		}
		l = Utf8SeqLen(p + i, n - i);
		if (l == 0)
		{
			buf_put(b, "\\ufffd", 6);
			i++;
			continue;
		}
		buf_put(b, p + i, l);
		i += l;
	}
	buf_put(b, "\"", 1);
}

/* Append a NUL-terminated string as a JSON string literal. */
void
json_cstr(struct buf *b, const char *s)
{
	json_str(b, s, strlen(s));
}

/* Append `"key":`. */
void
json_key(struct buf *b, const char *key)
{
	json_cstr(b, key);
	buf_put(b, ":", 1);
}
