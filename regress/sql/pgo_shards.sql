-- What sharding the catalog by tag (Citus, docs/CAPACITY.md) asks of the
-- merge aggregates, shown on one node: rows hashed by tag into four
-- partitions stand for four shards.
-- 1. A merge grouped by tag runs whole inside each partition (no partial
--    states cross partitions): what Citus pushes down to each shard when the
--    GROUP BY holds the distribution column.
-- 2. A query on one tag reads one partition: Citus routes it to one shard.
-- 3. A merge across tags is partial per partition, then combined: what
--    Citus's coordinator does with the partial states of the shards; the
--    aggregates have combine, serialize and deserialize functions for it.
-- Every result equals the same merge over an unpartitioned table.
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/data/'

CREATE TABLE sh_flat (tag text NOT NULL, p pprof NOT NULL);
INSERT INTO sh_flat
SELECT 'svc-' || (i % 6), pg_read_binary_file(:'data' || f || '.pb.gz')::pprof
FROM generate_series(0, 11) AS i,
     unnest(ARRAY['cpu_a1', 'cpu_a2', 'cpu_a3', 'cpu_b1']) AS f;

CREATE TABLE sh_rows (tag text NOT NULL, p pprof NOT NULL) PARTITION BY HASH (tag);
CREATE TABLE sh_rows_0 PARTITION OF sh_rows FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE sh_rows_1 PARTITION OF sh_rows FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE sh_rows_2 PARTITION OF sh_rows FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE sh_rows_3 PARTITION OF sh_rows FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO sh_rows SELECT * FROM sh_flat;
ANALYZE sh_flat, sh_rows;
-- the six tags are spread over more than one partition
SELECT count(DISTINCT tableoid) > 1 AS spread FROM sh_rows;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE sh_expected AS
SELECT tag, md5(pprof_merge(p)::bytea) AS lossless, md5(pgo_merge(p)::bytea) AS pgo
FROM sh_flat GROUP BY tag;
CREATE TABLE sh_expected_all AS
SELECT md5(pprof_merge(p)::bytea) AS lossless, md5(pgo_merge(p)::bytea) AS pgo FROM sh_flat;

SET enable_partitionwise_aggregate = on;
-- 1. grouped by the distribution column: one whole aggregate per partition
EXPLAIN (COSTS OFF) SELECT tag, pgo_merge(p) FROM sh_rows GROUP BY tag;
SELECT count(*) AS tags,
       bool_and(md5(m.lossless_merge::bytea) = e.lossless) AS lossless_same,
       bool_and(md5(m.pgo_merge::bytea) = e.pgo) AS pgo_same
FROM (SELECT tag, pprof_merge(p) AS lossless_merge, pgo_merge(p) FROM sh_rows GROUP BY tag) m
JOIN sh_expected e USING (tag);

-- 2. one tag: one partition
EXPLAIN (COSTS OFF) SELECT pgo_merge(p) FROM sh_rows WHERE tag = 'svc-1';
SELECT md5(pgo_merge(p)::bytea) = (SELECT pgo FROM sh_expected WHERE tag = 'svc-1') AS pgo_same
FROM sh_rows WHERE tag = 'svc-1';

-- 3. across tags: partial per partition, combined at the top
EXPLAIN (COSTS OFF) SELECT pgo_merge(p) FROM sh_rows;
SELECT md5(pprof_merge(p)::bytea) = e.lossless AS lossless_same,
       md5(pgo_merge(p)::bytea) = e.pgo AS pgo_same
FROM sh_rows, sh_expected_all e GROUP BY e.lossless, e.pgo;
-- the same with the partial states serialized through parallel workers
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT md5(pprof_merge(p)::bytea) = e.lossless AS lossless_same,
       md5(pgo_merge(p)::bytea) = e.pgo AS pgo_same
FROM sh_rows, sh_expected_all e GROUP BY e.lossless, e.pgo;

RESET ALL;
DROP TABLE sh_flat, sh_rows, sh_expected, sh_expected_all;
