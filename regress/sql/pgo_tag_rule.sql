--
-- One rule of a tag (pgo.is_valid_tag): pgo.check_tag, the entry points'
-- check, and the tag constraints of pgo.profiles (every partition),
-- pgo.releases and pgo.publications give the same verdict, so a direct
-- INSERT cannot store a tag the gateway could never serve ("." and "..",
-- which a URL normalises away).
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set d :abs_srcdir '/data/'
SET max_parallel_workers_per_gather = 0;

BEGIN;

\i :abs_srcdir/sql/include/sql_error.psql

CREATE TABLE tr_fx AS SELECT pg_read_binary_file(:'d' || 'cpu_b1.pb.gz') AS b;

-- a daily partition of pgo.maintain() and the default one both hold rows:
-- the constraint is the parent's, in each partition
SELECT to_regclass('pgo.profiles_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')) IS NOT NULL AS today_partition
FROM (SELECT count(*) FROM pgo.maintain(0)) m;
SELECT COALESCE(max(id), 0) AS tr_max_id FROM pgo.profiles \gset
SELECT c.conrelid::regclass = 'pgo.profiles_default'::regclass AS is_default,
	   c.conrelid::regclass::text ~ '^pgo\.profiles_[0-9]{8}$' AS is_daily,
	   pg_get_constraintdef(c.oid) AS definition, c.conislocal, c.coninhcount
FROM pg_constraint c
WHERE c.conname = 'profiles_tag_check'
  AND c.conrelid IN ('pgo.profiles_default'::regclass,
					 to_regclass('pgo.profiles_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')))
ORDER BY 1;
SELECT conrelid::regclass AS "table", conname, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE conname IN ('profiles_tag_check', 'releases_tag_check', 'publications_tag_check')
  AND conrelid IN ('pgo.profiles'::regclass, 'pgo.releases'::regclass, 'pgo.publications'::regclass)
ORDER BY 1;

-- Each tag against pgo.check_tag and a direct INSERT into each table: into
-- today's partition and the default one (a row from a year ago), into
-- pgo.releases, and into pgo.publications with its triggers off (as a
-- restore with --disable-triggers or a replica writes; with them on, its
-- trigger refuses the row first, through pgo.check_tag: below).
CREATE TABLE tr_verdicts AS
SELECT t.n, t.tag,
	   pgo.is_valid_tag(t.tag) AS is_valid_tag,
	   pg_temp.sql_error(format('SELECT pgo.check_tag(%L)', t.tag)) AS check_tag,
	   pg_temp.sql_error(format($$INSERT INTO pgo.profiles (tag, source, profile) SELECT %L, 'sql', b FROM tr_fx$$,
					 t.tag)) AS profiles_daily,
	   pg_temp.sql_error(format($$INSERT INTO pgo.profiles (tag, source, received_at, profile)
					 SELECT %L, 'sql', now() - interval '1 year', b FROM tr_fx$$, t.tag)) AS profiles_default,
	   pg_temp.sql_error(format($$INSERT INTO pgo.releases (tag, sha256, profile, input_ids, parameters)
					 VALUES (%L, encode(sha256('\x00'), 'hex'), '\x00', '{}', '{}')$$, t.tag)) AS releases
FROM (VALUES (1, ''), (2, '.'), (3, '..'), (4, '...'), (5, 'a'), (6, '.a'), (7, 'a.'), (8, 'a..b'),
			 (9, 'A-Z_0.9'), (10, repeat('x', 128)), (11, repeat('x', 129)), (12, 'a/b'),
			 (13, 'a b'), (14, E'a\n')) AS t(n, tag);
SET LOCAL session_replication_role = replica;
ALTER TABLE tr_verdicts ADD COLUMN publications text;
UPDATE tr_verdicts SET publications =
	pg_temp.sql_error(format($$INSERT INTO pgo.publications (tag, forge, repository, branch)
				  VALUES (%L, 'git', '/srv/tr-%s', 'pgo/tr-%s')$$, tag, n, n));
RESET session_replication_role;
SELECT n, length(tag) AS length, CASE WHEN length(tag) <= 8 THEN to_json(tag) END AS tag,
	   is_valid_tag, check_tag, profiles_daily, profiles_default, releases, publications
FROM tr_verdicts ORDER BY n;
-- the same verdict everywhere: 22023 from pgo.check_tag where each
-- constraint says 23514 (check_violation)
SELECT count(*) AS tags,
	   count(*) FILTER (WHERE is_valid_tag) AS valid,
	   bool_and((check_tag = 'ok') = is_valid_tag AND (check_tag = 'ok' OR check_tag = '22023')) AS check_tag_agrees,
	   bool_and(ARRAY[profiles_daily, profiles_default, releases, publications]
				<@ ARRAY[CASE WHEN is_valid_tag THEN 'ok' ELSE '23514' END]) AS constraints_agree
FROM tr_verdicts;
-- the rows stored are those of the valid tags, in both kinds of partition
SELECT tableoid = 'pgo.profiles_default'::regclass AS in_default, count(*) AS "rows",
	   bool_and(pgo.is_valid_tag(tag)) AS all_valid
FROM pgo.profiles p WHERE p.id > :tr_max_id
GROUP BY 1 ORDER BY 1;
SELECT pgo.is_valid_tag(NULL) IS NULL AS null_is_null, pg_temp.sql_error('SELECT pgo.check_tag(NULL)') AS check_tag_null;

-- with its trigger on, pgo.publications refuses "." through pgo.check_tag
SELECT pg_temp.sql_error($$INSERT INTO pgo.publications (tag, forge, repository) VALUES ('.', 'git', '/srv/tr')$$);
-- nor an UPDATE to ".." of a row it holds
SELECT pg_temp.sql_error($$UPDATE pgo.publications SET tag = '..' WHERE repository = '/srv/tr-5'$$);

ROLLBACK;
