/*
 * multipart.h
 *	  The part of multipart/form-data an upload needs (multipart.c).
 */
#ifndef PGW_MULTIPART_H
#define PGW_MULTIPART_H

#include <stddef.h>

/* the boundary of a Content-Type into out; NULL, or why it is invalid */
extern const char *multipart_boundary(const char *content_type,
									  char *out, size_t outcap);
/* the body of the part named name; NULL, or why the body is invalid */
extern const char *multipart_find(const char *body, size_t len,
								  const char *boundary, const char *name,
								  const char **part, size_t *partlen);

#endif							/* PGW_MULTIPART_H */
