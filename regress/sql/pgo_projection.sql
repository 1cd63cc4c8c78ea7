-- pprof_pgo_projection: pgo_merge of a profile's projection gives the
-- bytes pgo_merge of the profile gives (any weight, normalized or not,
-- pprof.pgo_frames up to the frames kept, a denylist, after a mode filter),
-- under serial and parallel plans; pgo.profile_for merges the catalog's
-- projections and gives the bytes a merge of the profiles gives, for every
-- selection.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx pj_fx
\i :abs_srcdir/sql/include/fixtures.psql

-- what a projection keeps: the sample types pgo_merge reads, every sample,
-- their leaf-most frames and "mode" labels; no mappings
SELECT name, pprof_sample_type_names(p) AS types,
       pprof_sample_count(p) = pprof_sample_count(q) AS same_samples,
       pprof_location_count(q) <= pprof_location_count(p) AS fewer_locations,
       pprof_mapping_count(q) AS mappings,
       pprof_label_values(q, 'mode') = pprof_label_values(p, 'mode') AS same_modes
FROM (SELECT name, p, pprof_pgo_projection(p, 4) AS q FROM pj_fx) AS x
ORDER BY name;
SELECT key, value, samples FROM pprof_labels(pprof_pgo_projection((SELECT p FROM pj_fx WHERE name = 'cpu_labels'), 4))
ORDER BY key, value;
-- the leaf-most frames, with their lines
SELECT (SELECT array_agg(f ORDER BY f) FROM pprof_stacks(pprof_pgo_projection(p, 2)) s, unnest(s.functions[1:2]) f) =
       (SELECT array_agg(f ORDER BY f) FROM pprof_stacks(p) s, unnest(s.functions[1:2]) f) AS same_leaf_frames
FROM pj_fx WHERE name = 'cpu';

-- every fixture alone and all together, in every mode of pgo_merge
CREATE TABLE pj_cases AS
SELECT name, p, pprof_pgo_projection(p, 4) AS q, length(name)::float8 / 3 AS w FROM pj_fx
UNION ALL
SELECT 'cpu_labels: batch', pprof_filter_label(p, 'mode', 'batch'),
       pprof_filter_label(pprof_pgo_projection(p, 4), 'mode', 'batch'), 1 FROM pj_fx WHERE name = 'cpu_labels'
UNION ALL
SELECT 'cpu_labels: interactive', pprof_filter_label(p, 'mode', 'interactive'),
       pprof_filter_label(pprof_pgo_projection(p, 4), 'mode', 'interactive'), 1 FROM pj_fx WHERE name = 'cpu_labels'
UNION ALL
SELECT 'cpu_labels: none', pprof_filter_label(p, 'mode', 'none'),
       pprof_filter_label(pprof_pgo_projection(p, 4), 'mode', 'none'), 1 FROM pj_fx WHERE name = 'cpu_labels';

CREATE FUNCTION pj_compare() RETURNS TABLE (kase text, rows bigint, same boolean, same_weighted boolean)
LANGUAGE sql AS $$
	SELECT name, count(*),
	       md5(pgo_merge(p)::bytea) IS NOT DISTINCT FROM md5(pgo_merge(q)::bytea),
	       md5(pgo_merge(p, w)::bytea) IS NOT DISTINCT FROM md5(pgo_merge(q, w)::bytea)
	FROM pj_cases GROUP BY name
	UNION ALL
	SELECT 'all', count(*),
	       md5(pgo_merge(p)::bytea) IS NOT DISTINCT FROM md5(pgo_merge(q)::bytea),
	       md5(pgo_merge(p, w)::bytea) IS NOT DISTINCT FROM md5(pgo_merge(q, w)::bytea)
	FROM pj_cases
$$;

SELECT * FROM pj_compare() ORDER BY kase;
SET pprof.pgo_normalize = on;
SELECT 'normalized' AS settings, count(*) AS cases, bool_and(same AND same_weighted) AS all_same FROM pj_compare();
RESET pprof.pgo_normalize;
SET pprof.pgo_frames = 2;
SELECT '2 frames' AS settings, count(*) AS cases, bool_and(same AND same_weighted) AS all_same FROM pj_compare();
RESET pprof.pgo_frames;
SET pprof.pgo_denylist = 'main.work, runtime.memmove';
SELECT 'denylist' AS settings, count(*) AS cases, bool_and(same AND same_weighted) AS all_same FROM pj_compare();
RESET pprof.pgo_denylist;

-- parallel plans: partial states of projections, combined
CREATE TABLE pj_rows (id int, filler text, p pprof, q pprof) WITH (fillfactor = 10, parallel_workers = 2);
ALTER TABLE pj_rows ALTER filler SET STORAGE PLAIN;
INSERT INTO pj_rows SELECT i, repeat('x', 1000), p, q FROM generate_series(1, 3) AS i, pj_cases;
ANALYZE pj_rows;
SELECT md5(pgo_merge(p)::bytea) AS serial_profiles, md5(pgo_merge(q)::bytea) AS serial_projections
FROM pj_rows \gset
\i :abs_srcdir/sql/include/parallel_plans.psql
EXPLAIN (COSTS OFF) SELECT pgo_merge(q) FROM pj_rows;
SELECT md5(pgo_merge(q)::bytea) = :'serial_projections' AS parallel_projections_same,
       md5(pgo_merge(q)::bytea) = :'serial_profiles' AS parallel_projections_as_profiles
FROM pj_rows;
\i :abs_srcdir/sql/include/parallel_plans_reset.psql

-- what a projection cannot stand for
SELECT pprof_pgo_projection(p, 1) FROM pj_fx WHERE name = 'cpu';
SELECT pprof_pgo_projection(p, 65) FROM pj_fx WHERE name = 'cpu';
SET pprof.pgo_frames = 5;
SELECT pgo_merge(q) FROM pj_cases WHERE name = 'cpu';
RESET pprof.pgo_frames;
SELECT pprof_merge(q) FROM pj_cases WHERE name = 'cpu';
SELECT pprof_pgo_projection(q, 8) FROM pj_cases WHERE name = 'cpu';
-- a projection of a projection, with fewer frames, is one
SET pprof.pgo_frames = 2;
SELECT md5(pgo_merge(pprof_pgo_projection(q, 2))::bytea) = md5(pgo_merge(p)::bytea) AS reprojected
FROM pj_cases WHERE name = 'cpu';
RESET pprof.pgo_frames;
-- it reads as the profile it is
SELECT pprof_is_valid(pprof_pgo_projection(p, 4)::bytea) AS valid_pprof FROM pj_fx WHERE name = 'cpu';
-- pprof_pgo_projection returns the compact form (narrow columns, stacks
-- given once); readers expand it to the layout, the form rows stored by
-- earlier builds hold and a filter that drops samples returns: both merge
-- alike, alone and together, and the compact one is the smaller
SELECT pg_column_size(c) < pg_column_size(l) / 2 AS compact_smaller,
       md5(pgo_merge(c) OVER ()::bytea) = md5(pgo_merge(l) OVER ()::bytea) AS same_merge,
       (SELECT md5(pgo_merge(x)::bytea) FROM (VALUES (c), (l), (c)) AS v(x)) =
       (SELECT md5(pgo_merge(x)::bytea) FROM (VALUES (b), (b), (b)) AS v(x)) AS mixed_same,
       pprof_sample_count(c) = pprof_sample_count(l) AS same_samples
FROM (SELECT pprof_pgo_projection(pprof_filter_label(p, 'mode', 'batch'), 4) AS c,
             pprof_filter_label(pprof_pgo_projection(p, 4), 'mode', 'batch') AS l,
             pprof_filter_label(p, 'mode', 'batch') AS b
      FROM pj_fx WHERE name = 'cpu_labels') AS x;

-- the catalog: each row's projection is stored beside it, and
-- pgo.profile_for (merging projections) gives what a merge of the
-- selection's profiles gives
SELECT pgo.ingest('proj', b, l) > 0 AS ingested
FROM (VALUES ('cpu_a1', '{"mode": "batch"}'::jsonb), ('cpu_a2', '{}'), ('cpu_a3', '{"mode": "interactive"}'),
             ('cpu_labels', '{}'), ('cpu_a_long', '{}'), ('cpu_b1', '{"mode": "batch"}'), ('heap', '{}'),
             ('cpu_badutf8', '{}')) AS v(f, l),
     LATERAL (SELECT pg_read_binary_file(:'data' || v.f || '.pb.gz') AS b) AS r;
SELECT count(*) AS rows, bool_and(pgo_projection::bytea = pprof_pgo_projection(profile, 4)::bytea) AS stored
FROM pgo.profiles WHERE tag = 'proj';
-- uncompressed: the compact form is what a merge reads, as it is
SELECT DISTINCT a.attstorage, a.attcompression
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attname = 'pgo_projection' AND c.relnamespace = 'pgo'::regnamespace;

-- the merge of a selection as 0.2 made it, from the profiles
CREATE FUNCTION pj_profiles_merge(mode text, "normalize" boolean, max_profiles integer, top_by_cpu integer)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
	r bytea;
BEGIN
	PERFORM set_config('pprof.pgo_normalize', CASE WHEN "normalize" THEN 'on' ELSE 'off' END, true);
	SELECT pgo_merge(CASE WHEN pj_profiles_merge.mode IS NOT NULL AND s.labels ->> 'mode' IS NULL
	                      THEN pprof_filter_label(s.profile, 'mode', pj_profiles_merge.mode)
	                      ELSE s.profile END)::bytea
	INTO r
	FROM pgo.selection('proj', '7 days', max_profiles, mode, NULL, top_by_cpu) AS s;
	PERFORM set_config('pprof.pgo_normalize', 'off', true);
	RETURN r;
END
$$;
CREATE TABLE pj_selections AS
SELECT m AS mode, n AS "normalize", mp AS max_profiles, t AS top_by_cpu
FROM unnest(ARRAY[NULL, 'batch', 'interactive', 'none']) AS m, unnest(ARRAY[true, false]) AS n,
     unnest(ARRAY[100, 3]) AS mp, unnest(ARRAY[NULL, 2]) AS t;
SELECT count(*) AS selections,
       count(*) FILTER (WHERE pgo.profile_for('proj', '7 days', max_profiles, mode, "normalize", NULL, top_by_cpu)
                              IS NOT DISTINCT FROM pj_profiles_merge(mode, "normalize", max_profiles, top_by_cpu)) AS same,
       count(*) FILTER (WHERE pgo.profile_for('proj', '7 days', max_profiles, mode, "normalize", NULL, top_by_cpu) IS NULL) AS null_results
FROM pj_selections;
-- more frames than the projections keep: the profiles are merged
SET pprof.pgo_frames = 8;
SELECT count(*) AS selections,
       count(*) FILTER (WHERE pgo.profile_for('proj', '7 days', max_profiles, mode, "normalize", NULL, top_by_cpu)
                              IS NOT DISTINCT FROM pj_profiles_merge(mode, "normalize", max_profiles, top_by_cpu)) AS same
FROM pj_selections;
RESET pprof.pgo_frames;

DROP FUNCTION pj_profiles_merge(text, boolean, integer, integer);
DROP FUNCTION pj_compare();
DROP TABLE pj_selections, pj_rows, pj_cases, pj_fx;
DELETE FROM pgo.profiles WHERE tag = 'proj';
