/*
 * scrape.c
 *	  The scrape job kind of pprof-worker.
 *
 * A job is one scheduled slot of one row of pgo.scrape_targets. The host
 * of its URL is resolved and every address is scraped at once (a headless
 * service's name resolves to its pods), each with the host name kept for
 * the Host header and TLS; each body is stored by pgo.ingest with source
 * 'scrape', the target's labels plus instance=<addr:port>, and the
 * idempotency key scrape:<target>:<slot>:<instance>, so a slot run again
 * (retry, lease taken over after a crash) never stores a row twice.
 *
 * The outcome of the slot is classified here and judged by the catalog
 * (pgo.scrape_finish computes the next run):
 *	 ok			every address stored a profile
 *	 partial	some did, some failed (the reasons are in last_error)
 *	 transient	none did, and at least one failure may pass by itself
 *				(refused, timeout, reset, 5xx, 429, profiling already in use,
 *				the database): retried in the same slot with capped backoff
 *	 permanent	none did, and every failure needs a person (404, 401/403,
 *				other 4xx, redirects, TLS, a body the pprof type rejects, a
 *				body over the size cap): retried at the next slot only
 * The schedule, the timeouts (the profile's ?seconds= plus the target's
 * grace) and the backoff come from the catalog with the claimed row.
 */
#include "scrape.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "db.h"
#include "fetch.h"
#include "worker.h"

static const char *const results[] = {"ok", "partial", "transient", "permanent", NULL};
enum
{
	RES_OK, RES_PARTIAL, RES_TRANSIENT, RES_PERMANENT
};

/* what finish needs beyond the result and error */
struct scrape_state
{
	long		retry_after_s;	/* largest Retry-After seen, -1: none */
};

/* one address of the target and its outcome */
struct instance
{
	char		name[INET6_ADDRSTRLEN + 16];	/* "10.0.0.2:6060", "[::1]:6060" */
	char		connect_to[600];
	bool		ok;
	bool		transient;
	char		reason[700];
};

/* Append "; <what>" to the job's error, truncating politely. */
static void
AddError(struct job *j, const char *instance, const char *reason)
{
	size_t		len = strlen(j->error);

	if (len >= sizeof(j->error) - 8)
		return;
	snprintf(j->error + len, sizeof(j->error) - len, "%s%s: %s",
			 len ? "; " : "", instance, reason);
}

/* The host and port of the URL; false with the error set if unusable. */
static bool
SplitUrl(struct job *j, const char *url, char **host, char **port)
{
	CURLU	   *u = curl_url();
	CURLUcode	rc = u ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;

	*host = *port = NULL;
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_HOST, host, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT);
	curl_url_cleanup(u);
	if (rc != CURLUE_OK)
	{
		job_error(j, "invalid URL: %s", curl_url_strerror(rc));
		curl_free(*host);
		curl_free(*port);
		return false;
	}
	/* an IPv6 literal comes bracketed */
	if ((*host)[0] == '[')
	{
		size_t		n = strlen(*host);

		memmove(*host, *host + 1, n - 2);
		(*host)[n - 2] = '\0';
	}
	return true;
}

/* The --resolve addresses of host, or NULL. */
static const char *
FixedAddresses(const char *host)
{
	for (int i = 0; i < wcfg.n_resolve; i++)
		if (strcasecmp(wcfg.resolve[i].host, host) == 0)
			return wcfg.resolve[i].addrs;
	return NULL;
}

/* Add the distinct addresses of list to in[]; the new count. */
static int
AddAddresses(const struct addrinfo *list, const char *host, const char *port,
			 struct instance *in, int n)
{
	for (const struct addrinfo *ai = list; ai != NULL && n < (int) wcfg.max_instances;
		 ai = ai->ai_next)
	{
		char		ip[INET6_ADDRSTRLEN];
		bool		v6 = ai->ai_family == AF_INET6;
		bool		dup = false;

		if (ai->ai_family != AF_INET && !v6)
			continue;
		inet_ntop(ai->ai_family, v6 ? (void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr
				  : (void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr, ip, sizeof(ip));
		snprintf(in[n].name, sizeof(in[n].name), v6 ? "[%s]:%s" : "%s:%s", ip, port);
		for (int i = 0; i < n; i++)
			dup = dup || strcmp(in[i].name, in[n].name) == 0;
		if (dup)
			continue;
		snprintf(in[n].connect_to, sizeof(in[n].connect_to), "%s:%s:%s",
				 host, port, in[n].name);
		n++;
	}
	return n;
}

/*
 * Resolve the target's host (--resolve first, else DNS): every distinct
 * address, at most --max-instances. Returns the count (0 with the error
 * set on failure).
 */
static int
Resolve(struct job *j, const char *host, const char *port, struct instance **out)
{
	struct addrinfo hints = {0};
	struct addrinfo *res;
	struct instance *in = calloc(wcfg.max_instances, sizeof(*in));
	const char *fixed = FixedAddresses(host);
	int			n = 0;
	int			rc = 0;

	if (in == NULL)
	{
		job_error(j, "out of memory");
		return 0;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (fixed ? AI_NUMERICHOST : 0);
	if (fixed != NULL)
	{
		char		addr[INET6_ADDRSTRLEN + 1];

		for (const char *p = fixed; *p != '\0' && rc == 0;)
		{
			size_t		len = strcspn(p, ",");

			snprintf(addr, sizeof(addr), "%.*s", (int) len, p);
			rc = getaddrinfo(addr, port, &hints, &res);
			if (rc == 0)
			{
				n = AddAddresses(res, host, port, in, n);
				freeaddrinfo(res);
			}
			p += len + (p[len] == ',');
		}
	}
	else if ((rc = getaddrinfo(host, port, &hints, &res)) == 0)
	{
		n = AddAddresses(res, host, port, in, n);
		freeaddrinfo(res);
	}
	if (rc != 0 || n == 0)
	{
		free(in);
		job_error(j, "cannot resolve %s: %s", host, rc ? gai_strerror(rc) : "no address");
		return 0;
	}
	*out = in;
	return n;
}

/* Classify a response other than 200, or a transfer that failed. */
static void
ClassifyFailure(const struct fetch *f, struct instance *in)
{
	in->transient = true;
	if (f->code != CURLE_OK)
	{
		switch (f->code)
		{
			case CURLE_OPERATION_TIMEDOUT:
				snprintf(in->reason, sizeof(in->reason), "timeout after %.1f s (%s)",
						 f->seconds, f->error);
				break;
			case CURLE_FILESIZE_EXCEEDED:
				in->transient = false;
				snprintf(in->reason, sizeof(in->reason),
						 "body larger than %zu bytes (--max-profile-size)", f->max_bytes);
				break;
			case CURLE_PEER_FAILED_VERIFICATION:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_SSL_CERTPROBLEM:
			case CURLE_SSL_CIPHER:
			case CURLE_SSL_CACERT_BADFILE:
			case CURLE_SSL_ISSUER_ERROR:
			case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
			case CURLE_UNSUPPORTED_PROTOCOL:
				in->transient = false;
				snprintf(in->reason, sizeof(in->reason), "TLS or protocol failure: %s", f->error);
				break;
			default:
				snprintf(in->reason, sizeof(in->reason), "%s", f->error);
				break;
		}
		return;
	}
	if (f->status == 500 && f->body != NULL && strstr(f->body, "already in use") != NULL)
		snprintf(in->reason, sizeof(in->reason),
				 "profiling already in use (HTTP 500): the process is profiling itself");
	else if (f->status == 429 || f->status >= 500)
		snprintf(in->reason, sizeof(in->reason), "HTTP %ld%s", f->status,
				 f->retry_after_s >= 0 ? " with Retry-After" : "");
	else if (f->status >= 300 && f->status < 400)
	{
		in->transient = false;
		snprintf(in->reason, sizeof(in->reason), "HTTP %ld redirect to %s (redirects are not followed)",
				 f->status, f->location[0] ? f->location : "?");
	}
	else
	{
		in->transient = false;
		snprintf(in->reason, sizeof(in->reason), "HTTP %ld%s", f->status,
				 f->status == 401 || f->status == 403 ? " (not authorized)" :
				 f->status == 404 ? " (no profile at this URL)" : "");
	}
}

/* Store one body; classify a refusal. */
static void
Ingest(struct job *j, const struct fetch *f, struct instance *in)
{
	char		key[400];
	const char *values[5];
	int			lengths[5] = {0};
	int			formats[5] = {0};
	struct db_error err;
	PGresult   *res;

	snprintf(key, sizeof(key), "scrape:%s:%s:%s", job_field(j, "id"),
			 job_field(j, "slot"), in->name);
	values[0] = job_field(j, "tag");
	values[1] = f->body ? f->body : "";
	lengths[1] = (int) f->len;
	formats[1] = 1;
	values[2] = job_field(j, "labels");
	values[3] = in->name;
	values[4] = key;
	res = db_exec(j->conn,
				  "SELECT pgo.ingest($1, $2, $3::jsonb || jsonb_build_object('instance', $4::text),"
				  " 'scrape', $5)", 5, values, lengths, formats, &err);
	if (res != NULL)
	{
		PQclear(res);
		in->ok = true;
		return;
	}
	/* data exceptions and limits: the body is not a usable profile */
	in->transient = !(strncmp(err.sqlstate, "22", 2) == 0 || strncmp(err.sqlstate, "54", 2) == 0);
	if (in->transient)
		snprintf(in->reason, sizeof(in->reason), "storing failed: %s", err.message);
	else
		snprintf(in->reason, sizeof(in->reason), "body rejected (%zu bytes, Content-Type %s): %s",
				 f->len, f->content_type[0] ? f->content_type : "none", err.message);
}

/* Scrape every address of the target. */
static enum job_run
Run(struct job *j)
{
	struct scrape_state *st = calloc(1, sizeof(*st));
	char	   *host;
	char	   *port;
	struct instance *in = NULL;
	struct fetch *f;
	int			n;
	int			ok = 0;
	int			transient = 0;

	snprintf(j->what, sizeof(j->what), "tag=%s target=%s slot=%s url=%s",
			 job_field(j, "tag"), job_field(j, "id"), job_field(j, "slot"),
			 job_field(j, "url"));
	j->state = st;
	if (st == NULL)
	{
		j->result = RES_TRANSIENT;
		job_error(j, "out of memory");
		return JOB_DONE;
	}
	st->retry_after_s = -1;
	if (!SplitUrl(j, job_field(j, "url"), &host, &port))
	{
		j->result = RES_PERMANENT;
		return JOB_DONE;
	}
	n = Resolve(j, host, port, &in);
	curl_free(host);
	curl_free(port);
	if (n == 0)
	{
		j->result = RES_TRANSIENT;	/* DNS may come back */
		return JOB_DONE;
	}

	f = calloc((size_t) n, sizeof(*f));
	if (f == NULL)
	{
		free(in);
		j->result = RES_TRANSIENT;
		job_error(j, "out of memory");
		return JOB_DONE;
	}
	for (int i = 0; i < n; i++)
	{
		f[i].url = job_field(j, "url");
		f[i].connect_to = in[i].connect_to;
		f[i].connect_timeout_ms = atol(job_field(j, "connect_timeout_ms"));
		f[i].timeout_ms = atol(job_field(j, "timeout_ms"));
		f[i].max_bytes = wcfg.max_profile_bytes;
	}
	if (!fetch_all(f, n, wcfg.ca_file, j->abort))
	{
		fetch_free(f, n);
		free(f);
		free(in);
		return JOB_ABORTED;
	}

	for (int i = 0; i < n; i++)
	{
		if (f[i].code == CURLE_OK && f[i].status == 200)
			Ingest(j, &f[i], &in[i]);
		else
			ClassifyFailure(&f[i], &in[i]);
		if (f[i].retry_after_s > st->retry_after_s)
			st->retry_after_s = f[i].retry_after_s;
		if (in[i].ok)
			ok++;
		else
		{
			transient += in[i].transient;
			AddError(j, in[i].name, in[i].reason);
		}
	}
	j->result = ok == n ? RES_OK : ok > 0 ? RES_PARTIAL : transient > 0 ? RES_TRANSIENT : RES_PERMANENT;
	fetch_free(f, n);
	free(f);
	free(in);
	return JOB_DONE;
}

/* Record the outcome; the catalog computes the next run. */
static bool
Finish(struct job *j)
{
	struct scrape_state *st = j->state;
	char		retry_after[24];
	const char *values[5];
	struct db_error err;
	PGresult   *res;
	bool		recorded;

	snprintf(retry_after, sizeof(retry_after), "%ld", st ? st->retry_after_s : -1L);
	values[0] = job_field(j, "id");
	values[1] = job_field(j, "lease_token");
	values[2] = results[j->result];
	values[3] = j->result == RES_OK ? NULL : j->error;
	values[4] = st && st->retry_after_s >= 0 ? retry_after : NULL;
	res = db_exec(j->conn, "SELECT pgo.scrape_finish($1::bigint, $2::uuid, $3, $4, $5::integer)",
				  5, values, NULL, NULL, &err);
	if (res == NULL)
		return false;
	recorded = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!recorded)
		job_error(j, "%s (the lease had expired: another worker took this slot)", j->error);
	return recorded;
}

/* Give the slot back unrun. */
static void
Release(struct job *j)
{
	const char *values[2] = {job_field(j, "id"), job_field(j, "lease_token")};
	struct db_error err;
	PGresult   *res = db_exec(j->conn, "SELECT pgo.scrape_release($1::bigint, $2::uuid)",
							  2, values, NULL, NULL, &err);

	PQclear(res);
}

/* Free the state. */
static void
Cleanup(struct job *j)
{
	free(j->state);
	j->state = NULL;
}

const struct job_kind scrape_job_kind = {
	.name = "scrape",
	.metric = "scrapes",
	.results = results,
	.claim_sql = "SELECT id, tag, url, labels, slot, connect_timeout_ms, timeout_ms,"
	" lease_token, attempt FROM pgo.scrape_claim($1)",
	.lag_sql = "SELECT pgo.scrape_lag()",
	.prepare = NULL,
	.run = Run,
	.finish = Finish,
	.release = Release,
	.cleanup = Cleanup,
};
