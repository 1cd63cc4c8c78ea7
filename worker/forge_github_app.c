/*
 * forge_github_app.c
 *	  GitHub App authentication: JWT (RS256) -> installation token.
 *
 * GitHub's documented flow: a JWT whose iss is the app id, iat 60 s in the
 * past (clock drift) and exp at most 10 minutes ahead, signed with the
 * app's private key, authenticates as the app; GET
 * /repos/{owner}/{repo}/installation finds the installation on the
 * repository, POST /app/installations/{id}/access_tokens returns a token
 * that then authenticates every call of the run.
 */
#include "forge_github_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* base64url without padding, as JWTs want; malloc'd */
static char *
base64url(const unsigned char *data, size_t len)
{
	char	   *s = forge_base64(data, len);
	size_t		n;

	if (!s)
		return NULL;
	for (n = 0; s[n]; n++)
	{
		if (s[n] == '+')
			s[n] = '-';
		else if (s[n] == '/')
			s[n] = '_';
	}
	while (n > 0 && s[n - 1] == '=')
		s[--n] = '\0';
	return s;
}

char *
github_app_jwt(long long app_id, const char *private_key_pem, long now, struct forge_error *err)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char		payload[128];
	char	   *h64 = NULL,
			   *p64 = NULL,
			   *s64 = NULL,
			   *input = NULL,
			   *jwt = NULL;
	unsigned char *sig = NULL;
	size_t		siglen = 0;
	BIO		   *bio = BIO_new_mem_buf(private_key_pem, -1);
	EVP_PKEY   *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
	{
		forge_fail(err, FORGE_PERMANENT, "the GitHub App credential is not an RSA private key in PEM form");
		goto done;
	}
	snprintf(payload, sizeof(payload), "{\"iat\":%ld,\"exp\":%ld,\"iss\":%lld}",
			 now - 60, now + 540, app_id);
	h64 = base64url((const unsigned char *) header, strlen(header));
	p64 = base64url((const unsigned char *) payload, strlen(payload));
	if (!h64 || !p64 || !md || asprintf(&input, "%s.%s", h64, p64) < 0)
	{
		input = NULL;
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		goto done;
	}
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1
		|| EVP_DigestSign(md, NULL, &siglen, (const unsigned char *) input, strlen(input)) != 1
		|| !(sig = malloc(siglen))
		|| EVP_DigestSign(md, sig, &siglen, (const unsigned char *) input, strlen(input)) != 1
		|| !(s64 = base64url(sig, siglen))
		|| asprintf(&jwt, "%s.%s", input, s64) < 0)
	{
		jwt = NULL;
		forge_fail(err, FORGE_PERMANENT, "signing the GitHub App JWT failed");
	}

done:
	free(h64);
	free(p64);
	free(s64);
	free(input);
	free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return jwt;
}

bool
github_app_login(struct forge_http *h, const char *name, long long app_id,
				 const char *private_key_pem, struct forge_error *err)
{
	char	   *jwt = github_app_jwt(app_id, private_key_pem, (long) time(NULL), err);
	char		path[1024];
	struct forge_response r;
	long long	installation;
	const char *token;

	if (!jwt)
		return false;
	snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", jwt);
	free(jwt);
	snprintf(path, sizeof(path), "/repos/%s/installation", name);
	if (!forge_http_call(h, "GET", path, NULL, &r, err) || r.status != 200)
	{
		forge_http_response_free(&r);
		h->auth[0] = '\0';
		return false;
	}
	installation = json_integer_value(json_object_get(r.json, "id"));
	forge_http_response_free(&r);
	if (installation <= 0)
	{
		h->auth[0] = '\0';
		forge_fail(err, FORGE_PERMANENT, "GET %s: no installation id", path);
		return false;
	}
	snprintf(path, sizeof(path), "/app/installations/%lld/access_tokens", installation);
	if (!forge_http_call(h, "POST", path, json_object(), &r, err) || r.status != 201
		|| !(token = forge_json_string(r.json, "token")))
	{
		if (r.status == 201)
			forge_fail(err, FORGE_PERMANENT, "POST %s: no token in the answer", path);
		forge_http_response_free(&r);
		h->auth[0] = '\0';
		return false;
	}
	snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token);
	forge_http_response_free(&r);
	return true;
}
