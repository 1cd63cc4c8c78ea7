/*
 * info.c
 *	  GET /tags (the catalog's pgo.tags view as JSON), GET /healthz (the
 *	  database answers within --health-timeout), GET /metrics (Prometheus).
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "json.h"
#include "metrics.h"
#include "routes.h"

/* Database thread: the tags as one JSON document built by PostgreSQL. */
static bool
TagsRun(struct db_ctx *ctx, void *arg)
{
	struct request *r = arg;
	PGresult   *res;
	struct buf	b;

	res = db_query(ctx,
				   "SELECT coalesce(json_agg(t ORDER BY t.tag), '[]')::text FROM pgo.tags t",
				   0, NULL, NULL, NULL, 0);
	if (res == NULL)
		return !ctx->err->conn_lost;
	buf_init(&b);
	buf_puts(&b, "{\"tags\":");
	buf_puts(&b, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "[]");
	buf_puts(&b, "}");
	PQclear(res);
	reply_json(r, 200, &b);
	return true;
}

/* GET /tags. */
enum action
tags_get(struct request *r)
{
	return request_db(r, TagsRun, db_reader, 0, NULL);
}

/* Database thread: SELECT 1. */
static bool
PingRun(struct db_ctx *ctx, void *arg)
{
	PGresult   *res;

	(void) arg;
	res = db_query(ctx, "SELECT 1", 0, NULL, NULL, NULL, 0);
	if (res == NULL)
		return !ctx->err->conn_lost;
	PQclear(res);
	return true;
}

/* After a ping of the primary: the replica's next, or answer. */
static enum action
HealthzNext(struct request *r)
{
	struct buf	b;

	if (r->executor != db_reader)
	{
		r->executor = db_reader;
		return ACT_DB;
	}
	buf_init(&b);
	buf_puts(&b, "{\"status\":\"ok\",\"database\":\"ok\"");
	if (db_reader != db_primary)
		buf_puts(&b, ",\"replica\":\"ok\"");
	buf_puts(&b, "}");
	reply_json(r, 200, &b);
	return ACT_REPLY;
}

/* GET /healthz: 200 when the database (and replica) answer, else 503. */
enum action
healthz_get(struct request *r)
{
	if (server_draining)
	{
		reply_error(r, 503, "draining", "The gateway is shutting down.");
		return ACT_REPLY;
	}
	return request_db(r, PingRun, db_primary, cfg.health_timeout_ms, HealthzNext);
}

/* GET /metrics: the per-tag gauges the database thread rendered */
struct metrics_state
{
	struct buf	tags;
};

/* Free the state of a GET /metrics. */
void
metrics_free(void *state)
{
	struct metrics_state *m = state;

	buf_free(&m->tags);
	free(m);
}

/* One gauge of every tag's row, from column col of res (NULL: no sample). */
static void
TagGauge(struct buf *b, PGresult *res, int col, const char *name, const char *help)
{
	int			i;

	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	/* tags are [A-Za-z0-9._-]: nothing to escape in a label value */
	for (i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, col))
			buf_printf(b, "%s{tag=\"%s\"} %s\n", name, PQgetvalue(res, i, 0), PQgetvalue(res, i, col));
}

/*
 * Database thread: pgo.tag_health, the catalog's one judgement of a tag's
 * profile age and drift, as gauges. A failure leaves them out and says so
 * in pgo_gateway_tag_health_up: the gateway's own metrics are served
 * whatever the database does.
 */
#define TAG_HEALTH_UP_HELP "1 when the per-tag gauges (pgo.tag_health) could be read, else 0."

static bool
TagHealthRun(struct db_ctx *ctx, void *arg)
{
	struct request *r = arg;
	struct metrics_state *m = r->state;
	char		n[16];
	const char *values[1] = {n};
	PGresult   *res;

	snprintf(n, sizeof(n), "%u", cfg.metrics_tags);
	res = db_query(ctx, "SELECT tag, usable_age_seconds, drift FROM pgo.tag_health($1::integer)",
				   1, values, NULL, NULL, 0);
	if (res == NULL)
		return true;			/* MetricsReply says so */
	metrics_gauge(&m->tags, "pgo_gateway_tag_health_up", TAG_HEALTH_UP_HELP, 1);
	TagGauge(&m->tags, res, 1, "pgo_tag_profile_age_seconds",
			 "Age of the tag's newest PGO-usable profile (absent: it has none).");
	TagGauge(&m->tags, res, 2, "pgo_tag_drift",
			 "pgo.drift of the tag's default selection against its newest release, 0 to 1 (absent: no release).");
	PQclear(res);
	return true;
}

/*
 * GET /metrics: the gateway's counters (metrics.c), then what the database
 * executors and the response cache report of themselves, then the per-tag
 * gauges (MetricsTags).
 */
static enum action
MetricsReply(struct request *r)
{
	struct metrics_state *m = r->state;
	struct buf	b;
	struct db_stats ds;
	struct cache_stats cs;

	db_get_stats(&ds);
	cache_get_stats(&cs);
	buf_init(&b);
	metrics_render(&b);
	metrics_counters(&b, "pgo_gateway_db_errors_total", "Database failures by kind.",
					 "kind", db_error_kind_names, ds.errors, DBERR_COUNT);
	metrics_counters(&b, "pgo_gateway_cache_requests_total",
					 "GET /profile answers by result: hit, miss (merged), shared (a coalesced request's answer).",
					 "result", cache_result_names, cs.results, CACHE_RESULT_COUNT);
	metrics_gauge(&b, "pgo_gateway_cache_bytes", "Bytes held by the response cache.",
				  (double) cs.bytes);
	metrics_gauge(&b, "pgo_gateway_cache_entries", "Entries in the response cache.",
				  (double) cs.entries);
	metrics_gauge(&b, "pgo_gateway_db_connections", "Open database connections (primary and replica).",
				  (double) ds.connections);
	metrics_gauge(&b, "pgo_gateway_db_queued", "Requests waiting for a database connection.",
				  (double) ds.queued);
	metrics_gauge(&b, "pgo_gateway_in_flight_requests", "Requests being processed.",
				  (double) metrics_get_in_flight());
	if (m != NULL && r->job.err.http_status != 0)
	{
		/* the database failed: the gateway's own metrics all the same */
		memset(&r->job.err, 0, sizeof(r->job.err));
		buf_free(&m->tags);
		buf_init(&m->tags);
		metrics_gauge(&m->tags, "pgo_gateway_tag_health_up", TAG_HEALTH_UP_HELP, 0);
	}
	if (m != NULL)
	{
		buf_put(&b, m->tags.data, m->tags.len);
		if (m->tags.oom)
			b.oom = true;
	}
	if (b.oom)
	{
		buf_free(&b);
		reply_out_of_memory(r);
		return ACT_REPLY;
	}
	r->reply.status = 200;
	r->reply.body = buf_steal(&b, &r->reply.len);
	r->reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
	return ACT_REPLY;
}

/*
 * GET /metrics. The per-tag gauges (--metrics-tags of them) name tags, so
 * with a read token they are only for a request that carries it; each
 * scrape costs the catalog up to one merge per tag with a release.
 */
enum action
metrics_get(struct request *r)
{
	struct metrics_state *m;

	if (cfg.metrics_tags == 0 || !routes_may_read(r))
		return MetricsReply(r);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}
	buf_init(&m->tags);
	r->state = m;
	r->after_db_on_error = true;
	return request_db(r, TagHealthRun, db_reader, 0, MetricsReply);
}
