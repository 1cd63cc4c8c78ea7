/*
 * forge.h
 *	  Where a publication's file goes: one client per forge (GitHub, GitLab,
 *	  Gitea/Forgejo, any git remote) behind one small interface, so
 *	  publish.c names no forge.
 *
 * A run reads the file on the base branch and on the publication's branch,
 * writes the branch (one commit on the base branch writing the file), then
 * opens the pull/merge request or updates the open one. Every call fills a
 * forge_error on failure: TRANSIENT (timeouts, 5xx, rate limits; the run is
 * retried with backoff) or PERMANENT (401, 404, 422, a protected branch...;
 * recorded with the forge's own message and retried at the next scheduled
 * run).
 */
#ifndef PGWK_FORGE_H
#define PGWK_FORGE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define FORGE_MESSAGE_LEN	1024
#define FORGE_MAX_FILE		(64u * 1024 * 1024)	/* largest file read or written */

enum forge_failure
{
	FORGE_OK = 0,
	FORGE_TRANSIENT,
	FORGE_PERMANENT
};

struct forge_error
{
	enum forge_failure kind;
	long		http_status;	/* 0 if no HTTP answer */
	long		retry_after_s;	/* the forge's Retry-After / rate-limit reset, -1 if none */
	char		message[FORGE_MESSAGE_LEN];
};

/* what a publication says about its destination (the row's columns) */
struct forge_target
{
	const char *repository;
	const char *base_branch;
	const char *branch;
	const char *path;
	const char *secret;			/* the credential's content (token or PEM key), NULL if none */
	long long	github_app_id;	/* 0: secret is a token */
	const char *ca_file;		/* CA bundle for https (NULL: the system's) */
	const volatile sig_atomic_t *abort; /* set: stop waiting, fail TRANSIENT */
};

/* the file at one branch */
struct forge_file
{
	bool		branch_exists;
	bool		exists;			/* the file is on the branch */
	char		blob[41];		/* its git blob hash (SHA-1 hex), when it exists */
	unsigned char *data;		/* malloc'd content when asked for, else NULL */
	size_t		len;
	void	   *forge_state;	/* a forge's note about the branch (unused by publish.c) */
};

/* what to write */
struct forge_change
{
	const unsigned char *data;
	size_t		len;
	char		blob[41];		/* git blob hash of data */
	const char *title;			/* the request's title, also the commit's subject */
	const char *body;			/* the request's description (Markdown) */
	const char *commit_message;
};

struct forge_ops
{
	const char *name;			/* the publications.forge value */

	/* set up a session for one run; NULL with err filled on failure */
	void	   *(*open) (const struct forge_target *t, struct forge_error *err);
	/* the file at a branch; data only if want_data */
	bool		(*read_file) (void *s, const char *branch, bool want_data,
							  struct forge_file *out, struct forge_error *err);
	/*
	 * Make the publication's branch hold the file (base: the base branch as
	 * read, head: the branch as read). Sets *commit (41 bytes) to the new
	 * commit when known, else "".
	 */
	bool		(*write_branch) (void *s, const struct forge_change *c,
								 const struct forge_file *base, const struct forge_file *head,
								 char *commit, struct forge_error *err);
	/*
	 * Open the pull/merge request of the branch, or update the open one;
	 * its URL into url. NULL for forges without requests (git).
	 */
	bool		(*upsert_request) (void *s, const struct forge_change *c,
								   char *url, size_t url_size, struct forge_error *err);
	void		(*close) (void *s);
};

extern const struct forge_ops forge_github;
extern const struct forge_ops forge_gitlab;
extern const struct forge_ops forge_gitea;
extern const struct forge_ops forge_git;

/* the client of a publications.forge value, NULL if unknown */
extern const struct forge_ops *forge_find(const char *name);

/* printf into err with a failure kind */
extern void forge_fail(struct forge_error *err, enum forge_failure kind,
					   const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* git's blob hash of data: SHA-1 of "blob <len>\0" + data, 40 hex + NUL */
extern void forge_blob_hash(const unsigned char *data, size_t len, char out[41]);

/* base64 (standard alphabet, no newlines), malloc'd; NULL on OOM */
extern char *forge_base64(const unsigned char *data, size_t len);
/* decode base64, ignoring whitespace; malloc'd, NULL if invalid */
extern unsigned char *forge_unbase64(const char *text, size_t *len);

/* free a forge_file's data */
extern void forge_file_free(struct forge_file *f);

#endif							/* PGWK_FORGE_H */
