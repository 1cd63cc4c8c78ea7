/*
 * cli.h
 *	  Command line of the pg_pprof programs (pprof-gateway, pprof-worker):
 *	  flags with environment equivalents, value parsers that exit 2 with a
 *	  message, and the listening socket.
 */
#ifndef PGO_CLI_H
#define PGO_CLI_H

#include <stddef.h>

/* the program's name in messages, e.g. "pprof-gateway"; set before use */
extern const char *cli_program;

/* a flag and the environment variable that sets it too (NULL: none) */
struct cli_setting
{
	int			opt;			/* the caller's code, not 1 or 2 */
	const char *flag;			/* without "--" */
	const char *env;
};

/* print "<program>: <fmt % arg>" and a --help hint, exit 2 */
extern void cli_die(const char *fmt, const char *arg) __attribute__((noreturn));

/* a size with optional k/M/G (binary) suffix, at most 1T */
extern size_t cli_size(const char *name, const char *s);
/* a duration (ms, s, m; bare: seconds), at most a day, in milliseconds */
extern unsigned cli_duration_ms(const char *name, const char *s);
/* a whole number in [min, max] */
extern unsigned cli_count(const char *name, const char *s, unsigned min, unsigned max);

/*
 * Environment first, then flags: apply(opt, name, value) for each setting
 * given (name is the variable or flag, for messages). --help prints usage
 * and exits 0; --version calls version() and exits 0; anything else
 * unknown exits 2.
 */
extern void cli_configure(int argc, char **argv, const struct cli_setting *settings,
						  size_t n, void (*apply) (int opt, const char *name, const char *value),
						  const char *usage, void (*version) (void));

/*
 * Create, bind and listen on HOST:PORT (empty host: all interfaces, IPv6
 * dual stack first; "[v6]:port" allowed; port 0 picks one), non-blocking;
 * the bound address is written to addr. Exits 1 when it cannot, 2 on a
 * malformed address.
 */
extern int	cli_listen(const char *listen_at, const char *flag, char *addr, size_t addrcap);

#endif							/* PGO_CLI_H */
