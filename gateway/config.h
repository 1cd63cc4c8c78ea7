/*
 * config.h
 *	  Settings of pprof-gateway: defaults, hard limits and the runtime
 *	  configuration filled in by main.c from flags and environment.
 *
 * Every default here is documented in `pprof-gateway --help` and README.md;
 * change them together.
 */
#ifndef PGW_CONFIG_H
#define PGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* defaults (flags override) */
#define DEFAULT_LISTEN				":8080"
#define DEFAULT_MAX_BODY			(32u * 1024 * 1024)		/* bytes */
#define DEFAULT_UPLOAD_MEMORY		(256u * 1024 * 1024)	/* bytes, all uploads */
#define DEFAULT_CACHE_BYTES			(64u * 1024 * 1024)
#define DEFAULT_MERGE_MEMORY		(64u * 1024 * 1024)	/* pprof.retain_memory */
#define DEFAULT_POOL_WAIT_MS		2000
#define DEFAULT_CONNECT_TIMEOUT_S	3
#define DEFAULT_STATEMENT_TIMEOUT_MS 30000
#define DEFAULT_HEALTH_TIMEOUT_MS	2000
#define DEFAULT_HTTP_TIMEOUT_S		30
#define DEFAULT_MAX_CONNECTIONS		1000
#define DEFAULT_MAX_PER_IP			64
#define DEFAULT_CONN_MEMORY			(128u * 1024)
#define DEFAULT_DRAIN_TIMEOUT_S		40
#define DEFAULT_RETRY_AFTER_S		1
#define DEFAULT_METRICS_TAGS		20		/* tags in /metrics (pgo.tag_health) */
#define MAX_METRICS_TAGS			10000

/*
 * hard limits (not configurable): what protects the gateway itself. The
 * catalog's own rules (tag syntax, label and idempotency key sizes,
 * selection ranges) are judged by the catalog alone; these bounds are far
 * above them, so a request at the catalog's limits gets its verdict.
 */
#define MAX_PATH_LEN			1024	/* decoded path, bytes */
#define MAX_QUERY_PARAMS		128		/* the catalog takes 64 labels */
#define MAX_MULTIPART_PARTS		16
#define MAX_PART_HEADER_BYTES	8192
#define MAX_ERROR_HEADER_LEN	300		/* X-PGO-Error */
#define MAX_LOGGED_PATH_LEN		512
#define DB_QUERY_GRACE_MS		5000	/* client-side deadline beyond statement_timeout */
#define DB_RECONNECT_BACKOFF_MS	250		/* after a failed connect, fail fast this long */
#define DB_QUEUE_PER_WORKER		16		/* waiting jobs per database connection */
#define DB_MAX_PREPARED			64		/* prepared statements per connection */
#define CHUNKED_INITIAL_BUFFER	(64u * 1024)
#define LINGER_MAX_SOCKETS		256		/* lingering at once (linger.c) */
#define LINGER_MAX_MS			10000	/* a lingering socket is closed after */
#define LINGER_IDLE_MS			2000	/* ... or this long without a byte */
#define LINGER_MAX_BYTES		(256u * 1024 * 1024)	/* ... or discarding this much */

#define PGW_STR_(x) #x
#define PGW_STR(x) PGW_STR_(x)		/* a limit's number in a message */

/* runtime configuration */
struct config
{
	const char *listen;				/* HOST:PORT */
	const char *database_url;		/* libpq conninfo of the primary */
	const char *read_database_url;	/* NULL: GETs use the primary */
	const char *upload_token;		/* NULL: uploads need no token */
	const char *read_token;			/* NULL: reads need no token */
	size_t		max_body;
	size_t		upload_memory;
	size_t		cache_bytes;
	size_t		merge_memory;	/* 0: the server's pprof.retain_memory */
	unsigned	threads;			/* HTTP threads */
	unsigned	db_pool;			/* connections to the primary */
	unsigned	read_db_pool;		/* connections to the replica */
	unsigned	pool_wait_ms;
	unsigned	connect_timeout_s;
	unsigned	statement_timeout_ms;
	unsigned	health_timeout_ms;
	unsigned	http_timeout_s;
	unsigned	max_connections;
	unsigned	max_per_ip;
	size_t		conn_memory;
	unsigned	drain_timeout_s;
	unsigned	retry_after_s;
	unsigned	metrics_tags;		/* 0: no per-tag gauges */
};

extern struct config cfg;

#endif							/* PGW_CONFIG_H */
