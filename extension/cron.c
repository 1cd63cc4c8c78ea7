/*-------------------------------------------------------------------------
 *
 * cron.c
 *	  5-field cron expressions, as Vixie cron and pg_cron read them.
 *
 *	  minute hour day-of-month month day-of-week
 *
 * Each field is a comma-separated list of items: `*`, N, N-M, each with an
 * optional /STEP (`*\/10`, `8-18/2`; `N/STEP` means N to the field's end).
 * Months and days of week also take English three-letter names (jan, mon);
 * day of week 7 is Sunday, like 0. Macros: @yearly (@annually), @monthly,
 * @weekly, @daily (@midnight), @hourly. Times are UTC. When both day of
 * month and day of week are restricted (neither starts with `*`), a day
 * matches if EITHER does, as in Vixie cron.
 *
 * Expressions that can never fire (`0 0 30 2 *`) are rejected at parse
 * time, so a schedule accepted once always has a next run.
 *
 *-------------------------------------------------------------------------
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct field
{
	const char *name;
	int			min;
	int			max;
	const char *const *names;	/* names[i] is value min + i, NULL: none */
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const struct field fields[5] = {
	{"minute", 0, 59, NULL},
	{"hour", 0, 23, NULL},
	{"day of month", 1, 31, NULL},
	{"month", 1, 12, month_names},
	{"day of week", 0, 7, dow_names},
};

static const struct
{
	const char *macro;
	const char *expr;
}			macros[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* Read a number or a name at *p; false if there is neither. */
static bool
ReadValue(const char **p, const struct field *f, int *v)
{
	const char *s = *p;

	if (isdigit((unsigned char) *s))
	{
		long		n = 0;

		while (isdigit((unsigned char) *s))
		{
			if (n < 1000)
				n = n * 10 + (*s - '0');
			s++;
		}
		*v = (int) n;
		*p = s;
		return true;
	}
	if (f->names != NULL && isalpha((unsigned char) s[0]) &&
		isalpha((unsigned char) s[1]) && isalpha((unsigned char) s[2]))
	{
		for (int i = 0; f->names[i] != NULL; i++)
			if (strncasecmp(s, f->names[i], 3) == 0)
			{
				*v = f->min + i;
				*p = s + 3;
				return true;
			}
	}
	return false;
}

/*
 * Parse one field [s, end) into the bit set *bits; *any tells whether it
 * starts with '*'. False with err set on failure.
 */
static bool
ParseField(const char *s, const char *end, const struct field *f, uint64_t *bits,
		   bool *any, char *err, size_t errlen)
{
	const char *p = s;

	*bits = 0;
	*any = (*p == '*');
	for (;;)
	{
		int			lo;
		int			hi;
		int			step = 1;
		bool		star = false;

		if (*p == '*')
		{
			lo = f->min;
			hi = f->max;
			star = true;
			p++;
		}
		else if (ReadValue(&p, f, &lo))
		{
			hi = lo;
			if (*p == '-')
			{
				p++;
				if (!ReadValue(&p, f, &hi))
				{
					snprintf(err, errlen, "The %s field \"%.*s\" has a range without an end.",
							 f->name, (int) (end - s), s);
					return false;
				}
			}
		}
		else
		{
			snprintf(err, errlen, "The %s field \"%.*s\" has \"%.*s\" where a number%s or * is expected.",
					 f->name, (int) (end - s), s, p < end ? 1 : 0, p,
					 f->names ? ", a name" : "");
			return false;
		}
		if (lo < f->min || lo > f->max || hi < f->min || hi > f->max)
		{
			snprintf(err, errlen, "The %s field \"%.*s\" has a value out of range %d-%d.",
					 f->name, (int) (end - s), s, f->min, f->max);
			return false;
		}
		if (hi < lo)
		{
			snprintf(err, errlen, "The %s field \"%.*s\" has a range that ends before it starts.",
					 f->name, (int) (end - s), s);
			return false;
		}
		if (*p == '/')
		{
			p++;
			if (!isdigit((unsigned char) *p) || !ReadValue(&p, &fields[0], &step) ||
				step < 1 || step > f->max - f->min + 1)
			{
				snprintf(err, errlen, "The %s field \"%.*s\" has a step that is not a number from 1 to %d.",
						 f->name, (int) (end - s), s, f->max - f->min + 1);
				return false;
			}
			/* "N/step": from N to the end of the range */
			if (!star && hi == lo)
				hi = f->max;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= (uint64_t) 1 << v;
		if (p == end)
			return true;
		if (*p != ',')
		{
			snprintf(err, errlen, "The %s field \"%.*s\" has \"%c\" where a comma or the end of the field is expected.",
					 f->name, (int) (end - s), s, *p);
			return false;
		}
		p++;
	}
}

/* Days in a month of a leap year (the most a month can have). */
static int
MaxDays(int month)
{
	static const int days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return days[month];
}

/* Parse an expression. */
bool
cron_parse(const char *s, struct cron *c, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t	bits[5];
	bool		any[5];
	int			n = 0;
	bool		fires = false;

	memset(c, 0, sizeof(*c));
	if (strlen(s) > CRON_MAX_LEN)
	{
		snprintf(err, errlen, "A cron expression has at most %d characters.", CRON_MAX_LEN);
		return false;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@')
	{
		size_t		len = strcspn(p, " \t");
		const char *rest = p + len;

		while (*rest == ' ' || *rest == '\t')
			rest++;
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (*rest == '\0' && strlen(macros[i].macro) == len &&
				strncasecmp(p, macros[i].macro, len) == 0)
				return cron_parse(macros[i].expr, c, err, errlen);
		snprintf(err, errlen, "Unknown macro \"%.*s\"; the macros are @yearly, @annually, "
				 "@monthly, @weekly, @daily, @midnight and @hourly.", (int) (len > 32 ? 32 : len), p);
		return false;
	}
	while (*p != '\0')
	{
		const char *end = p + strcspn(p, " \t");

		if (n == 5)
		{
			snprintf(err, errlen, "A cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has more.");
			return false;
		}
		if (!ParseField(p, end, &fields[n], &bits[n], &any[n], err, errlen))
			return false;
		n++;
		p = end;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (n != 5)
	{
		snprintf(err, errlen, "A cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has %d.", n);
		return false;
	}
	/* day of week 7 is Sunday */
	if (bits[4] & (1u << 7))
		bits[4] = (bits[4] | 1u) & ~(1u << 7);
	c->minute = bits[0];
	c->hour = (uint32_t) bits[1];
	c->dom = (uint32_t) bits[2];
	c->month = (uint16_t) bits[3];
	c->dow = (uint8_t) bits[4];
	c->dom_any = any[2];
	c->dow_any = any[4];

	/* a restricted day of week always fires; else some month must hold the day */
	if (!c->dow_any)
		fires = true;
	for (int m = 1; m <= 12 && !fires; m++)
		for (int d = 1; d <= MaxDays(m) && !fires; d++)
			fires = (c->month >> m & 1) && (c->dom >> d & 1);
	if (!fires)
	{
		snprintf(err, errlen, "The expression never fires: no month of the month field has a day of the day-of-month field.");
		return false;
	}
	return true;
}

/* Does the day match (day of month / day of week rule)? */
static bool
DayMatches(const struct cron *c, const struct tm *tm)
{
	bool		dom = (c->dom >> tm->tm_mday) & 1;
	bool		dow = (c->dow >> tm->tm_wday) & 1;

	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

/* The next firing time after `after`. */
int64_t
cron_next(const struct cron *c, int64_t after)
{
	struct tm	tm;
	time_t		t;
	int64_t		limit;

	if (after < 0 || after > 253402300799LL - 50LL * 366 * 86400)
		return -1;				/* outside years 1970-9949: no answer */
	limit = after + 50LL * 366 * 86400;
	t = (time_t) (after - after % 60 + 60);
	while ((int64_t) t <= limit)
	{
		if (gmtime_r(&t, &tm) == NULL)
			return -1;
		if (!((c->month >> (tm.tm_mon + 1)) & 1))
		{
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		}
		else if (!DayMatches(c, &tm))
		{
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		}
		else if (!((c->hour >> tm.tm_hour) & 1))
		{
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
		}
		else if (!((c->minute >> tm.tm_min) & 1))
			tm.tm_min++;
		else
			return (int64_t) t;
		t = timegm(&tm);
	}
	return -1;
}
