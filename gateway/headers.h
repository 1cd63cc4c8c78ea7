/*
 * headers.h
 *	  Parsing of request header values (headers.c): Content-Type,
 *	  Content-Length, Transfer-Encoding, Authorization. Pure functions of
 *	  the header's text, so the fuzzer (fuzz/gateway_fuzz.c) runs them as
 *	  the gateway does.
 */
#ifndef PGW_HEADERS_H
#define PGW_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

/* the media type of a Content-Type, lower case, without parameters */
extern void header_media_type(const char *content_type, char *out, size_t cap);
/* is a media type clearly something other than a profile (text, JSON...)? */
extern bool header_not_a_profile(const char *media);
/* does a Transfer-Encoding (may be NULL) say chunked? */
extern bool header_chunked(const char *transfer_encoding);
/* a Content-Length of 1 to 19 digits into *n; false when it is not one */
extern bool header_content_length(const char *content_length, unsigned long long *n);
/*
 * The token of an Authorization header: "Bearer <token>", or the password
 * of "Basic base64(user:password)" (decoded into buf). false when the
 * header is neither; else *token, *len point into the header or buf.
 */
extern bool header_auth_token(const char *authorization, char *buf, size_t cap,
							  const char **token, size_t *len);

#endif							/* PGW_HEADERS_H */
