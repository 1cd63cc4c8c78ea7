/*
 * url.h
 *	  Request-target parsing (url.c): strict percent-decoding, query
 *	  strings, ETag matching.
 */
#ifndef PGW_URL_H
#define PGW_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

extern bool url_decode(const char *s, size_t n, bool plus_is_space,
					   char *out, size_t outcap, size_t *outlen);
extern int	query_parse(const char *q, struct param *params, int max,
						const char **why);
extern void params_free(struct param *params, int n);
extern bool etag_matches(const char *if_none_match, const char *etag);

#endif							/* PGW_URL_H */
