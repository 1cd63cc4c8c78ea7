/*
 * forge_http.h
 *	  The REST calls of the forge clients: libcurl + jansson, retries of
 *	  transient failures with backoff, the forge's error message on a
 *	  permanent one. One place for all three REST forges.
 */
#ifndef PGWK_FORGE_HTTP_H
#define PGWK_FORGE_HTTP_H

#include <stdbool.h>

#include <jansson.h>

#include "forge.h"

#define FORGE_HTTP_ATTEMPTS		4		/* tries of one call before a transient failure sticks */
#define FORGE_HTTP_MAX_WAIT_S	30		/* longer Retry-After: give up now, retry the run later */
#define FORGE_HTTP_TIMEOUT_S	60
#define FORGE_HTTP_CONNECT_S	10

struct forge_http
{
	char		api[512];		/* API root, no trailing slash */
	char		auth[8192];		/* "Header: value" carrying the secret, "" for none */
	const char *const *headers; /* the forge's own headers (Accept included), NULL-terminated; NULL: Accept: application/json */
	const volatile sig_atomic_t *abort;
	const char *ca_file;		/* NULL: libcurl's default */
	unsigned	attempts;		/* FORGE_HTTP_ATTEMPTS unless set */
};

struct forge_response
{
	long		status;
	json_t	   *json;			/* the body if it is JSON, else NULL */
};

/*
 * Split a repository column: an https URL gives the API root (scheme://host
 * + api_path; GitHub's own host: https://api.github.com) and the
 * owner/name after the host; a bare owner/name uses public_api (NULL: an
 * URL is required). ".git" and a trailing "/" are dropped.
 */
/*
 * Set up h for target t: the API root and owner/name from the repository
 * (forge_http_repository), the abort flag and CA bundle, and, when auth_scheme is not
 * NULL, the header "<auth_scheme> <secret>" (a secret is then required).
 */
extern bool forge_http_open(struct forge_http *h, const struct forge_target *t,
							const char *public_api, const char *api_path, const char *auth_scheme,
							char *name, size_t name_size, struct forge_error *err);

extern bool forge_http_repository(struct forge_http *h, const char *repository,
								  const char *public_api, const char *api_path,
								  char *name, size_t name_size, struct forge_error *err);

/*
 * method api+path with an optional JSON body (the call takes the reference;
 * a NULL from json_pack is reported as out of memory). True when the forge answered
 * with a status that is not transient (r->status; 4xx fill err as a
 * PERMANENT failure with the forge's message, so a caller that expects no
 * such status just returns false). False with err filled when transient
 * failures outlasted the retries, or on a local failure.
 */
extern bool forge_http_call(struct forge_http *h, const char *method, const char *path,
							json_t *body, struct forge_response *r, struct forge_error *err);

/*
 * A file as the contents APIs answer it (a JSON object with the blob hash
 * under blob_key and base64 "content"): 404 then asks branch_path whether
 * the branch exists. With want_data the content must be in the answer.
 */
extern bool forge_http_read_file(struct forge_http *h, const char *file_path, const char *blob_key,
								 const char *branch_path, bool want_data, struct forge_file *out,
								 struct forge_error *err);

extern void forge_http_response_free(struct forge_response *r);

/* percent-encode every byte but the unreserved ones (also '/'); malloc'd */
extern char *forge_http_escape(const char *s);

/* a string member of a JSON object, NULL if absent or not a string */
extern const char *forge_json_string(const json_t *o, const char *key);

/* copy a string member of a JSON object into buf ("" if absent) */
extern void forge_json_copy(const json_t *o, const char *key, char *buf, size_t size);

/* the message of a 4xx/5xx answer as forges write them, into buf */
extern void forge_http_message(const json_t *j, char *buf, size_t size);

/* the first element of a JSON array, NULL if none */
extern json_t *forge_json_first(json_t *a);

#endif							/* PGWK_FORGE_HTTP_H */
