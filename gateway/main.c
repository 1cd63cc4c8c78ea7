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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"

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
"  --merge-memory SIZE       PGO_MERGE_MEMORY      freed memory each database session keeps\n"
"                                                  for its next merge (pprof.retain_memory;\n"
"                                                  default 64M; 0: the server's setting)\n"
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
"  --metrics-tags N          PGO_METRICS_TAGS      tags with per-tag gauges in /metrics, those\n"
"                                                  with the newest uploads (default 20, 0: none)\n"
"  --help, --version\n"
"\n"
"Routes: POST /profile/<tag>, GET|HEAD /profile/<tag>, GET|HEAD /profile/<tag>@<sha256>,\n"
"GET /tags, GET /healthz, GET /metrics. See README.md, section \"HTTP API\".\n"
"The access log (one JSON line per request) and events go to stderr.\n";

/* Read a token from a file: first line, trimmed. */
static char *
ReadTokenFile(const char *name, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	size_t		n;

	if (f == NULL)
		cli_die("cannot read the token file of %s", name);
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
		cli_die("%s is empty (unset it to disable the token)", name);
	for (p = t; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			cli_die("%s contains spaces or non-printable characters", name);
	return t;
}

enum
{
	OPT_LISTEN = 1000, OPT_DATABASE_URL, OPT_READ_DATABASE_URL,
	OPT_UPLOAD_TOKEN_FILE, OPT_READ_TOKEN_FILE, OPT_MAX_BODY, OPT_UPLOAD_MEMORY,
	OPT_CACHE_SIZE, OPT_MERGE_MEMORY, OPT_THREADS, OPT_DB_POOL, OPT_READ_DB_POOL, OPT_POOL_WAIT,
	OPT_CONNECT_TIMEOUT, OPT_STATEMENT_TIMEOUT, OPT_HEALTH_TIMEOUT,
	OPT_HTTP_TIMEOUT, OPT_MAX_CONNECTIONS, OPT_MAX_PER_IP, OPT_CONN_MEMORY,
	OPT_DRAIN_TIMEOUT, OPT_RETRY_AFTER, OPT_METRICS_TAGS
};

/* flag -> environment variable */
static const struct cli_setting settings[] =
{
	{OPT_LISTEN, "listen", "PGO_LISTEN"},
	{OPT_DATABASE_URL, "database-url", "PGO_DATABASE_URL"},
	{OPT_READ_DATABASE_URL, "read-database-url", "PGO_READ_DATABASE_URL"},
	{OPT_UPLOAD_TOKEN_FILE, "upload-token-file", NULL},
	{OPT_READ_TOKEN_FILE, "read-token-file", NULL},
	{OPT_MAX_BODY, "max-body", "PGO_MAX_BODY"},
	{OPT_UPLOAD_MEMORY, "upload-memory", "PGO_UPLOAD_MEMORY"},
	{OPT_CACHE_SIZE, "cache-size", "PGO_CACHE_SIZE"},
	{OPT_MERGE_MEMORY, "merge-memory", "PGO_MERGE_MEMORY"},
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
	{OPT_METRICS_TAGS, "metrics-tags", "PGO_METRICS_TAGS"},
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
			cfg.max_body = cli_size(name, v);
			if (cfg.max_body == 0 || cfg.max_body > 1024u * 1024 * 1024)
				cli_die("%s must be between 1 byte and 1G", name);
			break;
		case OPT_UPLOAD_MEMORY:
			cfg.upload_memory = cli_size(name, v);
			break;
		case OPT_CACHE_SIZE:
			cfg.cache_bytes = cli_size(name, v);
			break;
		case OPT_MERGE_MEMORY:
			cfg.merge_memory = cli_size(name, v);
			/* the setting's range: kB up to INT_MAX / 1024 */
			if (cfg.merge_memory > 2047u * 1024 * 1024)
				cli_die("%s must be at most 2047M", name);
			break;
		case OPT_THREADS:
			cfg.threads = cli_count(name, v, 1, 1024);
			break;
		case OPT_DB_POOL:
			cfg.db_pool = cli_count(name, v, 1, 1024);
			break;
		case OPT_READ_DB_POOL:
			cfg.read_db_pool = cli_count(name, v, 1, 1024);
			break;
		case OPT_POOL_WAIT:
			cfg.pool_wait_ms = cli_duration_ms(name, v);
			break;
		case OPT_CONNECT_TIMEOUT:
			cfg.connect_timeout_s = (cli_duration_ms(name, v) + 999) / 1000;
			if (cfg.connect_timeout_s < 1)
				cfg.connect_timeout_s = 1;
			break;
		case OPT_STATEMENT_TIMEOUT:
			cfg.statement_timeout_ms = cli_duration_ms(name, v);
			if (cfg.statement_timeout_ms == 0)
				cli_die("%s must be positive (the gateway never waits forever)", name);
			break;
		case OPT_HEALTH_TIMEOUT:
			cfg.health_timeout_ms = cli_duration_ms(name, v);
			if (cfg.health_timeout_ms == 0)
				cli_die("%s must be positive", name);
			break;
		case OPT_HTTP_TIMEOUT:
			cfg.http_timeout_s = (cli_duration_ms(name, v) + 999) / 1000;
			if (cfg.http_timeout_s == 0)
				cli_die("%s must be positive", name);
			break;
		case OPT_MAX_CONNECTIONS:
			cfg.max_connections = cli_count(name, v, 1, 1000000);
			break;
		case OPT_MAX_PER_IP:
			cfg.max_per_ip = cli_count(name, v, 1, 1000000);
			break;
		case OPT_CONN_MEMORY:
			cfg.conn_memory = cli_size(name, v);
			if (cfg.conn_memory < 8192)
				cli_die("%s must be at least 8k", name);
			break;
		case OPT_DRAIN_TIMEOUT:
			cfg.drain_timeout_s = (cli_duration_ms(name, v) + 999) / 1000;
			break;
		case OPT_RETRY_AFTER:
			cfg.retry_after_s = cli_count(name, v, 1, 3600);
			break;
		case OPT_METRICS_TAGS:
			cfg.metrics_tags = cli_count(name, v, 0, MAX_METRICS_TAGS);
			break;
	}
}

/* --version */
static void
Version(void)
{
	printf("pprof-gateway %s (libmicrohttpd %s, libpq %d)\n", GATEWAY_VERSION,
		   MHD_get_version(), PQlibVersion());
}

/* Defaults, then environment, then flags. */
static void
Configure(int argc, char **argv)
{
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 1)
		ncpu = 1;
	cfg.listen = DEFAULT_LISTEN;
	cfg.max_body = DEFAULT_MAX_BODY;
	cfg.upload_memory = DEFAULT_UPLOAD_MEMORY;
	cfg.cache_bytes = DEFAULT_CACHE_BYTES;
	cfg.merge_memory = DEFAULT_MERGE_MEMORY;
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
	cfg.metrics_tags = DEFAULT_METRICS_TAGS;

	/* tokens come from the environment, never from argv (visible in ps) */
	cfg.upload_token = getenv("PGO_UPLOAD_TOKEN");
	cfg.read_token = getenv("PGO_READ_TOKEN");

	cli_program = "pprof-gateway";
	cli_configure(argc, argv, settings, NSETTINGS, Apply, usage, Version);
	if (cfg.database_url == NULL)
		cli_die("%s", "no database: set PGO_DATABASE_URL or --database-url (\"\" for libpq's PG* defaults)");
	cfg.upload_token = CheckToken("the upload token", cfg.upload_token);
	cfg.read_token = CheckToken("the read token", cfg.read_token);
	if (cfg.upload_memory < cfg.max_body)
		cfg.upload_memory = cfg.max_body;
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

	fd = cli_listen(cfg.listen, "listen", addr, sizeof(addr));
	cache_init(cfg.cache_bytes);
	db_primary = db_executor_start("primary", cfg.database_url, cfg.db_pool, false);
	db_reader = cfg.read_database_url ?
		db_executor_start("replica", cfg.read_database_url, cfg.read_db_pool, true) : db_primary;
	if (db_primary == NULL || db_reader == NULL)
	{
		log_event("fatal", "cannot start the database threads", "out of memory");
		return 1;
	}
	daemon = http_start(fd, routes_init());
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
