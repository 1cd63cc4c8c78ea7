/*
 * json.h
 *	  A growable byte buffer and JSON builders (escaping, UTF-8 checks).
 */
#ifndef PGW_JSON_H
#define PGW_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* growable buffer; on allocation failure `oom` is set and writes are dropped */
struct buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		oom;
};

extern void buf_init(struct buf *b);
extern void buf_free(struct buf *b);
extern bool buf_reserve(struct buf *b, size_t extra);
extern void buf_put(struct buf *b, const void *p, size_t n);
extern void buf_puts(struct buf *b, const char *s);
extern void buf_printf(struct buf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern char *buf_steal(struct buf *b, size_t *len);

/* JSON: a quoted, escaped string (invalid UTF-8 becomes U+FFFD) */
extern void json_str(struct buf *b, const char *s, size_t n);
extern void json_cstr(struct buf *b, const char *s);
/* `"key":` */
extern void json_key(struct buf *b, const char *key);

/* is s[0..n) valid UTF-8 (no overlongs, no surrogates)? */
extern bool utf8_valid(const char *s, size_t n);

#endif							/* PGW_JSON_H */
