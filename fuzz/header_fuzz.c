/*
 * header_fuzz.c
 *	  libFuzzer target for the gateway's request header parsing
 *	  (gateway/headers.c, and url.c's ETag matching): Content-Type,
 *	  Content-Length, Transfer-Encoding, Authorization, If-None-Match.
 *
 * The input is header values, one per line, in this order: Content-Type,
 * Content-Length, Transfer-Encoding, Authorization, If-None-Match, and the
 * ETag it is compared with; a missing line is an absent header. Each value
 * is a C string, as libmicrohttpd hands it over.
 *
 * Checked for every input, besides the sanitizers:
 *	- the media type is the lower-cased first word, within its buffer;
 *	- an accepted Content-Length is 1 to 19 digits and equals strtoull's;
 *	- a token lies inside the header (Bearer) or the decode buffer (Basic),
 *	  and a Bearer token is the header's tail without surrounding blanks;
 *	- an ETag always matches "*", itself, and itself as a weak W/ tag.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "headers.h"
#include "multipart.h"
#include "url.h"

#define NFIELDS 6

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *fuzz_target_name = "header_fuzz";

/* Content-Type: the media type, and the boundary a multipart one names. */
static void
CheckContentType(const char *ct)
{
	char		media[64];
	char		boundary[80];
	const char *p = ct;
	size_t		n;
	size_t		i;

	memset(media, 0x7F, sizeof(media));
	header_media_type(ct, media, sizeof(media));
	n = strnlen(media, sizeof(media));
	CHECK(n < sizeof(media), "media type is not terminated in its buffer");
	while (*p == ' ' || *p == '\t')
		p++;
	for (i = 0; i < n; i++)
		CHECK(media[i] == (char) tolower((unsigned char) p[i]) &&
			  media[i] != ';' && media[i] != ' ' && media[i] != '\t',
			  "media type differs from the header at %zu", i);
	(void) header_not_a_profile(media);
	if (multipart_boundary(ct, boundary, sizeof(boundary)) == NULL)
	{
		n = strlen(boundary);
		CHECK(n > 0 && n <= 70, "boundary of %zu bytes accepted", n);
		for (i = 0; i < n; i++)
			CHECK(isprint((unsigned char) boundary[i]), "boundary has a control character");
	}
}

/* Content-Length: exactly the digits, as strtoull reads them. */
static void
CheckContentLength(const char *cl)
{
	unsigned long long n;
	size_t		i;

	if (!header_content_length(cl, &n))
		return;
	CHECK(cl[0] != '\0' && strlen(cl) <= 19, "Content-Length \"%s\" accepted", cl);
	for (i = 0; cl[i]; i++)
		CHECK(isdigit((unsigned char) cl[i]), "Content-Length \"%s\" accepted", cl);
	CHECK(n == strtoull(cl, NULL, 10), "Content-Length %s read as %llu", cl, n);
}

/* Authorization: where the token is. */
static void
CheckAuthorization(const char *h)
{
	char		buf[512];
	const char *t = NULL;
	size_t		n = 0;
	size_t		hlen = strlen(h);

	if (!header_auth_token(h, buf, sizeof(buf), &t, &n))
		return;
	if (strncasecmp(h, "Basic ", 6) == 0)
		CHECK(t >= buf && t + n <= buf + sizeof(buf), "Basic token outside its buffer");
	else
	{
		CHECK(strncasecmp(h, "Bearer ", 7) == 0, "a token of neither Bearer nor Basic");
		CHECK(t >= h + 6 && t + n <= h + hlen, "Bearer token outside the header");
		CHECK(n == 0 || (t[0] != ' ' && t[n - 1] != ' ' && t[n - 1] != '\t'),
			  "Bearer token keeps blanks");
		CHECK(t[n] == '\0' || t[n] == ' ' || t[n] == '\t', "Bearer token cut short");
	}
}

/* If-None-Match against an ETag; the ETag must match its own forms. */
static void
CheckEtag(const char *inm, const char *etag)
{
	char		weak[300];

	(void) etag_matches(inm, etag);
	if (etag[0] != '"' || strlen(etag) < 2 || etag[strlen(etag) - 1] != '"' ||
		strchr(etag + 1, '"') != etag + strlen(etag) - 1 || strlen(etag) > 200)
		return;					/* not a quoted ETag as the gateway makes them */
	snprintf(weak, sizeof(weak), "W/%s", etag);
	CHECK(etag_matches("*", etag), "\"*\" does not match %s", etag);
	CHECK(etag_matches(etag, etag), "%s does not match itself", etag);
	CHECK(etag_matches(weak, etag), "%s does not match %s", weak, etag);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *input = malloc(size + 1);
	char	   *field[NFIELDS] = {NULL};
	char	   *p = input;
	int			i;

	memcpy(input, data, size);
	input[size] = '\0';
	for (i = 0; i < NFIELDS && p != NULL; i++)
	{
		char	   *nl = strchr(p, '\n');

		field[i] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	/* each value in its own exact-size allocation, so ASan sees overreads */
	for (i = 0; i < NFIELDS; i++)
		if (field[i] != NULL)
			field[i] = strdup(field[i]);

	if (field[0])
		CheckContentType(field[0]);
	if (field[1])
		CheckContentLength(field[1]);
	(void) header_chunked(field[2]);
	if (field[3])
		CheckAuthorization(field[3]);
	if (field[4] && field[5])
		CheckEtag(field[4], field[5]);
	else if (field[4])
		CheckEtag(field[4], "\"x\"");

	for (i = 0; i < NFIELDS; i++)
		free(field[i]);
	free(input);
	return 0;
}
