/*
 * forge_gitea.c
 *	  Gitea and Forgejo through their REST API v1.
 *
 * The branch is written with the contents API (POST /contents, one file
 * operation per commit): the first run creates the branch from the base
 * branch (new_branch), later runs add one commit to the same branch. A
 * released Gitea cannot force-move a branch through its API (proposed in
 * go-gitea/gitea#35592 and #35951), so the branch keeps its history; its
 * pull request still shows one file changed against the base branch.
 * The pull request is found by base and head (Gitea >= 1.22, Forgejo >= 7)
 * and updated; a new one is opened only when none is open.
 */
#include "forge.h"
#include "forge_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gitea
{
	struct forge_http h;
	const struct forge_target *t;
	char		name[512];		/* owner/repo */
};

static void *
gitea_open(const struct forge_target *t, struct forge_error *err)
{
	struct gitea *g = calloc(1, sizeof(*g));

	if (!g)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return NULL;
	}
	g->t = t;
	if (!forge_http_open(&g->h, t, NULL, "/api/v1", "Authorization: token", g->name, sizeof(g->name), err))
		goto fail;
	return g;

fail:
	free(g);
	return NULL;
}

static bool
gitea_read_file(void *s, const char *branch, bool want_data, struct forge_file *out,
				struct forge_error *err)
{
	struct gitea *g = s;
	char		path[2048];
	char		branch_path[1024];

	snprintf(path, sizeof(path), "/repos/%s/contents/%s?ref=%s", g->name, g->t->path, branch);
	snprintf(branch_path, sizeof(branch_path), "/repos/%s/branches/%s", g->name, branch);
	return forge_http_read_file(&g->h, path, "sha", branch_path, want_data, out, err);
}

static bool
gitea_write_branch(void *s, const struct forge_change *c, const struct forge_file *base,
				   const struct forge_file *head, char *commit, struct forge_error *err)
{
	struct gitea *g = s;
	/* on the branch if it exists, else a new branch from the base branch */
	const struct forge_file *on = head->branch_exists ? head : base;
	char		path[1024];
	char	   *b64 = forge_base64(c->data, c->len);
	json_t	   *op;
	json_t	   *body;
	struct forge_response r;
	bool		ok;

	commit[0] = '\0';
	if (!b64)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return false;
	}
	op = json_pack("{s:s, s:s, s:s}", "operation", on->exists ? "update" : "create",
				   "path", g->t->path, "content", b64);
	free(b64);
	if (op && on->exists)
		json_object_set_new(op, "sha", json_string(on->blob));
	body = op ? json_pack("{s:s, s:s, s:[o]}", "message", c->commit_message,
						  "branch", head->branch_exists ? g->t->branch : g->t->base_branch, "files", op) : NULL;
	if (body && !head->branch_exists)
		json_object_set_new(body, "new_branch", json_string(g->t->branch));
	snprintf(path, sizeof(path), "/repos/%s/contents", g->name);
	ok = forge_http_call(&g->h, "POST", path, body, &r, err) && r.status == 201;
	if (ok && forge_json_string(json_object_get(r.json, "commit"), "sha"))
		snprintf(commit, 41, "%s", forge_json_string(json_object_get(r.json, "commit"), "sha"));
	forge_http_response_free(&r);
	return ok;
}

static bool
gitea_upsert_request(void *s, const struct forge_change *c, char *url, size_t url_size,
					 struct forge_error *err)
{
	struct gitea *g = s;
	char	   *base = forge_http_escape(g->t->base_branch);
	char		path[2048];
	struct forge_response r;
	long long	number = 0;
	bool		ok = false;

	if (!base)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return false;
	}
	for (int round = 0; round < 2; round++)
	{
		/* the newest pull request of head into base, open or not */
		snprintf(path, sizeof(path), "/repos/%s/pulls/%s/%s", g->name, base, g->t->branch);
		if (!forge_http_call(&g->h, "GET", path, NULL, &r, err) || (r.status != 200 && r.status != 404))
		{
			forge_http_response_free(&r);
			break;
		}
		number = 0;
		if (r.status == 200 && strcmp(forge_json_string(r.json, "state") ? forge_json_string(r.json, "state") : "", "open") == 0)
			number = json_integer_value(json_object_get(r.json, "number"));
		forge_http_response_free(&r);
		if (number > 0)
		{
			snprintf(path, sizeof(path), "/repos/%s/pulls/%lld", g->name, number);
			ok = forge_http_call(&g->h, "PATCH", path,
								 json_pack("{s:s, s:s}", "title", c->title, "body", c->body), &r, err)
				&& (r.status == 200 || r.status == 201);
		}
		else
		{
			snprintf(path, sizeof(path), "/repos/%s/pulls", g->name);
			ok = forge_http_call(&g->h, "POST", path,
								 json_pack("{s:s, s:s, s:s, s:s}", "head", g->t->branch, "base", g->t->base_branch,
										   "title", c->title, "body", c->body), &r, err)
				&& r.status == 201;
			/* 409: a pull request of this head and base was opened meanwhile */
			if (!ok && r.status == 409 && round == 0)
			{
				forge_http_response_free(&r);
				continue;
			}
		}
		if (ok)
			forge_json_copy(r.json, "html_url", url, url_size);
		forge_http_response_free(&r);
		break;
	}
	free(base);
	return ok;
}

static void
gitea_close(void *s)
{
	free(s);
}

const struct forge_ops forge_gitea = {
	.name = "gitea",
	.open = gitea_open,
	.read_file = gitea_read_file,
	.write_branch = gitea_write_branch,
	.upsert_request = gitea_upsert_request,
	.close = gitea_close,
};
