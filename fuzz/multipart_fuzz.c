/*
 * multipart_fuzz.c
 *	  libFuzzer target for the gateway's multipart/form-data parser
 *	  (gateway/multipart.c), as an upload runs it: the boundary from the
 *	  Content-Type, then the part cpu_profile of the body.
 *
 * The input is the Content-Type value, a line break, and the body. When
 * the Content-Type names no valid boundary, the body is searched with the
 * boundary "pgo" instead, so body mutations always reach the part parser.
 * The body is its own exact-size allocation, so ASan sees any read past it.
 *
 * Checked for every input, besides the sanitizers: a part that is found
 * lies inside the body, is followed by CRLF "--" boundary, and holds no
 * such delimiter itself; a refused body carries a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "multipart.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *fuzz_target_name = "multipart_fuzz";

/* Find cpu_profile in body with boundary; check what comes back. */
static void
CheckBody(const char *body, size_t len, const char *boundary)
{
	const char *part = NULL;
	size_t		partlen = 0;
	char		delim[80];
	size_t		dlen;
	const char *why;

	why = multipart_find(body, len, boundary, "cpu_profile", &part, &partlen);
	if (why != NULL)
	{
		CHECK(why[0] != '\0', "multipart body refused without a reason");
		return;
	}
	dlen = (size_t) snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	CHECK(part != NULL && part >= body && partlen <= len &&
		  (size_t) (part - body) <= len - partlen, "part lies outside the body");
	CHECK((size_t) (part - body) + partlen + dlen <= len &&
		  memcmp(part + partlen, delim, dlen) == 0,
		  "part is not followed by its delimiter");
	CHECK(partlen < dlen || memmem(part, partlen, delim, dlen) == NULL,
		  "part holds a delimiter");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t		ctlen = nl ? (size_t) (nl - data) : size;
	size_t		blen = nl ? size - ctlen - 1 : 0;
	char	   *ct = malloc(ctlen + 1);
	char	   *body = malloc(blen ? blen : 1);
	char		boundary[80];

	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	if (blen)
		memcpy(body, nl + 1, blen);
	if (multipart_boundary(ct, boundary, sizeof(boundary)) != NULL)
		strcpy(boundary, "pgo");
	CheckBody(body, blen, boundary);
	free(ct);
	free(body);
	return 0;
}
