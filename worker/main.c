/*
 * main.c
 *	  pprof-worker: flags and environment, signals, the lag gauges and the
 *	  graceful shutdown.
 *
 * SIGTERM/SIGINT: runners claim nothing more and finish the jobs in hand;
 * after --drain-timeout the jobs still running give up and are released
 * (another worker claims them at once); exit 0. Signals are blocked in
 * every thread and taken by the main thread with sigtimedwait, which also
 * paces the lag gauges of /metrics.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "cli.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "runner.h"
#include "worker.h"

struct worker_config wcfg;
volatile sig_atomic_t worker_stopping;
volatile sig_atomic_t worker_abort;

static const char usage[] =
"pprof-worker " WORKER_VERSION ": the scheduled work of pg_pprof (scrapes of /debug/pprof,\n"
"publishing default.pgo to git forges).\n"
"\n"
"Usage: pprof-worker [FLAGS]\n"
"\n"
"Jobs are rows of the catalog (pgo.scrape_targets, pgo.publications); any\n"
"number of workers on any number of hosts share them: a due job is leased\n"
"to one worker, and the lease of a worker that dies expires, so another\n"
"one takes the job.\n"
"Every flag can also be set by the environment variable shown; a flag wins.\n"
"Durations take ms, s, m suffixes (a bare number is seconds); sizes k, M, G.\n"
"\n"
"  --database-url CONNINFO   PGO_DATABASE_URL      libpq URL or conninfo of the database\n"
"                                                  (required; \"\" means libpq's PG* defaults)\n"
"  --concurrency N           PGO_CONCURRENCY       jobs run at once, each with its own\n"
"                                                  database connection (default 4)\n"
"  --metrics-listen H:PORT   PGO_METRICS_LISTEN    serve GET /metrics there (default: off;\n"
"                                                  port 0 picks a free port, logged)\n"
"  --poll-interval DUR       PGO_POLL_INTERVAL     an idle runner's wait between claims\n"
"                                                  (default 1s)\n"
"  --drain-timeout DUR       PGO_DRAIN_TIMEOUT     on SIGTERM, wait this long for jobs in\n"
"                                                  hand, then release them (default 60s)\n"
"  --worker-id NAME          PGO_WORKER_ID         name in leases and logs (default\n"
"                                                  HOST:PID)\n"
"  --max-profile-size SIZE   PGO_MAX_PROFILE_SIZE  largest scraped body (default 64M)\n"
"  --max-instances N         PGO_MAX_INSTANCES     addresses of one target host scraped\n"
"                                                  per slot (default 64)\n"
"  --resolve HOST=ADDR,...   PGO_RESOLVE           fixed addresses of a host name instead of\n"
"                                                  DNS, as curl --resolve (repeatable; in the\n"
"                                                  variable, entries separated by spaces)\n"
"  --ca-file FILE            PGO_CA_FILE           CA certificates for https targets and\n"
"                                                  forges (default: the system's)\n"
"  --connect-timeout DUR     PGO_CONNECT_TIMEOUT   connecting to the database (default 3s)\n"
"  --statement-timeout DUR   PGO_STATEMENT_TIMEOUT statement_timeout of the worker's\n"
"                                                  sessions (default 30s)\n"
"  --help, --version\n"
"\n"
"Publications name their forge credential: an environment variable of the\n"
"worker, an absolute file, or a file in $PGO_CREDENTIALS_DIR; commits of\n"
"forge git are authored by $PGO_GIT_AUTHOR_NAME <$PGO_GIT_AUTHOR_EMAIL>.\n"
"\n"
"Log: one JSON line per event on stderr (\"job done\", \"job failed\" with the\n"
"kind, the job and the reason). See README.md, sections \"Pull mode\" and\n"
"\"Publishing\".\n";

enum
{
	OPT_DATABASE_URL = 1000, OPT_CONCURRENCY, OPT_METRICS_LISTEN, OPT_POLL,
	OPT_DRAIN_TIMEOUT, OPT_WORKER_ID, OPT_MAX_PROFILE, OPT_MAX_INSTANCES,
	OPT_CA_FILE, OPT_CONNECT_TIMEOUT, OPT_STATEMENT_TIMEOUT, OPT_RESOLVE
};

/* flag -> environment variable */
static const struct cli_setting settings[] =
{
	{OPT_DATABASE_URL, "database-url", "PGO_DATABASE_URL"},
	{OPT_CONCURRENCY, "concurrency", "PGO_CONCURRENCY"},
	{OPT_METRICS_LISTEN, "metrics-listen", "PGO_METRICS_LISTEN"},
	{OPT_POLL, "poll-interval", "PGO_POLL_INTERVAL"},
	{OPT_DRAIN_TIMEOUT, "drain-timeout", "PGO_DRAIN_TIMEOUT"},
	{OPT_WORKER_ID, "worker-id", "PGO_WORKER_ID"},
	{OPT_MAX_PROFILE, "max-profile-size", "PGO_MAX_PROFILE_SIZE"},
	{OPT_MAX_INSTANCES, "max-instances", "PGO_MAX_INSTANCES"},
	{OPT_CA_FILE, "ca-file", "PGO_CA_FILE"},
	{OPT_CONNECT_TIMEOUT, "connect-timeout", "PGO_CONNECT_TIMEOUT"},
	{OPT_STATEMENT_TIMEOUT, "statement-timeout", "PGO_STATEMENT_TIMEOUT"},
	{OPT_RESOLVE, "resolve", "PGO_RESOLVE"},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/*
 * Add --resolve entries: "HOST=ADDR[,ADDR...]", several separated by
 * spaces; every address numeric.
 */
static void
AddResolve(const char *name, const char *v)
{
	char	   *copy = strdup(v);
	char	   *save = NULL;

	if (copy == NULL)
		cli_die("%s", "out of memory");
	for (char *e = strtok_r(copy, " \t", &save); e != NULL; e = strtok_r(NULL, " \t", &save))
	{
		char	   *eq = strchr(e, '=');
		char	   *addrs;
		char	   *save2 = NULL;

		if (eq == NULL || eq == e || eq[1] == '\0' || wcfg.n_resolve == MAX_RESOLVE_ENTRIES)
			cli_die("%s: expected HOST=ADDR[,ADDR...] (at most 64 hosts)", name);
		*eq = '\0';
		addrs = strdup(eq + 1);
		wcfg.resolve[wcfg.n_resolve].host = e;
		wcfg.resolve[wcfg.n_resolve].addrs = eq + 1;
		for (char *a = strtok_r(addrs, ",", &save2); a != NULL; a = strtok_r(NULL, ",", &save2))
		{
			unsigned char buf[16];

			if (inet_pton(AF_INET, a, buf) != 1 && inet_pton(AF_INET6, a, buf) != 1)
				cli_die("%s: not a numeric IPv4 or IPv6 address in --resolve", a);
		}
		free(addrs);
		wcfg.n_resolve++;
	}
}

/* Apply one setting. */
static void
Apply(int opt, const char *name, const char *v)
{
	switch (opt)
	{
		case OPT_DATABASE_URL:
			wcfg.database_url = v;
			break;
		case OPT_CONCURRENCY:
			wcfg.concurrency = cli_count(name, v, 1, 1024);
			break;
		case OPT_METRICS_LISTEN:
			wcfg.metrics_listen = v[0] ? v : NULL;
			break;
		case OPT_POLL:
			wcfg.poll_ms = cli_duration_ms(name, v);
			if (wcfg.poll_ms < 10)
				cli_die("%s must be at least 10ms", name);
			break;
		case OPT_DRAIN_TIMEOUT:
			wcfg.drain_timeout_s = (cli_duration_ms(name, v) + 999) / 1000;
			break;
		case OPT_WORKER_ID:
			if (v[0] == '\0' || strlen(v) > 200)
				cli_die("%s must have 1 to 200 characters", name);
			wcfg.worker_id = v;
			break;
		case OPT_MAX_PROFILE:
			wcfg.max_profile_bytes = cli_size(name, v);
			break;
		case OPT_MAX_INSTANCES:
			wcfg.max_instances = cli_count(name, v, 1, 1024);
			break;
		case OPT_RESOLVE:
			AddResolve(name, v);
			break;
		case OPT_CA_FILE:
			wcfg.ca_file = v[0] ? v : NULL;
			break;
		case OPT_CONNECT_TIMEOUT:
			wcfg.connect_timeout_s = (cli_duration_ms(name, v) + 999) / 1000;
			if (wcfg.connect_timeout_s < 1)
				wcfg.connect_timeout_s = 1;
			break;
		case OPT_STATEMENT_TIMEOUT:
			wcfg.statement_timeout_ms = cli_duration_ms(name, v);
			if (wcfg.statement_timeout_ms == 0)
				cli_die("%s must be positive (the worker never waits forever)", name);
			break;
	}
}

/* --version */
static void
Version(void)
{
	printf("pprof-worker %s (%s, libpq %d, jansson %s)\n", WORKER_VERSION,
		   curl_version(), PQlibVersion(), jansson_version_str());
}

/* Defaults, then environment, then flags. */
static void
Configure(int argc, char **argv)
{
	static char default_id[300];
	char		host[256];

	wcfg.concurrency = DEFAULT_CONCURRENCY;
	wcfg.poll_ms = DEFAULT_POLL_MS;
	wcfg.drain_timeout_s = DEFAULT_DRAIN_TIMEOUT_S;
	wcfg.connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	wcfg.statement_timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS;
	wcfg.max_profile_bytes = DEFAULT_MAX_PROFILE_BYTES;
	wcfg.max_instances = DEFAULT_MAX_INSTANCES;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(default_id, sizeof(default_id), "%s:%ld", host, (long) getpid());
	wcfg.worker_id = default_id;

	cli_program = "pprof-worker";
	cli_configure(argc, argv, settings, NSETTINGS, Apply, usage, Version);
	if (wcfg.database_url == NULL)
		cli_die("%s", "no database: set PGO_DATABASE_URL or --database-url (\"\" for libpq's PG* defaults)");
}

/* Monotonic milliseconds. */
int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Refresh the lag gauges (own connection, kept between calls). */
static void
RefreshLag(PGconn **conn)
{
	struct db_error err;

	if (db_broken(*conn))
	{
		PQfinish(*conn);
		*conn = db_connect(&err);
		if (*conn == NULL)
			return;
	}
	for (int k = 0; k < n_job_kinds; k++)
	{
		PGresult   *res = db_exec(*conn, job_kinds[k]->lag_sql, 0, NULL, NULL, NULL, &err);

		if (res == NULL)
			continue;
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
			metrics_set_lag(k, strtod(PQgetvalue(res, 0, 0), NULL));
		PQclear(res);
	}
}

/* Wait for a signal, up to ms; the signal, or 0. */
static int
WaitSignal(const sigset_t *sigs, unsigned ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};
	int			sig = sigtimedwait(sigs, NULL, &ts);

	return sig < 0 ? 0 : sig;
}

int
main(int argc, char **argv)
{
	sigset_t	sigs;
	int			sig = 0;
	int64_t		deadline;
	PGconn	   *lag_conn = NULL;

	Configure(argc, argv);

	/* block before any thread starts: every thread inherits the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
	{
		log_event("fatal", "cannot initialize libcurl", NULL);
		return 1;
	}
	for (int k = 0; k < n_job_kinds; k++)
		if (job_kinds[k]->prepare != NULL && !job_kinds[k]->prepare())
			return 1;
	if (wcfg.metrics_listen != NULL && !metrics_start(wcfg.metrics_listen))
		return 1;
	if (!runner_start())
	{
		log_event("fatal", "cannot start the runner threads", NULL);
		return 1;
	}
	log_eventf("info", "started", "worker_id=%s concurrency=%u poll_ms=%u kinds=%d",
			   wcfg.worker_id, wcfg.concurrency, wcfg.poll_ms, n_job_kinds);

	while (sig != SIGTERM && sig != SIGINT)
	{
		if (wcfg.metrics_listen != NULL)
			RefreshLag(&lag_conn);
		sig = WaitSignal(&sigs, LAG_REFRESH_MS);
	}
	PQfinish(lag_conn);

	/* drain: claim nothing more, finish the jobs in hand */
	worker_stopping = 1;
	runner_wake();
	log_eventf("info", "draining", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	deadline = now_ms() + (int64_t) wcfg.drain_timeout_s * 1000;
	while (runner_alive() > 0 && now_ms() < deadline)
		if (WaitSignal(&sigs, 50) != 0)
			break;				/* a second signal: stop waiting */
	if (runner_alive() > 0)
	{
		log_eventf("warning", "drain timeout", "%d jobs still running; releasing them",
				   runner_alive());
		worker_abort = 1;
	}
	runner_join();
	metrics_stop();
	curl_global_cleanup();
	log_event("info", "stopped", NULL);
	return 0;
}
