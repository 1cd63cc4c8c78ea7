--
-- Pictures: flame graphs and folded stacks (extension/pprof_flamegraph.c,
-- pprof_folded.c). Frames are named as go tool pprof names them, inlined
-- calls included; output is deterministic.
--
CREATE FUNCTION pprof_flamegraph(p pprof, sample_type text DEFAULT NULL,
		title text DEFAULT NULL, width integer DEFAULT 1200,
		min_width float8 DEFAULT 0.1, interactive boolean DEFAULT true)
	RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph(pprof, text, text, integer, float8, boolean) IS
	'a self-contained SVG flame graph of the profile (frames narrower than min_width pixels left out; interactive adds click-to-zoom and search)';

CREATE FUNCTION pprof_flamegraph_diff(base pprof, current pprof, sample_type text DEFAULT NULL,
		title text DEFAULT NULL, width integer DEFAULT 1200,
		min_width float8 DEFAULT 0.1, interactive boolean DEFAULT true)
	RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph_diff(pprof, pprof, text, text, integer, float8, boolean) IS
	'an SVG flame graph of current, each frame coloured by the change of its share of the total against base (red grew, blue shrank)';

CREATE FUNCTION pprof_folded(p pprof, sample_type text DEFAULT NULL)
	RETURNS TABLE(stack text, value bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_folded(pprof, text) IS
	'the profile as folded stacks (root;caller;callee and the value of the samples ending there), as flamegraph.pl, inferno and speedscope read';

--
-- Pictures of the catalog, for psql and for the gateway's web pages
-- (GET /ui, /ui/<tag>, /profile/<tag>/flamegraph.svg). The pages' HTML is
-- made here, next to the data, like the SVG: the gateway only wraps it in
-- its page template. Every text that comes from the data is escaped with
-- pgo.html_escape.
--
CREATE FUNCTION pgo.html_escape(s text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN replace(replace(replace(replace(replace(s, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
						   '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION pgo.html_escape(text) IS 'text made safe inside HTML elements and quoted attributes';

-- The merge a build gets (pgo.profile_for, same arguments) drawn as a flame
-- graph, with stacks up to 64 frames deep (runtime/pprof's CPU profiler
-- records at most 64), where the build's default.pgo keeps the leaf-most
-- pprof.pgo_frames. NULL when nothing is selected.
CREATE FUNCTION pgo.flamegraph(tag text, "window" interval DEFAULT '7 days',
							   max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
							   "normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
							   top_by_cpu integer DEFAULT NULL, width integer DEFAULT 1200,
							   go_version text DEFAULT NULL, version text DEFAULT NULL)
	RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET pprof.pgo_frames = 64
	SET intervalstyle = postgres
	RETURN @extschema@.pprof_flamegraph(
		pgo.profile_for(tag, "window", max_profiles, mode, "normalize", min_duration, top_by_cpu,
						go_version, version)::@extschema@.pprof,
		title => tag || COALESCE(' (' || mode || ')', '') || ': '
				 || COALESCE('last ' || "window"::text, 'all time') || ', as the build merges it',
		width => width);
COMMENT ON FUNCTION pgo.flamegraph(text, interval, integer, text, boolean, interval, integer, integer, text, text) IS
	'SVG flame graph of what pgo.profile_for merges (same arguments), stacks up to 64 frames; NULL if nothing is selected';

-- The merge a build gets now against the tag's latest release, both as the
-- compiler reads them (the current merge made with the release's
-- pprof.pgo_frames, so the same frames are compared). NULL without a
-- release or a selection.
CREATE FUNCTION pgo.flamegraph_diff(tag text, "window" interval DEFAULT '7 days',
									max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
									"normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
									top_by_cpu integer DEFAULT NULL, width integer DEFAULT 1200,
									go_version text DEFAULT NULL, version text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET pprof.pgo_frames = 4
	AS $$
DECLARE
	r pgo.releases;
	v_current bytea;
BEGIN
	r := pgo.latest_release(flamegraph_diff.tag);
	IF r.sha256 IS NULL THEN
		RETURN NULL;
	END IF;
	v_current := pgo.profile_like_release(r, flamegraph_diff."window", flamegraph_diff.max_profiles,
										  flamegraph_diff.mode, flamegraph_diff.normalize,
										  flamegraph_diff.min_duration, flamegraph_diff.top_by_cpu,
										  flamegraph_diff.go_version, flamegraph_diff.version);
	IF v_current IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN @extschema@.pprof_flamegraph_diff(
		r.profile::@extschema@.pprof, v_current::@extschema@.pprof,
		title => flamegraph_diff.tag || ': the current merge against release '
				 || left(r.sha256, 12) || ' of ' || to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
		width => flamegraph_diff.width);
END
$$;
COMMENT ON FUNCTION pgo.flamegraph_diff(text, interval, integer, text, boolean, interval, integer, integer, text, text) IS
	'SVG differential flame graph of what pgo.profile_for merges now against the tag''s latest release; NULL without either';

-- An SVG without its XML declaration, to sit inside an HTML page.
CREATE FUNCTION pgo.svg_inline(svg text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN regexp_replace(svg, '^<\?xml[^>]*\?>\s*', '');
COMMENT ON FUNCTION pgo.svg_inline(text) IS 'an SVG document without its XML declaration, to inline into HTML';

-- The front page: one row per tag with its profiles per day over the last
-- 14 days (a bar chart), usable share, newest upload, the problems of its
-- unusable profiles and its current release.
CREATE FUNCTION pgo.ui_index() RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	WITH days AS (
		SELECT d::date AS day FROM generate_series((now() AT TIME ZONE 'UTC')::date - 13,
												   (now() AT TIME ZONE 'UTC')::date, '1 day') AS d),
	recent AS (
		SELECT p.tag, (p.received_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
		FROM pgo.profiles p
		WHERE p.received_at >= (now() AT TIME ZONE 'UTC')::date - 13
		GROUP BY 1, 2),
	problems AS (
		SELECT q.tag, string_agg(pgo.html_escape(q.problem) || ' (' || q.n || ')', '<br>' ORDER BY q.n DESC, q.problem) AS list
		FROM (SELECT p.tag, x.problem, count(*) AS n,
					 row_number() OVER (PARTITION BY p.tag ORDER BY count(*) DESC, x.problem) AS rank
			  FROM pgo.profiles p, unnest(p.problems) AS x(problem)
			  WHERE NOT p.pgo_usable AND p.received_at >= now() - interval '14 days'
			  GROUP BY 1, 2) q
		WHERE q.rank <= 3
		GROUP BY q.tag),
	charts AS (
		SELECT t.tag,
			   '<svg class="days" width="84" height="20" viewBox="0 0 84 20" role="img" aria-label="profiles per day, last 14 days">'
			   || string_agg('<rect x="' || (6 * (d.day - ((now() AT TIME ZONE 'UTC')::date - 13))) || '" y="'
							 || (20 - ceil(18.0 * COALESCE(r.n, 0) / GREATEST(m.most, 1)) - 1)::int
							 || '" width="5" height="' || (ceil(18.0 * COALESCE(r.n, 0) / GREATEST(m.most, 1)) + 1)::int
							 || '"><title>' || d.day || ': ' || COALESCE(r.n, 0) || '</title></rect>', '' ORDER BY d.day)
			   || '</svg>' AS chart
		FROM pgo.tags t CROSS JOIN days d
			 LEFT JOIN recent r ON r.tag = t.tag AND r.day = d.day
			 CROSS JOIN LATERAL (SELECT max(n) AS most FROM recent WHERE recent.tag = t.tag) m
		GROUP BY t.tag)
	SELECT '<h1>Profiles</h1>' || CASE WHEN count(t.tag) = 0 THEN '<p>No profiles yet.</p>' ELSE
		'<table class="tags"><thead><tr><th>tag</th><th>per day (14 days)</th><th>profiles</th><th>usable</th>'
		|| '<th>newest upload</th><th>problems</th><th>current release</th></tr></thead><tbody>'
		|| string_agg('<tr><td><a href="/ui/' || t.tag || '">' || t.tag || '</a></td><td>' || c.chart
					  || '</td><td class="n">' || t.profiles
					  || '</td><td class="n">' || CASE WHEN t.profiles > 0 THEN round(100.0 * t.usable / t.profiles) || '%' ELSE '' END
					  || '</td><td>' || to_char(t.newest AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'
					  || '</td><td>' || COALESCE(pr.list, '')
					  || '</td><td>' || COALESCE('<a href="/profile/' || t.tag || '@' || rel.sha256 || '"><code>'
											   || left(rel.sha256, 12) || '</code></a> '
											   || to_char(rel.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'none')
					  || '</td></tr>', '' ORDER BY t.tag)
		|| '</tbody></table>' END
	FROM pgo.tags t
		 JOIN charts c ON c.tag = t.tag
		 LEFT JOIN problems pr ON pr.tag = t.tag
		 LEFT JOIN LATERAL pgo.latest_release(t.tag) rel ON true;
END;
COMMENT ON FUNCTION pgo.ui_index() IS 'HTML of the gateway''s GET /ui: every tag with profiles per day, usable share, newest upload, problems, current release';

-- A tag's page: the selection as the build gets it (same arguments as
-- pgo.profile_for), its flame graph, its top functions, the profiles in it,
-- the profiles of the window a build cannot use and why, the releases, and
-- the current merge against the latest release. query is the page's query
-- string, kept in its links.
CREATE FUNCTION pgo.ui_tag(tag text, "window" interval DEFAULT '7 days',
						   max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
						   "normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
						   top_by_cpu integer DEFAULT NULL, query text DEFAULT '',
						   go_version text DEFAULT NULL, version text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET plan_cache_mode = force_custom_plan
	SET pprof.pgo_frames = 64
	SET intervalstyle = postgres
	AS $$
DECLARE
	q text := CASE WHEN COALESCE(ui_tag.query, '') = '' THEN '' ELSE '?' || pgo.html_escape(ui_tag.query) END;
	v_merged @extschema@.pprof;
	v_ids bigint[];
	v_svg text;
	v_diff text;
	h text;
BEGIN
	PERFORM pgo.check_tag(ui_tag.tag);
	PERFORM pgo.check_selection(ui_tag."window", ui_tag.max_profiles, ui_tag.min_duration, ui_tag.top_by_cpu);
	PERFORM pgo.check_build(ui_tag.go_version, ui_tag.version);

	SELECT array_agg(s.id ORDER BY s.received_at DESC, s.id DESC) INTO v_ids
	FROM pgo.selection(ui_tag.tag, ui_tag."window", ui_tag.max_profiles, ui_tag.mode,
					   ui_tag.min_duration, ui_tag.top_by_cpu, ui_tag.go_version, ui_tag.version) AS s;

	h := '<h1>' || ui_tag.tag || '</h1>'
		|| '<p class="selection">Selection, as a build gets it: '
		|| COALESCE('the last ' || pgo.html_escape(ui_tag."window"::text), 'all time')
		|| ', at most ' || COALESCE(ui_tag.max_profiles::text, 'all') || ' profiles'
		|| COALESCE(', mode <b>' || pgo.html_escape(ui_tag.mode) || '</b>', '')
		|| CASE WHEN ui_tag.normalize IS FALSE THEN ', summed' ELSE ', each profile weighted per second' END
		|| COALESCE(', at least ' || pgo.html_escape(ui_tag.min_duration::text) || ' long', '')
		|| COALESCE(', the ' || ui_tag.top_by_cpu || ' with most CPU', '')
		|| COALESCE(', built by Go <b>' || pgo.html_escape(ui_tag.go_version) || '</b> if any', '')
		|| COALESCE(', of version <b>' || pgo.html_escape(ui_tag.version) || '</b> if any', '')
		|| ': <b>' || COALESCE(cardinality(v_ids), 0) || '</b> profiles. '
		|| '<a href="/profile/' || ui_tag.tag || q || '">default.pgo</a> · '
		|| '<a href="/profile/' || ui_tag.tag || '/flamegraph.svg' || q || '">flamegraph.svg</a> · '
		|| '<a href="/ui">all tags</a></p>';

	h := h || '<h2>Flame graph</h2>';
	v_svg := pgo.flamegraph(ui_tag.tag, ui_tag."window", ui_tag.max_profiles, ui_tag.mode,
							ui_tag.normalize, ui_tag.min_duration, ui_tag.top_by_cpu,
							go_version => ui_tag.go_version, version => ui_tag.version);
	IF v_svg IS NULL THEN
		h := h || '<p>No usable profile in the selection: a build would get an empty default.pgo.</p>';
	ELSE
		h := h || '<div class="flame">' || pgo.svg_inline(v_svg) || '</div>'
			|| '<p class="hint">Click a frame to zoom, Reset zoom to go back; Search highlights frames by a regular expression.</p>';
		v_merged := pgo.profile_for(ui_tag.tag, ui_tag."window", ui_tag.max_profiles, ui_tag.mode,
									ui_tag.normalize, ui_tag.min_duration, ui_tag.top_by_cpu,
									ui_tag.go_version, ui_tag.version)::@extschema@.pprof;
		h := h || '<h2>Top functions</h2><table class="top"><thead><tr><th>function</th><th>flat</th><th>flat %</th>'
			|| '<th>cum</th><th>cum %</th></tr></thead><tbody>'
			|| COALESCE((SELECT string_agg('<tr><td><code>' || pgo.html_escape(t.function) || '</code></td><td class="n">'
										  || round(t.flat / 1e9, 2) || ' s</td><td class="n">' || round(t.flat_pct::numeric, 1)
										  || '</td><td class="n">' || round(t.cum / 1e9, 2) || ' s</td><td class="n">'
										  || round(t.cum_pct::numeric, 1) || '</td></tr>', '' ORDER BY t.n)
						 FROM @extschema@.pprof_top(v_merged, 25, 'cpu/nanoseconds') WITH ORDINALITY AS t(function, file, flat, flat_pct, cum, cum_pct, n)), '')
			|| '</tbody></table>';
	END IF;

	h := h || '<h2>Profiles in the selection</h2>'
		|| COALESCE((SELECT '<table class="profiles"><thead><tr><th>id</th><th>received (UTC)</th><th>source</th><th>labels</th>'
						   || '<th>seconds</th><th>samples</th><th>CPU s</th></tr></thead><tbody>'
						   || string_agg('<tr><td class="n">' || p.id || '</td><td>'
										 || to_char(p.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
										 || '</td><td>' || p.source || '</td><td><code>' || pgo.html_escape(p.labels::text)
										 || '</code></td><td class="n">' || COALESCE(round(p.duration_seconds::numeric, 1)::text, '')
										 || '</td><td class="n">' || p.samples
										 || '</td><td class="n">' || COALESCE(round(p.cpu_nanos / 1e9, 2)::text, '')
										 || '</td></tr>', '' ORDER BY p.received_at DESC, p.id DESC)
						   || '</tbody></table>'
					 FROM pgo.profiles p WHERE p.tag = ui_tag.tag AND p.id = ANY (v_ids)), '<p>None.</p>');

	h := h || '<h2>Problems: profiles of the window a build cannot use</h2>'
		|| COALESCE((SELECT '<table class="problems"><thead><tr><th>id</th><th>received (UTC)</th><th>labels</th><th>problems</th></tr></thead><tbody>'
						   || string_agg('<tr><td class="n">' || p.id || '</td><td>'
										 || to_char(p.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
										 || '</td><td><code>' || pgo.html_escape(p.labels::text) || '</code></td><td>'
										 || pgo.html_escape(array_to_string(p.problems, ' ')) || '</td></tr>', ''
										 ORDER BY p.received_at DESC, p.id DESC)
						   || '</tbody></table>'
					 FROM (SELECT * FROM pgo.profiles p
						   WHERE p.tag = ui_tag.tag AND NOT p.pgo_usable
							 AND (ui_tag."window" IS NULL OR p.received_at >= now() - ui_tag."window")
						   ORDER BY p.received_at DESC, p.id DESC LIMIT 50) p), '<p>None.</p>');

	h := h || '<h2>Releases</h2>'
		|| COALESCE((SELECT '<table class="releases"><thead><tr><th>created (UTC)</th><th>sha256</th><th>profiles</th><th>parameters</th></tr></thead><tbody>'
						   || string_agg('<tr><td>' || to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
										 || '</td><td><a href="/profile/' || r.tag || '@' || r.sha256 || '"><code>'
										 || left(r.sha256, 12) || '</code></a></td><td class="n">' || cardinality(r.input_ids)
										 || '</td><td><code>' || pgo.html_escape(r.parameters::text) || '</code></td></tr>', ''
										 ORDER BY r.created_at DESC, r.sha256)
						   || '</tbody></table>'
					 FROM pgo.releases r WHERE r.tag = ui_tag.tag), '<p>No release: <code>SELECT pgo.publish(''' || ui_tag.tag || ''')</code> pins one.</p>');

	v_diff := pgo.flamegraph_diff(ui_tag.tag, ui_tag."window", ui_tag.max_profiles, ui_tag.mode,
								  ui_tag.normalize, ui_tag.min_duration, ui_tag.top_by_cpu,
								  go_version => ui_tag.go_version, version => ui_tag.version);
	h := h || '<h2>Since the latest release</h2>'
		|| COALESCE('<div class="flame">' || pgo.svg_inline(v_diff) || '</div>'
					|| '<p class="hint">What the compiler reads (the leaf-most frames), now against the latest release: '
					|| 'red frames have a larger share of the CPU than in the release, blue a smaller one.</p>',
					'<p>Nothing to compare: no release yet, or no usable profile in the selection.</p>');
	RETURN h;
END
$$;
COMMENT ON FUNCTION pgo.ui_tag(text, interval, integer, text, boolean, interval, integer, text, text, text) IS
	'HTML of the gateway''s GET /ui/<tag>: the selection, its flame graph, top functions, profiles, problems, releases, diff against the latest release';

REVOKE EXECUTE ON FUNCTION
	pgo.flamegraph(text, interval, integer, text, boolean, interval, integer, integer, text, text),
	pgo.flamegraph_diff(text, interval, integer, text, boolean, interval, integer, integer, text, text),
	pgo.ui_index(),
	pgo.ui_tag(text, interval, integer, text, boolean, interval, integer, text, text, text)
FROM PUBLIC;
