/*
 * ui.c
 *	  The web pages: GET /ui (every tag), GET /ui/{tag} (a tag's selection,
 *	  its flame graph, top functions, profiles, problems, releases, the
 *	  change since the latest release), GET /profile/{tag}/flamegraph.svg.
 *
 * The catalog makes the pictures and the HTML of each page's content
 * (pgo.ui_index, pgo.ui_tag, pgo.flamegraph: one SQL call per request, the
 * same a psql user makes); the gateway only wraps the content in the page
 * template of gateway/ui/, which the build compiles into the binary
 * (ui_assets.c, generated from gateway/ui/ by the Makefile). The pages need
 * no script: the tables are HTML and the flame graphs inline SVG whose
 * embedded script only adds zoom and search.
 *
 * A tag's page and the SVG take the selection parameters of GET
 * /profile/{tag} (download_selection), so they show what a build with the
 * same URL gets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "ui_assets.h"

#define MAX_UI_QUERY 1024		/* the page's query string kept in its links */

/* what a request shows */
enum ui_kind
{
	UI_INDEX,					/* GET /ui: pgo.ui_index() */
	UI_TAG,						/* GET /ui/{tag}: pgo.ui_tag(selection, query) */
	UI_SVG						/* GET /profile/{tag}/flamegraph.svg: pgo.flamegraph(selection) */
};

struct ui_page
{
	enum ui_kind kind;
	struct selection sel;		/* $1 = the tag, then the selection */
	char	   *query;			/* raw query string, for the page's links */
};

/* Free a page's state. */
void
ui_free(void *state)
{
	struct ui_page *p = state;

	free(p->query);
	free(p);
}

/*
 * New state for r; with a tag, its selection from the query string. NULL:
 * r->reply is the error.
 */
static struct ui_page *
PageNew(struct request *r, enum ui_kind kind)
{
	struct ui_page *p = calloc(1, sizeof(*p));

	if (p == NULL)
	{
		reply_out_of_memory(r);
		return NULL;
	}
	r->state = p;
	p->kind = kind;
	if (kind != UI_INDEX &&
		!download_selection(r, request_capture(r, "tag"), &p->sel, NULL, NULL))
		return NULL;
	return p;
}

/*
 * The reply: the page template with the title and the content made by
 * the catalog (HTML, already escaped where it holds data).
 */
static void
ReplyPage(struct request *r, const char *title, const char *content)
{
	struct buf	b;
	const char *t = ui_page_html;
	const char *mark;

	buf_init(&b);
	while ((mark = strstr(t, "{{")) != NULL)
	{
		const char *end = strstr(mark, "}}");

		if (end == NULL)
			break;
		buf_put(&b, t, (size_t) (mark - t));
		if (strncmp(mark, "{{title}}", 9) == 0)
			buf_puts(&b, title);	/* a tag: [A-Za-z0-9._-] */
		else if (strncmp(mark, "{{style}}", 9) == 0)
			buf_puts(&b, ui_style_css);
		else if (strncmp(mark, "{{body}}", 8) == 0)
			buf_puts(&b, content);
		t = end + 2;
	}
	buf_puts(&b, t);
	if (b.oom)
	{
		buf_free(&b);
		reply_out_of_memory(r);
		return;
	}
	r->reply.status = 200;
	r->reply.body = buf_steal(&b, &r->reply.len);
	r->reply.content_type = "text/html; charset=utf-8";
	r->reply.cache_control = "no-store";
}

/* An SVG document as the reply (copied). */
static void
ReplySvg(struct request *r, const char *svg, size_t len)
{
	r->reply.body = malloc(len ? len : 1);
	if (r->reply.body == NULL)
	{
		reply_out_of_memory(r);
		return;
	}
	memcpy(r->reply.body, svg, len);
	r->reply.len = len;
	r->reply.status = 200;
	r->reply.content_type = "image/svg+xml";
	r->reply.cache_control = "no-store";
}

/* Database thread: the one catalog call of the request, then the reply. */
static bool
UiRun(struct db_ctx *ctx, void *arg)
{
	struct request *r = arg;
	struct ui_page *p = r->state;
	char		sql[600];
	int			nparams = p->sel.nvalues;
	PGresult   *res;

	if (p->kind == UI_INDEX)
		snprintf(sql, sizeof(sql), "SELECT pgo.ui_index()");
	else if (p->kind == UI_TAG)
	{
		/* the query string is the last argument, after the selection's */
		p->sel.values[nparams++] = p->query;
		snprintf(sql, sizeof(sql), "SELECT pgo.ui_tag($1%s, query => $%d)", p->sel.args, nparams);
	}
	else
		snprintf(sql, sizeof(sql), "SELECT pgo.flamegraph($1%s)", p->sel.args);
	res = db_query(ctx, sql, nparams, p->sel.values, NULL, NULL, 0);
	if (res == NULL)
		return !ctx->err->conn_lost;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		reply_errorf(r, 404, "no usable profile",
					 "No PGO-usable profile of tag %s matches the selection.", p->sel.values[0]);
	else if (p->kind == UI_SVG)
		ReplySvg(r, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
	else
		ReplyPage(r, p->kind == UI_INDEX ? "tags" : p->sel.values[0], PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/* GET /ui */
enum action
ui_index_get(struct request *r)
{
	if (PageNew(r, UI_INDEX) == NULL)
		return ACT_REPLY;
	return request_db(r, UiRun, db_reader, 0, NULL);
}

/* GET /ui/{tag} */
enum action
ui_tag_get(struct request *r)
{
	struct ui_page *p = PageNew(r, UI_TAG);
	const char *q;

	if (p == NULL)
		return ACT_REPLY;
	q = strchr(r->raw_uri, '?');
	p->query = strndup(q != NULL ? q + 1 : "", MAX_UI_QUERY);
	if (p->query == NULL)
	{
		reply_out_of_memory(r);
		return ACT_REPLY;
	}
	return request_db(r, UiRun, db_reader, 0, NULL);
}

/* GET /profile/{tag}/flamegraph.svg */
enum action
flamegraph_get(struct request *r)
{
	if (PageNew(r, UI_SVG) == NULL)
		return ACT_REPLY;
	return request_db(r, UiRun, db_reader, 0, NULL);
}
