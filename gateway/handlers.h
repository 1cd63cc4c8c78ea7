/*
 * handlers.h
 *	  The route handlers of pprof-gateway, as the route table (routes.c)
 *	  names them. Each handler file includes this header, so a callback's
 *	  signature is checked against the table's.
 */
#ifndef PGW_HANDLERS_H
#define PGW_HANDLERS_H

#include "http.h"

/* upload.c: POST /profile/{tag} */
extern enum action upload_begin(struct request *r);
extern bool upload_body(struct request *r, const char *data, size_t n);
extern enum action upload_complete(struct request *r);
extern void upload_free(void *state);

/* download.c: GET /profile/{tag}, GET /profile/{tag}@{release} */
extern enum action profile_get(struct request *r);
extern enum action release_get(struct request *r);
extern void download_free(void *state);

/*
 * A selection (the query parameters of GET /profile/{tag}) as named
 * arguments of the catalog's selection functions: values[0] is the tag ($1),
 * args the SQL after "$1" naming the others; values has room for one more.
 */
#define MAX_SELECT_ARGS 8
struct selection
{
	char		args[512];
	const char *values[MAX_SELECT_ARGS + 2];
	int			nvalues;
};
extern bool download_selection(struct request *r, const char *tag,
							   struct selection *sel, struct buf *key,
							   const char *also);

/* ui.c: GET /ui, GET /ui/{tag}, GET /profile/{tag}/flamegraph.svg */
extern enum action ui_index_get(struct request *r);
extern enum action ui_tag_get(struct request *r);
extern enum action flamegraph_get(struct request *r);
extern void ui_free(void *state);

/* info.c: /tags, /healthz, /metrics */
extern enum action tags_get(struct request *r);
extern enum action healthz_get(struct request *r);
extern enum action metrics_get(struct request *r);
extern void metrics_free(void *state);

#endif							/* PGW_HANDLERS_H */
