/*
 * headers.c
 *	  Parsing of the request header values pprof-gateway acts on:
 *	  Content-Type (what the body is), Content-Length and Transfer-Encoding
 *	  (how big), Authorization (the token).
 *
 * Each function reads one header's text, which is outside input of any
 * length libmicrohttpd accepted: every read is bounded by the string's
 * end or the caller's buffer, and anything unexpected is "no", never a
 * guess. Kept apart from the handlers so the fuzzer runs exactly this code
 * (fuzz/gateway_fuzz.c).
 */
#include "headers.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* The media type of a Content-Type, lower case, without parameters. */
void
header_media_type(const char *ct, char *out, size_t cap)
{
	size_t		o = 0;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (*ct && *ct != ';' && *ct != ' ' && *ct != '\t' && o + 1 < cap)
		out[o++] = (char) tolower((unsigned char) *ct++);
	out[o] = '\0';
}

/*
 * Is a media type clearly something other than a profile: text, JSON,
 * XML, HTML, an image...? Anything else is taken as the profile's bytes,
 * which the pprof type judges: application/octet-stream, none, and
 * application/x-www-form-urlencoded, the type curl gives --data-binary.
 */
bool
header_not_a_profile(const char *media)
{
	static const char *const other_tops[] = {
		"text/", "image/", "audio/", "video/", "font/", "model/", "message/", "multipart/"
	};
	static const char *const other_apps[] = {
		"application/json", "application/xml", "application/xhtml+xml",
		"application/javascript", "application/ecmascript", "application/yaml",
		"application/x-yaml", "application/x-ndjson", "application/pdf"
	};
	size_t		n = strlen(media);
	size_t		i;

	for (i = 0; i < sizeof(other_tops) / sizeof(other_tops[0]); i++)
		if (strncmp(media, other_tops[i], strlen(other_tops[i])) == 0)
			return true;
	for (i = 0; i < sizeof(other_apps) / sizeof(other_apps[0]); i++)
		if (strcmp(media, other_apps[i]) == 0)
			return true;
	/* structured syntax suffixes (RFC 6839): +json, +xml */
	return (n > 5 && strcmp(media + n - 5, "+json") == 0) ||
		(n > 4 && strcmp(media + n - 4, "+xml") == 0);
}

/* Is v a token list containing "chunked"? */
bool
header_chunked(const char *v)
{
	return v != NULL && strcasestr(v, "chunked") != NULL;
}

/*
 * A Content-Length: digits only, at most 19 of them, so the value fits in
 * 64 bits without an overflow check.
 */
bool
header_content_length(const char *cl, unsigned long long *n)
{
	const char *p;

	*n = 0;
	if (cl == NULL || *cl == '\0' || strlen(cl) > 19)
		return false;
	for (p = cl; *p; p++)
	{
		if (!isdigit((unsigned char) *p))
			return false;
		*n = *n * 10 + (unsigned long long) (*p - '0');
	}
	return true;
}

/*
 * Decode base64 (RFC 4648, padding optional) into out; false on a byte that
 * is not base64 or when out is too small.
 */
static bool
Base64Decode(const char *in, size_t n, char *out, size_t cap, size_t *outlen)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned	acc = 0;
	int			bits = 0;
	size_t		o = 0;
	size_t		i;

	while (n > 0 && in[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++)
	{
		const char *p = in[i] ? strchr(alphabet, in[i]) : NULL;

		if (p == NULL)
			return false;
		acc = (acc << 6) | (unsigned) (p - alphabet);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (o == cap)
				return false;
			out[o++] = (char) ((acc >> bits) & 0xFF);
		}
	}
	*outlen = o;
	return true;
}

/*
 * The token of "Bearer <token>", or "Basic" with the token as the password
 * (any user name), which is what a browser sends for the web pages.
 */
bool
header_auth_token(const char *h, char *buf, size_t cap, const char **token, size_t *len)
{
	const char *t;
	size_t		n;

	if (h == NULL)
		return false;
	if (strncasecmp(h, "Bearer ", 7) != 0 && strncasecmp(h, "Basic ", 6) != 0)
		return false;
	t = h + 6;
	while (*t == ' ')
		t++;
	n = strlen(t);
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (strncasecmp(h, "Basic ", 6) == 0)
	{
		const char *colon;

		if (!Base64Decode(t, n, buf, cap, &n))
			return false;
		colon = memchr(buf, ':', n);
		if (colon == NULL)
			return false;
		t = colon + 1;
		n -= (size_t) (t - buf);
	}
	*token = t;
	*len = n;
	return true;
}
