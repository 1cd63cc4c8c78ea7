/*
 * db.c
 *	  Connections of pprof-worker.
 *
 * A runner thread holds one connection and runs short autocommit
 * statements on it: claim, ingest, finish. No transaction ever stays open
 * across a network call. statement_timeout bounds each statement;
 * keepalives and tcp_user_timeout notice a database host that vanished.
 */
#include "db.h"

#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "worker.h"

/* Copy the first line of a libpq message. */
static void
FirstLine(char *dst, size_t cap, const char *src)
{
	size_t		n = strcspn(src, "\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Connect and set the session up. */
PGconn *
db_connect(struct db_error *err)
{
	char		connect_timeout[16];
	char		tcp_user_timeout[16];
	char		setup[256];
	const char *keys[] = {
		"dbname", "connect_timeout", "fallback_application_name",
		"client_encoding", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout", NULL
	};
	const char *vals[] = {
		wcfg.database_url, connect_timeout, "pprof-worker",
		"UTF8", "1", "30", "10", "3", tcp_user_timeout, NULL
	};
	PGconn	   *conn;
	PGresult   *res;

	snprintf(connect_timeout, sizeof(connect_timeout), "%u", wcfg.connect_timeout_s);
	snprintf(tcp_user_timeout, sizeof(tcp_user_timeout), "%u",
			 wcfg.statement_timeout_ms + 5000);
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		err->sqlstate[0] = '\0';
		FirstLine(err->message, sizeof(err->message),
				  conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		metrics_db_error();
		return NULL;
	}
	snprintf(setup, sizeof(setup),
			 "SET synchronous_commit = on; SET statement_timeout = %u; "
			 "SET idle_in_transaction_session_timeout = %u",
			 wcfg.statement_timeout_ms, wcfg.statement_timeout_ms + 5000);
	res = db_exec(conn, setup, 0, NULL, NULL, NULL, err);
	if (res == NULL)
	{
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/* Run one statement; NULL with err filled unless it succeeded. */
PGresult *
db_exec(PGconn *conn, const char *sql, int nparams, const char *const *values,
		const int *lengths, const int *formats, struct db_error *err)
{
	PGresult   *res;
	ExecStatusType st;
	const char *state;

	if (nparams == 0)
		res = PQexec(conn, sql);
	else
		res = PQexecParams(conn, sql, nparams, NULL, values, lengths, formats, 0);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
	FirstLine(err->message, sizeof(err->message),
			  res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
			  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(conn));
	PQclear(res);
	metrics_db_error();
	return NULL;
}

/* Is the connection gone? */
bool
db_broken(PGconn *conn)
{
	return conn == NULL || PQstatus(conn) != CONNECTION_OK;
}
