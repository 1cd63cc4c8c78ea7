/*
 * publish.c
 *	  The publish job kind of pprof-worker: one run of one row of
 *	  pgo.publications.
 *
 * The catalog pins the release and writes the request's text; this file
 * only moves bytes between the catalog and the forge (forge.h):
 *	 1. pgo.publication_pin: the release (sha256, bytes); none usable ->
 *		no_profiles
 *	 2. the file on the base branch: the same git blob hash -> unchanged
 *	 3. pgo.publication_description with the base file's bytes: the hot
 *		call-edge change, below min_change -> below_min_change
 *	 4. the file on the publication's branch: the same blob -> no commit
 *		(up_to_date), else write the branch (published)
 *	 5. open the pull/merge request or update the open one
 * Forge failures are transient (retrying: backoff, the forge's
 * Retry-After) or permanent (failed: the forge's message, the next
 * scheduled run). Every step is idempotent: a run taken over after a
 * crash writes nothing twice (same bytes, same branch, same request).
 */
#include "publish.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "forge.h"
#include "worker.h"

#define SECRET_MAX	65536

static const char *const results[] = {
	"published", "up_to_date", "unchanged", "below_min_change", "no_profiles",
	"retrying", "failed", NULL
};
enum
{
	RES_PUBLISHED, RES_UP_TO_DATE, RES_UNCHANGED, RES_BELOW_MIN_CHANGE, RES_NO_PROFILES,
	RES_RETRYING, RES_FAILED
};

/* what finish records beyond the result and error */
struct publish_state
{
	char		sha256[65];
	char		pull_request[1024];
	char		change[32];		/* "" if not measured */
	long		retry_after_s;	/* -1: none */
};

/*
 * The secret a credential names: an environment variable, an absolute file
 * path, or a file of that name in $PGO_CREDENTIALS_DIR (systemd
 * credentials, Kubernetes secret volumes). malloc'd, trailing newlines cut.
 */
static char *
ReadSecret(const char *name, struct forge_error *err)
{
	const char *env = name[0] != '/' ? getenv(name) : NULL;
	const char *dir = getenv("PGO_CREDENTIALS_DIR");
	char		path[4200];
	char	   *buf;
	size_t		n;
	FILE	   *f;

	if (env)
		return strdup(env);
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else if (dir)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
	{
		forge_fail(err, FORGE_PERMANENT, "credential %s: no such environment variable in the worker "
				   "(and PGO_CREDENTIALS_DIR is not set)", name);
		return NULL;
	}
	if (!(f = fopen(path, "r")))
	{
		forge_fail(err, FORGE_PERMANENT, "credential %s: %s: %s", name, path, strerror(errno));
		return NULL;
	}
	buf = malloc(SECRET_MAX + 1);
	n = buf ? fread(buf, 1, SECRET_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n > SECRET_MAX || n == 0)
	{
		free(buf);
		forge_fail(err, FORGE_PERMANENT, "credential %s: %s is empty or larger than %d bytes",
				   name, path, SECRET_MAX);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return buf;
}

/* The job's result from a forge failure. */
static int
Failed(struct job *j, const struct forge_error *err)
{
	struct publish_state *st = j->state;

	job_error(j, "%s", err->message);
	st->retry_after_s = err->retry_after_s;
	return err->kind == FORGE_TRANSIENT ? RES_RETRYING : RES_FAILED;
}

/* A database failure during the run: retried with backoff. */
static int
DbFailed(struct job *j, const char *what, const struct db_error *err)
{
	job_error(j, "%s: %s%s%s", what, err->message, err->sqlstate[0] ? " SQLSTATE " : "", err->sqlstate);
	return RES_RETRYING;
}

/*
 * Steps 2 to 5 with an open forge session; the release's bytes in data.
 */
static int
PublishBytes(struct job *j, const struct forge_ops *ops, void *session,
			   const struct forge_target *t, const unsigned char *data, size_t len)
{
	struct publish_state *st = j->state;
	struct forge_error err = {0};
	struct forge_file base = {0},
				head = {0};
	struct forge_change c = {.data = data, .len = len};
	struct db_error dberr;
	PGresult   *res = NULL;
	char		commit[41] = "";
	int			result;

	forge_blob_hash(data, len, c.blob);
	if (!ops->read_file(session, t->base_branch, true, &base, &err))
		return Failed(j, &err);
	if (!base.branch_exists)
	{
		/* the forge's own words, e.g. a 404 for a repository the token cannot see */
		char		why[FORGE_MESSAGE_LEN];

		snprintf(why, sizeof(why), "%s", err.message);
		forge_fail(&err, FORGE_PERMANENT, "base branch %s not found in %s%s%.900s%s", t->base_branch,
				   t->repository, why[0] ? " (" : "", why, why[0] ? ")" : "");
		result = Failed(j, &err);
		goto done;
	}
	if (base.exists && strcmp(base.blob, c.blob) == 0)
	{
		result = RES_UNCHANGED;
		goto done;
	}

	{
		const char *params[4] = {job_field(j, "id"), job_field(j, "lease_id"), st->sha256,
		(const char *) base.data};
		int			lengths[4] = {0, 0, 0, (int) base.len};
		int			formats[4] = {0, 0, 0, 1};

		res = db_exec(j->conn,
					  "SELECT change, publish, title, body, commit_message "
					  "FROM pgo.publication_description($1, $2, $3, $4)",
					  4, params, lengths, formats, &dberr);
	}
	if (!res)
	{
		result = DbFailed(j, "pgo.publication_description", &dberr);
		goto done;
	}
	snprintf(st->change, sizeof(st->change), "%s", PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
	{
		job_error(j, "hot call-edge change %s below min_change %s", st->change, job_field(j, "min_change"));
		result = RES_BELOW_MIN_CHANGE;
		goto done;
	}
	c.title = PQgetvalue(res, 0, 2);
	c.body = PQgetvalue(res, 0, 3);
	c.commit_message = PQgetvalue(res, 0, 4);

	if (!ops->read_file(session, t->branch, false, &head, &err))
	{
		result = Failed(j, &err);
		goto done;
	}
	result = RES_UP_TO_DATE;
	if (!(head.exists && strcmp(head.blob, c.blob) == 0))
	{
		if (!ops->write_branch(session, &c, &base, &head, commit, &err))
		{
			result = Failed(j, &err);
			goto done;
		}
		result = RES_PUBLISHED;
	}
	if (ops->upsert_request)
	{
		if (!ops->upsert_request(session, &c, st->pull_request, sizeof(st->pull_request), &err))
		{
			result = Failed(j, &err);
			goto done;
		}
	}
	else if (commit[0])
		snprintf(st->pull_request, sizeof(st->pull_request), "%s %s", t->branch, commit);

done:
	if (res)
		PQclear(res);
	forge_file_free(&base);
	forge_file_free(&head);
	return result;
}

static enum job_run
PublishRun(struct job *j)
{
	struct publish_state *st = calloc(1, sizeof(*st));
	const char *credential = job_field_null(j, "credential");
	const struct forge_ops *ops = forge_find(job_field(j, "forge"));
	struct forge_error err = {0};
	struct forge_target t = {0};
	struct db_error dberr;
	char	   *secret = NULL;
	void	   *session = NULL;
	PGresult   *res = NULL;
	unsigned char *data = NULL;
	size_t		len = 0;

	snprintf(j->what, sizeof(j->what), "publication=%s tag=%s forge=%s",
			 job_field(j, "id"), job_field(j, "tag"), job_field(j, "forge"));
	if (!st)
	{
		job_error(j, "out of memory");
		j->result = RES_RETRYING;
		return JOB_DONE;
	}
	st->retry_after_s = -1;
	j->state = st;

	t.repository = job_field(j, "repository");
	t.base_branch = job_field(j, "base_branch");
	t.branch = job_field(j, "branch");
	t.path = job_field(j, "path");
	t.github_app_id = job_field_null(j, "github_app_id") ? atoll(job_field(j, "github_app_id")) : 0;
	t.abort = j->abort;
	t.ca_file = wcfg.ca_file;
	if (!ops)
	{
		forge_fail(&err, FORGE_PERMANENT, "unknown forge %s", job_field(j, "forge"));
		j->result = Failed(j, &err);
		return JOB_DONE;
	}
	if (credential && !(secret = ReadSecret(credential, &err)))
	{
		j->result = Failed(j, &err);
		return JOB_DONE;
	}
	t.secret = secret;

	/* 1. the release */
	{
		const char *params[2] = {job_field(j, "id"), job_field(j, "lease_id")};

		res = db_exec(j->conn, "SELECT sha256, profile, profiles FROM pgo.publication_pin($1, $2)",
					  2, params, NULL, NULL, &dberr);
	}
	if (!res)
		j->result = DbFailed(j, "pgo.publication_pin", &dberr);
	else if (PQgetisnull(res, 0, 0))
	{
		job_error(j, "no usable profile of tag %s in the selection", job_field(j, "tag"));
		j->result = RES_NO_PROFILES;
	}
	else if (!(data = PQunescapeBytea((const unsigned char *) PQgetvalue(res, 0, 1), &len)))
	{
		job_error(j, "out of memory");
		j->result = RES_RETRYING;
	}
	else
	{
		snprintf(st->sha256, sizeof(st->sha256), "%s", PQgetvalue(res, 0, 0));
		if (!(session = ops->open(&t, &err)))
			j->result = Failed(j, &err);
		else
		{
			j->result = PublishBytes(j, ops, session, &t, data, len);
			ops->close(session);
		}
	}
	if (res)
		PQclear(res);
	if (data)
		PQfreemem(data);
	if (secret)
	{
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	/* a run cut short by shutdown is given back, not recorded as failed */
	if (j->result == RES_RETRYING && j->abort && *j->abort)
		return JOB_ABORTED;
	return JOB_DONE;
}

static bool
PublishFinish(struct job *j)
{
	struct publish_state *st = j->state;
	char		retry[32];
	const char *params[8];
	struct db_error dberr;
	PGresult   *res;

	snprintf(retry, sizeof(retry), "%ld seconds", st ? st->retry_after_s : -1);
	params[0] = job_field(j, "id");
	params[1] = job_field(j, "lease_id");
	params[2] = results[j->result];
	params[3] = j->error[0] ? j->error : NULL;
	params[4] = st && st->sha256[0] ? st->sha256 : NULL;
	params[5] = st && st->pull_request[0] ? st->pull_request : NULL;
	params[6] = st && st->change[0] ? st->change : NULL;
	params[7] = st && st->retry_after_s >= 0 ? retry : NULL;
	res = db_exec(j->conn,
				  "SELECT pgo.publication_finish($1, $2, $3, $4, $5, $6, $7::float8, $8::interval)",
				  8, params, NULL, NULL, &dberr);
	if (!res)
	{
		char		was[JOB_ERROR_LEN];

		snprintf(was, sizeof(was), "%s", j->error);
		job_error(j, "%s (recording the outcome: %s)", was, dberr.message);
		return false;
	}
	PQclear(res);
	return true;
}

static void
PublishGiveBack(struct job *j)
{
	const char *params[2] = {job_field(j, "id"), job_field(j, "lease_id")};
	struct db_error dberr;
	PGresult   *res = db_exec(j->conn, "SELECT pgo.publication_release($1, $2)",
							  2, params, NULL, NULL, &dberr);

	if (res)
		PQclear(res);
}

static void
PublishCleanup(struct job *j)
{
	free(j->state);
	j->state = NULL;
}

const struct job_kind publish_job_kind = {
	.name = "publish",
	.metric = "publishes",
	.results = results,
	.successes = RES_RETRYING,	/* published .. no_profiles */
	.claim_sql = "SELECT * FROM pgo.publication_claim($1)",
	.lag_sql = "SELECT pgo.publication_lag()",
	.prepare = NULL,
	.run = PublishRun,
	.finish = PublishFinish,
	.release = PublishGiveBack,
	.cleanup = PublishCleanup,
};
