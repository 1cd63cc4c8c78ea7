/*
 * multipart.c
 *	  A small, bounded multipart/form-data parser: finds one named part in
 *	  a body already held in memory (the upload is capped by --max-body).
 *
 * Written for binary parts: a part ends only at CRLF "--" boundary, never
 * at a NUL or at any other byte, and the part is returned as a pointer
 * into the body (no copy). Parts, part headers and the boundary are
 * bounded; anything malformed is an error, never a guess.
 */
#include "multipart.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define MAX_BOUNDARY 70			/* RFC 2046 */

/* Skip spaces and tabs. */
static const char *
SkipWs(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * Value of parameter `key` in a header value like `form-data; name="x"`
 * (first segment is skipped); copied into out. False when absent or too long.
 */
static bool
HeaderParam(const char *v, const char *end, const char *key, char *out,
			size_t outcap)
{
	size_t		klen = strlen(key);
	const char *p = memchr(v, ';', (size_t) (end - v));

	while (p != NULL && p < end)
	{
		const char *k;
		size_t		o = 0;

		p = SkipWs(p + 1, end);
		k = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		if (p < end && *p == '=' && (size_t) (p - k) == klen &&
			strncasecmp(k, key, klen) == 0)
		{
			p++;
			if (p < end && *p == '"')
			{
				p++;
				while (p < end && *p != '"')
				{
					if (*p == '\\' && p + 1 < end)
						p++;
					if (o + 1 >= outcap)
						return false;
					out[o++] = *p++;
				}
			}
			else
				while (p < end && *p != ';' && *p != ' ' && *p != '\t')
				{
					if (o + 1 >= outcap)
						return false;
					out[o++] = *p++;
				}
			out[o] = '\0';
			return true;
		}
		p = memchr(p, ';', (size_t) (end - p));
	}
	return false;
}

/*
 * The boundary of a multipart Content-Type, into out. Returns NULL, or the
 * reason it is missing or invalid.
 */
const char *
multipart_boundary(const char *content_type, char *out, size_t outcap)
{
	const char *end = content_type + strlen(content_type);
	size_t		n;
	size_t		i;

	if (outcap < MAX_BOUNDARY + 1 ||
		!HeaderParam(content_type, end, "boundary", out, MAX_BOUNDARY + 1))
		return "The multipart Content-Type has no boundary, or a boundary longer than 70 characters.";
	n = strlen(out);
	if (n == 0)
		return "The multipart boundary is empty.";
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char) out[i]))
			return "The multipart boundary contains a control character.";
	return NULL;
}

/* The `name` parameter of a part's Content-Disposition, into out ("" if none). */
static void
PartName(const char *h, const char *hend, char *out, size_t outcap)
{
	out[0] = '\0';
	while (h < hend)
	{
		const char *eol = memmem(h, (size_t) (hend - h), "\r\n", 2);
		const char *colon;

		if (eol == NULL)
			eol = hend;
		colon = memchr(h, ':', (size_t) (eol - h));
		if (colon != NULL && colon - h == 19 &&
			strncasecmp(h, "Content-Disposition", 19) == 0)
		{
			if (!HeaderParam(colon + 1, eol, "name", out, outcap))
				out[0] = '\0';
			return;
		}
		h = eol + 2;
	}
}

/*
 * Find the part called name in a multipart body. Returns NULL and the part
 * (pointing into body), or the reason the body is unacceptable.
 */
const char *
multipart_find(const char *body, size_t len, const char *boundary,
			   const char *name, const char **part, size_t *partlen)
{
	char		delim[MAX_BOUNDARY + 5];	/* CRLF "--" boundary */
	size_t		dlen;
	const char *end = body + len;
	const char *p;
	int			nparts = 0;
	bool		found = false;

	dlen = (size_t) snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (dlen >= sizeof(delim))
		return "The multipart boundary is too long.";

	/* the first delimiter: at the very start, or after a preamble line */
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else
	{
		p = memmem(body, len, delim, dlen);
		if (p == NULL)
			return "The body does not contain the multipart boundary.";
		p += dlen;
	}

	for (;;)
	{
		const char *data;
		const char *next;
		char		pname[256];

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;				/* close delimiter */
		p = SkipWs(p, end);
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return "The multipart body is malformed (no line break after a boundary).";
		p += 2;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		{
			pname[0] = '\0';	/* a part without headers */
			data = p + 2;
		}
		else
		{
			size_t		window = (size_t) (end - p);
			const char *hend;

			if (window > MAX_PART_HEADER_BYTES + 4)
				window = MAX_PART_HEADER_BYTES + 4;
			hend = memmem(p, window, "\r\n\r\n", 4);
			if (hend == NULL)
				return "The headers of a multipart part are truncated or longer than 8 kB.";
			PartName(p, hend, pname, sizeof(pname));
			data = hend + 4;
		}

		next = memmem(data, (size_t) (end - data), delim, dlen);
		if (next == NULL)
			return "The multipart body is truncated (a part has no closing boundary).";
		if (++nparts > MAX_MULTIPART_PARTS)
			return "The multipart body has more than 16 parts.";
		if (strcmp(pname, name) == 0)
		{
			if (found)
				return "The multipart body has more than one cpu_profile part.";
			found = true;
			*part = data;
			*partlen = (size_t) (next - data);
		}
		p = next + dlen;
	}
	if (!found)
		return "The multipart body has no part named cpu_profile.";
	return NULL;
}
