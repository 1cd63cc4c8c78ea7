/*
 * worker.h
 *	  Settings of pprof-worker (filled in by main.c from flags and
 *	  environment) and the process-wide shutdown flags.
 *
 * Every default here is documented in `pprof-worker --help` and README.md;
 * change them together.
 */
#ifndef PGWK_WORKER_H
#define PGWK_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_VERSION "0.1"

/* defaults (flags override) */
#define DEFAULT_CONCURRENCY			4
#define DEFAULT_POLL_MS				1000
#define DEFAULT_DRAIN_TIMEOUT_S		60
#define DEFAULT_CONNECT_TIMEOUT_S	3
#define DEFAULT_STATEMENT_TIMEOUT_MS 30000
#define DEFAULT_MAX_PROFILE_BYTES	(64u * 1024 * 1024)
#define DEFAULT_MAX_INSTANCES		64

/* hard limits */
#define DB_RECONNECT_MAX_MS			5000	/* longest wait between connection attempts */
#define LAG_REFRESH_MS				5000	/* /metrics lag gauges */

/* --resolve: fixed addresses of a host name */
struct resolve_entry
{
	char	   *host;
	char	   *addrs;			/* numeric addresses, comma-separated */
};
#define MAX_RESOLVE_ENTRIES 64

struct worker_config
{
	const char *database_url;	/* libpq conninfo */
	const char *metrics_listen; /* HOST:PORT or NULL */
	const char *worker_id;		/* in leases and logs: host:pid unless set */
	const char *ca_file;		/* CA bundle for https targets, NULL: system's */
	unsigned	concurrency;	/* jobs run at once (runner threads) */
	unsigned	poll_ms;		/* idle runner's wait between claims */
	unsigned	drain_timeout_s;
	unsigned	connect_timeout_s;
	unsigned	statement_timeout_ms;
	size_t		max_profile_bytes;
	unsigned	max_instances;	/* addresses scraped per target and slot */
	struct resolve_entry resolve[MAX_RESOLVE_ENTRIES];
	int			n_resolve;
};

extern struct worker_config wcfg;

/* SIGTERM/SIGINT seen: claim nothing new */
extern volatile sig_atomic_t worker_stopping;
/* drain timeout passed: jobs in hand give up and are released */
extern volatile sig_atomic_t worker_abort;

/* monotonic clock */
extern int64_t now_ms(void);

#endif							/* PGWK_WORKER_H */
