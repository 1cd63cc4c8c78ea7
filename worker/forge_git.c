/*
 * forge_git.c
 *	  Any git remote (a path, file://, http(s)://, ssh://): the git command
 *	  line (Debian's git) in a scratch repository of the run; no request.
 *
 * read_file: ls-remote (does the branch exist?), a shallow fetch of the
 * branch, rev-parse <ref>:<path> for the blob hash, cat-file for the
 * bytes. write_branch: hash-object, read-tree of the base commit into a
 * private index, update-index, write-tree, commit-tree with the base
 * branch's head as the only parent, push --force to refs/heads/<branch>.
 * The branch always holds exactly one commit on top of the base branch.
 *
 * git runs with posix_spawnp (no shell, so no quoting), its own
 * environment (GIT_DIR, no prompts, no system/global configuration) and
 * a time limit. A token reaches git through GIT_CONFIG_* variables as an
 * http.extraHeader (HTTP Basic), never on the command line.
 */
#include "forge.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIT_TIMEOUT_S	120
#define GIT_STDERR_MAX	2048

extern char **environ;

struct git
{
	const struct forge_target *t;
	char		dir[256];		/* scratch bare repository of this run */
	char	  **env;			/* the environment git runs with */
	int			nenv;
};

/* One git command's result. */
struct git_out
{
	int			status;			/* exit code, -1 if it did not exit */
	char	   *out;			/* stdout (malloc'd, NUL-terminated) */
	size_t		len;
	char		err[GIT_STDERR_MAX];
};

static bool
env_add(struct git *g, const char *fmt, const char *a, const char *b)
{
	char	  **env = realloc(g->env, (g->nenv + 2) * sizeof(char *));

	if (!env)
		return false;
	g->env = env;
	if (asprintf(&g->env[g->nenv], fmt, a, b) < 0)
		return false;
	g->env[++g->nenv] = NULL;
	return true;
}

/* Keep the worker's environment but for git's own variables, then set ours. */
static bool
git_env(struct git *g)
{
	const char *name = getenv("PGO_GIT_AUTHOR_NAME") ? getenv("PGO_GIT_AUTHOR_NAME") : "pprof-worker";
	const char *email = getenv("PGO_GIT_AUTHOR_EMAIL") ? getenv("PGO_GIT_AUTHOR_EMAIL") : "pprof-worker@localhost";
	bool		ok = true;

	for (char **e = environ; *e && ok; e++)
		if (strncmp(*e, "GIT_", 4) != 0 || strncmp(*e, "GIT_SSH", 7) == 0)
			ok = env_add(g, "%s%s", *e, "");
	ok = ok && env_add(g, "GIT_DIR=%s%s", g->dir, "")
		&& env_add(g, "GIT_TERMINAL_PROMPT=0%s%s", "", "")
		&& env_add(g, "GIT_CONFIG_NOSYSTEM=1%s%s", "", "")
		&& env_add(g, "GIT_CONFIG_GLOBAL=/dev/null%s%s", "", "")
		&& env_add(g, "GIT_AUTHOR_NAME=%s%s", name, "") && env_add(g, "GIT_COMMITTER_NAME=%s%s", name, "")
		&& env_add(g, "GIT_AUTHOR_EMAIL=%s%s", email, "") && env_add(g, "GIT_COMMITTER_EMAIL=%s%s", email, "")
		&& env_add(g, "GIT_INDEX_FILE=%s/pgo-index%s", g->dir, "");
	if (ok && g->t->ca_file)
		ok = env_add(g, "GIT_SSL_CAINFO=%s%s", g->t->ca_file, "");
	if (ok && g->t->secret)
	{
		/* "user:password" as is; a bare token as the password of x-access-token */
		char	   *userpass = NULL;
		char	   *b64;

		if (asprintf(&userpass, "%s%s", strchr(g->t->secret, ':') ? "" : "x-access-token:", g->t->secret) < 0)
			return false;
		b64 = forge_base64((const unsigned char *) userpass, strlen(userpass));
		free(userpass);
		ok = b64 && env_add(g, "GIT_CONFIG_COUNT=1%s%s", "", "")
			&& env_add(g, "GIT_CONFIG_KEY_0=http.extraHeader%s%s", "", "")
			&& env_add(g, "GIT_CONFIG_VALUE_0=Authorization: Basic %s%s", b64, "");
		free(b64);
	}
	return ok;
}

/* Append what fd has to a buffer (capped); false at EOF. */
static bool
drain(int fd, char **buf, size_t *len, size_t *cap, size_t max)
{
	char		chunk[65536];
	ssize_t		n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (*len + n + 1 > *cap && *len < max)
	{
		size_t		c = *cap ? *cap : 65536;
		char	   *p;

		while (c < *len + n + 1)
			c *= 2;
		if ((p = realloc(*buf, c)) != NULL)
		{
			*buf = p;
			*cap = c;
		}
	}
	if (*len + n + 1 <= *cap)
	{
		memcpy(*buf + *len, chunk, n);
		*len += n;
		(*buf)[*len] = '\0';
	}
	return true;
}

/*
 * Run git with args (argv[0] is "git"), feeding in (may be NULL), within
 * GIT_TIMEOUT_S. False only if git could not be run to its end.
 */
static bool
git_run(struct git *g, const char *const argv[], const unsigned char *in, size_t inlen,
		struct git_out *o, struct forge_error *err)
{
	int			pin[2] = {-1, -1},
				pout[2] = {-1, -1},
				perr[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	pid_t		pid;
	size_t		cap = 0,
				elen = 0,
				ecap = 0,
				sent = 0;
	char	   *ebuf = NULL;
	bool		out_open = true,
				err_open = true;
	time_t		deadline = time(NULL) + GIT_TIMEOUT_S;
	int			wstatus,
				rc;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)
	{
		forge_fail(err, FORGE_TRANSIENT, "git %s: pipe: %s", argv[1], strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *) argv, g->env);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
	{
		forge_fail(err, FORGE_PERMANENT, "cannot run git: %s", strerror(rc));
		goto fail;
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	if (!in || inlen == 0)
	{
		close(pin[1]);
		pin[1] = -1;
	}
	else
		fcntl(pin[1], F_SETFL, O_NONBLOCK);

	while (out_open || err_open || pin[1] >= 0)
	{
		struct pollfd p[3] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}, {pin[1], POLLOUT, 0}};

		if (!out_open)
			p[0].fd = -1;
		if (!err_open)
			p[1].fd = -1;
		if ((g->t->abort && *g->t->abort) || time(NULL) > deadline)
		{
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			forge_fail(err, FORGE_TRANSIENT, "git %s: %s", argv[1],
					   time(NULL) > deadline ? "timed out" : "stopped");
			goto fail;
		}
		if (poll(p, 3, 200) < 0 && errno != EINTR)
			break;
		if (p[0].revents && !drain(pout[0], &o->out, &o->len, &cap, FORGE_MAX_FILE + 1))
			out_open = false;
		if (p[1].revents && !drain(perr[0], &ebuf, &elen, &ecap, GIT_STDERR_MAX))
			err_open = false;
		if (pin[1] >= 0 && p[2].revents)
		{
			ssize_t		n = (p[2].revents & POLLOUT) ? write(pin[1], in + sent, inlen - sent) : -1;

			if (n > 0)
				sent += n;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = inlen;	/* git closed its input: it will say why */
			if (sent >= inlen)
			{
				close(pin[1]);
				pin[1] = -1;
			}
		}
	}
	waitpid(pid, &wstatus, 0);
	o->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	if (ebuf)
	{
		/* the last line says most: keep the end */
		size_t		n = strlen(ebuf);

		while (n > 0 && (ebuf[n - 1] == '\n' || ebuf[n - 1] == '\r'))
			ebuf[--n] = '\0';
		snprintf(o->err, sizeof(o->err), "%s", n >= sizeof(o->err) ? ebuf + n - sizeof(o->err) + 1 : ebuf);
		for (char *c = o->err; *c; c++)
			if (*c == '\n')
				*c = ' ';
	}
	free(ebuf);
	for (int i = 0; i < 2; i++)
	{
		if (pin[i] >= 0) close(pin[i]);
		if (pout[i] >= 0) close(pout[i]);
		if (perr[i] >= 0) close(perr[i]);
	}
	if (!o->out)
		o->out = calloc(1, 1);
	return o->out != NULL;

fail:
	free(ebuf);
	for (int i = 0; i < 2; i++)
	{
		if (pin[i] >= 0) close(pin[i]);
		if (pout[i] >= 0) close(pout[i]);
		if (perr[i] >= 0) close(perr[i]);
	}
	free(o->out);
	o->out = NULL;
	return false;
}

/*
 * Run git and expect exit 0; the first line of stdout into line (if not
 * NULL). Failures of commands that talk to the remote are transient only
 * when git says the network failed.
 */
static bool
git_ok(struct git *g, const char *const argv[], const unsigned char *in, size_t inlen,
	   char *line, size_t line_size, struct forge_error *err)
{
	struct git_out o;
	bool		ok;

	if (!git_run(g, argv, in, inlen, &o, err))
		return false;
	ok = o.status == 0;
	if (ok && line)
		snprintf(line, line_size, "%.*s", (int) strcspn(o.out, "\n"), o.out);
	if (!ok)
	{
		bool		transient = strstr(o.err, "Could not resolve host") || strstr(o.err, "Connection refused")
			|| strstr(o.err, "timed out") || strstr(o.err, "The requested URL returned error: 5")
			|| strstr(o.err, "the remote end hung up unexpectedly");

		forge_fail(err, transient ? FORGE_TRANSIENT : FORGE_PERMANENT, "git %s: exit %d: %s",
				   argv[1], o.status, o.err[0] ? o.err : "(no message)");
	}
	free(o.out);
	return ok;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
git_close(void *s)
{
	struct git *g = s;

	if (!g)
		return;
	if (g->dir[0])
		nftw(g->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (int i = 0; i < g->nenv; i++)
		free(g->env[i]);
	free(g->env);
	free(g);
}

static void *
git_open(const struct forge_target *t, struct forge_error *err)
{
	struct git *g = calloc(1, sizeof(*g));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *init[] = {"git", "init", "--quiet", "--bare", NULL, NULL};

	if (!g)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return NULL;
	}
	g->t = t;
	snprintf(g->dir, sizeof(g->dir), "%s/pprof-worker-git.XXXXXX", tmp);
	if (!mkdtemp(g->dir))
	{
		forge_fail(err, FORGE_TRANSIENT, "mkdtemp %s: %s", g->dir, strerror(errno));
		g->dir[0] = '\0';
		git_close(g);
		return NULL;
	}
	init[4] = g->dir;
	if (!git_env(g))
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		git_close(g);
		return NULL;
	}
	if (!git_ok(g, init, NULL, 0, NULL, 0, err))
	{
		git_close(g);
		return NULL;
	}
	return g;
}

static bool
git_read_file(void *s, const char *branch, bool want_data, struct forge_file *out,
			  struct forge_error *err)
{
	struct git *g = s;
	char		ref[512],
				local[512],
				spec[1100],
				obj[1100],
				line[256];
	const char *lsremote[] = {"git", "ls-remote", "--exit-code", "--heads", g->t->repository, ref, NULL};
	const char *fetch[] = {"git", "fetch", "--quiet", "--no-tags", "--depth=1", g->t->repository, spec, NULL};
	const char *revparse[] = {"git", "rev-parse", "--verify", "--quiet", obj, NULL};
	const char *catfile[] = {"git", "cat-file", "blob", out->blob, NULL};
	struct git_out o;

	memset(out, 0, sizeof(*out));
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	snprintf(local, sizeof(local), "refs/pgo/%s", branch);
	snprintf(spec, sizeof(spec), "+%s:%s", ref, local);
	snprintf(obj, sizeof(obj), "%s:%s", local, g->t->path);

	if (!git_run(g, lsremote, NULL, 0, &o, err))
		return false;
	free(o.out);
	if (o.status == 2)
		return true;			/* no such branch */
	if (o.status != 0)
	{
		forge_fail(err, strstr(o.err, "Could not resolve host") || strstr(o.err, "Connection refused")
				   || strstr(o.err, "returned error: 5") ? FORGE_TRANSIENT : FORGE_PERMANENT,
				   "git ls-remote: exit %d: %s", o.status, o.err[0] ? o.err : "(no message)");
		return false;
	}
	out->branch_exists = true;
	if (!git_ok(g, fetch, NULL, 0, NULL, 0, err))
		return false;
	if (!git_run(g, revparse, NULL, 0, &o, err))
		return false;
	if (o.status != 0)
	{
		free(o.out);
		return true;			/* no such file on the branch */
	}
	snprintf(line, sizeof(line), "%.*s", (int) strcspn(o.out, "\n"), o.out);
	free(o.out);
	if (strlen(line) != 40)
	{
		forge_fail(err, FORGE_PERMANENT, "git rev-parse %s: unexpected %s", obj, line);
		return false;
	}
	out->exists = true;
	memcpy(out->blob, line, 41);
	if (!want_data)
		return true;
	if (!git_run(g, catfile, NULL, 0, &o, err))
		return false;
	if (o.status != 0 || o.len > FORGE_MAX_FILE)
	{
		free(o.out);
		forge_fail(err, FORGE_PERMANENT, "git cat-file %s: %s", out->blob,
				   o.status != 0 ? o.err : "file too large");
		return false;
	}
	out->data = (unsigned char *) o.out;
	out->len = o.len;
	return true;
}

static bool
git_write_branch(void *s, const struct forge_change *c, const struct forge_file *base,
				 const struct forge_file *head, char *commit, struct forge_error *err)
{
	struct git *g = s;
	char		base_ref[512],
				blob[64],
				tree[64],
				cacheinfo[600],
				dest[600];
	const char *hash[] = {"git", "hash-object", "-w", "--stdin", NULL};
	const char *readtree[] = {"git", "read-tree", base_ref, NULL};
	const char *update[] = {"git", "update-index", "--add", "--cacheinfo", cacheinfo, NULL};
	const char *writetree[] = {"git", "write-tree", NULL};
	const char *committree[] = {"git", "commit-tree", tree, "-p", base_ref, "-F", "-", NULL};
	const char *push[] = {"git", "push", "--quiet", "--force", g->t->repository, dest, NULL};

	commit[0] = '\0';
	if (!base->branch_exists)
	{
		forge_fail(err, FORGE_PERMANENT, "base branch %s not found in %s", g->t->base_branch, g->t->repository);
		return false;
	}
	snprintf(base_ref, sizeof(base_ref), "refs/pgo/%s", g->t->base_branch);
	if (!git_ok(g, hash, c->data, c->len, blob, sizeof(blob), err))
		return false;
	if (strcmp(blob, c->blob) != 0)
	{
		forge_fail(err, FORGE_PERMANENT, "git hash-object gave %s, expected %s", blob, c->blob);
		return false;
	}
	snprintf(cacheinfo, sizeof(cacheinfo), "100644,%s,%s", blob, g->t->path);
	if (!git_ok(g, readtree, NULL, 0, NULL, 0, err)
		|| !git_ok(g, update, NULL, 0, NULL, 0, err)
		|| !git_ok(g, writetree, NULL, 0, tree, sizeof(tree), err)
		|| !git_ok(g, committree, (const unsigned char *) c->commit_message, strlen(c->commit_message),
				   dest, sizeof(dest), err))
		return false;
	if (strlen(dest) != 40)
	{
		forge_fail(err, FORGE_PERMANENT, "git commit-tree: unexpected %s", dest);
		return false;
	}
	memcpy(commit, dest, 41);
	snprintf(dest, sizeof(dest), "%s:refs/heads/%s", commit, g->t->branch);
	return git_ok(g, push, NULL, 0, NULL, 0, err);
}

const struct forge_ops forge_git = {
	.name = "git",
	.open = git_open,
	.read_file = git_read_file,
	.write_branch = git_write_branch,
	.upsert_request = NULL,
	.close = git_close,
};
