/*
 * url.h
 *	  Request-target parsing (url.c): the path and query of a target,
 *	  strict percent-decoding, route patterns, query strings and the labels
 *	  they make, ETag matching.
 */
#ifndef PGW_URL_H
#define PGW_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* a {name} part of a route pattern and what it matched (not terminated) */
struct span
{
	const char *name;
	size_t		namelen;
	const char *value;
	size_t		len;
};

extern const char *target_path(const char *raw, size_t *pathlen, const char **query);
extern bool path_match(const char *pattern, const char *path, struct span *caps,
					   int *ncaps);
extern bool path_segment_valid(const char *value, size_t len);
extern bool url_decode(const char *s, size_t n, bool plus_is_space,
					   char *out, size_t outcap, size_t *outlen);
extern int	query_parse(const char *q, struct param *params, int max,
						const char **why);
extern void params_free(struct param *params, int n);
extern void query_labels_json(struct buf *b, const struct param *params, int n);
extern bool etag_matches(const char *if_none_match, const char *etag);

#endif							/* PGW_URL_H */
