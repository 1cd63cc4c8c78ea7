/*
 * log.h
 *	  Structured logging on stderr: one JSON object per line.
 */
#ifndef PGW_LOG_H
#define PGW_LOG_H

#include <stddef.h>

/* one finished request, as written to the access log */
struct access_entry
{
	const char *method;
	const char *path;			/* raw request path, no query string */
	const char *route;
	int			status;			/* 0: no response was sent */
	size_t		bytes_in;
	size_t		bytes_out;
	double		ms;
	const char *remote;
	const char *tag;			/* NULL when none */
	const char *cache;			/* "hit", "miss" or NULL */
	long long	id;				/* stored row id, 0 if none */
	const char *error;			/* reason of an error status, NULL if none */
	const char *termination;	/* NULL when the request completed normally */
};

/* a server event; detail may be NULL */
extern void log_event(const char *level, const char *msg, const char *detail);
extern void log_eventf(const char *level, const char *msg, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void log_access(const struct access_entry *e);

#endif							/* PGW_LOG_H */
