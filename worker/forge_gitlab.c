/*
 * forge_gitlab.c
 *	  GitLab (gitlab.com and self-managed) through its REST API v4.
 *
 * One call writes the branch: the commits API with one action (create or
 * update the file, base64) on start_branch = the base branch, with force,
 * so the branch is reset to exactly one commit on the base branch. The
 * merge request of the branch is found by source and target branch and
 * updated; a new one is opened only when none is open.
 */
#include "forge.h"
#include "forge_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GITLAB_API	"https://gitlab.com/api/v4"

struct gitlab
{
	struct forge_http h;
	const struct forge_target *t;
	char	   *project;		/* URL-encoded path of the project (group%2Fname) */
};

static void
gitlab_close(void *s)
{
	struct gitlab *g = s;

	if (g)
		free(g->project);
	free(g);
}

static void *
gitlab_open(const struct forge_target *t, struct forge_error *err)
{
	struct gitlab *g = calloc(1, sizeof(*g));
	char		name[512];

	if (!g)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return NULL;
	}
	g->t = t;
	/* personal, project, group and OAuth tokens all work as a Bearer token */
	if (!forge_http_open(&g->h, t, GITLAB_API, "/api/v4", "Authorization: Bearer", name, sizeof(name), err))
		goto fail;
	if (!(g->project = forge_http_escape(name)))
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		goto fail;
	}
	return g;

fail:
	gitlab_close(g);
	return NULL;
}

static bool
gitlab_read_file(void *s, const char *branch, bool want_data, struct forge_file *out,
				 struct forge_error *err)
{
	struct gitlab *g = s;
	char	   *file = forge_http_escape(g->t->path);
	char	   *ref = forge_http_escape(branch);
	char		path[2048];
	char		branch_path[1024];
	bool		ok;

	if (!file || !ref)
	{
		free(file);
		free(ref);
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return false;
	}
	snprintf(path, sizeof(path), "/projects/%s/repository/files/%s?ref=%s", g->project, file, ref);
	snprintf(branch_path, sizeof(branch_path), "/projects/%s/repository/branches/%s", g->project, ref);
	ok = forge_http_read_file(&g->h, path, "blob_id", branch_path, want_data, out, err);
	free(file);
	free(ref);
	return ok;
}

static bool
gitlab_write_branch(void *s, const struct forge_change *c, const struct forge_file *base,
					const struct forge_file *head, char *commit, struct forge_error *err)
{
	struct gitlab *g = s;
	char		path[1024];
	char	   *b64 = forge_base64(c->data, c->len);
	struct forge_response r;
	bool		ok;

	commit[0] = '\0';
	if (!b64)
	{
		forge_fail(err, FORGE_TRANSIENT, "out of memory");
		return false;
	}
	snprintf(path, sizeof(path), "/projects/%s/repository/commits", g->project);
	ok = forge_http_call(&g->h, "POST", path,
						 json_pack("{s:s, s:s, s:s, s:b, s:[{s:s, s:s, s:s, s:s}]}",
								   "branch", g->t->branch, "start_branch", g->t->base_branch,
								   "commit_message", c->commit_message, "force", 1,
								   "actions", "action", base->exists ? "update" : "create",
								   "file_path", g->t->path, "content", b64, "encoding", "base64"),
						 &r, err) && r.status == 201;
	free(b64);
	if (ok && forge_json_string(r.json, "id"))
		snprintf(commit, 41, "%s", forge_json_string(r.json, "id"));
	forge_http_response_free(&r);
	return ok;
}

static bool
gitlab_upsert_request(void *s, const struct forge_change *c, char *url, size_t url_size,
					  struct forge_error *err)
{
	struct gitlab *g = s;
	char		path[2048];
	struct forge_response r;
	json_t	   *first;
	long long	iid;

	for (int round = 0; round < 2; round++)
	{
		snprintf(path, sizeof(path), "/projects/%s/merge_requests?state=opened&source_branch=%s&target_branch=%s",
				 g->project, g->t->branch, g->t->base_branch);
		if (!forge_http_call(&g->h, "GET", path, NULL, &r, err) || r.status != 200)
		{
			forge_http_response_free(&r);
			return false;
		}
		first = forge_json_first(r.json);
		iid = first ? json_integer_value(json_object_get(first, "iid")) : 0;
		forge_http_response_free(&r);
		if (iid > 0)
		{
			snprintf(path, sizeof(path), "/projects/%s/merge_requests/%lld", g->project, iid);
			if (!forge_http_call(&g->h, "PUT", path,
								 json_pack("{s:s, s:s}", "title", c->title, "description", c->body), &r, err)
				|| r.status != 200)
			{
				forge_http_response_free(&r);
				return false;
			}
		}
		else
		{
			snprintf(path, sizeof(path), "/projects/%s/merge_requests", g->project);
			if (!forge_http_call(&g->h, "POST", path,
								 json_pack("{s:s, s:s, s:s, s:s, s:b}", "source_branch", g->t->branch,
										   "target_branch", g->t->base_branch, "title", c->title,
										   "description", c->body, "remove_source_branch", 1),
								 &r, err))
				return false;
			/* 409: "Another open merge request already exists for this source branch" */
			if (r.status == 409 && round == 0)
			{
				forge_http_response_free(&r);
				continue;
			}
			if (r.status != 201)
			{
				forge_http_response_free(&r);
				return false;
			}
		}
		forge_json_copy(r.json, "web_url", url, url_size);
		forge_http_response_free(&r);
		return true;
	}
	return false;
}

const struct forge_ops forge_gitlab = {
	.name = "gitlab",
	.open = gitlab_open,
	.read_file = gitlab_read_file,
	.write_branch = gitlab_write_branch,
	.upsert_request = gitlab_upsert_request,
	.close = gitlab_close,
};
