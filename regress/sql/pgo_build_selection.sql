--
-- Selection by build (go_version, version), pgo.drift against the newest
-- release, pgo.tag_health (the gateway's /metrics), and the tag rule for
-- "." and "..". The HTTP side is in TAP 102 and 107.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set d :abs_srcdir '/data/'
SET max_parallel_workers_per_gather = 0;
-- in one transaction, rolled back: the later tests list every tag
BEGIN;

\i :abs_srcdir/sql/include/sql_error.psql

-- the Go client labels "go" (runtime.Version()) and "version"
CREATE TABLE b (name text, id bigint);
INSERT INTO b SELECT 'a1', pgo.ingest('bs-sel', pg_read_binary_file(:'d' || 'cpu_a1.pb.gz'), '{"go": "go1.23.4", "version": "v1"}');
INSERT INTO b SELECT 'a2', pgo.ingest('bs-sel', pg_read_binary_file(:'d' || 'cpu_a2.pb.gz'), '{"go": "go1.27.1", "version": "v2"}');
INSERT INTO b SELECT 'a3', pgo.ingest('bs-sel', pg_read_binary_file(:'d' || 'cpu_a3.pb.gz'), '{"go": "go1.27rc1", "version": "v1"}');
INSERT INTO b SELECT 'b1', pgo.ingest('bs-sel', pg_read_binary_file(:'d' || 'cpu_b1.pb.gz'), '{"version": "other"}');

-- the rows each preference selects: narrowed when any row matches, all otherwise
CREATE FUNCTION picked(go_version text, version text) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(b.name, ',' ORDER BY b.name)
	FROM pgo.selection('bs-sel', go_version => picked.go_version, version => picked.version) s JOIN b ON b.id = s.id
$$;
SELECT g AS go_version, v AS version, picked(g, v)
FROM (VALUES (NULL, NULL), ('1.27', NULL), ('go1.27', NULL), ('1.23', NULL), ('1.25', NULL),
			 (NULL, 'v1'), (NULL, 'v9'), ('1.27', 'v1'), ('1.23', 'v2'), ('1.25', 'v2'),
			 ('1.27', 'other')) AS t(g, v);

-- the Go minor of a label
SELECT v, pgo.go_minor(v) FROM unnest(ARRAY['go1.27.1', 'go1.27', 'go1.27rc1', '1.23', 'go1.100.2',
											'devel go1.28-abc', 'gox', NULL]) AS v;

-- the merge and its key follow the rows: a preference nothing matches is no preference
SELECT pgo.profile_for('bs-sel', go_version => '1.25') = pgo.profile_for('bs-sel') AS fallback_same_bytes,
	   pgo.selection_key('bs-sel', go_version => '1.25') = pgo.selection_key('bs-sel') AS fallback_same_key,
	   pgo.profile_for('bs-sel', go_version => '1.27') <> pgo.profile_for('bs-sel') AS narrowed_other_bytes,
	   pgo.selection_key('bs-sel', go_version => '1.27') <> pgo.selection_key('bs-sel') AS narrowed_other_key,
	   pgo.selection_key('bs-sel', go_version => 'go1.27') = pgo.selection_key('bs-sel', go_version => '1.27') AS go_prefix_same;

-- what is refused, by every entry point that takes a selection
SELECT pg_temp.sql_error(q, true) FROM unnest(ARRAY[
	$$SELECT pgo.selection_key('bs-sel', go_version => '1')$$,
	$$SELECT pgo.selection_key('bs-sel', go_version => '1.27.1')$$,
	$$SELECT pgo.profile_for('bs-sel', go_version => 'latest')$$,
	$$SELECT pgo.profile_for('bs-sel', version => '')$$,
	$$SELECT pgo.publish('bs-sel', version => repeat('v', 1025))$$,
	$$SELECT pgo.ui_tag('bs-sel', go_version => '1.x')$$]) AS q;

-- a release records the preference it was made with
SELECT r.parameters ->> 'go_version' AS go_version, r.parameters ->> 'version' AS version,
	   cardinality(r.input_ids) AS profiles
FROM pgo.publish('bs-sel', go_version => '1.27', version => 'v2') r;

--
-- pgo.drift: the current selection against the newest release
--
SELECT pgo.drift('nothing') IS NULL AS no_profiles, pgo.drift('bs-drift') IS NULL AS no_release;
INSERT INTO b SELECT 'c', pgo.ingest('bs-drift', pg_read_binary_file(:'d' || 'cpu.pb.gz'), '{"version": "v1"}');
SELECT pgo.drift('bs-drift') IS NULL AS no_release_yet;
-- right after a release of the same selection: nothing moved
SELECT cardinality(input_ids) AS profiles FROM pgo.publish('bs-drift');
SELECT pgo.drift('bs-drift') AS just_published;
-- another window of the same program, then another program, against that release
INSERT INTO b SELECT 'c_a1', pgo.ingest('bs-drift', pg_read_binary_file(:'d' || 'cpu_a1.pb.gz'), '{"version": "v2"}');
INSERT INTO b SELECT 'c_b1', pgo.ingest('bs-drift', pg_read_binary_file(:'d' || 'cpu_b1.pb.gz'), '{"version": "v3"}');
SELECT round(pgo.drift('bs-drift', version => 'v2')::numeric, 2) AS same_program_other_window,
	   round(pgo.drift('bs-drift', version => 'v3')::numeric, 2) AS other_program,
	   pgo.drift('bs-drift', version => 'v1') AS the_released_rows,
	   pgo.drift('bs-drift', version => 'v1') = pgo_drift(pgo.profile_for('bs-drift', version => 'v1')::pprof,
												   (pgo.latest_release('bs-drift')).profile::pprof) AS is_pgo_drift;
-- the newest release is the one created last
SELECT (pgo.latest_release('bs-drift')).sha256 = (SELECT sha256 FROM pgo.releases WHERE tag = 'bs-drift') AS latest,
	   (pgo.latest_release('none')).sha256 IS NULL AS none;
SELECT pg_temp.sql_error($$SELECT pgo.drift('bad tag')$$, true);

--
-- pgo.tag_health: per tag, the age of the newest usable profile and the drift
--
INSERT INTO pgo.profiles (tag, source, received_at, profile)
SELECT 'bs-stale', 'sql', now() - interval '3 days', pg_read_binary_file(:'d' || 'cpu_a2.pb.gz');
INSERT INTO b SELECT 'heap', pgo.ingest('bs-unusable', pg_read_binary_file(:'d' || 'heap.pb.gz'));
SELECT h.tag, h.newest_usable IS NOT NULL AS has_usable,
	   CASE WHEN h.usable_age_seconds > 3 * 86400 - 600 THEN 'days' WHEN h.usable_age_seconds >= 0 THEN 'fresh' END AS age,
	   round(h.drift::numeric, 2) AS drift
FROM pgo.tag_health() h WHERE h.tag LIKE 'bs-%' ORDER BY h.tag;
-- bounded: the tags with the newest uploads (one transaction: all at the same time, by name)
SELECT h.tag FROM pgo.tag_health(2) h ORDER BY h.tag;
SELECT pg_temp.sql_error($$SELECT * FROM pgo.tag_health(0)$$, true);

--
-- "." and ".." are no tags: no URL could name them
--
SELECT t, pg_temp.sql_error(format('SELECT pgo.check_tag(%L)', t), true) FROM unnest(ARRAY['.', '..', '...', '.a', 'a..b']) AS t;
SELECT pg_temp.sql_error($$SELECT pgo.ingest('..', pg_read_binary_file('$$ || :'d' || $$cpu_a1.pb.gz'))$$, true) LIKE '22023: invalid profile tag%' AS ingest_refuses;

ROLLBACK;
