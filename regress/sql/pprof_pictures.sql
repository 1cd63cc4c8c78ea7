--
-- Pictures: pprof_flamegraph, pprof_flamegraph_diff, pprof_folded.
-- The frame values are checked against go tool pprof -top by the TAP test
-- 005_flamegraph_matches_go_pprof; here: well-formed XML, the root is the
-- total, folded stacks agree with pprof_top, a diff with itself is neutral,
-- hostile names are escaped, output is deterministic and bounded.
--
\getenv abs_srcdir PG_ABS_SRCDIR

CREATE TABLE pic (name text PRIMARY KEY, p pprof NOT NULL);
INSERT INTO pic
SELECT name, pg_read_binary_file(:'abs_srcdir' || '/data/' || name)::pprof
FROM unnest(ARRAY['cpu.pb.gz', 'cpu.pb', 'cpu_labels.pb.gz', 'heap.pb.gz',
				  'goroutine.pb.gz', 'cpu_empty.pb.gz', 'cpu_a1.pb.gz',
				  'cpu_a2.pb.gz', 'cpu_a3.pb.gz', 'cpu_b1.pb.gz',
				  'cpu_badutf8.pb.gz']) AS name;

-- every sample type of every fixture: well-formed XML, one <svg> root, a
-- root frame whose value is the total (empty profile: no frames at all)
SELECT name, t.type, xml_is_well_formed_document(svg) AS xml_ok,
	   (xpath('count(/s:svg)', svg::xml, '{{s,http://www.w3.org/2000/svg}}'))[1]::text AS svg_roots,
	   substring(svg FROM '<title>root \((-?[0-9]+) ')::bigint = pprof_total(p, t.type) AS root_is_total,
	   pprof_total(p, t.type) AS total
FROM pic, pprof_sample_types(p) AS t,
	 LATERAL pprof_flamegraph(p, t.type) AS svg
ORDER BY name, t.type;

-- the same content, raw or gzip, gives the same bytes; so does a merge
-- whatever the order of its inputs
SELECT (SELECT pprof_flamegraph(p) FROM pic WHERE name = 'cpu.pb') =
	   (SELECT pprof_flamegraph(p) FROM pic WHERE name = 'cpu.pb.gz') AS same_svg;
SELECT (SELECT pprof_flamegraph(pprof_merge(p ORDER BY name)) FROM pic WHERE name LIKE 'cpu_a_.pb.gz') =
	   (SELECT pprof_flamegraph(pprof_merge(p ORDER BY name DESC)) FROM pic WHERE name LIKE 'cpu_a_.pb.gz')
	   AS merge_order_irrelevant;

-- inlined frames are frames: the folded stacks are pprof_stacks' frames
-- (inlined ones included) root first, summed
SELECT name, (SELECT count(*) FROM (
	(SELECT f.stack, f.value FROM pprof_folded(p, 'samples') AS f
	 EXCEPT
	 SELECT (SELECT string_agg(fn, ';' ORDER BY o DESC) FROM unnest(s.functions) WITH ORDINALITY AS u(fn, o)),
			sum(s."values"[1])
	 FROM pprof_stacks(p) AS s WHERE s."values"[1] <> 0 GROUP BY 1)
	UNION ALL
	(SELECT (SELECT string_agg(fn, ';' ORDER BY o DESC) FROM unnest(s.functions) WITH ORDINALITY AS u(fn, o)),
			sum(s."values"[1])
	 FROM pprof_stacks(p) AS s WHERE s."values"[1] <> 0 GROUP BY 1
	 EXCEPT
	 SELECT f.stack, f.value FROM pprof_folded(p, 'samples') AS f)) AS d) AS differences
FROM pic WHERE name IN ('cpu.pb.gz', 'cpu_labels.pb.gz', 'cpu_b1.pb.gz')
ORDER BY name;
SELECT name, count(*) AS stacks, max(array_length(string_to_array(stack, ';'), 1)) AS deepest
FROM pic, pprof_folded(p) WHERE name IN ('cpu.pb.gz', 'cpu_labels.pb.gz', 'cpu_b1.pb.gz')
GROUP BY name ORDER BY name;

-- a title per frame, name, value and percent; names cut to fit the frame
SELECT substring(svg FROM '<title>main\.hashLoop \([^<]*\)</title>') AS tooltip
FROM pic, pprof_flamegraph(p) AS svg WHERE name = 'cpu.pb.gz';
SELECT count(*) FILTER (WHERE label LIKE '%..') > 0 AS some_cut,
	   bool_and(length(label) <= 200) AS all_short
FROM pic, pprof_flamegraph(p, width => 400) AS svg,
	 LATERAL (SELECT (regexp_matches(svg, '<text x="[^"]*" y="[^"]*">([^<]*)</text>', 'g'))[1]) AS m(label)
WHERE name = 'cpu.pb.gz';

-- bounded: no drawn frame narrower than min_width; wider frames only means
-- fewer of them; the script is optional
SELECT min_width, min(w) >= min_width AS none_narrower, count(*) AS frames
FROM pic, unnest(ARRAY[0, 1, 3, 10]::float8[]) AS min_width,
	 LATERAL pprof_flamegraph(p, min_width => min_width) AS svg,
	 LATERAL regexp_matches(svg, 'width="([0-9.]+)" height="15"', 'g') AS m,
	 LATERAL CAST(m[1] AS float8) AS w
WHERE name = 'cpu.pb.gz'
GROUP BY min_width ORDER BY min_width;
SELECT strpos(pprof_flamegraph(p, interactive => false), '<script') = 0 AS no_script,
	   strpos(pprof_flamegraph(p), '<script') > 0 AS script
FROM pic WHERE name = 'cpu.pb.gz';

-- folded stacks: summed per leaf, they are pprof_top's flat, for every
-- sample type of every fixture
SELECT name, t.type,
	   count(*) FILTER (WHERE top.flat IS DISTINCT FROM folded.flat) AS mismatches,
	   count(*) AS functions
FROM pic, pprof_sample_types(p) AS t,
	 LATERAL (SELECT f.function, f.flat FROM pprof_top(p, 1000000, t.type) AS f WHERE f.flat <> 0) AS top
	 FULL JOIN LATERAL (SELECT regexp_replace(stack, '^.*;', '') AS function, sum(value) AS flat
						FROM pprof_folded(p, t.type) GROUP BY 1) AS folded
	 ON top.function = folded.function
GROUP BY name, t.type ORDER BY name, t.type;
-- and their sum is the total
SELECT name, (SELECT sum(value) FROM pprof_folded(p)) = pprof_total(p) AS sum_is_total
FROM pic ORDER BY name;
SELECT f.* FROM pic, pprof_folded(p, 'samples') AS f WHERE name = 'cpu_b1.pb.gz' ORDER BY stack;

-- differential: a profile against itself is neutral (one grey, no change),
-- against another well-formed, with changes both ways
SELECT name, array_agg(DISTINCT m[2]) AS fills, bool_and(m[1] = '+0.00') AS all_unchanged
FROM pic, pprof_flamegraph_diff(p, p) AS svg,
	 LATERAL regexp_matches(svg, '([-+][0-9.]+) points\)</title><rect [^>]*fill="(rgb[^"]*)"', 'g') AS m
WHERE name IN ('cpu.pb.gz', 'cpu_b1.pb.gz', 'heap.pb.gz')
GROUP BY name ORDER BY name;
SELECT xml_is_well_formed_document(svg) AS xml_ok,
	   count(*) FILTER (WHERE rgb[1]::int > rgb[3]::int) > 0 AS some_red,
	   count(*) FILTER (WHERE rgb[1]::int < rgb[3]::int) > 0 AS some_blue
FROM pic a, pic b, pprof_flamegraph_diff(a.p, b.p) AS svg,
	 LATERAL regexp_matches(svg, 'points\)</title><rect [^>]*fill="rgb\(([0-9]+),([0-9]+),([0-9]+)\)"', 'g') AS rgb
WHERE a.name = 'cpu_a1.pb.gz' AND b.name = 'cpu_a2.pb.gz'
GROUP BY svg;

-- hostile names: a profile built here whose functions are named <script>,
-- & and quotes, bytes that are not UTF-8, and a title with markup
CREATE FUNCTION pb_varint(v bigint) RETURNS bytea LANGUAGE sql AS $$
	SELECT string_agg(set_byte('\x00', 0, ((v >> (7 * i)) & 127)::int
								 | CASE WHEN v >> (7 * (i + 1)) > 0 THEN 128 ELSE 0 END), '' ORDER BY i)
	FROM generate_series(0, 9) AS i WHERE i = 0 OR v >> (7 * i) > 0 $$;
CREATE FUNCTION pb_bytes(field int, payload bytea) RETURNS bytea LANGUAGE sql AS $$
	SELECT pb_varint(field * 8 + 2) || pb_varint(length(payload)) || payload $$;
CREATE FUNCTION pb_int(field int, v bigint) RETURNS bytea LANGUAGE sql AS $$
	SELECT pb_varint(field * 8) || pb_varint(v) $$;
CREATE TABLE hostile AS
SELECT (pb_bytes(1, pb_int(1, 1) || pb_int(2, 2))										-- samples/count
		|| pb_bytes(2, pb_bytes(1, '\x0104'::bytea) || pb_bytes(2, '\x0a'::bytea))		-- [<script>, main.ok] 10
		|| pb_bytes(2, pb_bytes(1, '\x0204'::bytea) || pb_bytes(2, '\x05'::bytea))		-- [a&b, main.ok] 5
		|| pb_bytes(2, pb_bytes(1, '\x0304'::bytea) || pb_bytes(2, '\x01'::bytea))		-- [bad bytes, main.ok] 1
		|| pb_bytes(4, pb_int(1, 1) || pb_bytes(4, pb_int(1, 1) || pb_int(2, 3)))		-- locations
		|| pb_bytes(4, pb_int(1, 2) || pb_bytes(4, pb_int(1, 2) || pb_int(2, 3)))
		|| pb_bytes(4, pb_int(1, 3) || pb_bytes(4, pb_int(1, 3) || pb_int(2, 3)))
		|| pb_bytes(4, pb_int(1, 4) || pb_bytes(4, pb_int(1, 4) || pb_int(2, 3)))
		|| pb_bytes(5, pb_int(1, 1) || pb_int(2, 3) || pb_int(4, 7) || pb_int(5, 1))	-- functions
		|| pb_bytes(5, pb_int(1, 2) || pb_int(2, 4) || pb_int(4, 7) || pb_int(5, 1))
		|| pb_bytes(5, pb_int(1, 3) || pb_int(2, 5) || pb_int(4, 7) || pb_int(5, 1))
		|| pb_bytes(5, pb_int(1, 4) || pb_int(2, 6) || pb_int(4, 7) || pb_int(5, 1))
		|| pb_bytes(6, '') || pb_bytes(6, 'samples') || pb_bytes(6, 'count')
		|| pb_bytes(6, convert_to('<script>alert(1)</script>', 'UTF8'))
		|| pb_bytes(6, convert_to('a&b "q" ''x'' ]]> ', 'UTF8') || '\xc3a9'::bytea)	-- e acute
		|| pb_bytes(6, '\x6261642dfffe2dc0af2d00'::bytea)			-- bad-\xff\xfe-\xc0\xaf-\x00
		|| pb_bytes(6, 'main.ok') || pb_bytes(6, 'f.go'))::pprof AS p;
SELECT svg, xml_is_well_formed_document(svg) AS xml_ok
FROM hostile, pprof_flamegraph(p, title => '<b>&</b> "t"', width => 600, interactive => false) AS svg;
SELECT f.* FROM hostile, pprof_folded(p) AS f ORDER BY stack;
-- the script is one element, and the escaped names are inert text
SELECT (SELECT count(*) FROM regexp_matches(svg, '<script', 'g')) AS script_elements,
	   (xpath('count(//s:title[contains(., "<script>")])', svg::xml, '{{s,http://www.w3.org/2000/svg}}'))[1]::text AS script_name_titles
FROM hostile, pprof_flamegraph(p) AS svg;

-- NULLs and errors
SELECT pprof_flamegraph(NULL) IS NULL AS null_profile,
	   pprof_flamegraph_diff(NULL, p) IS NULL AS null_base
FROM pic WHERE name = 'cpu.pb.gz';
SELECT pprof_flamegraph(p, 'alloc_space') FROM pic WHERE name = 'cpu.pb.gz';
SELECT pprof_flamegraph(p, width => 50) FROM pic WHERE name = 'cpu.pb.gz';
SELECT pprof_flamegraph(p, min_width => -1) FROM pic WHERE name = 'cpu.pb.gz';
SELECT pprof_flamegraph_diff(a.p, b.p, 'cpu') FROM pic a, pic b
WHERE a.name = 'heap.pb.gz' AND b.name = 'cpu.pb.gz';

-- the catalog's pictures and pages (the gateway's /ui): a tag with a
-- release, then more profiles
SELECT pgo.ingest('api', p::bytea, '{"mode": "batch", "host": "<i>h</i>"}') > 0 AS ingested
FROM pic WHERE name IN ('cpu_a1.pb.gz', 'cpu_a2.pb.gz') ORDER BY name;
SELECT left(sha256, 0) AS published FROM pgo.publish('api');
-- the diff of the selection against a release of the same rows is neutral
SELECT array_agg(DISTINCT m[1]) AS fills
FROM pgo.flamegraph_diff('api') AS svg,
	 LATERAL regexp_matches(svg, 'points\)</title><rect [^>]*fill="(rgb[^"]*)"', 'g') AS m;
SELECT pgo.ingest('api', p::bytea, '{}') > 0 AS ingested FROM pic WHERE name IN ('cpu_labels.pb.gz', 'heap.pb.gz') ORDER BY name;
-- (drawn from the merge with stacks of up to 64 frames)
SET pprof.pgo_frames = 64;
SELECT xml_is_well_formed_document(svg) AS xml_ok,
	   substring(svg FROM '<title>root \(([0-9]+) ')::bigint
		 = pprof_total(pgo.profile_for('api')::pprof, 'cpu') AS root_is_the_merge_total,
	   strpos(svg, 'api: last 7 days') > 0 AS titled
FROM pgo.flamegraph('api') AS svg;
RESET pprof.pgo_frames;
SELECT pgo.flamegraph('nosuch') IS NULL AS no_profile, pgo.flamegraph_diff('nosuch') IS NULL AS no_release;
SELECT strpos(h, '<a href="/ui/api">api</a>') > 0 AS links_tag,
	   strpos(h, '<svg class="days"') > 0 AS per_day_chart,
	   strpos(h, 'go build -pgo rejects it') > 0 AS shows_problem
FROM pgo.ui_index() AS h;
SELECT (SELECT count(*) FROM regexp_matches(h, '<svg xmlns', 'g')) AS flame_graphs,
	   strpos(h, '<?xml') = 0 AS inlined,
	   strpos(h, '<i>h</i>') = 0 AND strpos(h, '&lt;i&gt;h&lt;/i&gt;') > 0 AS labels_escaped,
	   strpos(h, 'href="/profile/api?window=1d&amp;x=&lt;&gt;"') > 0 AS query_kept_escaped
FROM pgo.ui_tag('api', query => 'window=1d&x=<>') AS h;
SELECT pgo.ui_tag('bad tag');
SELECT pgo.ui_tag('api', max_profiles => 0);
SELECT has_function_privilege('public', 'pgo.ui_tag(text, interval, integer, text, boolean, interval, integer, text, text, text)', 'EXECUTE') AS public_may_call;
