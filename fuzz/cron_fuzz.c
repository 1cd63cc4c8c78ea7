/*
 * cron_fuzz.c
 *	  libFuzzer target for the cron parser (extension/cron.c).
 *
 * For every input (as a NUL-terminated string):
 *	1. cron_parse() accepts, or rejects with a non-empty, terminated message
 *	   that fits its buffer; it never crashes or reads past the string.
 *	2. An accepted expression has its bits inside the fields' ranges, parses
 *	   again to the same result, and its next firing after a few fixed
 *	   times is a whole minute, strictly later, within 50 years (the parser
 *	   rejects expressions that never fire), matched by the expression as
 *	   this file reads it (its own matcher, not the library's), and the
 *	   first such minute when it is less than two days away.
 * Any violation abort()s with a message. Plain C: no PostgreSQL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

#define MAX_INPUT 512

/* Die with a message (libFuzzer records the input). */
static void
Fail(const char *what, const char *expr, int64_t after, int64_t next)
{
	fprintf(stderr, "cron_fuzz: %s: \"%s\" after %lld -> %lld\n", what, expr,
			(long long) after, (long long) next);
	abort();
}

/* Does minute t match c? (independent of cron.c's search) */
static int
Matches(const struct cron *c, int64_t t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;
	int			dom;
	int			dow;

	gmtime_r(&tt, &tm);
	if (!((c->minute >> tm.tm_min) & 1) || !((c->hour >> tm.tm_hour) & 1) ||
		!((c->month >> (tm.tm_mon + 1)) & 1))
		return 0;
	dom = (c->dom >> tm.tm_mday) & 1;
	dow = (c->dow >> tm.tm_wday) & 1;
	return (c->dom_any || c->dow_any) ? (dom && dow) : (dom || dow);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t afters[] = {
		0, 951782399, 1700000000, 1796244858, 4102444799, 59
	};
	char		expr[MAX_INPUT + 1];
	char		err[256];
	struct cron c;
	struct cron again;

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	memcpy(expr, data, size);
	expr[size] = '\0';

	memset(err, 'x', sizeof(err));
	if (!cron_parse(expr, &c, err, sizeof(err)))
	{
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			Fail("rejected without a terminated message", expr, 0, 0);
		return 0;
	}
	if ((c.minute >> 60) != 0 || (c.hour >> 24) != 0 || (c.dom & 1) ||
		(c.month & 1) || (c.month >> 13) != 0 || (c.dow >> 7) != 0 ||
		c.minute == 0 || c.hour == 0 || c.dom == 0 || c.month == 0 || c.dow == 0)
		Fail("bits out of range or empty", expr, 0, 0);
	if (!cron_parse(expr, &again, err, sizeof(err)) || memcmp(&c, &again, sizeof(c)) != 0)
		Fail("parsing again differs", expr, 0, 0);

	for (size_t i = 0; i < sizeof(afters) / sizeof(afters[0]); i++)
	{
		int64_t		after = afters[i];
		int64_t		next = cron_next(&c, after);

		if (next < 0)
			Fail("accepted but never fires", expr, after, next);
		if (next <= after || next % 60 != 0 || next - after > 50LL * 366 * 86400)
			Fail("next is not a later whole minute within 50 years", expr, after, next);
		if (!Matches(&c, next))
			Fail("next does not match the expression", expr, after, next);
		if (next - after <= 2 * 86400)
			for (int64_t t = after - after % 60 + 60; t < next; t += 60)
				if (Matches(&c, t))
					Fail("an earlier minute matches", expr, after, t);
		if (cron_next(&c, next - 1) != next)
			Fail("next of (next - 1 s) is not next", expr, after, next);
	}
	return 0;
}
