/*
 * db.h
 *	  The worker's database connections: one blocking libpq connection per
 *	  runner thread, autocommit statements only.
 */
#ifndef PGWK_DB_H
#define PGWK_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

struct db_error
{
	char		sqlstate[6];	/* "" when the connection failed */
	char		message[512];
};

/* connect and set the session up; NULL with err filled on failure */
extern PGconn *db_connect(struct db_error *err);

/*
 * Run one statement with text parameters (lengths/formats may be NULL;
 * binary parameters give both). NULL on failure with err filled.
 */
extern PGresult *db_exec(PGconn *conn, const char *sql, int nparams,
						 const char *const *values, const int *lengths,
						 const int *formats, struct db_error *err);

/* is the connection gone (reconnect before the next statement)? */
extern bool db_broken(PGconn *conn);

#endif							/* PGWK_DB_H */
