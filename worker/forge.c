/*
 * forge.c
 *	  The table of forge clients and what every client shares that is not
 *	  HTTP: errors, git blob hashes, base64.
 */
#include "forge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const struct forge_ops *const forges[] = {
	&forge_github,
	&forge_gitlab,
	&forge_gitea,
	&forge_git,
};

/* The client of a publications.forge value. */
const struct forge_ops *
forge_find(const char *name)
{
	for (size_t i = 0; i < sizeof(forges) / sizeof(forges[0]); i++)
		if (name && strcmp(forges[i]->name, name) == 0)
			return forges[i];
	return NULL;
}

/* Fill err (the first failure wins: later ones only explain less). */
void
forge_fail(struct forge_error *err, enum forge_failure kind, const char *fmt,...)
{
	va_list		ap;

	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* git hash-object: SHA-1 over "blob <len>\0" and the bytes. */
void
forge_blob_hash(const unsigned char *data, size_t len, char out[41])
{
	char		header[64];
	int			hlen = snprintf(header, sizeof(header), "blob %zu", len) + 1;	/* with the NUL */
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
		EVP_DigestUpdate(ctx, header, hlen) == 1 &&
		EVP_DigestUpdate(ctx, data, len) == 1 &&
		EVP_DigestFinal_ex(ctx, md, &mdlen) == 1)
	{
		for (unsigned int i = 0; i < mdlen && i < 20; i++)
			sprintf(out + 2 * i, "%02x", md[i]);
	}
	EVP_MD_CTX_free(ctx);
}

/* Standard base64 without line breaks. */
char *
forge_base64(const unsigned char *data, size_t len)
{
	char	   *out;

	if (len > FORGE_MAX_FILE)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *) out, data, (int) len);
	return out;
}

/* Decode base64 as forges send it (GitHub breaks lines every 60 characters). */
unsigned char *
forge_unbase64(const char *text, size_t *len)
{
	size_t		n = strlen(text),
				k = 0,
				pad = 0;
	char	   *clean;
	unsigned char *out;
	int			got;

	if (n > 2 * (size_t) FORGE_MAX_FILE)
		return NULL;
	clean = malloc(n + 1);
	if (!clean)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ')
			clean[k++] = text[i];
	clean[k] = '\0';
	if (k % 4 != 0)
	{
		free(clean);
		return NULL;
	}
	out = malloc(k / 4 * 3 + 1);
	if (!out)
	{
		free(clean);
		return NULL;
	}
	got = EVP_DecodeBlock(out, (unsigned char *) clean, (int) k);
	if (k > 0 && clean[k - 1] == '=')
		pad++;
	if (k > 1 && clean[k - 2] == '=')
		pad++;
	free(clean);
	if (got < 0)
	{
		free(out);
		return NULL;
	}
	*len = (size_t) got - pad;	/* EVP_DecodeBlock counts the padding as bytes */
	return out;
}

void
forge_file_free(struct forge_file *f)
{
	free(f->data);
	f->data = NULL;
	f->len = 0;
}
