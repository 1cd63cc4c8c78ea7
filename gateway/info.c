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

/*
 * GET /metrics: the gateway's counters (metrics.c), then what the database
 * executors and the response cache report of themselves.
 */
enum action
metrics_get(struct request *r)
{
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
