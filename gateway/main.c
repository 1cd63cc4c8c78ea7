/*
 * main.c
 *	  pprof-gateway: flags and environment, the listening socket, signals,
 *	  and the graceful shutdown.
 *
 * SIGTERM/SIGINT: stop accepting connections, let requests in flight
 * finish (at most --drain-timeout), close the database connections, exit 0.
 * The signals are blocked in every thread and taken synchronously by the
 * main thread with sigwait, so no handler runs inside MHD or libpq.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "http.h"
#include "metrics.h"

#define GATEWAY_VERSION "0.1"

struct config cfg;

static const char usage[] =
"pprof-gateway " GATEWAY_VERSION ": the HTTP front of pg_pprof (uploads in, default.pgo out).\n"
"\n"
"Usage: pprof-gateway [FLAGS]\n"
"\n"
"Every flag can also be set by the environment variable shown; a flag wins.\n"
"Sizes take k, M, G suffixes (binary: 1k = 1024). Durations take ms, s, m\n"
"suffixes; a bare number is seconds.\n"
"\n"
"  --listen HOST:PORT        PGO_LISTEN            address to listen on (default :8080,\n"
"                                                  all interfaces; port 0 picks a free port)\n"
"  --database-url CONNINFO   PGO_DATABASE_URL      libpq URL or conninfo of the database\n"
"                                                  (required; \"\" means libpq's PG* defaults)\n"
"  --read-database-url C     PGO_READ_DATABASE_URL read replica for GET /profile, /tags\n"
"                                                  (default: none, reads use the primary)\n"
"  --upload-token-file FILE  PGO_UPLOAD_TOKEN      bearer token required by POST /profile\n"
"                                                  (the variable holds the token itself;\n"
"                                                  default: no token required)\n"
"  --read-token-file FILE    PGO_READ_TOKEN        bearer token required by GET /profile and\n"
"                                                  /tags (the upload token is accepted too;\n"
"                                                  default: reads are open)\n"
"  --max-body SIZE           PGO_MAX_BODY          largest upload body (default 32M); larger\n"
"                                                  Content-Length: 413 before reading\n"
"  --upload-memory SIZE      PGO_UPLOAD_MEMORY     all upload bodies buffered at once\n"
"                                                  (default 256M; beyond: 503)\n"
"  --cache-size SIZE         PGO_CACHE_SIZE        response cache of GET /profile (default\n"
"                                                  64M; 0 disables it)\n"
"  --threads N               PGO_THREADS           HTTP threads (default: number of CPUs)\n"
"  --db-pool N               PGO_DB_POOL           connections to the database (default:\n"
"                                                  2 x CPUs, at least 4)\n"
"  --read-db-pool N          PGO_READ_DB_POOL      connections to the replica (same default)\n"
"  --pool-wait DURATION      PGO_POOL_WAIT         longest wait for a free connection before\n"
"                                                  503 (default 2s)\n"
"  --connect-timeout DUR     PGO_CONNECT_TIMEOUT   connecting to the database (default 3s)\n"
"  --statement-timeout DUR   PGO_STATEMENT_TIMEOUT statement_timeout of the gateway's\n"
"                                                  sessions (default 30s)\n"
"  --health-timeout DUR      PGO_HEALTH_TIMEOUT    GET /healthz database check (default 2s)\n"
"  --http-timeout DUR        PGO_HTTP_TIMEOUT      idle HTTP connection timeout (default 30s)\n"
"  --max-connections N       PGO_MAX_CONNECTIONS   open HTTP connections (default 1000)\n"
"  --max-connections-per-ip N PGO_MAX_CONNECTIONS_PER_IP  (default 64)\n"
"  --connection-memory SIZE  PGO_CONNECTION_MEMORY per-connection memory for request line\n"
"                                                  and headers (default 128k)\n"
"  --drain-timeout DUR       PGO_DRAIN_TIMEOUT     on SIGTERM, wait this long for requests in\n"
"                                                  flight (default 40s)\n"
"  --retry-after SECONDS     PGO_RETRY_AFTER       Retry-After of 503 answers (default 1)\n"
"  --help, --version\n"
"\n"
"Routes: POST /profile/<tag>, GET|HEAD /profile/<tag>, GET|HEAD /profile/<tag>@<sha256>,\n"
"GET /tags, GET /healthz, GET /metrics. See README.md, section \"HTTP API\".\n"
"The access log (one JSON line per request) and events go to stderr.\n";

/* Print an error about the command line and exit 2. */
static void Die(const char *fmt, const char *arg) __attribute__((noreturn));
static void
Die(const char *fmt, const char *arg)
{
	fprintf(stderr, "pprof-gateway: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry pprof-gateway --help.\n");
	exit(2);
}

/* Parse a size with optional k/M/G (binary) suffix. */
static size_t
ParseSize(const char *name, const char *s)
{
	char	   *end;
	unsigned long long v;
	unsigned long long mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		Die("invalid size for %s", name);
	if (*end == 'k' || *end == 'K')
		mult = 1024ULL, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024ULL * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024ULL * 1024 * 1024, end++;
	if (mult > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end != '\0' || v > (1ULL << 40) / mult)
		Die("invalid size for %s", name);
	return (size_t) (v * mult);
}

/* Parse a duration (ms, s, m; bare: seconds) into milliseconds. */
static unsigned
ParseDurationMs(const char *name, const char *s)
{
	char	   *end;
	double		v;
	double		ms;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		Die("invalid duration for %s", name);
	if (strcmp(end, "ms") == 0)
		ms = v;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		ms = v * 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		ms = v * 60000;
	else
		Die("invalid duration for %s (use ms, s or m)", name);
	if (ms > 86400000.0)
		Die("duration too long for %s", name);
	return (unsigned) ms;
}

/* Parse a count in [min, max]. */
static unsigned
ParseCount(const char *name, const char *s, unsigned min, unsigned max)
{
	char	   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		Die("invalid number for %s", name);
	return (unsigned) v;
}

/* Read a token from a file: first line, trimmed. */
static char *
ReadTokenFile(const char *name, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	size_t		n;

	if (f == NULL)
		Die("cannot read the token file of %s", name);
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
					 line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	return strdup(line);
}

/* A token must be non-empty printable ASCII without spaces. */
static const char *
CheckToken(const char *name, const char *t)
{
	const char *p;

	if (t == NULL)
		return NULL;
	if (t[0] == '\0')
		Die("%s is empty (unset it to disable the token)", name);
	for (p = t; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			Die("%s contains spaces or non-printable characters", name);
	return t;
}

enum
{
	OPT_LISTEN = 1000, OPT_DATABASE_URL, OPT_READ_DATABASE_URL,
	OPT_UPLOAD_TOKEN_FILE, OPT_READ_TOKEN_FILE, OPT_MAX_BODY, OPT_UPLOAD_MEMORY,
	OPT_CACHE_SIZE, OPT_THREADS, OPT_DB_POOL, OPT_READ_DB_POOL, OPT_POOL_WAIT,
	OPT_CONNECT_TIMEOUT, OPT_STATEMENT_TIMEOUT, OPT_HEALTH_TIMEOUT,
	OPT_HTTP_TIMEOUT, OPT_MAX_CONNECTIONS, OPT_MAX_PER_IP, OPT_CONN_MEMORY,
	OPT_DRAIN_TIMEOUT, OPT_RETRY_AFTER, OPT_HELP, OPT_VERSION
};

/* flag -> environment variable */
static const struct
{
	int			opt;
	const char *flag;
	const char *env;
}			settings[] =
{
	{OPT_LISTEN, "listen", "PGO_LISTEN"},
	{OPT_DATABASE_URL, "database-url", "PGO_DATABASE_URL"},
	{OPT_READ_DATABASE_URL, "read-database-url", "PGO_READ_DATABASE_URL"},
	{OPT_UPLOAD_TOKEN_FILE, "upload-token-file", NULL},
	{OPT_READ_TOKEN_FILE, "read-token-file", NULL},
	{OPT_MAX_BODY, "max-body", "PGO_MAX_BODY"},
	{OPT_UPLOAD_MEMORY, "upload-memory", "PGO_UPLOAD_MEMORY"},
	{OPT_CACHE_SIZE, "cache-size", "PGO_CACHE_SIZE"},
	{OPT_THREADS, "threads", "PGO_THREADS"},
	{OPT_DB_POOL, "db-pool", "PGO_DB_POOL"},
	{OPT_READ_DB_POOL, "read-db-pool", "PGO_READ_DB_POOL"},
	{OPT_POOL_WAIT, "pool-wait", "PGO_POOL_WAIT"},
	{OPT_CONNECT_TIMEOUT, "connect-timeout", "PGO_CONNECT_TIMEOUT"},
	{OPT_STATEMENT_TIMEOUT, "statement-timeout", "PGO_STATEMENT_TIMEOUT"},
	{OPT_HEALTH_TIMEOUT, "health-timeout", "PGO_HEALTH_TIMEOUT"},
	{OPT_HTTP_TIMEOUT, "http-timeout", "PGO_HTTP_TIMEOUT"},
	{OPT_MAX_CONNECTIONS, "max-connections", "PGO_MAX_CONNECTIONS"},
	{OPT_MAX_PER_IP, "max-connections-per-ip", "PGO_MAX_CONNECTIONS_PER_IP"},
	{OPT_CONN_MEMORY, "connection-memory", "PGO_CONNECTION_MEMORY"},
	{OPT_DRAIN_TIMEOUT, "drain-timeout", "PGO_DRAIN_TIMEOUT"},
	{OPT_RETRY_AFTER, "retry-after", "PGO_RETRY_AFTER"},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* Apply one setting. */
static void
Apply(int opt, const char *name, const char *v)
{
	switch (opt)
	{
		case OPT_LISTEN:
			cfg.listen = v;
			break;
		case OPT_DATABASE_URL:
			cfg.database_url = v;
			break;
		case OPT_READ_DATABASE_URL:
			cfg.read_database_url = v[0] ? v : NULL;
			break;
		case OPT_UPLOAD_TOKEN_FILE:
			cfg.upload_token = ReadTokenFile(name, v);
			break;
		case OPT_READ_TOKEN_FILE:
			cfg.read_token = ReadTokenFile(name, v);
			break;
		case OPT_MAX_BODY:
			cfg.max_body = ParseSize(name, v);
			if (cfg.max_body == 0 || cfg.max_body > 1024u * 1024 * 1024)
				Die("%s must be between 1 byte and 1G", name);
			break;
		case OPT_UPLOAD_MEMORY:
			cfg.upload_memory = ParseSize(name, v);
			break;
		case OPT_CACHE_SIZE:
			cfg.cache_bytes = ParseSize(name, v);
			break;
		case OPT_THREADS:
			cfg.threads = ParseCount(name, v, 1, 1024);
			break;
		case OPT_DB_POOL:
			cfg.db_pool = ParseCount(name, v, 1, 1024);
			break;
		case OPT_READ_DB_POOL:
			cfg.read_db_pool = ParseCount(name, v, 1, 1024);
			break;
		case OPT_POOL_WAIT:
			cfg.pool_wait_ms = ParseDurationMs(name, v);
			break;
		case OPT_CONNECT_TIMEOUT:
			cfg.connect_timeout_s = (ParseDurationMs(name, v) + 999) / 1000;
			if (cfg.connect_timeout_s < 1)
				cfg.connect_timeout_s = 1;
			break;
		case OPT_STATEMENT_TIMEOUT:
			cfg.statement_timeout_ms = ParseDurationMs(name, v);
			if (cfg.statement_timeout_ms == 0)
				Die("%s must be positive (the gateway never waits forever)", name);
			break;
		case OPT_HEALTH_TIMEOUT:
			cfg.health_timeout_ms = ParseDurationMs(name, v);
			if (cfg.health_timeout_ms == 0)
				Die("%s must be positive", name);
			break;
		case OPT_HTTP_TIMEOUT:
			cfg.http_timeout_s = (ParseDurationMs(name, v) + 999) / 1000;
			if (cfg.http_timeout_s == 0)
				Die("%s must be positive", name);
			break;
		case OPT_MAX_CONNECTIONS:
			cfg.max_connections = ParseCount(name, v, 1, 1000000);
			break;
		case OPT_MAX_PER_IP:
			cfg.max_per_ip = ParseCount(name, v, 1, 1000000);
			break;
		case OPT_CONN_MEMORY:
			cfg.conn_memory = ParseSize(name, v);
			if (cfg.conn_memory < 8192)
				Die("%s must be at least 8k", name);
			break;
		case OPT_DRAIN_TIMEOUT:
			cfg.drain_timeout_s = (ParseDurationMs(name, v) + 999) / 1000;
			break;
		case OPT_RETRY_AFTER:
			cfg.retry_after_s = ParseCount(name, v, 1, 3600);
			break;
	}
}

/* Defaults, then environment, then flags. */
static void
Configure(int argc, char **argv)
{
	struct option longopts[NSETTINGS + 3];
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t		i;
	int			c;

	if (ncpu < 1)
		ncpu = 1;
	cfg.listen = DEFAULT_LISTEN;
	cfg.max_body = DEFAULT_MAX_BODY;
	cfg.upload_memory = DEFAULT_UPLOAD_MEMORY;
	cfg.cache_bytes = DEFAULT_CACHE_BYTES;
	cfg.threads = (unsigned) ncpu;
	cfg.db_pool = cfg.read_db_pool = (unsigned) (ncpu * 2 < 4 ? 4 : ncpu * 2);
	cfg.pool_wait_ms = DEFAULT_POOL_WAIT_MS;
	cfg.connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	cfg.statement_timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS;
	cfg.health_timeout_ms = DEFAULT_HEALTH_TIMEOUT_MS;
	cfg.http_timeout_s = DEFAULT_HTTP_TIMEOUT_S;
	cfg.max_connections = DEFAULT_MAX_CONNECTIONS;
	cfg.max_per_ip = DEFAULT_MAX_PER_IP;
	cfg.conn_memory = DEFAULT_CONN_MEMORY;
	cfg.drain_timeout_s = DEFAULT_DRAIN_TIMEOUT_S;
	cfg.retry_after_s = DEFAULT_RETRY_AFTER_S;

	for (i = 0; i < NSETTINGS; i++)
	{
		const char *v = settings[i].env ? getenv(settings[i].env) : NULL;

		if (v != NULL)
			Apply(settings[i].opt, settings[i].env, v);
		longopts[i].name = settings[i].flag;
		longopts[i].has_arg = required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = settings[i].opt;
	}
	longopts[NSETTINGS] = (struct option) {"help", no_argument, NULL, OPT_HELP};
	longopts[NSETTINGS + 1] = (struct option) {"version", no_argument, NULL, OPT_VERSION};
	longopts[NSETTINGS + 2] = (struct option) {NULL, 0, NULL, 0};

	/* tokens come from the environment, never from argv (visible in ps) */
	cfg.upload_token = getenv("PGO_UPLOAD_TOKEN");
	cfg.read_token = getenv("PGO_READ_TOKEN");

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		if (c == OPT_HELP)
		{
			fputs(usage, stdout);
			exit(0);
		}
		if (c == OPT_VERSION)
		{
			printf("pprof-gateway %s (libmicrohttpd %s, libpq %d)\n", GATEWAY_VERSION,
				   MHD_get_version(), PQlibVersion());
			exit(0);
		}
		if (c == '?')
		{
			fprintf(stderr, "Try pprof-gateway --help.\n");
			exit(2);
		}
		for (i = 0; i < NSETTINGS; i++)
			if (settings[i].opt == c)
				Apply(c, settings[i].flag, optarg);
	}
	if (optind < argc)
		Die("unexpected argument %s", argv[optind]);
	if (cfg.database_url == NULL)
		Die("%s", "no database: set PGO_DATABASE_URL or --database-url (\"\" for libpq's PG* defaults)");
	cfg.upload_token = CheckToken("the upload token", cfg.upload_token);
	cfg.read_token = CheckToken("the read token", cfg.read_token);
	if (cfg.upload_memory < cfg.max_body)
		cfg.upload_memory = cfg.max_body;
}

/* Split HOST:PORT ("[v6]:port" allowed; empty host: all interfaces). */
static void
SplitListen(const char *s, char *host, size_t hostcap, char *port, size_t portcap)
{
	const char *colon = strrchr(s, ':');
	size_t		hlen;

	if (colon == NULL || colon[1] == '\0')
		Die("--listen %s: expected HOST:PORT, e.g. :8080 or 127.0.0.1:8080", s);
	hlen = (size_t) (colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']')
	{
		s++;
		hlen -= 2;
	}
	if (hlen >= hostcap || strlen(colon + 1) >= portcap)
		Die("--listen %s: too long", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
}

/* Create, bind and listen; the bound address is written to addr. */
static int
Listen(char *addr, size_t addrcap)
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

	SplitListen(cfg.listen, host, sizeof(host), port, sizeof(port));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* empty host: IPv6 any (dual stack) first, then IPv4 any */
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0)
		Die("--listen: %s", gai_strerror(rc));
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
		fprintf(stderr, "pprof-gateway: cannot listen on %s: %s\n", cfg.listen, strerror(err));
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

/* Sleep for ms milliseconds. */
static void
SleepMs(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	sigset_t	sigs;
	int			sig = 0;
	int			fd;
	char		addr[300];
	struct MHD_Daemon *daemon;
	int64_t		deadline;
	long		left;
	int			status = 0;

	Configure(argc, argv);

	/* block before any thread starts: every thread inherits the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = Listen(addr, sizeof(addr));
	cache_init(cfg.cache_bytes);
	db_primary = db_executor_start("primary", cfg.database_url, cfg.db_pool, false);
	db_reader = cfg.read_database_url ?
		db_executor_start("replica", cfg.read_database_url, cfg.read_db_pool, true) : db_primary;
	if (db_primary == NULL || db_reader == NULL)
	{
		log_event("fatal", "cannot start the database threads", "out of memory");
		return 1;
	}
	daemon = http_start(fd);
	if (daemon == NULL)
	{
		log_event("fatal", "cannot start the HTTP server", cfg.listen);
		return 1;
	}
	log_eventf("info", "listening",
			   "addr=%s threads=%u db_pool=%u read_replica=%s upload_token=%s read_token=%s max_body=%zu",
			   addr, cfg.threads, cfg.db_pool, cfg.read_database_url ? "yes" : "no",
			   cfg.upload_token ? "required" : "none", cfg.read_token ? "required" : "none",
			   cfg.max_body);

	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;

	/* drain: no new connections; requests in flight finish */
	server_draining = 1;
	log_eventf("info", "draining", "signal=%s in_flight=%ld",
			   sig == SIGTERM ? "SIGTERM" : "SIGINT", metrics_get_in_flight());
	fd = MHD_quiesce_daemon(daemon);
	if (fd >= 0)
		close(fd);
	deadline = now_ns() + (int64_t) cfg.drain_timeout_s * 1000000000;
	while ((left = metrics_get_in_flight()) > 0 && now_ns() < deadline)
		SleepMs(20);
	if (left > 0)
	{
		/* MHD cannot stop with suspended connections: leave hard */
		log_eventf("error", "drain timeout", "%ld requests still in flight; exiting", left);
		_exit(1);
	}
	http_stop(daemon);
	db_executor_stop(db_reader != db_primary ? db_reader : NULL);
	db_executor_stop(db_primary);
	cache_shutdown();
	log_event("info", "stopped", NULL);
	return status;
}
