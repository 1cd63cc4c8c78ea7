--
-- The fleet catalog's partitions and retention: pgo.maintain,
-- pgo.create_partition, pgo.retention_policies, pgo.policy_for,
-- pgo.apply_retention (whole-partition drops, row deletes, "keep at least
-- N", rollups). Rows are placed around noon (UTC) of a given number of days
-- ago, so each falls on a known UTC day whatever the time of the run; every
-- day below holds the rows of this test only. Concurrency with ingest and
-- pg_cron: TAP tests in regress/t.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set d :abs_srcdir '/data/'
SET max_parallel_workers_per_gather = 0;

CREATE TABLE ret_fx (name text PRIMARY KEY, b bytea NOT NULL);
INSERT INTO ret_fx
SELECT name, pg_read_binary_file(:'d' || name)
FROM unnest(ARRAY['heap.pb.gz', 'cpu_a1.pb.gz', 'cpu_a2.pb.gz', 'cpu_a3.pb.gz',
				  'cpu_a_long.pb.gz', 'cpu_b1.pb.gz']) AS name;

-- (tag, fixture, age in days, extra seconds, labels) of the rows of this test
CREATE TABLE ret_rows (r text PRIMARY KEY, tag text, name text, days int, secs int, labels jsonb, id bigint);
INSERT INTO ret_rows (r, tag, name, days, secs, labels) VALUES
	-- ret-a (max_age 10 days): day 20 holds only expired rows (partition
	-- dropped); day 21 also holds a row of ret-none (rows deleted)
	('a20a', 'ret-a', 'cpu_b1.pb.gz', 20, 1, '{}'),
	('a20b', 'ret-a', 'cpu_b1.pb.gz', 20, 2, '{}'),
	('a21', 'ret-a', 'cpu_b1.pb.gz', 21, 1, '{}'),
	('n21', 'ret-none', 'cpu_b1.pb.gz', 21, 2, '{}'),
	-- ret-keep (max_age 10 days, keep_min 2): the 2 newest usable rows of
	-- each mode stay; the heap profile is not usable, so not kept
	('k23', 'ret-keep', 'cpu_a3.pb.gz', 23, 1, '{}'),
	('k24', 'ret-keep', 'cpu_a2.pb.gz', 24, 1, '{}'),
	('k24h', 'ret-keep', 'heap.pb.gz', 24, 2, '{}'),
	('k25', 'ret-keep', 'cpu_a1.pb.gz', 25, 1, '{}'),
	('k26x', 'ret-keep', 'cpu_b1.pb.gz', 26, 1, '{"mode": "x"}'),
	-- ret-roll (max_age 30 days, rollup_after 2 days)
	('r5a', 'ret-roll', 'cpu_a1.pb.gz', 5, 1, '{"mode": "batch", "host": "h1"}'),
	('r5b', 'ret-roll', 'cpu_a2.pb.gz', 5, 2, '{"mode": "batch", "host": "h2"}'),
	('r5c', 'ret-roll', 'cpu_a3.pb.gz', 5, 3, '{"mode": "batch", "host": "h1"}'),
	('r5h1', 'ret-roll', 'heap.pb.gz', 5, 4, '{"mode": "batch"}'),
	('r5h2', 'ret-roll', 'heap.pb.gz', 5, 5, '{"mode": "batch"}'),
	('r5i', 'ret-roll', 'cpu_a_long.pb.gz', 5, 6, '{"mode": "interactive"}'),
	('r1a', 'ret-roll', 'cpu_a1.pb.gz', 1, 1, '{"mode": "batch"}'),
	('r1b', 'ret-roll', 'cpu_a2.pb.gz', 1, 2, '{"mode": "batch"}'),
	('r40', 'ret-roll', 'cpu_b1.pb.gz', 40, 1, '{}');
-- noon (UTC) of days ago, minus secs
CREATE FUNCTION ret_at(days int, secs int DEFAULT 0) RETURNS timestamptz LANGUAGE sql STABLE
	RETURN date_trunc('day', now(), 'UTC') + interval '12 hours' - make_interval(hours => 24 * days, secs => secs);
WITH ins AS (
	INSERT INTO pgo.profiles (tag, labels, source, received_at, profile)
	SELECT r.tag, r.labels, 'sql', ret_at(r.days, r.secs), f.b
	FROM ret_rows r JOIN ret_fx f USING (name)
	RETURNING id, tag, received_at)
UPDATE ret_rows r SET id = ins.id
FROM ins WHERE ins.tag = r.tag AND ins.received_at = ret_at(r.days, r.secs);
SELECT count(id) FROM ret_rows;

-- age in whole UTC days of a row's or partition's day
CREATE FUNCTION ret_day(t timestamptz) RETURNS int LANGUAGE sql STABLE
	RETURN extract(day FROM date_trunc('day', now(), 'UTC') - date_trunc('day', t, 'UTC'));

--
-- Partitions
--
-- old rows wait in the default partition until pgo.maintain() gives their
-- days a partition. Yesterday's (UTC) rows are left out: partitions follow
-- the session's time zone (pg_regress: PST8PDT), so yesterday's partition
-- exists or not depending on the time of day.
SELECT count(*) AS in_default FROM pgo.profiles_default
WHERE tag LIKE 'ret-%' AND ret_day(received_at) >= 2;
-- (yesterday's partition may exist already, depending on the time of day)
SELECT m.day, m.moved_rows
FROM (SELECT ret_day(to_date(right(partition_name, 8), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC') AS day,
			 moved_rows
	  FROM pgo.maintain()) m
WHERE m.day >= 2 ORDER BY 1 DESC;
SELECT count(*) AS in_default FROM pgo.profiles_default;
SELECT r.r, ret_day(p.received_at) AS day, ret_day(x.from_time) AS partition_day
FROM ret_rows r JOIN pgo.profiles p ON p.id = r.id JOIN pgo.partitions() x ON x.partition = p.tableoid
ORDER BY r.r;
-- a day's partition on demand (for backfills): rows moved, NULL if it exists
INSERT INTO pgo.profiles (tag, source, received_at, profile)
SELECT 'ret-none', 'sql', ret_at(60), b FROM ret_fx WHERE name = 'cpu_b1.pb.gz';
SELECT pgo.create_partition((now() AT TIME ZONE 'UTC')::date - 60) AS moved,
	   pgo.create_partition((now() AT TIME ZONE 'UTC')::date - 60) IS NULL AS existed;
SELECT count(*) AS in_default FROM pgo.profiles_default;

--
-- Policies: the exact pattern wins, else the longest matching one
--
INSERT INTO pgo.retention_policies (tag_pattern, max_age, keep_min, rollup_after) VALUES
	('ret-a', '10 days', 0, NULL),
	('ret-keep', '10 days', 2, NULL),
	('ret-roll', '30 days', 0, '2 days'),
	('ret-k%', '1 day', 0, NULL),
	('ret-%', NULL, 0, NULL);
SELECT t, (pgo.policy_for(t)).*
FROM unnest(ARRAY['ret-a', 'ret-keep', 'ret-kx', 'ret-none', 'ret-roll', 'svc-a']) AS t ORDER BY t;
INSERT INTO pgo.retention_policies VALUES ('bad', '1 day', -1, NULL);
INSERT INTO pgo.retention_policies VALUES ('bad', '1 day', 0, '2 days');

-- what retention must leave alone: a release made from rows it deletes,
-- rows of tags without a policy, fresh uploads
SELECT sha256 AS ret_sha FROM pgo.publish('ret-a', NULL) \gset
SELECT pgo.ingest('ret-a', b, idempotency_key => 'fresh') AS fresh_id FROM ret_fx WHERE name = 'cpu_b1.pb.gz' \gset
-- totals of the rows to be rolled up (day 5), per kind of profile
CREATE TABLE ret_before AS
SELECT p.sample_types, count(*) AS n,
	   sum(pprof_total(p.profile, p.sample_types[1])) AS total_1,
	   sum(pprof_total(p.profile, p.sample_types[2])) AS total_2,
	   sum(p.duration_seconds) AS seconds
FROM pgo.profiles p JOIN ret_rows r ON r.id = p.id
WHERE r.r IN ('r5a', 'r5b', 'r5c', 'r5h1', 'r5h2')
GROUP BY p.sample_types;
SELECT * FROM ret_before ORDER BY 1;

--
-- Apply
--
SELECT * FROM pgo.apply_retention();

-- the rows left: expired rows are gone, except the 2 newest usable rows of
-- each (tag, mode) of ret-keep; day 5 of ret-roll is one row per mode and
-- kind of profile
SELECT r.r, p.id IS NOT NULL AS kept
FROM ret_rows r LEFT JOIN pgo.profiles p ON p.id = r.id
ORDER BY r.r;
SELECT p.tag, ret_day(p.received_at) AS day, p.source, p.labels, p.sample_types[1] AS kind,
	   p.pgo_usable, p.duration_seconds
FROM pgo.profiles p
WHERE p.tag LIKE 'ret-%' AND p.source = 'rollup' ORDER BY 1, 2, 4, 5;
-- rollups keep every total
SELECT b.sample_types[1] AS kind, b.n AS rows_before,
	   a.total_1 = b.total_1 AS same_total_1, a.total_2 = b.total_2 AS same_total_2,
	   abs(a.seconds - b.seconds) < 1e-5 AS same_duration
FROM ret_before b
	 JOIN (SELECT p.sample_types,
				  sum(pprof_total(p.profile, p.sample_types[1])) AS total_1,
				  sum(pprof_total(p.profile, p.sample_types[2])) AS total_2,
				  sum(p.duration_seconds) AS seconds
		   FROM pgo.profiles p WHERE p.tag = 'ret-roll' AND p.source = 'rollup'
		   GROUP BY p.sample_types) a USING (sample_types)
ORDER BY 1;
-- whole partitions went away where every row had expired; the others
-- stayed (their expired rows were deleted one by one)
SELECT d AS day, EXISTS (SELECT 1 FROM pgo.partitions() x WHERE NOT x.is_default AND ret_day(x.from_time) = d) AS partition_exists
FROM unnest(ARRAY[5, 20, 21, 23, 24, 25, 26, 40, 60]) AS d ORDER BY d;

-- untouched: the release, the fresh upload and its idempotency key, tags without policy
SELECT pgo.release('ret-a', :'ret_sha') IS NOT NULL AS release_kept,
	   EXISTS (SELECT 1 FROM pgo.profiles WHERE id = :fresh_id) AS fresh_kept,
	   EXISTS (SELECT 1 FROM pgo.idempotency_keys WHERE tag = 'ret-a' AND key = 'fresh') AS key_kept,
	   (SELECT count(*) FROM pgo.profiles WHERE tag = 'ret-none') AS ret_none_rows,
	   (SELECT count(*) FROM pgo.profiles WHERE tag = 'sel') AS sel_rows;
-- rollup rows serve builds
SELECT pprof_pgo_usable(pgo.profile_for('ret-roll', '30 days')::pprof) AS usable,
	   pgo.selection_key('ret-roll', '30 days') IS NOT NULL AS has_key;

-- a second run finds nothing to do
SELECT * FROM pgo.apply_retention();

-- idempotency keys expire after idempotency_ttl
SELECT count(*) > 0 AS keys_before FROM pgo.idempotency_keys;
SELECT * FROM pgo.apply_retention(idempotency_ttl => '0 seconds');
SELECT count(*) AS keys_after FROM pgo.idempotency_keys;

-- a policy that no longer keeps anything: the kept rows go too
UPDATE pgo.retention_policies SET keep_min = 0 WHERE tag_pattern = 'ret-keep';
SELECT * FROM pgo.apply_retention();
SELECT count(*) AS ret_keep_rows FROM pgo.profiles WHERE tag = 'ret-keep';

--
-- Ingest when today's partition is missing: it is created again and the
-- row lands in it, not in the default partition
--
SELECT format('pgo.%I', 'profiles_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')) AS today \gset
DROP TABLE :today;
SELECT pgo.ingest('ret-today', b) AS today_id FROM ret_fx WHERE name = 'cpu_b1.pb.gz' \gset
SELECT tableoid::regclass::text = :'today' AS in_todays_partition FROM pgo.profiles WHERE id = :today_id;
