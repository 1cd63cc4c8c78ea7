/*
 * forge_github_app.h
 *	  GitHub App authentication: a JWT signed with the app's private key
 *	  (RS256, OpenSSL libcrypto) is exchanged for an installation token.
 */
#ifndef PGWK_FORGE_GITHUB_APP_H
#define PGWK_FORGE_GITHUB_APP_H

#include "forge_http.h"

/*
 * Find the app's installation on repository owner/name and set h->auth to
 * an installation token (valid for an hour, enough for one run).
 */
extern bool github_app_login(struct forge_http *h, const char *name, long long app_id,
							 const char *private_key_pem, struct forge_error *err);

/* the JWT itself (malloc'd), NULL with err filled on a bad key */
extern char *github_app_jwt(long long app_id, const char *private_key_pem, long now,
							struct forge_error *err);

#endif							/* PGWK_FORGE_GITHUB_APP_H */
