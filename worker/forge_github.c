/*
 * forge_github.c
 *	  GitHub (github.com and GitHub Enterprise Server) through its REST API.
 *
 * The branch is written with the Git data API (blob, tree on the base
 * commit's tree, commit whose parent is the base branch's head, then the
 * ref moved with force), so it always holds exactly one commit on top of
 * the base branch. The pull request of the branch is found by head and
 * base and updated; a new one is opened only when none is open.
 * Authentication: a token, or a GitHub App (forge_github_app.c).
 */
#include "forge.h"
#include "forge_github_app.h"
#include "forge_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GITHUB_API	"https://api.github.com"

static const char *const github_headers[] = {
	"Accept: application/vnd.github+json",
	"X-GitHub-Api-Version: 2022-11-28",
	NULL
};

struct github
{
	struct forge_http h;
	const struct forge_target *t;
	char		name[512];		/* owner/repo */
	char		owner[512];
};

static void *
github_open(const struct forge_target *t, struct forge_error *err)
{
	struct github *g = calloc(1, sizeof(*g));
	char	   *slash;

	if (!g)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return NULL;
	}
	g->t = t;
	g->h.headers = github_headers;
	if (!forge_http_open(&g->h, t, GITHUB_API, "/api/v3",
						 t->github_app_id > 0 ? NULL : "Authorization: Bearer",
						 g->name, sizeof(g->name), err))
		goto fail;
	snprintf(g->owner, sizeof(g->owner), "%s", g->name);
	if ((slash = strchr(g->owner, '/')) == NULL)
	{
		forge_fail(err, FORGE_PERMANENT, "repository %s is not owner/name", t->repository);
		goto fail;
	}
	*slash = '\0';
	if (t->github_app_id > 0
		&& !(t->secret && github_app_login(&g->h, g->name, t->github_app_id, t->secret, err)))
	{
		if (!t->secret)
			forge_fail(err, FORGE_PERMANENT, "no credential (the GitHub App's private key)");
		goto fail;
	}
	return g;

fail:
	free(g);
	return NULL;
}

/* GET a ref's commit: true with sha (found) or "" (404). */
static bool
github_ref(struct github *g, const char *branch, char sha[41], struct forge_error *err)
{
	char		path[1024];
	struct forge_response r;
	json_t	   *obj;

	sha[0] = '\0';
	snprintf(path, sizeof(path), "/repos/%s/git/ref/heads/%s", g->name, branch);
	if (!forge_http_call(&g->h, "GET", path, NULL, &r, err))
		return false;
	if (r.status == 404)
	{
		forge_http_response_free(&r);
		return true;
	}
	if (r.status != 200)
	{
		forge_http_response_free(&r);
		return false;
	}
	obj = json_object_get(r.json, "object");
	if (forge_json_string(obj, "sha"))
		snprintf(sha, 41, "%s", forge_json_string(obj, "sha"));
	forge_http_response_free(&r);
	if (!sha[0])
		forge_fail(err, FORGE_PERMANENT, "GET %s: no object.sha in the answer", path);
	return sha[0] != '\0';
}

/* The content of a blob (the contents API inlines files of up to 1 MB only). */
static bool
github_blob(struct github *g, const char *sha, struct forge_file *out, struct forge_error *err)
{
	char		path[1024];
	struct forge_response r;
	const char *content;

	snprintf(path, sizeof(path), "/repos/%s/git/blobs/%s", g->name, sha);
	if (!forge_http_call(&g->h, "GET", path, NULL, &r, err) || r.status != 200)
	{
		forge_http_response_free(&r);
		return false;
	}
	content = forge_json_string(r.json, "content");
	out->data = content ? forge_unbase64(content, &out->len) : NULL;
	forge_http_response_free(&r);
	if (!out->data)
		forge_fail(err, FORGE_PERMANENT, "GET %s: no base64 content", path);
	return out->data != NULL;
}

static bool
github_read_file(void *s, const char *branch, bool want_data, struct forge_file *out,
				 struct forge_error *err)
{
	struct github *g = s;
	char		path[2048];
	char		branch_path[1024];

	/* the blob API answers for files of any size, the contents API up to 1 MB */
	snprintf(path, sizeof(path), "/repos/%s/contents/%s?ref=%s", g->name, g->t->path, branch);
	snprintf(branch_path, sizeof(branch_path), "/repos/%s/branches/%s", g->name, branch);
	if (!forge_http_read_file(&g->h, path, "sha", branch_path, false, out, err))
		return false;
	if (want_data && out->exists)
		return github_blob(g, out->blob, out, err);
	return true;
}

/* POST a JSON object (taken), expect 201, copy the answer's "sha". */
static bool
github_create(struct github *g, const char *what, json_t *body, char sha[41], struct forge_error *err)
{
	char		path[1024];
	struct forge_response r;
	bool		ok;

	snprintf(path, sizeof(path), "/repos/%s/git/%s", g->name, what);
	ok = forge_http_call(&g->h, "POST", path, body, &r, err) && r.status == 201
		&& forge_json_string(r.json, "sha");
	if (ok)
		snprintf(sha, 41, "%s", forge_json_string(r.json, "sha"));
	else if (r.status == 201)
		forge_fail(err, FORGE_PERMANENT, "POST %s: no sha in the answer", path);
	forge_http_response_free(&r);
	return ok;
}

static bool
github_write_branch(void *s, const struct forge_change *c, const struct forge_file *base,
					const struct forge_file *head, char *commit, struct forge_error *err)
{
	struct github *g = s;
	char		base_sha[41],
				tree[41],
				blob[41],
				new_tree[41];
	char		path[1024];
	char	   *b64;
	struct forge_response r;
	bool		ok;

	commit[0] = '\0';
	if (!github_ref(g, g->t->base_branch, base_sha, err))
		return false;
	if (!base_sha[0])
	{
		forge_fail(err, FORGE_PERMANENT, "base branch %s not found", g->t->base_branch);
		return false;
	}
	snprintf(path, sizeof(path), "/repos/%s/git/commits/%s", g->name, base_sha);
	if (!forge_http_call(&g->h, "GET", path, NULL, &r, err) || r.status != 200
		|| !forge_json_string(json_object_get(r.json, "tree"), "sha"))
	{
		if (r.status == 200)
			forge_fail(err, FORGE_PERMANENT, "GET %s: no tree.sha", path);
		forge_http_response_free(&r);
		return false;
	}
	snprintf(tree, sizeof(tree), "%s", forge_json_string(json_object_get(r.json, "tree"), "sha"));
	forge_http_response_free(&r);

	if (!(b64 = forge_base64(c->data, c->len)))
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return false;
	}
	ok = github_create(g, "blobs", json_pack("{s:s, s:s}", "content", b64, "encoding", "base64"), blob, err);
	free(b64);
	if (!ok)
		return false;
	if (!github_create(g, "trees",
					   json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}]}", "base_tree", tree, "tree",
								 "path", g->t->path, "mode", "100644", "type", "blob", "sha", blob),
					   new_tree, err))
		return false;
	if (!github_create(g, "commits",
					   json_pack("{s:s, s:s, s:[s]}", "message", c->commit_message, "tree", new_tree,
								 "parents", base_sha),
					   commit, err))
		return false;

	/* move the branch: PATCH with force if it exists, else create it */
	for (int round = 0; round < 2; round++)
	{
		bool		exists = (round == 0) == head->branch_exists;

		if (exists)
		{
			snprintf(path, sizeof(path), "/repos/%s/git/refs/heads/%s", g->name, g->t->branch);
			ok = forge_http_call(&g->h, "PATCH", path, json_pack("{s:s, s:b}", "sha", commit, "force", 1), &r, err);
		}
		else
		{
			char		ref[512];

			snprintf(path, sizeof(path), "/repos/%s/git/refs", g->name);
			snprintf(ref, sizeof(ref), "refs/heads/%s", g->t->branch);
			ok = forge_http_call(&g->h, "POST", path, json_pack("{s:s, s:s}", "ref", ref, "sha", commit), &r, err);
		}
		forge_http_response_free(&r);
		if (!ok)
			return false;
		if (r.status == 200 || r.status == 201)
			return true;
		/*
		 * 422 "Reference does not exist" / "Reference already exists": the
		 * branch went or appeared since it was read, try the other way once.
		 * Any other 422 (a protected branch...) is the forge's final word.
		 */
		if (r.status != 422 || !strstr(err->message, exists ? "does not exist" : "already exists"))
			return false;
	}
	return false;
}

/* The open pull request of head into base: its number (0: none) and URL. */
static bool
github_find_pull(struct github *g, long long *number, char *url, size_t url_size, struct forge_error *err)
{
	char		path[2048];
	struct forge_response r;
	json_t	   *first;

	*number = 0;
	snprintf(path, sizeof(path), "/repos/%s/pulls?state=open&head=%s:%s&base=%s",
			 g->name, g->owner, g->t->branch, g->t->base_branch);
	if (!forge_http_call(&g->h, "GET", path, NULL, &r, err) || r.status != 200)
	{
		forge_http_response_free(&r);
		return false;
	}
	if ((first = forge_json_first(r.json)) != NULL)
	{
		*number = json_integer_value(json_object_get(first, "number"));
		forge_json_copy(first, "html_url", url, url_size);
	}
	forge_http_response_free(&r);
	return true;
}

static bool
github_upsert_request(void *s, const struct forge_change *c, char *url, size_t url_size,
					  struct forge_error *err)
{
	struct github *g = s;
	char		path[1024];
	struct forge_response r;
	long long	number;

	for (int round = 0; round < 2; round++)
	{
		if (!github_find_pull(g, &number, url, url_size, err))
			return false;
		if (number > 0)
		{
			snprintf(path, sizeof(path), "/repos/%s/pulls/%lld", g->name, number);
			if (!forge_http_call(&g->h, "PATCH", path,
								 json_pack("{s:s, s:s}", "title", c->title, "body", c->body), &r, err))
				return false;
			forge_http_response_free(&r);
			return r.status == 200;
		}
		snprintf(path, sizeof(path), "/repos/%s/pulls", g->name);
		if (!forge_http_call(&g->h, "POST", path,
							 json_pack("{s:s, s:s, s:s, s:s}", "title", c->title, "head", g->t->branch,
									   "base", g->t->base_branch, "body", c->body), &r, err))
			return false;
		if (r.status == 201)
		{
			forge_json_copy(r.json, "html_url", url, url_size);
			forge_http_response_free(&r);
			return true;
		}
		forge_http_response_free(&r);
		/* 422 "A pull request already exists for owner:branch": opened meanwhile, update it */
		if (r.status != 422 || !strstr(err->message, "already exists"))
			return false;
	}
	return false;
}

static void
github_close(void *s)
{
	free(s);
}

const struct forge_ops forge_github = {
	.name = "github",
	.open = github_open,
	.read_file = github_read_file,
	.write_branch = github_write_branch,
	.upsert_request = github_upsert_request,
	.close = github_close,
};
