-- The merges' own parallel workers (extension/pprof_merge_parallel.c; off
-- unless pprof.max_parallel_merge_workers allows some): a stored row (a
-- TOAST pointer) waits for the final function, which merges the rows in
-- parallel workers when they hold pprof.min_parallel_merge_size of data.
-- The bytes are those of a merge in one process for pprof_merge, pgo_merge
-- (weighted, normalized, with a denylist, of projections) and
-- pgo.profile_for; a worker's error reaches the client; values computed in
-- the query are merged at once. DEBUG1 says how many rows waited and how
-- many workers merged them.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx mw_fx
\i :abs_srcdir/sql/include/fixtures.psql

-- four copies of each fixture, stored out of line and uncompressed (those
-- small enough stay in the row: cpu_empty, goroutine)
CREATE TABLE mw_rows (id int, name text, w float8, p pprof, q pprof);
ALTER TABLE mw_rows ALTER p SET STORAGE EXTERNAL, ALTER q SET STORAGE EXTERNAL;
INSERT INTO mw_rows
SELECT row_number() OVER (ORDER BY name, i), name, 0.5 + i, p, pprof_pgo_projection(p, 4)
FROM mw_fx, generate_series(1, 4) AS i;

-- the CPU profiles have the same sample types: pprof_merge takes them
CREATE VIEW mw_merged AS
SELECT md5(pprof_merge(p) FILTER (WHERE name LIKE 'cpu%')::bytea) AS pprof,
       md5(pgo_merge(p)::bytea) AS pgo,
       md5(pgo_merge(p, w)::bytea) AS pgo_w,
       md5(pgo_merge(q)::bytea) AS pgo_q,
       md5(pgo_merge(q, w)::bytea) AS pgo_qw
FROM mw_rows;

-- in one process
SET max_parallel_workers_per_gather = 0;
CREATE TABLE mw_serial AS SELECT 'default' AS settings, * FROM mw_merged;
SET pprof.pgo_normalize = on;
SET pprof.pgo_denylist = 'runtime.mallocgc, main.work';
INSERT INTO mw_serial SELECT 'normalized, denylist', * FROM mw_merged;
RESET pprof.pgo_normalize;
RESET pprof.pgo_denylist;
RESET max_parallel_workers_per_gather;

-- the same merges in workers: none by default, none below the size (the
-- default, 8 MB)
CREATE VIEW mw_same AS
SELECT row(m.pprof, m.pgo, m.pgo_w, m.pgo_q, m.pgo_qw) = row(s.pprof, s.pgo, s.pgo_w, s.pgo_q, s.pgo_qw) AS same
FROM mw_merged m, mw_serial s WHERE s.settings = 'default';
SET client_min_messages = debug1;
SET pprof.min_parallel_merge_size = 0;
SELECT * FROM mw_same;
SET pprof.max_parallel_merge_workers = 2;
RESET pprof.min_parallel_merge_size;
SELECT * FROM mw_same;
SET pprof.min_parallel_merge_size = 0;
SELECT * FROM mw_same;
SET pprof.pgo_normalize = on;
SET pprof.pgo_denylist = 'runtime.mallocgc, main.work';
SELECT (SELECT pgo_qw FROM mw_merged) = (SELECT pgo_qw FROM mw_serial WHERE settings = 'normalized, denylist') AS same_normalized_denylist;
-- the leader's settings, not the workers': the state took them at the first row
SELECT md5(pgo_merge(q)::bytea) = (SELECT pgo_q FROM mw_serial WHERE settings = 'normalized, denylist') AS same_settings_of_the_first_row
FROM (SELECT q, set_config('pprof.pgo_normalize', CASE WHEN id = 1 THEN 'on' ELSE 'off' END, false)
      FROM mw_rows) AS x;
RESET pprof.pgo_normalize;
RESET pprof.pgo_denylist;
-- the workers merge every row when the leader does not take any
SET parallel_leader_participation = off;
SELECT (SELECT pgo FROM mw_merged) = (SELECT pgo FROM mw_serial WHERE settings = 'default') AS same_without_leader;
RESET parallel_leader_participation;
-- values computed in the query are merged at once: nothing waits
SELECT md5(pgo_merge(pprof_filter_label(p, 'mode', 'batch'))::bytea) IS NOT NULL AS merged
FROM mw_rows WHERE name = 'cpu_labels';

-- rows of a temporary table are in this backend's own buffers, which workers
-- cannot read: merged at once
RESET client_min_messages;
CREATE TEMP TABLE mw_temp (LIKE mw_rows);
ALTER TABLE mw_temp ALTER p SET STORAGE EXTERNAL;
INSERT INTO mw_temp SELECT * FROM mw_rows;
SET client_min_messages = debug1;
SELECT md5(pgo_merge(p)::bytea) = (SELECT pgo FROM mw_serial WHERE settings = 'default') AS same_temp
FROM mw_temp;
-- as a window aggregate: the final function runs once per row, each time
-- with the rows that came since
SELECT count(*) AS rows,
       bool_and(md5(m::bytea) = (SELECT pgo FROM mw_serial WHERE settings = 'default')) AS same_whole_frame
FROM (SELECT pgo_merge(p) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS m
      FROM mw_rows) AS x;
SELECT md5(m::bytea) = (SELECT pgo FROM mw_serial WHERE settings = 'default') AS same_running
FROM (SELECT id, pgo_merge(p) OVER (ORDER BY id) AS m FROM mw_rows) AS x
ORDER BY id DESC LIMIT 1;

-- an error in a worker is the client's error (which process meets the row
-- first varies: the terse form has no context)
\set VERBOSITY terse
SELECT pgo_merge(p, 1e300) FROM mw_rows;
\set VERBOSITY default

-- pgo.profile_for over catalog rows: the same bytes with and without workers
RESET client_min_messages;
SELECT count(pgo.ingest('mw', p::bytea, jsonb_build_object('i', id::text)))
FROM mw_rows WHERE name LIKE 'cpu%';
SET max_parallel_workers_per_gather = 0;
CREATE TABLE mw_catalog_serial AS SELECT md5(pgo.profile_for('mw')) AS m;
RESET max_parallel_workers_per_gather;
SET client_min_messages = debug1;
SELECT md5(pgo.profile_for('mw')) = m AS same_profile_for FROM mw_catalog_serial;
RESET client_min_messages;
RESET pprof.min_parallel_merge_size;
RESET pprof.max_parallel_merge_workers;
