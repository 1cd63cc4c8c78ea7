/*
 * url.c
 *	  Request-target parsing of pprof-gateway: the path and query of a
 *	  target, strict percent-decoding, route patterns, query strings and the
 *	  labels they make, ETag matching.
 *
 * The gateway decodes the raw request-target itself instead of using the
 * strings libmicrohttpd decoded: MHD turns "%00" into a NUL that silently
 * truncates the path, so "/profile/a%00b" would look like "/profile/a".
 * Here any escape that decodes to a control character is an error (400).
 *
 * Everything here is a pure function of the request's bytes, run by the
 * fuzzer (fuzz/gateway_fuzz.c) exactly as the gateway runs it.
 */
#include "url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

/*
 * The path of a request-target (its origin form; an absolute-form target
 * "http://host/p?q" keeps "/p?q"): returns where it starts, its length in
 * *pathlen and the query string after '?' in *query (NULL when none).
 */
const char *
target_path(const char *raw, size_t *pathlen, const char **query)
{
	const char *q;

	if (strncasecmp(raw, "http://", 7) == 0 || strncasecmp(raw, "https://", 8) == 0)
	{
		const char *s = strchr(strstr(raw, "//") + 2, '/');

		raw = s ? s : "/";
	}
	q = strchr(raw, '?');
	*pathlen = q ? (size_t) (q - raw) : strlen(raw);
	*query = q ? q + 1 : NULL;
	return raw;
}

/*
 * Does path match pattern? A {name} part matches up to the next literal
 * character of the pattern (to the end when last) and is kept in caps
 * (pointers into path and pattern, not terminated).
 */
bool
path_match(const char *pattern, const char *path, struct span *caps, int *ncaps)
{
	const char *p = pattern;
	const char *s = path;

	*ncaps = 0;
	while (*p != '\0')
	{
		if (*p == '{')
		{
			const char *close = strchr(p, '}');
			const char *start = s;

			if (close == NULL || *ncaps == MAX_CAPTURES)
				return false;	/* a bad pattern matches nothing */
			/* up to the next literal character of the pattern */
			if (close[1] == '\0')
				s += strlen(s);
			else if ((s = strchr(s, close[1])) == NULL)
				return false;
			caps[*ncaps].name = p + 1;
			caps[*ncaps].namelen = (size_t) (close - p - 1);
			caps[*ncaps].value = start;
			caps[*ncaps].len = (size_t) (s - start);
			(*ncaps)++;
			p = close + 1;
		}
		else if (*p++ != *s++)
			return false;
	}
	return *s == '\0';
}

/*
 * Is a matched part one path segment: no slash (%2F)? What it may otherwise
 * hold ("." and ".." included) is for the catalog to judge.
 */
bool
path_segment_valid(const char *value, size_t len)
{
	return memchr(value, '/', len) == NULL;
}

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
 * The labels of an upload: its query parameters as a JSON object (the
 * catalog judges keys and values; query_parse made them unique UTF-8).
 */
void
query_labels_json(struct buf *b, const struct param *params, int n)
{
	int			i;

	buf_put(b, "{", 1);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			buf_put(b, ",", 1);
		json_key(b, params[i].key);
		json_cstr(b, params[i].value);
	}
	buf_put(b, "}", 1);
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
