/*
 * routes.h
 *	  The route table of pprof-gateway (routes.c): which handler serves a
 *	  request, and who may use it.
 */
#ifndef PGW_ROUTES_H
#define PGW_ROUTES_H

#include "http.h"

/* name the routes for the metrics; once, before the daemon starts */
extern void routes_init(void);

/*
 * Headers are known: decode the path, find the route, check the method and
 * the token, parse the query string. ACT_CONTINUE with r->route set, or
 * ACT_REPLY with the error (404, 405, 401, 400).
 */
extern enum action routes_dispatch(struct request *r);

/* the `route` label of route number n (r->route_number) */
extern const char *routes_name(int n);

#endif							/* PGW_ROUTES_H */
