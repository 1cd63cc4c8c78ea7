/*
 * info.c
 *	  GET /tags (the catalog's pgo.tags view as JSON), GET /healthz (the
 *	  database answers within --health-timeout), GET /metrics (Prometheus).
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

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

/* After a ping: check the replica next, or answer. */
static enum action
HealthzNext(struct request *r)
{
	struct buf	b;

	if (r->stage == 0 && db_reader != db_primary)
	{
		r->stage = 1;
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
	r->stage = 0;
	return request_db(r, PingRun, db_primary, cfg.health_timeout_ms, HealthzNext);
}

/* GET /metrics. */
enum action
metrics_get(struct request *r)
{
	struct buf	b;

	buf_init(&b);
	metrics_render(&b);
	if (b.oom)
	{
		buf_free(&b);
		reply_error(r, 503, "gateway busy", "Out of memory.");
		return ACT_REPLY;
	}
	r->reply.status = 200;
	r->reply.body = buf_steal(&b, &r->reply.len);
	r->reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
	return ACT_REPLY;
}
