/*
 * url_fuzz.c
 *	  libFuzzer target for the gateway's request-target parsing
 *	  (gateway/url.c): the path and query of a target, percent-decoding,
 *	  route patterns and their captures, query strings and the labels JSON
 *	  an upload makes of them.
 *
 * The input is a request-target as libmicrohttpd hands it over (a C
 * string: it ends at the first NUL). If it has a line break, the text
 * before it is also tried as a route pattern, so the matcher sees bad
 * patterns too; the gateway's own patterns are always tried.
 *
 * Checked for every input, besides the sanitizers:
 *	- a decoded path is NUL-free, control-free, valid UTF-8, and decodes
 *	  again to itself once percent-encoded;
 *	- a match's captures lie inside the path, and the pattern's literal
 *	  text with the captures put back gives the path again;
 *	- path_segment_valid agrees with its definition;
 *	- parsed query parameters are unique, valid UTF-8 without control
 *	  characters, and the labels JSON (written by json.c) parses with
 *	  jansson to an object with exactly those keys and values.
 * A disagreement abort()s, which libFuzzer records as a crash.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "url.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the gateway's route patterns (gateway/routes.c), and odd ones */
static const char *const patterns[] = {
	"/profile/{tag}/flamegraph.svg", "/profile/{tag}@{release}", "/profile/{tag}",
	"/tags", "/ui", "/ui/{tag}", "/healthz", "/metrics",
	"/{a}{b}", "/{a}/{b}/{c}/{d}/{e}", "/{unclosed", "{x}", "",
};

const char *fuzz_target_name = "url_fuzz";

/* A decoded string: no control character, valid UTF-8, stable under re-encoding. */
static void
CheckDecoded(const char *s, size_t n, bool plus_is_space)
{
	static const char hex[] = "0123456789ABCDEF";
	char	   *enc = malloc(3 * n + 1);
	char	   *again = malloc(n + 1);
	size_t		elen = 0;
	size_t		alen = 0;
	size_t		i;

	CHECK(strlen(s) == n, "decoded text has a NUL inside");
	CHECK(utf8_valid(s, n), "decoded text is not valid UTF-8");
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		CHECK(c >= 0x20 && c != 0x7F, "decoded text has control character 0x%02x", c);
		enc[elen++] = '%';
		enc[elen++] = hex[c >> 4];
		enc[elen++] = hex[c & 15];
	}
	enc[elen] = '\0';
	CHECK(url_decode(enc, elen, plus_is_space, again, n + 1, &alen),
		  "re-encoded text does not decode");
	CHECK(alen == n && memcmp(again, s, n) == 0, "re-encoded text decodes differently");
	free(enc);
	free(again);
}

/* Match path against pattern; a match must give the path back. */
static void
CheckMatch(const char *pattern, const char *path)
{
	struct span caps[MAX_CAPTURES];
	int			ncaps = -1;
	size_t		plen = strlen(path);
	char	   *rebuilt;
	size_t		o = 0;
	const char *p;
	int			c = 0;
	int			i;

	if (!path_match(pattern, path, caps, &ncaps))
		return;
	CHECK(ncaps >= 0 && ncaps <= MAX_CAPTURES, "%d captures", ncaps);
	rebuilt = malloc(plen + 1);
	for (p = pattern; *p != '\0';)
	{
		if (*p == '{')
		{
			const char *close = strchr(p, '}');

			CHECK(close != NULL && c < ncaps, "a match of a bad pattern: %s", pattern);
			CHECK(caps[c].name == p + 1 && caps[c].namelen == (size_t) (close - p - 1),
				  "capture %d has the wrong name", c);
			CHECK(caps[c].value >= path && caps[c].value + caps[c].len <= path + plen,
				  "capture %d lies outside the path", c);
			CHECK(o + caps[c].len <= plen, "captures are longer than the path");
			memcpy(rebuilt + o, caps[c].value, caps[c].len);
			o += caps[c].len;
			c++;
			p = close + 1;
		}
		else
		{
			CHECK(o < plen, "pattern literals are longer than the path");
			rebuilt[o++] = *p++;
		}
	}
	CHECK(c == ncaps, "%d captures reported, %d in the pattern", ncaps, c);
	CHECK(o == plen && memcmp(rebuilt, path, plen) == 0,
		  "pattern %s with its captures does not give the path back", pattern);
	free(rebuilt);

	for (i = 0; i < ncaps; i++)
		CHECK(path_segment_valid(caps[i].value, caps[i].len) ==
			  (memchr(caps[i].value, '/', caps[i].len) == NULL),
			  "path_segment_valid disagrees on capture %d", i);
}

/* Query string: parameters, then the labels JSON checked with jansson. */
static void
CheckQuery(const char *q)
{
	struct param params[MAX_QUERY_PARAMS];
	const char *why = NULL;
	int			n = query_parse(q, params, MAX_QUERY_PARAMS, &why);
	struct buf	b;
	json_t	   *obj;
	json_error_t jerr;
	int			i;
	int			j;

	if (n < 0)
	{
		CHECK(why != NULL && why[0] != '\0', "query refused without a reason");
		return;
	}
	CHECK(n <= MAX_QUERY_PARAMS, "%d parameters", n);
	for (i = 0; i < n; i++)
	{
		CheckDecoded(params[i].key, strlen(params[i].key), true);
		CheckDecoded(params[i].value, strlen(params[i].value), true);
		for (j = 0; j < i; j++)
			CHECK(strcmp(params[i].key, params[j].key) != 0, "duplicate key %s", params[i].key);
	}

	buf_init(&b);
	query_labels_json(&b, params, n);
	CHECK(!b.oom, "labels JSON ran out of memory");
	obj = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	CHECK(obj != NULL && json_is_object(obj), "labels JSON does not parse: %s (%.*s)",
		  jerr.text, (int) b.len, b.data);
	CHECK(json_object_size(obj) == (size_t) n, "labels JSON has %zu keys, not %d",
		  json_object_size(obj), n);
	for (i = 0; i < n; i++)
	{
		json_t	   *v = json_object_get(obj, params[i].key);

		CHECK(v != NULL && json_is_string(v) && strcmp(json_string_value(v), params[i].value) == 0,
			  "labels JSON lost the value of %s", params[i].key);
	}
	json_decref(obj);
	buf_free(&b);
	params_free(params, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *input = malloc(size + 1);
	char	   *target;
	char	   *nl;
	const char *raw;
	const char *query = NULL;
	size_t		rawlen;
	size_t		outlen = 0;
	char		path[MAX_PATH_LEN + 1];
	size_t		i;

	memcpy(input, data, size);
	input[size] = '\0';
	nl = strchr(input, '\n');
	target = nl ? nl + 1 : input;
	if (nl)
		*nl = '\0';

	raw = target_path(target, &rawlen, &query);
	CHECK(rawlen <= strlen(raw), "path length %zu beyond the target", rawlen);
	CHECK(query == NULL || (query == raw + rawlen + 1 && raw[rawlen] == '?'),
		  "the query does not follow the path");
	if (url_decode(raw, rawlen, false, path, sizeof(path), &outlen))
	{
		CHECK(outlen < sizeof(path), "decoded path overflows");
		CheckDecoded(path, outlen, false);
		for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
			CheckMatch(patterns[i], path);
		if (nl)
			CheckMatch(input, path);
	}
	if (query != NULL)
		CheckQuery(query);
	free(input);
	return 0;
}
