/*
 * url.c
 *	  Request-target parsing of pprof-gateway: strict percent-decoding of the
 *	  path and query string, ETag matching.
 *
 * The gateway decodes the raw request-target itself instead of using the
 * strings libmicrohttpd decoded: MHD turns "%00" into a NUL that silently
 * truncates the path, so "/profile/a%00b" would look like "/profile/a".
 * Here any escape that decodes to a control character is an error (400).
 */
#include "url.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Value of a hex digit, -1 if c is not one. */
static int
HexVal(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[0..n) into out (NUL-terminated). Fails on a malformed
 * escape, on control characters (decoded or raw, including NUL), on
 * invalid UTF-8, and when out is too small.
 */
bool
url_decode(const char *s, size_t n, bool plus_is_space, char *out,
		   size_t outcap, size_t *outlen)
{
	size_t		i = 0;
	size_t		o = 0;

	while (i < n)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '%')
		{
			int			hi;
			int			lo;

			if (i + 2 >= n)
				return false;
			hi = HexVal(s[i + 1]);
			lo = HexVal(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char) (hi * 16 + lo);
			i += 3;
		}
		else
		{
			if (c == '+' && plus_is_space)
				c = ' ';
			i++;
		}
		if (c < 0x20 || c == 0x7F)
			return false;
		if (o + 1 >= outcap)
			return false;
		out[o++] = (char) c;
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return utf8_valid(out, o);
}

/* Free decoded parameters. */
void
params_free(struct param *params, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		free(params[i].key);
		free(params[i].value);
		params[i].key = params[i].value = NULL;
	}
}

/* Decode one key or value into a new string; NULL on error. */
static char *
DecodeDup(const char *s, size_t n)
{
	char	   *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	if (!url_decode(s, n, true, out, n + 1, NULL))
	{
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Parse a query string (without '?') into at most max parameters; returns
 * the count, or -1 with *why set. A key without '=' gets the value "".
 * Duplicate keys are an error: which one would win is ambiguous.
 */
int
query_parse(const char *q, struct param *params, int max, const char **why)
{
	int			n = 0;

	while (*q != '\0')
	{
		const char *amp = strchr(q, '&');
		size_t		seglen = amp ? (size_t) (amp - q) : strlen(q);
		const char *eq = memchr(q, '=', seglen);
		size_t		klen = eq ? (size_t) (eq - q) : seglen;
		int			i;

		if (seglen > 0)
		{
			if (n >= max)
			{
				params_free(params, n);
				*why = "Too many query parameters.";
				return -1;
			}
			params[n].key = DecodeDup(q, klen);
			params[n].value = eq ? DecodeDup(eq + 1, seglen - klen - 1) : strdup("");
			if (params[n].key == NULL || params[n].value == NULL)
			{
				params_free(params, n + 1);
				*why = "A query parameter is not valid percent-encoded UTF-8 text, or contains a control character.";
				return -1;
			}
			for (i = 0; i < n; i++)
				if (strcmp(params[i].key, params[n].key) == 0)
				{
					params_free(params, n + 1);
					*why = "A query parameter is given twice.";
					return -1;
				}
			n++;
		}
		if (amp == NULL)
			break;
		q = amp + 1;
	}
	return n;
}

/*
 * Does an If-None-Match header match etag (quoted)? Weak comparison, as
 * RFC 9110 requires for If-None-Match: W/"x" matches "x"; "*" matches.
 */
bool
etag_matches(const char *inm, const char *etag)
{
	size_t		elen = strlen(etag);
	const char *p = inm;

	if (inm == NULL || elen == 0)
		return false;
	while (*p != '\0')
	{
		const char *start;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		start = p;
		if (*p == '"')
		{
			p++;
			while (*p != '\0' && *p != '"')
				p++;
			if (*p == '"')
				p++;
		}
		else
			while (*p != '\0' && *p != ',' && *p != ' ')
				p++;
		if ((size_t) (p - start) == elen && memcmp(start, etag, elen) == 0)
			return true;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return false;
}
