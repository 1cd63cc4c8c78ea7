--
-- The fleet catalog (schema pgo): ingest, derived columns, selection,
-- pgo.profile_for, pgo.selection_key, releases, the tags view, label filters.
-- Retention and partitions: pgo_retention.sql. Scale (100k rows), pg_cron
-- and concurrency: TAP tests in regress/t.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set d :abs_srcdir '/data/'
SET max_parallel_workers_per_gather = 0;

-- SQLSTATE and message of a statement's error, or 'ok' (dated partition
-- names masked)
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'profiles_[0-9]{8}', 'profiles_YYYYMMDD', 'g');
END
$$;

CREATE TABLE fx (name text PRIMARY KEY, b bytea NOT NULL);
INSERT INTO fx
SELECT name, pg_read_binary_file(:'d' || name)
FROM unnest(ARRAY['cpu.pb.gz', 'cpu.pb', 'cpu_labels.pb.gz', 'heap.pb.gz',
				  'goroutine.pb.gz', 'cpu_empty.pb.gz', 'cpu_a1.pb.gz',
				  'cpu_a2.pb.gz', 'cpu_a3.pb.gz', 'cpu_a_long.pb.gz',
				  'cpu_b1.pb.gz']) AS name;

-- the catalog's objects (daily partitions have dated names: left out)
SELECT c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'pgo' AND c.relkind IN ('r', 'p', 'v') AND c.relname !~ '_[0-9]{8}$'
ORDER BY 1;
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
	   p.proconfig
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'pgo' ORDER BY p.oid::regprocedure::text;
-- user data that pg_dump keeps
SELECT c::regclass AS dumped FROM pg_extension, unnest(extconfig) AS c WHERE extname = 'pprof' ORDER BY c::regclass::text;

--
-- Ingest
--
CREATE TABLE ing (name text, tag text, id bigint);
INSERT INTO ing SELECT 'cpu_a1.pb.gz', 'svc-a', pgo.ingest('svc-a', b, '{"mode": "batch", "version": "1.0"}') FROM fx WHERE name = 'cpu_a1.pb.gz';
INSERT INTO ing SELECT 'cpu_a2.pb.gz', 'svc-a', pgo.ingest('svc-a', b, '{"mode": "batch"}') FROM fx WHERE name = 'cpu_a2.pb.gz';
INSERT INTO ing SELECT 'cpu_a3.pb.gz', 'svc-a', pgo.ingest('svc-a', b, '{"mode": "interactive"}', 'scrape') FROM fx WHERE name = 'cpu_a3.pb.gz';
INSERT INTO ing SELECT 'cpu_labels.pb.gz', 'svc-a', pgo.ingest('svc-a', b) FROM fx WHERE name = 'cpu_labels.pb.gz';
INSERT INTO ing SELECT 'heap.pb.gz', 'svc-a', pgo.ingest('svc-a', b, NULL, 'sql') FROM fx WHERE name = 'heap.pb.gz';
INSERT INTO ing SELECT 'goroutine.pb.gz', 'svc-a', pgo.ingest('svc-a', b) FROM fx WHERE name = 'goroutine.pb.gz';
INSERT INTO ing SELECT 'cpu_empty.pb.gz', 'svc-a', pgo.ingest('svc-a', b) FROM fx WHERE name = 'cpu_empty.pb.gz';
INSERT INTO ing SELECT 'cpu.pb', 'svc.c_1', pgo.ingest('svc.c_1', b) FROM fx WHERE name = 'cpu.pb';
INSERT INTO ing SELECT 'cpu_b1.pb.gz', 'svc-b', pgo.ingest('svc-b', b, '{"host": "h1"}') FROM fx WHERE name = 'cpu_b1.pb.gz';
INSERT INTO ing SELECT 'heap.pb.gz', 'svc-heap', pgo.ingest('svc-heap', b) FROM fx WHERE name = 'heap.pb.gz';
SELECT count(*), count(DISTINCT id), min(id) > 0 AS positive FROM ing;
-- ids follow the order of uploads
SELECT array_agg(name ORDER BY id) FROM ing WHERE tag = 'svc-a';

-- the first upload created today's partition and the week ahead
SELECT count(*) AS days_ahead
FROM pgo.partitions()
WHERE NOT is_default AND from_time >= date_trunc('day', now(), 'UTC');
SELECT count(*) AS in_default FROM pgo.profiles_default;

-- derived columns are what the accessors say
SELECT i.name, p.tag, p.labels, p.source, p.duration_seconds, p.cpu_nanos, p.samples,
	   p.pgo_usable, cardinality(p.problems) AS problems, p.build_id,
	   p.input_bytes = octet_length(f.b) AS input_bytes_ok, p.sample_types, p.sample_modes
FROM ing i JOIN pgo.profiles p ON p.id = i.id JOIN fx f ON f.name = i.name
ORDER BY i.id;
-- ... and what other readings of the profile say: the samples and values
-- pprof_stacks lists, the types pprof_sample_types lists, the labels
-- pprof_labels counts; problems exactly when not usable. (Durations and
-- build ids have no second reader: the values above are the check.)
SELECT i.name,
	   p.samples = (SELECT count(*) FROM pprof_stacks(p.profile)) AS samples,
	   p.cpu_nanos IS NOT DISTINCT FROM
		   (SELECT COALESCE((SELECT sum(s."values"[t.k]) FROM pprof_stacks(p.profile) s), 0)
			FROM pprof_sample_types(p.profile) WITH ORDINALITY AS t(type, unit, k)
			WHERE t.type = 'cpu' AND t.unit = 'nanoseconds') AS cpu,
	   p.sample_types = ARRAY(SELECT t.type || '/' || t.unit
							  FROM pprof_sample_types(p.profile) WITH ORDINALITY AS t(type, unit, k)
							  ORDER BY t.k) AS sample_types,
	   p.sample_modes = ARRAY(SELECT l.value FROM pprof_labels(p.profile) l
							  WHERE l.key = 'mode' ORDER BY l.value COLLATE "C") AS sample_modes,
	   p.pgo_usable = (cardinality(p.problems) = 0) AS usable_iff_no_problems,
	   p.profile::bytea = f.b::pprof::bytea AS same_profile
FROM ing i JOIN pgo.profiles p ON p.id = i.id JOIN fx f ON f.name = i.name
ORDER BY i.id;

-- bad input: each error reaches the caller with its SQLSTATE, nothing stored
SELECT count(*) AS rows_before FROM pgo.profiles \gset
SELECT q, try(q) FROM (VALUES
	($$SELECT pgo.ingest('svc-a', '\x1f8b0800')$$),
	($$SELECT pgo.ingest('svc-a', '')$$),
	($$SELECT pgo.ingest('svc-a', '\x0f')$$),
	($$SELECT pgo.ingest('svc-a', 'GO PREPROFILE V1')$$),
	($$SELECT pgo.ingest('svc-a', NULL)$$),
	($$SELECT pgo.ingest('bad tag', b) FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('', b) FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest(NULL, b) FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('a/b', b) FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest(repeat('x', 129), b) FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('svc-a', b, '[1]') FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('svc-a', b, '{"mode": 1}') FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('svc-a', b, '{"": "x"}') FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('svc-a', b, source => 'rollup') FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('svc-a', b, source => NULL) FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT pgo.ingest('svc-a', b, idempotency_key => '') FROM fx WHERE name = 'cpu_b1.pb.gz'$$)
) AS t(q);
SET pprof.max_profile_bytes = 4096;
SELECT try($$SELECT pgo.ingest('svc-a', b) FROM fx WHERE name = 'cpu.pb.gz'$$);
RESET pprof.max_profile_bytes;
SELECT count(*) = :rows_before AS nothing_stored FROM pgo.profiles;
-- a direct INSERT is held to the same rules
SELECT try($$INSERT INTO pgo.profiles (tag, source, profile) SELECT 'bad tag', 'sql', b FROM fx WHERE name = 'cpu_b1.pb.gz'$$);
SELECT try($$INSERT INTO pgo.profiles (tag, source, profile) SELECT 'ok', 'push ', b FROM fx WHERE name = 'cpu_b1.pb.gz'$$);
SELECT try($$INSERT INTO pgo.profiles (tag, source, labels, profile) SELECT 'ok', 'sql', '{"a": [1]}', b FROM fx WHERE name = 'cpu_b1.pb.gz'$$);

-- idempotency: a retried upload returns the first id and stores nothing
SELECT pgo.ingest('svc-idem', b, idempotency_key => 'upload-1') AS first_id FROM fx WHERE name = 'cpu_a1.pb.gz' \gset
SELECT pgo.ingest('svc-idem', b, idempotency_key => 'upload-1') = :first_id AS same_id FROM fx WHERE name = 'cpu_a1.pb.gz';
SELECT pgo.ingest('svc-idem', b, idempotency_key => 'upload-1') = :first_id AS same_id_other_body FROM fx WHERE name = 'cpu_a2.pb.gz';
SELECT pgo.ingest('svc-idem', b, idempotency_key => 'upload-2') > :first_id AS new_key_new_row FROM fx WHERE name = 'cpu_a1.pb.gz';
SELECT pgo.ingest('svc-idem-2', b, idempotency_key => 'upload-1') > :first_id AS key_is_per_tag FROM fx WHERE name = 'cpu_a1.pb.gz';
SELECT tag, count(*) FROM pgo.profiles WHERE tag LIKE 'svc-idem%' GROUP BY tag ORDER BY tag;
SELECT k.tag, k.key, k.profile_id = p.id AS points_to_row, k.created_at = p.received_at AS same_time
FROM pgo.idempotency_keys k JOIN pgo.profiles p ON p.id = k.profile_id ORDER BY 1, 2;

-- rows are immutable but for their labels
SELECT try($$UPDATE pgo.profiles SET tag = 'other' WHERE tag = 'svc-idem-2'$$);
SELECT try($$UPDATE pgo.profiles SET profile = profile WHERE tag = 'svc-idem-2'$$);
SELECT try($$UPDATE pgo.profiles SET labels = '{"note": "relabelled"}' WHERE tag = 'svc-idem-2'$$);

--
-- Selection. Rows of tag "sel" with chosen ages (direct inserts, source sql):
--   r1 a1 1h batch, r2 a2 2h interactive, r3 a3 3h no mode, r4 a_long 4h
--   batch, r5 labels 5h (pprof sample labels mode=batch|interactive),
--   r6 heap 30min (unusable), r7 b1 10 days batch (old), r8 empty 10min
--   (no samples: unusable).
--
CREATE TABLE sel (r text PRIMARY KEY, id bigint);
WITH v(r, name, age, labels) AS (
	VALUES ('r1', 'cpu_a1.pb.gz', '1 hour'::interval, '{"mode": "batch"}'::jsonb),
		   ('r2', 'cpu_a2.pb.gz', '2 hours', '{"mode": "interactive"}'),
		   ('r3', 'cpu_a3.pb.gz', '3 hours', '{}'),
		   ('r4', 'cpu_a_long.pb.gz', '4 hours', '{"mode": "batch"}'),
		   ('r5', 'cpu_labels.pb.gz', '5 hours', '{}'),
		   ('r6', 'heap.pb.gz', '30 minutes', '{}'),
		   ('r7', 'cpu_b1.pb.gz', '240 hours', '{"mode": "batch"}'),
		   ('r8', 'cpu_empty.pb.gz', '10 minutes', '{}')),
ins AS (
	INSERT INTO pgo.profiles (tag, labels, source, received_at, profile)
	SELECT 'sel', v.labels, 'sql', now() - v.age, fx.b FROM v JOIN fx ON fx.name = v.name
	RETURNING id, received_at)
INSERT INTO sel SELECT v.r, ins.id FROM v JOIN ins ON ins.received_at = now() - v.age;
SELECT count(*), count(id) FROM sel;
-- which rows a call selects, newest first
CREATE FUNCTION picked(tag text, "window" interval DEFAULT '7 days', max_profiles int DEFAULT 100,
					   mode text DEFAULT NULL, min_duration interval DEFAULT NULL,
					   top_by_cpu int DEFAULT NULL) RETURNS text[]
	LANGUAGE sql AS $$
	SELECT array_agg(COALESCE(sel.r, s.id::text) ORDER BY s.received_at DESC, s.id DESC)
	FROM pgo.selection($1, $2, $3, $4, $5, $6) s
	LEFT JOIN sel ON sel.id = s.id
$$;
SELECT 'default' AS call, picked('sel')
UNION ALL SELECT 'window 30 days', picked('sel', '30 days')
UNION ALL SELECT 'window NULL (all)', picked('sel', NULL)
UNION ALL SELECT 'window 150 minutes', picked('sel', '150 minutes')
UNION ALL SELECT 'max_profiles 2', picked('sel', max_profiles => 2)
UNION ALL SELECT 'mode batch', picked('sel', mode => 'batch')
UNION ALL SELECT 'mode interactive', picked('sel', mode => 'interactive')
UNION ALL SELECT 'mode other', picked('sel', mode => 'other')
UNION ALL SELECT 'min_duration 2s', picked('sel', min_duration => '2 seconds')
UNION ALL SELECT 'min_duration 3s', picked('sel', min_duration => '3 seconds')
UNION ALL SELECT 'top_by_cpu 2', picked('sel', top_by_cpu => 2)
UNION ALL SELECT 'max 3, top_by_cpu 1', picked('sel', max_profiles => 3, top_by_cpu => 1)
UNION ALL SELECT 'unknown tag', picked('nope');
SELECT r, p.cpu_nanos, p.duration_seconds FROM sel JOIN pgo.profiles p USING (id) ORDER BY r;
-- rows received ahead of the database clock: an hour ahead is selected, over
-- a day ahead is not (the bound that prunes the empty partitions ahead)
INSERT INTO pgo.profiles (tag, source, received_at, profile)
SELECT 'ahead', 'sql', now() + v.ahead, fx.b
FROM (VALUES (interval '1 hour'), (interval '2 days')) AS v(ahead), fx
WHERE fx.name = 'cpu_a1.pb.gz';
SELECT count(*) AS selected, bool_and(received_at > now()) AS ahead_of_now,
	   bool_and(received_at < now() + interval '1 day') AS within_a_day
FROM pgo.selection('ahead');
DELETE FROM pgo.profiles WHERE tag = 'ahead';

-- profile_for is pgo_merge over the selection, normalized by default
SHOW pprof.pgo_normalize;
SET pprof.pgo_normalize = on;
SELECT pgo.profile_for('sel') = (SELECT pgo_merge(p.profile)::bytea FROM pgo.profiles p
								 WHERE p.id IN (SELECT id FROM sel WHERE r IN ('r1', 'r2', 'r3', 'r4', 'r5')))
	AS normalized_merge;
SET pprof.pgo_normalize = off;
SELECT pgo.profile_for('sel', "normalize" => false) = (SELECT pgo_merge(p.profile)::bytea FROM pgo.profiles p
								 WHERE p.id IN (SELECT id FROM sel WHERE r IN ('r1', 'r2', 'r3', 'r4', 'r5')))
	AS plain_merge;
SELECT pgo.profile_for('sel') <> pgo.profile_for('sel', "normalize" => false) AS normalize_changes_output;
-- the session's setting is left alone
SHOW pprof.pgo_normalize;
RESET pprof.pgo_normalize;
-- the other selection parameters
SET pprof.pgo_normalize = on;
SELECT pgo.profile_for('sel', max_profiles => 2) = (SELECT pgo_merge(p.profile)::bytea FROM pgo.profiles p
								 WHERE p.id IN (SELECT id FROM sel WHERE r IN ('r1', 'r2'))) AS max_profiles,
	   pgo.profile_for('sel', top_by_cpu => 2) = (SELECT pgo_merge(p.profile)::bytea FROM pgo.profiles p
								 WHERE p.id IN (SELECT id FROM sel WHERE r IN ('r4', 'r5'))) AS top_by_cpu,
	   pgo.profile_for('sel', '30 days') <> pgo.profile_for('sel') AS window_30_days;
RESET pprof.pgo_normalize;
-- mode: rows labelled with it, and the samples labelled with it of rows without a mode label
SET pprof.pgo_normalize = on;
SELECT pgo.profile_for('sel', mode => 'batch')
	   = (SELECT pgo_merge(CASE WHEN sel.r = 'r5' THEN pprof_filter_label(p.profile, 'mode', 'batch') ELSE p.profile END)::bytea
		  FROM pgo.profiles p JOIN sel USING (id) WHERE sel.r IN ('r1', 'r4', 'r5')) AS mode_batch;
RESET pprof.pgo_normalize;
SELECT function, flat FROM pprof_top(pgo.profile_for('sel', mode => 'interactive')::pprof, 3);
-- a usable, deterministic default.pgo
SELECT pprof_pgo_usable(pgo.profile_for('sel')::pprof) AS usable,
	   pgo.profile_for('sel') = pgo.profile_for('sel') AS deterministic,
	   substring(pgo.profile_for('sel') FROM 1 FOR 2) = '\x1f8b' AS gzip;
-- NULL when nothing is usable: heap only, unknown tag, nothing in the window
SELECT pgo.profile_for('svc-heap') IS NULL AS heap_only,
	   pgo.profile_for('nope') IS NULL AS unknown_tag,
	   pgo.profile_for('sel', '5 minutes') IS NULL AS empty_window,
	   pgo.profile_for('sel', mode => 'other') IS NULL AS unknown_mode;
-- bad arguments
SELECT q, try(q) FROM (VALUES
	($$SELECT pgo.profile_for('bad tag')$$),
	($$SELECT pgo.profile_for('sel', '-1 day')$$),
	($$SELECT pgo.profile_for('sel', max_profiles => 0)$$),
	($$SELECT pgo.profile_for('sel', top_by_cpu => 0)$$),
	($$SELECT pgo.profile_for('sel', min_duration => '-1s')$$),
	($$SELECT pgo.selection_key('sel', max_profiles => -1)$$),
	($$SELECT pgo.publish('sel', top_by_cpu => -1)$$)
) AS t(q);

--
-- selection_key: changes exactly when the selection (or what shapes the
-- merge) changes
--
SELECT pgo.selection_key('sel') AS k0 \gset
SELECT length(:'k0') AS key_length,
	   pgo.selection_key('sel') = :'k0' AS stable,
	   pgo.selection_key('sel', max_profiles => 50) = :'k0' AS same_rows_same_key,
	   pgo.selection_key('sel', max_profiles => 2) <> :'k0' AS fewer_rows,
	   pgo.selection_key('sel', '30 days') <> :'k0' AS wider_window,
	   pgo.selection_key('sel', mode => 'batch') <> :'k0' AS mode,
	   pgo.selection_key('sel', "normalize" => false) <> :'k0' AS not_normalized,
	   pgo.selection_key('sel', top_by_cpu => 5) = :'k0' AS top_5_of_5,
	   pgo.selection_key('nope') IS NULL AS unknown_tag,
	   pgo.selection_key('svc-heap') IS NULL AS heap_only;
SET pprof.pgo_frames = 8;
SELECT pgo.selection_key('sel') <> :'k0' AS pgo_frames;
RESET pprof.pgo_frames;
-- uploads elsewhere, or unusable ones, change nothing; a usable one does
SELECT pgo.ingest('svc-b', b) > 0 FROM fx WHERE name = 'cpu_a1.pb.gz';
SELECT pgo.selection_key('sel') = :'k0' AS other_tag;
INSERT INTO pgo.profiles (tag, source, profile) SELECT 'sel', 'sql', b FROM fx WHERE name = 'goroutine.pb.gz';
SELECT pgo.selection_key('sel') = :'k0' AS unusable_row;
INSERT INTO pgo.profiles (tag, source, received_at, profile)
SELECT 'sel', 'sql', now() - interval '90 minutes', b FROM fx WHERE name = 'cpu_b1.pb.gz'
RETURNING id AS r9 \gset
SELECT pgo.selection_key('sel') <> :'k0' AS usable_row;
-- relabelling a row changes the key only if it changes the selection
SELECT pgo.selection_key('sel', mode => 'batch') AS kb \gset
UPDATE pgo.profiles SET labels = labels || '{"note": "x"}' WHERE id = :r9;
SELECT pgo.selection_key('sel', mode => 'batch') = :'kb' AS note_label;
UPDATE pgo.profiles SET labels = '{"mode": "batch"}' WHERE id = :r9;
SELECT pgo.selection_key('sel', mode => 'batch') <> :'kb' AS mode_label;
DELETE FROM pgo.profiles WHERE id = :r9;
SELECT pgo.selection_key('sel') = :'k0' AS back_to_k0;

--
-- Releases
--
SELECT tag, sha256 = encode(sha256(pgo.profile_for('sel')), 'hex') AS sha256_of_profile_for,
	   profile = pgo.profile_for('sel') AS bytes,
	   input_ids = (SELECT array_agg(id ORDER BY id) FROM sel WHERE r IN ('r1', 'r2', 'r3', 'r4', 'r5')) AS input_ids,
	   parameters
FROM pgo.publish('sel');
SELECT sha256 AS sha, created_at AS created FROM pgo.releases WHERE tag = 'sel' \gset
-- publishing the same bytes again returns the existing release
SELECT sha256 = :'sha' AS same_sha, created_at = :'created' AS same_release FROM pgo.publish('sel');
SELECT sha256 = :'sha' AS same_sha, created_at = :'created' AS same_release
FROM pgo.publish('sel', max_profiles => 50);
SELECT count(*) FROM pgo.releases WHERE tag = 'sel';
-- other bytes, another release
SELECT sha256 <> :'sha' AS other_release, parameters->'normalize' AS "normalize"
FROM pgo.publish('sel', "normalize" => false);
SELECT count(*) FROM pgo.releases WHERE tag = 'sel';
-- lookup
SELECT pgo.release('sel', :'sha') = pgo.profile_for('sel') AS found,
	   pgo.release('sel', upper(:'sha')) = pgo.profile_for('sel') AS upper_case,
	   pgo.release('sel', repeat('0', 64)) IS NULL AS unknown_sha,
	   pgo.release('svc-a', :'sha') IS NULL AS other_tag;
-- immutable
SELECT q, try(q) FROM (VALUES
	($$UPDATE pgo.releases SET created_at = now()$$),
	($$DELETE FROM pgo.releases WHERE tag = 'sel'$$),
	($$TRUNCATE pgo.releases$$),
	($$INSERT INTO pgo.releases (tag, sha256, profile, input_ids, parameters) VALUES ('x', repeat('0', 64), '\x00', '{}', '{}')$$),
	($$SELECT pgo.publish('svc-heap')$$)
) AS t(q);

--
-- The tags view
--
SELECT tag, profiles, usable, newest >= oldest AS ordered, total_cpu_seconds, modes
FROM pgo.tags ORDER BY tag;

--
-- Label filters on a profile with pprof labels (mode=batch|interactive,
-- worker=1|2; runtime samples are unlabelled)
--
SELECT pprof_label_values(b::pprof, 'mode') AS mode, pprof_label_values(b::pprof, 'worker') AS worker,
	   pprof_label_values(b::pprof, 'nope') AS nope, pprof_label_values(b::pprof, 'bytes') AS numeric_label
FROM fx WHERE name IN ('cpu_labels.pb.gz', 'heap.pb.gz') ORDER BY name;
SELECT v.value, pprof_sample_count(f) AS samples, pprof_total(f) AS total,
	   (SELECT array_agg(l.key || '=' || l.value ORDER BY l.key, l.value) FROM pprof_labels(f) l) AS labels,
	   pprof_duration(f) = pprof_duration(fx.b::pprof) AS same_header,
	   f::bytea::pprof::bytea = f::bytea AS round_trip
FROM fx, unnest(ARRAY['batch', 'interactive', 'other']) AS v(value),
	 pprof_filter_label(fx.b::pprof, 'mode', v.value) AS f
WHERE fx.name = 'cpu_labels.pb.gz' ORDER BY 1;
-- the same totals as pprof_labels reports
SELECT l.value, l.samples, l.total, pprof_total(pprof_filter_label(fx.b::pprof, 'mode', l.value)) = l.total AS same_total
FROM fx, pprof_labels(fx.b::pprof) l WHERE fx.name = 'cpu_labels.pb.gz' AND l.key = 'mode' ORDER BY 1;
-- the filtered profiles and the unlabelled samples add up to the profile
SELECT pprof_total(pprof_filter_label(p, 'mode', 'batch'))
	   + pprof_total(pprof_filter_label(p, 'mode', 'interactive'))
	   + (SELECT sum(s."values"[2]) FROM pprof_stacks(p) s WHERE NOT s.labels ? 'mode')
	   = pprof_total(p) AS adds_up
FROM (SELECT b::pprof AS p FROM fx WHERE name = 'cpu_labels.pb.gz') x;
SELECT function, flat FROM fx, pprof_top(pprof_filter_label(b::pprof, 'mode', 'batch'), 4)
WHERE name = 'cpu_labels.pb.gz';
SELECT pprof_sample_count(pprof_filter_label(b::pprof, 'worker', '2')) AS worker_2,
	   pprof_sample_count(pprof_filter_label(b::pprof, 'mode', 'interactive')) AS interactive
FROM fx WHERE name = 'cpu_labels.pb.gz';
-- no labels at all: nothing kept; every sample kept: the same profile
SELECT pprof_sample_count(pprof_filter_label(b::pprof, 'mode', 'batch')) FROM fx WHERE name = 'cpu.pb.gz';
SELECT pprof_filter_label(p, 'mode', 'batch')::bytea = p::bytea AS unchanged
FROM (SELECT pprof_filter_label(b::pprof, 'mode', 'batch') AS p FROM fx WHERE name = 'cpu_labels.pb.gz') x;

--
-- Privileges: a role granted what README "Who may do what" lists can upload
-- and fetch, and nothing else
--
CREATE ROLE regress_pgo_gateway;
GRANT USAGE ON SCHEMA pgo TO regress_pgo_gateway;
GRANT EXECUTE ON FUNCTION
	pgo.ingest(text, bytea, jsonb, text, text),
	pgo.ingest_summary(text, bytea, jsonb, text, text),
	pgo.profile_for(text, interval, integer, text, boolean, interval, integer, text, text),
	pgo.selection_key(text, interval, integer, text, boolean, interval, integer, text, text),
	pgo.publish(text, interval, integer, text, boolean, interval, integer, text, text),
	pgo.release(text, text)
TO regress_pgo_gateway;
GRANT SELECT ON pgo.tags, fx TO regress_pgo_gateway;
SET ROLE regress_pgo_gateway;
SELECT pgo.ingest('svc-gw', b) > 0 AS ingested FROM fx WHERE name = 'cpu_b1.pb.gz';
SELECT s.id > 0 AS ingested, s.samples, s.duration_seconds > 0 AS has_duration, s.pgo_usable, s.problems
FROM fx, pgo.ingest_summary('svc-gw', b) s WHERE name = 'cpu_b1.pb.gz';
SELECT length(pgo.profile_for('svc-gw')) > 0 AS fetched, pgo.selection_key('svc-gw') IS NOT NULL AS keyed,
	   pgo.release('sel', :'sha') IS NOT NULL AS release;
SELECT profiles FROM pgo.tags WHERE tag = 'svc-gw';
SELECT q, try(q) FROM (VALUES
	($$SELECT count(*) FROM pgo.profiles$$),
	($$INSERT INTO pgo.profiles (tag, source, profile) SELECT 'svc-gw', 'sql', b FROM fx WHERE name = 'cpu_b1.pb.gz'$$),
	($$SELECT * FROM pgo.apply_retention()$$),
	($$SELECT * FROM pgo.maintain()$$),
	($$DELETE FROM pgo.retention_policies$$)
) AS t(q);
RESET ROLE;
DROP OWNED BY regress_pgo_gateway;
DROP ROLE regress_pgo_gateway;

-- old rows of this test (in the default partition) get their days' partitions
SELECT count(*) AS old_rows FROM pgo.profiles_default \gset
SELECT :old_rows > 0 AS had_old_rows, sum(moved_rows) = :old_rows AS moved_all FROM pgo.maintain();
SELECT count(*) AS in_default FROM pgo.profiles_default;
