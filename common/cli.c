/*
 * cli.c
 *	  Flags, environment and the listening socket of the pg_pprof programs.
 *
 * pprof-gateway and pprof-worker read their settings the same way: every
 * flag has an environment variable, a flag wins, values are checked at
 * start-up and a bad one exits 2 with a message naming it.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OPT_HELP	1
#define OPT_VERSION 2

const char *cli_program = "pg_pprof";

/* Print an error about the command line and exit 2. */
void
cli_die(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", cli_program);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry %s --help.\n", cli_program);
	exit(2);
}

/* Parse a size with optional k/M/G (binary) suffix. */
size_t
cli_size(const char *name, const char *s)
{
	char	   *end;
	unsigned long long v;
	unsigned long long mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		cli_die("invalid size for %s", name);
	if (*end == 'k' || *end == 'K')
		mult = 1024ULL, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024ULL * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024ULL * 1024 * 1024, end++;
	if (mult > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end != '\0' || v > (1ULL << 40) / mult)
		cli_die("invalid size for %s", name);
	return (size_t) (v * mult);
}

/* Parse a duration (ms, s, m; bare: seconds) into milliseconds. */
unsigned
cli_duration_ms(const char *name, const char *s)
{
	char	   *end;
	double		v;
	double		ms;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		cli_die("invalid duration for %s", name);
	if (strcmp(end, "ms") == 0)
		ms = v;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		ms = v * 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		ms = v * 60000;
	else
		cli_die("invalid duration for %s (use ms, s or m)", name);
	if (ms > 86400000.0)
		cli_die("duration too long for %s", name);
	return (unsigned) ms;
}

/* Parse a count in [min, max]. */
unsigned
cli_count(const char *name, const char *s, unsigned min, unsigned max)
{
	char	   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		cli_die("invalid number for %s", name);
	return (unsigned) v;
}

/* Environment, then flags. */
void
cli_configure(int argc, char **argv, const struct cli_setting *settings, size_t n,
			  void (*apply) (int opt, const char *name, const char *value),
			  const char *usage, void (*version) (void))
{
	struct option *longopts = calloc(n + 3, sizeof(struct option));
	int			c;

	if (longopts == NULL)
		cli_die("%s", "out of memory");
	for (size_t i = 0; i < n; i++)
	{
		const char *v = settings[i].env ? getenv(settings[i].env) : NULL;

		if (v != NULL)
			apply(settings[i].opt, settings[i].env, v);
		longopts[i] = (struct option) {settings[i].flag, required_argument, NULL, settings[i].opt};
	}
	longopts[n] = (struct option) {"help", no_argument, NULL, OPT_HELP};
	longopts[n + 1] = (struct option) {"version", no_argument, NULL, OPT_VERSION};

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		if (c == OPT_HELP)
		{
			fputs(usage, stdout);
			exit(0);
		}
		if (c == OPT_VERSION)
		{
			version();
			exit(0);
		}
		if (c == '?')
		{
			fprintf(stderr, "Try %s --help.\n", cli_program);
			exit(2);
		}
		for (size_t i = 0; i < n; i++)
			if (settings[i].opt == c)
				apply(c, settings[i].flag, optarg);
	}
	free(longopts);
	if (optind < argc)
		cli_die("unexpected argument %s", argv[optind]);
}

/* Split HOST:PORT ("[v6]:port" allowed; empty host: all interfaces). */
static void
SplitListen(const char *s, const char *flag, char *host, size_t hostcap, char *port,
			size_t portcap)
{
	const char *colon = strrchr(s, ':');
	size_t		hlen;
	char		msg[300];

	if (colon == NULL || colon[1] == '\0')
	{
		snprintf(msg, sizeof(msg), "--%s %%s: expected HOST:PORT, e.g. :8080 or 127.0.0.1:8080", flag);
		cli_die(msg, s);
	}
	hlen = (size_t) (colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']')
	{
		s++;
		hlen -= 2;
	}
	if (hlen >= hostcap || strlen(colon + 1) >= portcap)
	{
		snprintf(msg, sizeof(msg), "--%s %%s: too long", flag);
		cli_die(msg, s);
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
}

/* Create, bind and listen; the bound address is written to addr. */
int
cli_listen(const char *listen_at, const char *flag, char *addr, size_t addrcap)
{
	char		host[256];
	char		port[16];
	struct addrinfo hints;
	struct addrinfo *res;
	struct addrinfo *ai;
	int			fd = -1;
	int			rc;
	int			err = 0;
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);
	char		ip[INET6_ADDRSTRLEN];

	SplitListen(listen_at, flag, host, sizeof(host), port, sizeof(port));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* empty host: IPv6 any (dual stack) first, then IPv4 any */
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0)
	{
		char		msg[64];

		snprintf(msg, sizeof(msg), "--%s: %%s", flag);
		cli_die(msg, gai_strerror(rc));
	}
	for (int pass = 0; pass < 2 && fd < 0; pass++)
		for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		{
			int			one = 1;
			int			zero = 0;

			if (host[0] == '\0' && (pass == 0) != (ai->ai_family == AF_INET6))
				continue;
			if (host[0] != '\0' && pass == 1)
				continue;
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd < 0)
			{
				err = errno;
				continue;
			}
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0)
			{
				err = errno;
				close(fd);
				fd = -1;
			}
		}
	freeaddrinfo(res);
	if (fd < 0)
	{
		fprintf(stderr, "%s: cannot listen on %s: %s\n", cli_program, listen_at, strerror(err));
		exit(1);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	getsockname(fd, (struct sockaddr *) &ss, &sl);
	if (ss.ss_family == AF_INET6)
	{
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, ip, sizeof(ip));
		snprintf(addr, addrcap, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *) &ss)->sin6_port));
	}
	else
	{
		inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, ip, sizeof(ip));
		snprintf(addr, addrcap, "%s:%u", ip, ntohs(((struct sockaddr_in *) &ss)->sin_port));
	}
	return fd;
}
