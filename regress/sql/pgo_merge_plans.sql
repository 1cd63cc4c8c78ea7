-- pgo_merge is NULL when no row is usable, and gives the same bytes, under
-- every plan: serial, parallel (partial states serialized by workers and
-- combined by the leader) and partitionwise. Each worker or partition may
-- see only rows pgo_merge skips; its empty state must stay empty.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx pl_fx
\i :abs_srcdir/sql/include/fixtures.psql

-- three cases of 40 rows, one row per page so that workers share them:
--   unusable:   heap and goroutine profiles (no CPU sample type)
--   weight 0:   CPU profiles, every weight 0
--   one usable: 39 heap, goroutine and empty CPU profiles, one CPU profile
CREATE TABLE pl_rows (kase text, id int, w float8, filler text, p pprof)
  WITH (fillfactor = 10, parallel_workers = 2);
ALTER TABLE pl_rows ALTER filler SET STORAGE PLAIN;
INSERT INTO pl_rows
SELECT 'unusable', i, 1, repeat('x', 1000), p
FROM generate_series(1, 20) AS i, pl_fx WHERE name IN ('heap', 'goroutine');
INSERT INTO pl_rows
SELECT 'weight 0', i, 0, repeat('x', 1000), p
FROM generate_series(1, 40) AS i, pl_fx WHERE name = 'cpu';
INSERT INTO pl_rows
SELECT 'one usable', i, 1, repeat('x', 1000), p
FROM generate_series(1, 13) AS i, pl_fx WHERE name IN ('heap', 'goroutine', 'cpu_empty');
INSERT INTO pl_rows
SELECT 'one usable', 20, 1, repeat('x', 1000), p FROM pl_fx WHERE name = 'cpu';
ANALYZE pl_rows;

-- the same rows in four partitions
CREATE TABLE pl_part (kase text, id int, w float8, p pprof) PARTITION BY LIST ((id % 4));
CREATE TABLE pl_part0 PARTITION OF pl_part FOR VALUES IN (0);
CREATE TABLE pl_part1 PARTITION OF pl_part FOR VALUES IN (1);
CREATE TABLE pl_part2 PARTITION OF pl_part FOR VALUES IN (2);
CREATE TABLE pl_part3 PARTITION OF pl_part FOR VALUES IN (3);
INSERT INTO pl_part SELECT kase, id, w, p FROM pl_rows;
ANALYZE pl_part;

-- one row per case and plan: md5 of the result ('NULL' when NULL). Plain
-- SELECTs and CREATE TABLE AS run in parallel, INSERT ... SELECT does not.
CREATE VIEW pl_rows_merged AS
SELECT kase, coalesce(md5(pgo_merge(p)::bytea), 'NULL') AS pgo,
       coalesce(md5(pgo_merge(p, w)::bytea), 'NULL') AS pgo_w
FROM pl_rows GROUP BY kase;
CREATE VIEW pl_part_merged AS
SELECT kase, coalesce(md5(pgo_merge(p)::bytea), 'NULL') AS pgo,
       coalesce(md5(pgo_merge(p, w)::bytea), 'NULL') AS pgo_w
FROM pl_part GROUP BY kase;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE pl_serial AS SELECT * FROM pl_rows_merged;

\i :abs_srcdir/sql/include/parallel_plans.psql
SET enable_hashagg = off;
-- workers that see only rows of one case, or none of it
EXPLAIN (COSTS OFF) SELECT * FROM pl_rows_merged;
CREATE TABLE pl_parallel AS SELECT * FROM pl_rows_merged;

-- each partition merged apart (by workers), then combined
SET enable_partitionwise_aggregate = on;
EXPLAIN (COSTS OFF) SELECT * FROM pl_part_merged;
CREATE TABLE pl_partitionwise_parallel AS SELECT * FROM pl_part_merged;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT * FROM pl_part_merged;
CREATE TABLE pl_partitionwise AS SELECT * FROM pl_part_merged;

RESET enable_partitionwise_aggregate;
RESET enable_hashagg;
\i :abs_srcdir/sql/include/parallel_plans_reset.psql

-- NULL exactly where no row is usable (without weights: 'weight 0' rows
-- are usable CPU profiles), and one answer per case whatever the plan
SELECT kase, count(*) AS plans,
       count(DISTINCT pgo) AS pgo_answers, min(pgo) = 'NULL' AS pgo_null,
       count(DISTINCT pgo_w) AS weighted_answers, min(pgo_w) = 'NULL' AS weighted_null
FROM (SELECT 'serial' AS plan, * FROM pl_serial
      UNION ALL SELECT 'parallel', * FROM pl_parallel
      UNION ALL SELECT 'partitionwise parallel', * FROM pl_partitionwise_parallel
      UNION ALL SELECT 'partitionwise', * FROM pl_partitionwise) AS r
GROUP BY kase ORDER BY kase;
-- and the one usable row's merge is that row's merge
SELECT min(pgo_w) = (SELECT md5(pgo_merge(p)::bytea) FROM pl_fx WHERE name = 'cpu') AS one_usable_is_its_merge
FROM pl_serial WHERE kase = 'one usable';
