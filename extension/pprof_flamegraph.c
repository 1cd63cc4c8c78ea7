/*-------------------------------------------------------------------------
 *
 * pprof_flamegraph.c
 *	  pprof_flamegraph and pprof_flamegraph_diff: a profile's call tree
 *	  (pprof_flame.h) as a self-contained SVG flame graph.
 *
 * The picture follows flamegraph.pl: the root frame (the whole profile) at
 * the bottom, callees above their callers, each frame as wide as its share
 * of the total, children left to right by name, a <title> tooltip per frame
 * with the name, value and percent. Frames narrower than min_width pixels
 * are left out with everything above them, so the output grows with the
 * width, not with the profile: a row holds at most width / min_width frames.
 *
 * The SVG is plain ASCII: names are XML-escaped and every non-ASCII
 * character is written as a character reference (bytes that are not UTF-8
 * become U+FFFD, as a browser shows them), so the text is the same in every
 * database encoding and any XML parser reads it. The optional script
 * (click to zoom, search) only adds behaviour: without it the SVG shows the
 * same frames and tooltips. Same input, same bytes out.
 *
 * The differential graph draws the frames of the current profile and
 * colours each by how its share of the total changed against the base
 * profile (same path of names there): red grew, blue shrank, grey the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "pprof_flame.h"

#define FLAME_FRAME_HEIGHT	16		/* px per row */
#define FLAME_CHAR_WIDTH	6.6		/* px per character of 11px monospace */
#define FLAME_PAD			10		/* px left and right of the frames */
#define FLAME_TOP			48		/* px above: title, subtitle, buttons */
#define FLAME_BOTTOM		24		/* px below: the details line */
#define FLAME_MIN_WIDTH_PX	100
#define FLAME_MAX_WIDTH_PX	100000
#define FLAME_MAX_FRAMES	200000	/* ~40 MB of SVG */
#define FLAME_MAX_NAME_CHARS 1000	/* of a name in a tooltip */
#define FLAME_MAX_TITLE_CHARS 200

/* Neutral and extreme colours of the differential graph. */
#define DIFF_NEUTRAL		220
#define DIFF_MIN_SCALE		0.01	/* a change of 1 point of share or more is
									 * shown at full strength */

typedef struct FlameOptions
{
	const char *title;			/* server text */
	int			width;
	double		min_width;
	bool		interactive;
	bool		diff;
} FlameOptions;

static void ReadOptions(FunctionCallInfo fcinfo, int first, const char *default_title,
						FlameOptions *opt);
static int32 NextUtf8Char(const unsigned char *s, size_t len, size_t *used);
static void AppendXmlChar(StringInfo buf, int32 c);
static void AppendXmlBytes(StringInfo buf, const char *bytes, size_t len, int max_chars);
static void AppendXmlServer(StringInfo buf, const char *s, int max_chars);
static void HotColour(const char *name, uint32 len, int rgb[3]);
static void DiffColour(double delta, double scale, int rgb[3]);
static double NodeDelta(const FlameTree *tree, uint32 node);
static text *RenderSvg(FlameTree *tree, const FlameOptions *opt);

PG_FUNCTION_INFO_V1(pprof_flamegraph);
PG_FUNCTION_INFO_V1(pprof_flamegraph_diff);

/* Click to zoom, search; see the file header. Must not contain "]]>". */
static const char flame_script[] =
"(function(){\n"
"var me=document.currentScript,svg=me?me.parentNode:document.documentElement,W=+svg.getAttribute('width'),P=" CppAsString2(FLAME_PAD) ",CW=" CppAsString2(FLAME_CHAR_WIDTH) ";\n"
"function el(c){return svg.querySelector('.fg-'+c);}\n"
"var NS='http://www.w3.org/2000/svg',det=el('details'),un=el('unzoom'),se=el('search'),ma=el('matched'),F=[],root=null;\n"
"Array.prototype.forEach.call(el('frames').getElementsByTagName('g'),function(g){\n"
" var r=g.getElementsByTagName('rect')[0],t=g.getElementsByTagName('text')[0],info=g.getElementsByTagName('title')[0].textContent;\n"
" var f={g:g,r:r,t:t,info:info,name:info.slice(0,info.lastIndexOf(' (')),x:+r.getAttribute('x'),w:+r.getAttribute('width'),y:+r.getAttribute('y'),fill:r.getAttribute('fill')};\n"
" if(!t){t=document.createElementNS(NS,'text');t.setAttribute('y',f.y+11.5);g.appendChild(t);f.t=t;}\n"
" if(!root||f.y>root.y)root=f;\n"
" F.push(f);g.style.cursor='pointer';\n"
" g.addEventListener('click',function(){zoom(f);});\n"
" g.addEventListener('mouseover',function(){det.textContent=f.info;});\n"
" g.addEventListener('mouseout',function(){det.textContent=' ';});\n"
"});\n"
"function fit(f,x,w){f.r.setAttribute('x',x.toFixed(2));f.r.setAttribute('width',w.toFixed(2));\n"
" f.t.setAttribute('x',(x+3).toFixed(2));var n=Math.floor((w-6)/CW),s=f.name;\n"
" f.t.textContent=n<3?'':(s.length<=n?s:s.slice(0,n-2)+'..');}\n"
"function show(f,on,faded){f.g.style.display=on?'':'none';f.g.style.opacity=faded?'0.6':'';}\n"
"function zoom(z){var s=(W-2*P)/z.w,e=1e-6*W;\n"
" F.forEach(function(f){\n"
"  if(f.y>z.y){var a=f.x<=z.x+e&&f.x+f.w>=z.x+z.w-e;show(f,a,true);if(a)fit(f,P,W-2*P);}\n"
"  else{var i=f.x>=z.x-e&&f.x+f.w<=z.x+z.w+e;show(f,i,false);if(i)fit(f,P+(f.x-z.x)*s,f.w*s);}\n"
" });un.style.display='';}\n"
"function reset(){F.forEach(function(f){show(f,true,false);fit(f,f.x,f.w);});un.style.display='none';}\n"
"function search(q){var re=null,iv=[],sum=0,end=-1;\n"
" if(q){try{re=new RegExp(q);}catch(x){return;}}\n"
" F.forEach(function(f){var m=re!==null&&re.test(f.name);f.r.setAttribute('fill',m?'rgb(230,0,230)':f.fill);if(m)iv.push([f.x,f.x+f.w]);});\n"
" iv.sort(function(a,b){return a[0]-b[0];});\n"
" iv.forEach(function(v){if(v[1]<=end)return;sum+=v[1]-Math.max(v[0],end);end=v[1];});\n"
" ma.textContent=re&&root?'Matched: '+(100*sum/root.w).toFixed(1)+'%':'';}\n"
"un.addEventListener('click',reset);\n"
"se.style.display='';\n"
"se.addEventListener('click',function(){search(window.prompt('Search frames (regular expression)',''));});\n"
"svg.fgZoom=function(i){zoom(F[i]);};svg.fgReset=reset;svg.fgSearch=search;\n"
"})();\n";

/*
 * Options from the arguments (title, width, min_width, interactive) that
 * start at argument first; NULL means the default.
 */
static void
ReadOptions(FunctionCallInfo fcinfo, int first, const char *default_title,
			FlameOptions *opt)
{
	opt->title = PG_ARGISNULL(first) ? default_title :
		text_to_cstring(PG_GETARG_TEXT_PP(first));
	opt->width = PG_ARGISNULL(first + 1) ? 1200 : PG_GETARG_INT32(first + 1);
	opt->min_width = PG_ARGISNULL(first + 2) ? 0.1 : PG_GETARG_FLOAT8(first + 2);
	opt->interactive = PG_ARGISNULL(first + 3) ? true : PG_GETARG_BOOL(first + 3);

	if (opt->width < FLAME_MIN_WIDTH_PX || opt->width > FLAME_MAX_WIDTH_PX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flame graph width must be between %d and %d pixels",
						FLAME_MIN_WIDTH_PX, FLAME_MAX_WIDTH_PX),
				 errdetail("The width given is %d.", opt->width)));
	if (!(opt->min_width >= 0 && opt->min_width <= opt->width))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minimum frame width must be between 0 and the width"),
				 errdetail("The minimum frame width given is %g pixels.", opt->min_width)));
}

/*
 * The code point starting at s (len > 0 bytes), and in *used how many bytes
 * it takes; U+FFFD for a byte that does not start valid UTF-8 (one byte).
 */
static int32
NextUtf8Char(const unsigned char *s, size_t len, size_t *used)
{
	unsigned char c = s[0];
	int			n;
	int32		cp;
	unsigned char lo = 0x80,
				hi = 0xBF;
	int			i;

	*used = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xC2 && c <= 0xDF)
	{
		n = 1;
		cp = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;			/* no overlong forms */
		if (c == 0xED)
			hi = 0x9F;			/* no surrogates */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;			/* nothing above U+10FFFF */
	}
	else
		return 0xFFFD;
	if (len < (size_t) n + 1)
		return 0xFFFD;
	for (i = 1; i <= n; i++)
	{
		unsigned char b = s[i];

		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
			return 0xFFFD;
		cp = (cp << 6) | (b & 0x3F);
	}
	*used = n + 1;
	return cp;
}

/*
 * One character as XML text or attribute content, in ASCII: markup
 * characters as entities, anything else outside printable ASCII as a
 * character reference; characters XML 1.0 does not allow (controls,
 * U+FFFE, U+FFFF) as U+FFFD.
 */
static void
AppendXmlChar(StringInfo buf, int32 c)
{
	switch (c)
	{
		case '<':
			appendStringInfoString(buf, "&lt;");
			return;
		case '>':
			appendStringInfoString(buf, "&gt;");
			return;
		case '&':
			appendStringInfoString(buf, "&amp;");
			return;
		case '"':
			appendStringInfoString(buf, "&quot;");
			return;
		case '\'':
			appendStringInfoString(buf, "&#39;");
			return;
	}
	if (c < 0x20 || c == 0x7F || c == 0xFFFE || c == 0xFFFF)
		c = 0xFFFD;
	if (c < 0x80)
		appendStringInfoChar(buf, (char) c);
	else
		appendStringInfo(buf, "&#x%X;", (unsigned int) c);
}

/*
 * Bytes (UTF-8, maybe invalid) as XML; longer than max_chars characters,
 * the first max_chars - 2 and "..".
 */
static void
AppendXmlBytes(StringInfo buf, const char *bytes, size_t len, int max_chars)
{
	const unsigned char *s = (const unsigned char *) bytes;
	size_t		pos = 0;
	size_t		used;
	int			n_chars = 0;
	int			keep;

	while (pos < len && n_chars <= max_chars)
	{
		(void) NextUtf8Char(s + pos, len - pos, &used);
		pos += used;
		n_chars++;
	}
	keep = n_chars > max_chars ? max_chars - 2 : n_chars;
	for (pos = 0; keep > 0; keep--)
	{
		AppendXmlChar(buf, NextUtf8Char(s + pos, len - pos, &used));
		pos += used;
	}
	if (n_chars > max_chars)
		appendStringInfoString(buf, "..");
}

/* Text in the database encoding as XML (see AppendXmlBytes). */
static void
AppendXmlServer(StringInfo buf, const char *s, int max_chars)
{
	const char *utf8 = (const char *) pg_server_to_any(s, strlen(s), PG_UTF8);

	AppendXmlBytes(buf, utf8, strlen(utf8), max_chars);
}

/* flamegraph.pl's "hot" palette, the shade picked by the name's hash. */
static void
HotColour(const char *name, uint32 len, int rgb[3])
{
	uint32		h = hash_bytes((const unsigned char *) name, len);

	rgb[0] = 205 + (int) (50 * (h & 0xFF) / 255);
	rgb[1] = (int) (230 * ((h >> 8) & 0xFF) / 255);
	rgb[2] = (int) (55 * ((h >> 16) & 0xFF) / 255);
}

/*
 * Colour of a change of share delta (a fraction of the total) when a change
 * of scale shows at full strength: grey for none, towards red for growth,
 * towards blue for shrinkage.
 */
static void
DiffColour(double delta, double scale, int rgb[3])
{
	double		t = Min(fabs(delta) / scale, 1.0);
	int			strong = (int) rint(DIFF_NEUTRAL * t);

	rgb[0] = rgb[1] = rgb[2] = DIFF_NEUTRAL;
	if (delta > 0)
	{
		rgb[1] -= strong * 3 / 4;
		rgb[2] -= strong * 3 / 4;
		rgb[0] = Min(255, rgb[0] + (int) rint(35 * t));
	}
	else if (delta < 0)
	{
		rgb[0] -= strong * 3 / 4;
		rgb[1] -= strong / 2;
		rgb[2] = Min(255, rgb[2] + (int) rint(35 * t));
	}
}

/* Share of a node in the current profile minus its share in the base. */
static double
NodeDelta(const FlameTree *tree, uint32 node)
{
	const FlameNode *n = &tree->nodes[node];
	double		cur = tree->total[FLAME_CURRENT] > 0 ?
		(double) n->value[FLAME_CURRENT] / (double) tree->total[FLAME_CURRENT] : 0;
	double		base = tree->total[FLAME_BASE] > 0 ?
		(double) n->value[FLAME_BASE] / (double) tree->total[FLAME_BASE] : 0;

	return cur - base;
}

/* The SVG of a finished tree. */
static text *
RenderSvg(FlameTree *tree, const FlameOptions *opt)
{
	int64		total = tree->nodes[0].value[FLAME_CURRENT];
	double		scale = total > 0 ? (opt->width - 2.0 * FLAME_PAD) / (double) total : 0;
	double	   *offset;
	uint32	   *depth;
	uint32	   *order;
	uint32	   *stack;
	uint32		n_order = 0;
	uint32		n_stack = 0;
	uint32		n_hidden = 0;
	uint32		max_depth = 0;
	double		diff_scale = DIFF_MIN_SCALE;
	int			height;
	uint32		i;
	StringInfoData svg;

	/* which frames are drawn where: preorder, children left to right */
	offset = palloc_extended(sizeof(double) * tree->n_nodes, MCXT_ALLOC_HUGE);
	depth = palloc_extended(sizeof(uint32) * tree->n_nodes, MCXT_ALLOC_HUGE);
	order = palloc_extended(sizeof(uint32) * tree->n_nodes, MCXT_ALLOC_HUGE);
	stack = palloc_extended(sizeof(uint32) * tree->n_nodes, MCXT_ALLOC_HUGE);
	offset[0] = 0;
	depth[0] = 0;
	if (total > 0)
		stack[n_stack++] = 0;
	while (n_stack > 0)
	{
		uint32		node = stack[--n_stack];
		const FlameNode *n = &tree->nodes[node];
		double		x = offset[node];
		uint32		first_pushed = n_stack;
		uint32		c;

		CHECK_FOR_INTERRUPTS();
		if (n_order == FLAME_MAX_FRAMES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("flame graph would have more than %d frames", FLAME_MAX_FRAMES),
					 errhint("Raise min_width or lower width.")));
		order[n_order++] = node;
		max_depth = Max(max_depth, depth[node]);
		if (opt->diff)
			diff_scale = Max(diff_scale, fabs(NodeDelta(tree, node)));

		for (c = 0; c < n->n_children; c++)
		{
			uint32		child = tree->children[n->first_child + c];
			int64		v = tree->nodes[child].value[FLAME_CURRENT];

			if (v <= 0)
				continue;
			offset[child] = x;
			depth[child] = depth[node] + 1;
			x += (double) v;
			if ((double) v * scale >= opt->min_width)
				stack[n_stack++] = child;
			else
				n_hidden++;
		}
		/* reverse the children pushed, so the leftmost comes out first */
		for (c = 0; c < (n_stack - first_pushed) / 2; c++)
		{
			uint32		t = stack[first_pushed + c];

			stack[first_pushed + c] = stack[n_stack - 1 - c];
			stack[n_stack - 1 - c] = t;
		}
	}
	height = FLAME_TOP + (int) (max_depth + 1) * FLAME_FRAME_HEIGHT + FLAME_BOTTOM;

	initStringInfo(&svg);
	appendStringInfo(&svg,
					 "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" class=\"fg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
					 "<style>\n"
					 ".fg text{font-family:monospace;font-size:11px;fill:#000}\n"
					 ".fg .fg-title{font-family:sans-serif;font-size:16px}\n"
					 ".fg .fg-frames text{pointer-events:none}\n"
					 ".fg .fg-frames g:hover rect{stroke:#000;stroke-width:0.5}\n"
					 ".fg .fg-btn{cursor:pointer;fill:#0645ad}\n"
					 "</style>\n"
					 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f8\"/>\n"
					 "<text class=\"fg-title\" x=\"%d\" y=\"20\" text-anchor=\"middle\">",
					 opt->width, height, opt->width, height, opt->width, height,
					 opt->width / 2);
	AppendXmlServer(&svg, opt->title, FLAME_MAX_TITLE_CHARS);
	appendStringInfo(&svg, "</text>\n<text class=\"fg-subtitle\" x=\"%d\" y=\"38\" text-anchor=\"middle\">",
					 opt->width / 2);
	if (tree->sample_type != NULL)
	{
		AppendXmlServer(&svg, tree->sample_type, FLAME_MAX_TITLE_CHARS);
		appendStringInfo(&svg, ", total " INT64_FORMAT " ", total);
		AppendXmlServer(&svg, tree->value_unit, FLAME_MAX_TITLE_CHARS);
	}
	if (total <= 0)
		appendStringInfoString(&svg, " (no samples)");
	if (n_hidden > 0)
		appendStringInfo(&svg, ", %u frames narrower than %g px not drawn", n_hidden, opt->min_width);
	if (opt->diff)
		appendStringInfoString(&svg, "; red: larger share than in the base, blue: smaller");
	appendStringInfoString(&svg, "</text>\n");
	if (opt->interactive)
		appendStringInfo(&svg,
						 "<text class=\"fg-btn fg-unzoom\" x=\"%d\" y=\"20\" style=\"display:none\">Reset zoom</text>\n"
						 "<text class=\"fg-btn fg-search\" x=\"%d\" y=\"20\" text-anchor=\"end\" style=\"display:none\">Search</text>\n"
						 "<text class=\"fg-matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
						 FLAME_PAD, opt->width - FLAME_PAD, opt->width - FLAME_PAD, height - 6);
	appendStringInfo(&svg, "<text class=\"fg-details\" x=\"%d\" y=\"%d\"> </text>\n<g class=\"fg-frames\">\n",
					 FLAME_PAD, height - 6);

	for (i = 0; i < n_order; i++)
	{
		uint32		node = order[i];
		const FlameNode *n = &tree->nodes[node];
		int64		v = n->value[FLAME_CURRENT];
		double		x = FLAME_PAD + offset[node] * scale;
		double		w = (double) v * scale;
		int			y = height - FLAME_BOTTOM - (int) (depth[node] + 1) * FLAME_FRAME_HEIGHT;
		int			chars = (int) floor((w - 6) / FLAME_CHAR_WIDTH);
		uint32		len;
		const char *name = FlameNodeName(tree, node, &len);
		int			rgb[3];

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (opt->diff)
			DiffColour(NodeDelta(tree, node), diff_scale, rgb);
		else
			HotColour(name, len, rgb);

		appendStringInfoString(&svg, "<g><title>");
		AppendXmlBytes(&svg, name, len, FLAME_MAX_NAME_CHARS);
		appendStringInfo(&svg, " (" INT64_FORMAT " ", v);
		AppendXmlServer(&svg, tree->value_unit, FLAME_MAX_TITLE_CHARS);
		appendStringInfo(&svg, ", %.2f%%", (double) v / (double) total * 100.0);
		if (opt->diff)
		{
			double		delta = NodeDelta(tree, node);

			appendStringInfo(&svg, "; base %.2f%%, %s%.2f points",
							 tree->total[FLAME_BASE] > 0 ?
							 (double) n->value[FLAME_BASE] / (double) tree->total[FLAME_BASE] * 100.0 : 0.0,
							 delta >= 0 ? "+" : "-", fabs(delta) * 100.0);
		}
		appendStringInfo(&svg, ")</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"/>",
						 x, y, w, FLAME_FRAME_HEIGHT - 1, rgb[0], rgb[1], rgb[2]);
		if (chars >= 3)
		{
			appendStringInfo(&svg, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + 11.5);
			AppendXmlBytes(&svg, name, len, chars);
			appendStringInfoString(&svg, "</text>");
		}
		appendStringInfoString(&svg, "</g>\n");
	}
	appendStringInfoString(&svg, "</g>\n");
	if (opt->interactive)
	{
		appendStringInfoString(&svg, "<script type=\"text/ecmascript\"><![CDATA[\n");
		appendStringInfoString(&svg, flame_script);
		appendStringInfoString(&svg, "]]></script>\n");
	}
	appendStringInfoString(&svg, "</svg>\n");
	return cstring_to_text_with_len(svg.data, svg.len);
}

/*
 * pprof_flamegraph(p, sample_type, title, width, min_width, interactive):
 * the flame graph of one profile.
 */
Datum
pprof_flamegraph(PG_FUNCTION_ARGS)
{
	PprofView	view;
	int			k;
	FlameOptions opt;
	FlameTree  *tree;

	if (!PprofOpenWithSampleType(fcinfo, 1, &view, &k))
		PG_RETURN_NULL();
	ReadOptions(fcinfo, 2, "Flame graph", &opt);
	opt.diff = false;

	tree = FlameTreeCreate();
	FlameTreeAdd(tree, &view, k, FLAME_CURRENT);
	FlameTreeFinish(tree);
	PG_RETURN_TEXT_P(RenderSvg(tree, &opt));
}

/*
 * pprof_flamegraph_diff(base, current, sample_type, title, width,
 * min_width, interactive): the frames of current, coloured by the change
 * of their share against base.
 */
Datum
pprof_flamegraph_diff(PG_FUNCTION_ARGS)
{
	PprofView	base;
	PprofView	current;
	int			kb,
				kc;
	FlameOptions opt;
	FlameTree  *tree;

	if (!PprofOpenArgWithSampleType(fcinfo, 0, 2, &base, &kb) ||
		!PprofOpenArgWithSampleType(fcinfo, 1, 2, &current, &kc))
		PG_RETURN_NULL();
	ReadOptions(fcinfo, 3, "Differential flame graph", &opt);
	opt.diff = true;

	tree = FlameTreeCreate();
	FlameTreeAdd(tree, &current, kc, FLAME_CURRENT);
	FlameTreeAdd(tree, &base, kb, FLAME_BASE);
	FlameTreeFinish(tree);
	PG_RETURN_TEXT_P(RenderSvg(tree, &opt));
}
