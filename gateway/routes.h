/*
 * routes.h
 *	  The route table of pprof-gateway (routes.c): which handler serves a
 *	  request, and who may use it.
 */
#ifndef PGW_ROUTES_H
#define PGW_ROUTES_H

#include "http.h"

/*
 * The router of the table (for http_start), its routes named for the
 * metrics. Its dispatch decodes the path, finds the route, checks the
 * method and the token and parses the query string: ACT_CONTINUE with
 * r->route set, or ACT_REPLY with the error (404, 405, 401, 400).
 */
extern const struct router *routes_init(void);
extern bool routes_may_read(struct request *r);

#endif							/* PGW_ROUTES_H */
