-- pprof_merge and pgo_merge on real runtime/pprof profiles. Every value is
-- checked by an SQL expression (a boolean or a difference), never pinned:
-- the fixtures change at each regeneration.
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/data/'

CREATE TABLE m_fx (name text PRIMARY KEY, p pprof NOT NULL);
INSERT INTO m_fx
SELECT f, pg_read_binary_file(:'data' || f || '.pb.gz')::pprof
FROM unnest(ARRAY['cpu', 'cpu_labels', 'heap', 'goroutine', 'cpu_empty',
                  'cpu_a1', 'cpu_a2', 'cpu_a3', 'cpu_a_long', 'cpu_b1']) AS f;

-- one fixture
CREATE FUNCTION m_fix(text) RETURNS pprof LANGUAGE sql
AS $$ SELECT p FROM m_fx WHERE name = $1 $$;
-- the merges of the named fixtures (repeats allowed)
CREATE FUNCTION m_merge(VARIADIC names text[]) RETURNS pprof LANGUAGE sql
AS $$ SELECT pprof_merge(f.p) FROM unnest(names) AS n(name) JOIN m_fx f USING (name) $$;
CREATE FUNCTION m_pgo(VARIADIC names text[]) RETURNS pprof LANGUAGE sql
AS $$ SELECT pgo_merge(f.p) FROM unnest(names) AS n(name) JOIN m_fx f USING (name) $$;
-- pgo_merge of the named fixtures with one weight each
CREATE FUNCTION m_pgo_w(names text[], weights float8[]) RETURNS pprof LANGUAGE sql
AS $$ SELECT pgo_merge(f.p, n.w) FROM unnest(names, weights) AS n(name, w) JOIN m_fx f USING (name) $$;
-- the merge of one value, by each aggregate
CREATE FUNCTION m_merge1(pprof) RETURNS pprof LANGUAGE sql
AS $$ SELECT pprof_merge(v.x) FROM (VALUES ($1)) AS v(x) $$;
CREATE FUNCTION m_pgo1(pprof) RETURNS pprof LANGUAGE sql
AS $$ SELECT pgo_merge(v.x) FROM (VALUES ($1)) AS v(x) $$;
-- true if b has a's sample types and each of b's totals is k times a's
CREATE FUNCTION m_totals_scaled(a pprof, b pprof, k numeric) RETURNS boolean LANGUAGE sql
AS $$
  SELECT pprof_sample_type_names(a) = pprof_sample_type_names(b)
     AND bool_and(pprof_total(b, t.type || '/' || t.unit) = k * pprof_total(a, t.type || '/' || t.unit))
  FROM pprof_sample_types(a) AS t
$$;
-- samples (stack, labels, values) of a, values times k, that b lacks, plus
-- those b has beyond a's: 0 when they are the same multiset
CREATE FUNCTION m_stack_diff(a pprof, b pprof, k int DEFAULT 1) RETURNS bigint LANGUAGE sql
AS $$
  WITH x AS (SELECT functions, labels,
                    ARRAY(SELECT v * k FROM unnest(s."values") WITH ORDINALITY AS u(v, o)
                          ORDER BY o) AS vals
             FROM pprof_stacks(a) AS s),
       y AS (SELECT functions, labels, "values" AS vals FROM pprof_stacks(b))
  SELECT (SELECT count(*) FROM (SELECT * FROM x EXCEPT ALL SELECT * FROM y) AS d1)
       + (SELECT count(*) FROM (SELECT * FROM y EXCEPT ALL SELECT * FROM x) AS d2)
$$;
-- (stack, labels, sample type) whose summed values differ between a and b:
-- 0 when b is a with samples of the same stack and labels combined
CREATE FUNCTION m_sum_diff(a pprof, b pprof) RETURNS bigint LANGUAGE sql
AS $$
  WITH x AS (SELECT s.functions, s.labels, u.o, sum(u.v) AS total
             FROM pprof_stacks(a) AS s, unnest(s."values") WITH ORDINALITY AS u(v, o)
             GROUP BY 1, 2, 3 HAVING sum(u.v) <> 0),
       y AS (SELECT s.functions, s.labels, u.o, sum(u.v) AS total
             FROM pprof_stacks(b) AS s, unnest(s."values") WITH ORDINALITY AS u(v, o)
             GROUP BY 1, 2, 3 HAVING sum(u.v) <> 0)
  SELECT (SELECT count(*) FROM (SELECT * FROM x EXCEPT ALL SELECT * FROM y) AS d1)
       + (SELECT count(*) FROM (SELECT * FROM y EXCEPT ALL SELECT * FROM x) AS d2)
$$;
-- samples whose values are all zero
CREATE FUNCTION m_zero_samples(pprof) RETURNS bigint LANGUAGE sql
AS $$ SELECT count(*) FROM pprof_stacks($1) AS s WHERE 0 = ALL (s."values") $$;

--
-- pprof_merge
--

-- the merge of one profile: the same profile, minus its all-zero samples,
-- with samples of identical stack and labels combined (google/pprof's Merge
-- does both; heap.pb.gz has such samples, 002_merge_matches_go_pprof.pl
-- checks the result against go tool pprof); merging again changes nothing
SELECT name,
       m_zero_samples(p) > 0 AS has_zero_samples,
       m_zero_samples(m) = 0 AS zero_dropped,
       pprof_sample_count(m) < pprof_sample_count(p) - m_zero_samples(p) AS some_combined,
       m_sum_diff(p, m) = 0 AS same_values_per_stack,
       m_totals_scaled(p, m, 1) AS same_totals,
       pprof_duration(m) IS NOT DISTINCT FROM pprof_duration(p)
         AND pprof_time(m) IS NOT DISTINCT FROM pprof_time(p)
         AND pprof_period(m) = pprof_period(p) AS same_header,
       m_merge1(m)::bytea = m::bytea AS idempotent
FROM m_fx, LATERAL m_merge1(p) AS m
ORDER BY name;

-- merge(p, p) doubles every value of every sample, keeps the samples,
-- doubles the duration (to the microsecond pprof_duration shows), keeps
-- time and period
SELECT name,
       m_totals_scaled(p, d, 2) AS totals_doubled,
       m_stack_diff(m_merge1(p), d, 2) = 0 AS every_stack_doubled,
       pprof_sample_count(d) = pprof_sample_count(m_merge1(p)) AS same_samples,
       coalesce(abs(extract(epoch FROM pprof_duration(d) - 2 * pprof_duration(p))) <= 0.000001,
                pprof_duration(d) IS NULL AND pprof_duration(p) IS NULL) AS duration_doubled,
       pprof_time(d) IS NOT DISTINCT FROM pprof_time(p) AND pprof_period(d) = pprof_period(p) AS same_time_period
FROM m_fx, LATERAL m_merge(name, name) AS d
ORDER BY name;

-- several profiles of one program: samples with the same stack and labels
-- combine, totals add up, durations add up, the earliest time is kept
WITH s AS (SELECT m_merge('cpu_a1', 'cpu_a2', 'cpu_a3', 'cpu_a_long') AS m),
     i AS (SELECT sum(pprof_total(p, 'samples')) AS samples, sum(pprof_total(p, 'cpu')) AS cpu,
                  sum(pprof_sample_count(p)) AS n, sum(pprof_duration(p)) AS dur,
                  min(pprof_time(p)) AS t
           FROM m_fx WHERE name LIKE 'cpu_a%')
SELECT pprof_total(m, 'samples') = samples AS samples_add_up,
       pprof_total(m, 'cpu') = cpu AS cpu_adds_up,
       pprof_sample_count(m) < n AS some_samples_combined,
       abs(extract(epoch FROM pprof_duration(m) - dur)) <= 0.000004 AS durations_add_up,
       pprof_time(m) = t AS earliest_time
FROM s, i;

-- two programs: nothing combines across them (locations differ by mapping),
-- so the samples of the merge are exactly those of the two
SELECT m_stack_diff(m_merge('cpu', 'cpu_b1'), m_merge('cpu_b1')) =
         pprof_sample_count(m_merge('cpu')) AS cpu_samples_kept,
       pprof_sample_count(m_merge('cpu', 'cpu_b1')) =
         pprof_sample_count(m_merge('cpu')) + pprof_sample_count(m_merge('cpu_b1')) AS counts_add_up,
       (SELECT count(*) FROM (
          SELECT functions, labels, "values" FROM pprof_stacks(m_merge('cpu', 'cpu_b1'))
          EXCEPT ALL
          (SELECT functions, labels, "values" FROM pprof_stacks(m_fix('cpu'))
           UNION ALL
           SELECT functions, labels, "values" FROM pprof_stacks(m_fix('cpu_b1')))) AS x) AS extra_samples;

-- labels are part of a sample's key: merging labelled samples keeps them
-- apart and keeps their labels
SELECT (SELECT count(*) FROM pprof_stacks(m) WHERE labels <> '{}') =
       (SELECT count(*) FROM pprof_stacks(m_fix('cpu_labels')) WHERE labels <> '{}') AS labelled_samples_kept,
       (SELECT array_agg(DISTINCT labels->>'mode' ORDER BY labels->>'mode')
        FROM pprof_stacks(m) WHERE labels <> '{}') AS modes
FROM m_merge('cpu_labels', 'cpu_labels', 'cpu_labels') AS m;

-- partial merges merged again give the same bytes as one merge (what the
-- combine step of a parallel plan does)
SELECT m_merge('cpu_a1', 'cpu_a2', 'cpu_a3', 'cpu_a_long')::bytea =
       (SELECT pprof_merge(x) FROM (VALUES (m_merge('cpu_a1', 'cpu_a3')),
                                           (m_merge('cpu_a_long')),
                                           (m_merge('cpu_a2'))) AS v(x))::bytea AS associative;

-- NULL rows are ignored; no rows give NULL
SELECT (SELECT pprof_merge(x) FROM (VALUES (NULL::pprof), (m_fix('cpu')), (NULL)) AS v(x))::bytea =
       m_merge('cpu')::bytea AS nulls_ignored,
       (SELECT pprof_merge(p) FROM m_fx WHERE false) IS NULL AS no_rows_null,
       (SELECT pprof_merge(NULL::pprof)) IS NULL AS only_null_null;

-- profiles of different kinds (their period types differ): an error naming
-- both, the same in either order (sample types that differ: regress/t/005)
SELECT pprof_merge(p ORDER BY name) FROM m_fx WHERE name IN ('cpu', 'heap');
SELECT pprof_merge(p ORDER BY name DESC) FROM m_fx WHERE name IN ('cpu', 'heap');
SELECT pprof_merge(p ORDER BY name) FROM m_fx WHERE name IN ('cpu', 'goroutine');
-- (and its SQLSTATE)
DO $$
BEGIN
  PERFORM pprof_merge(p) FROM m_fx WHERE name IN ('heap', 'goroutine');
EXCEPTION WHEN data_exception THEN
  RAISE NOTICE 'heap + goroutine: SQLSTATE %', SQLSTATE;
END $$;

--
-- pgo_merge
--

-- what it keeps: the two sample types the compiler reads, no labels, no
-- mappings, no file names; the same totals as the inputs
SELECT pprof_sample_type_names(g) AS sample_types,
       pprof_mapping_count(g) AS mappings,
       (SELECT count(*) FROM pprof_labels(g)) AS labels,
       (SELECT count(*) FROM pprof_functions(g) WHERE file <> '') AS files,
       pprof_pgo_usable(g) AS usable,
       pprof_total(g, 'samples') = (SELECT sum(pprof_total(p, 'samples')) FROM m_fx
                                    WHERE name IN ('cpu', 'cpu_labels', 'cpu_b1')) AS samples_add_up,
       pprof_total(g, 'cpu') = (SELECT sum(pprof_total(p, 'cpu')) FROM m_fx
                                WHERE name IN ('cpu', 'cpu_labels', 'cpu_b1')) AS cpu_adds_up,
       pprof_sample_count(g) < pprof_sample_count(m_merge('cpu', 'cpu_labels', 'cpu_b1')) AS fewer_samples
FROM m_pgo('cpu', 'cpu_labels', 'cpu_b1') AS g;

-- inputs the compiler cannot use are skipped: adding them changes nothing
SELECT m_pgo('cpu', 'heap', 'goroutine', 'cpu_empty')::bytea = m_pgo('cpu')::bytea AS unusable_skipped,
       m_pgo('heap', 'cpu_empty', 'cpu_a1', 'goroutine')::bytea = m_pgo('cpu_a1')::bytea AS in_any_order;
-- nothing usable (or nothing at all): NULL
SELECT m_pgo('heap', 'goroutine', 'cpu_empty') IS NULL AS unusable_only,
       m_pgo('cpu_empty') IS NULL AS empty_only,
       (SELECT pgo_merge(p) FROM m_fx WHERE false) IS NULL AS no_rows,
       m_pgo_w('{heap,goroutine,cpu_empty}', '{1,1,1}') IS NULL AS weighted_unusable_only;

-- merging its own output again changes nothing
SELECT m_pgo1(g)::bytea = g::bytea AS idempotent
FROM m_pgo('cpu_a1', 'cpu_a2', 'cpu_b1') AS g;

-- pprof.pgo_frames: fewer frames, fewer distinct samples, same totals
CREATE TABLE m_frames4 AS SELECT m_pgo('cpu', 'cpu_b1') AS g;
SET pprof.pgo_frames = 2;
SELECT m_totals_scaled(g, m_pgo('cpu', 'cpu_b1'), 1) AS same_totals,
       pprof_sample_count(m_pgo('cpu', 'cpu_b1')) < pprof_sample_count(g) AS fewer_samples,
       m_stack_diff(g, m_pgo('cpu', 'cpu_b1')) > 0 AS stacks_differ
FROM m_frames4;
RESET pprof.pgo_frames;
-- the compiler reads two
SET pprof.pgo_frames = 1;

-- weights: 1 = unweighted, 2 = the row twice, 0 = the row absent
SELECT m_pgo_w('{cpu_a1,cpu_b1}', '{1,1}')::bytea = m_pgo('cpu_a1', 'cpu_b1')::bytea AS weight_1,
       m_totals_scaled(m_pgo('cpu_a1', 'cpu_b1'), m_pgo_w('{cpu_a1,cpu_b1}', '{2,2}'), 2) AS weight_2_totals,
       m_stack_diff(m_pgo('cpu_a1', 'cpu_b1'), m_pgo_w('{cpu_a1,cpu_b1}', '{2,2}'), 2) = 0 AS weight_2_stacks,
       m_stack_diff(m_pgo('cpu_a1', 'cpu_a1', 'cpu_b1'), m_pgo_w('{cpu_a1,cpu_b1}', '{2,1}')) = 0 AS weight_2_is_twice,
       m_pgo_w('{cpu_a1,cpu_b1}', '{1,0}')::bytea = m_pgo('cpu_a1')::bytea AS weight_0_absent,
       m_pgo_w('{cpu_a1,cpu_b1}', '{0,0}') IS NULL AS all_0_null;
SELECT m_pgo_w('{cpu_a1,cpu_b1}', '{1,-1}');
SELECT m_pgo_w('{cpu_a1,cpu_b1}', '{1,NaN}');
SELECT m_pgo_w('{cpu_a1,cpu_b1}', '{Infinity,1}');

-- pprof.pgo_normalize: each input counts as 60 s of profile: its values
-- are scaled by 60 s / its duration (rounded per sample: at most 0.5 off
-- per sample; pprof_duration is in microseconds: 1e-6 relative)
SET pprof.pgo_normalize = on;
WITH one AS (
  SELECT name, pprof_sample_count(p) AS n,
         pprof_total(g, 'samples') AS got_samples, pprof_total(g, 'cpu') AS got_cpu,
         pprof_total(p, 'samples') * 60 / extract(epoch FROM pprof_duration(p)) AS want_samples,
         pprof_total(p, 'cpu') * 60 / extract(epoch FROM pprof_duration(p)) AS want_cpu
  FROM m_fx, LATERAL m_pgo1(p) AS g
  WHERE name IN ('cpu_a1', 'cpu_a_long', 'cpu_b1'))
SELECT name,
       abs(got_samples - want_samples) <= 0.5 * n + want_samples * 0.000001 AS samples_scaled,
       abs(got_cpu - want_cpu) <= 0.5 * n + want_cpu * 0.000001 AS cpu_scaled
FROM one ORDER BY name;
-- a 1.5 s and a 4 s profile: each contributes its 60 s share
WITH g AS (SELECT m_pgo('cpu_a1', 'cpu_a_long') AS g),
     w AS (SELECT sum(pprof_sample_count(p)) AS n,
                  sum(pprof_total(p, 'samples') * 60 / extract(epoch FROM pprof_duration(p))) AS want_samples,
                  sum(pprof_total(p, 'cpu') * 60 / extract(epoch FROM pprof_duration(p))) AS want_cpu
           FROM m_fx WHERE name IN ('cpu_a1', 'cpu_a_long'))
SELECT abs(pprof_total(g, 'samples') - want_samples) <= 0.5 * n + want_samples * 0.000001 AS samples_scaled,
       abs(pprof_total(g, 'cpu') - want_cpu) <= 0.5 * n + want_cpu * 0.000001 AS cpu_scaled
FROM g, w;
-- normalization changes the relative weights of the two (else it did nothing)
SELECT (SELECT pprof_total(m_pgo('cpu_a1'), 'cpu')::numeric / pprof_total(m_pgo('cpu_a_long'), 'cpu')) >
       2 * (SELECT pprof_total(m_fix('cpu_a1'), 'cpu')::numeric / pprof_total(m_fix('cpu_a_long'), 'cpu'))
       AS short_profile_weighs_more;
RESET pprof.pgo_normalize;

-- pprof.pgo_denylist: the functions are renamed (so the compiler finds no
-- edge to or from them), their weight stays where it was
CREATE TABLE m_nodeny AS SELECT m_pgo('cpu') AS g;
SET pprof.pgo_denylist = 'main.fib';
CREATE TABLE m_deny AS SELECT m_pgo('cpu') AS g;
RESET pprof.pgo_denylist;
SELECT t.function,
       t.flat = (SELECT flat FROM m_nodeny, pprof_top(g, 50) WHERE function = 'main.fib') AS same_flat_as_main_fib,
       t.cum = (SELECT cum FROM m_nodeny, pprof_top(g, 50) WHERE function = 'main.fib') AS same_cum_as_main_fib
FROM m_deny, pprof_top(g, 50) AS t WHERE t.function LIKE '%main.fib%';
SELECT NOT EXISTS (SELECT FROM m_deny, pprof_functions(g) WHERE function = 'main.fib') AS no_main_fib,
       EXISTS (SELECT FROM m_nodeny, pprof_functions(g) WHERE function = 'main.fib') AS had_main_fib,
       m_totals_scaled(n.g, d.g, 1) AS same_totals,
       pprof_sample_count(n.g) = pprof_sample_count(d.g) AS same_sample_count,
       m_stack_diff(n.g, d.g) > 0 AS stacks_differ
FROM m_nodeny AS n, m_deny AS d;
-- several names, blanks around them ignored
SET pprof.pgo_denylist = ' main.fib , main.hashLoop ';
SELECT function FROM pprof_functions(m_pgo('cpu'))
WHERE function LIKE '%main.fib%' OR function LIKE '%main.hashLoop%'
ORDER BY function;
RESET pprof.pgo_denylist;

--
-- Output is deterministic: any input order, serial or parallel plans
--

-- shuffled inputs (the orders differ, the bytes do not)
SELECT setseed(0.25);
WITH runs AS (
  SELECT trial, string_agg(name, ',') AS input_order,
         md5(pprof_merge(p)::bytea) AS lossless
  FROM (SELECT trial, name, p FROM generate_series(1, 6) AS trial, m_fx
        WHERE name LIKE 'cpu%' ORDER BY trial, random()) AS s
  GROUP BY trial)
SELECT count(DISTINCT input_order) > 1 AS orders_differ,
       count(DISTINCT lossless) AS distinct_results,
       min(lossless) = md5(m_merge('cpu', 'cpu_labels', 'cpu_empty', 'cpu_a1', 'cpu_a2',
                                   'cpu_a3', 'cpu_a_long', 'cpu_b1')::bytea) AS same_as_sorted
FROM runs;
WITH runs AS (
  SELECT trial, string_agg(name, ',') AS input_order,
         md5(pgo_merge(p)::bytea) AS pgo,
         md5(pgo_merge(p, length(name))::bytea) AS pgo_weighted
  FROM (SELECT trial, name, p FROM generate_series(1, 6) AS trial, m_fx
        ORDER BY trial, random()) AS s
  GROUP BY trial)
SELECT count(DISTINCT input_order) > 1 AS orders_differ,
       count(DISTINCT pgo) AS distinct_results,
       count(DISTINCT pgo_weighted) AS distinct_weighted_results
FROM runs;

-- samples that differ only in their labels are ordered by the labels'
-- content, not by the ids the state gave their strings (which follow the
-- order of the rows): the same profile, its strings and labels listed in
-- another order, merges to the same bytes, first or last (a finding of
-- fuzz/merge_fuzz.c)
CREATE TABLE m_lab AS
SELECT f AS name, pg_read_binary_file(:'data' || f || '.pb')::pprof AS p
FROM unnest(ARRAY['merge_labels_a', 'merge_labels_b']) AS f;
SELECT (SELECT pprof_merge(p ORDER BY name) FROM m_lab)::bytea =
       (SELECT pprof_merge(p ORDER BY name DESC) FROM m_lab)::bytea AS any_order,
       (SELECT pprof_merge(p) FROM m_lab WHERE name = 'merge_labels_a')::bytea =
       (SELECT pprof_merge(p) FROM m_lab WHERE name = 'merge_labels_b')::bytea AS same_content;

-- the main binary (the first mapping of an input) is chosen by what
-- identifies a mapping, not by its content, which a later input can make
-- smaller (c's second mapping is b's main one, at a lower address): a, b, c
-- and c, b, a give the same bytes (a finding of fuzz/merge_fuzz.c)
CREATE TABLE m_mainkey AS
SELECT f AS name, pg_read_binary_file(:'data' || f || '.pb')::pprof AS p
FROM unnest(ARRAY['merge_mainkey_a', 'merge_mainkey_b', 'merge_mainkey_c']) AS f;
SELECT (SELECT pprof_merge(p ORDER BY name) FROM m_mainkey)::bytea =
       (SELECT pprof_merge(p ORDER BY name DESC) FROM m_mainkey)::bytea AS any_order;

-- 40 rows of the A and B profiles, one per page, so that parallel workers
-- can share them
CREATE TABLE m_par (id int, filler text, p pprof) WITH (fillfactor = 10, parallel_workers = 2);
ALTER TABLE m_par ALTER filler SET STORAGE PLAIN;
INSERT INTO m_par
SELECT row_number() OVER (ORDER BY i, name), repeat('x', 1000), p
FROM generate_series(1, 8) AS i, m_fx
WHERE name IN ('cpu_a1', 'cpu_a2', 'cpu_a3', 'cpu_a_long', 'cpu_b1');
ANALYZE m_par;

-- the same rows, in four partitions: a partitionwise plan merges each
-- partition apart and combines the four partial results
CREATE TABLE m_part (id int, p pprof) PARTITION BY LIST ((id % 4));
CREATE TABLE m_part0 PARTITION OF m_part FOR VALUES IN (0);
CREATE TABLE m_part1 PARTITION OF m_part FOR VALUES IN (1);
CREATE TABLE m_part2 PARTITION OF m_part FOR VALUES IN (2);
CREATE TABLE m_part3 PARTITION OF m_part FOR VALUES IN (3);
INSERT INTO m_part SELECT id, p FROM m_par;
ANALYZE m_part;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE m_serial AS
SELECT md5(pprof_merge(p)::bytea) AS lossless, md5(pgo_merge(p)::bytea) AS pgo,
       md5(pgo_merge(p, id % 3)::bytea) AS pgo_weighted
FROM m_par;
SET pprof.pgo_normalize = on;
CREATE TABLE m_serial_norm AS SELECT md5(pgo_merge(p)::bytea) AS pgo FROM m_par;
RESET pprof.pgo_normalize;

\i :abs_srcdir/sql/include/parallel_plans.psql
EXPLAIN (COSTS OFF) SELECT pprof_merge(p) FROM m_par;
EXPLAIN (COSTS OFF) SELECT pgo_merge(p, id % 3) FROM m_par;
SELECT md5(pprof_merge(p)::bytea) = lossless AS lossless_same,
       md5(pgo_merge(p)::bytea) = pgo AS pgo_same,
       md5(pgo_merge(p, id % 3)::bytea) = pgo_weighted AS pgo_weighted_same
FROM m_par, m_serial GROUP BY lossless, pgo, pgo_weighted;
SET pprof.pgo_normalize = on;
SELECT md5(pgo_merge(p)::bytea) = pgo AS pgo_normalized_same FROM m_par, m_serial_norm GROUP BY pgo;
RESET pprof.pgo_normalize;

-- partitionwise and parallel: each of four partial states is built and
-- serialized by a worker, then deserialized and combined
SET enable_partitionwise_aggregate = on;
EXPLAIN (COSTS OFF) SELECT pprof_merge(p) FROM m_part;
SELECT md5(pprof_merge(p)::bytea) = lossless AS lossless_same,
       md5(pgo_merge(p)::bytea) = pgo AS pgo_same,
       md5(pgo_merge(p, id % 3)::bytea) = pgo_weighted AS pgo_weighted_same
FROM m_part, m_serial GROUP BY lossless, pgo, pgo_weighted;
-- partitionwise without workers: combine only
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT pgo_merge(p) FROM m_part;
SELECT md5(pprof_merge(p)::bytea) = lossless AS lossless_same,
       md5(pgo_merge(p)::bytea) = pgo AS pgo_same,
       md5(pgo_merge(p, id % 3)::bytea) = pgo_weighted AS pgo_weighted_same
FROM m_part, m_serial GROUP BY lossless, pgo, pgo_weighted;

-- the main mapping (pprof keeps the first one of an input with samples)
-- under a plan that combines partial states: partition 1's state has
-- samples, but only from an input without mappings, so its main mapping is
-- that of an input without samples, which must not outweigh the main
-- mapping of partition 2's input with samples (a finding of
-- fuzz/merge_fuzz.c)
CREATE TABLE m_main (part int, name text, p pprof) PARTITION BY LIST (part);
CREATE TABLE m_main_1 PARTITION OF m_main FOR VALUES IN (1);
CREATE TABLE m_main_2 PARTITION OF m_main FOR VALUES IN (2);
INSERT INTO m_main
SELECT part, f, pg_read_binary_file(:'data' || f || '.pb')::pprof
FROM (VALUES (1, 'merge_main_nosamples'), (1, 'merge_main_nomapping'),
             (2, 'merge_main_samples')) AS v(part, f);
EXPLAIN (COSTS OFF) SELECT pprof_merge(p) FROM m_main;
WITH combined AS (SELECT pprof_merge(p) AS m FROM m_main),
     serial AS (SELECT pprof_merge(p ORDER BY name) AS m FROM m_main)
SELECT pprof_build_id(c.m) AS main_build_id, pprof_mapping_count(c.m) AS mappings,
       c.m::bytea = s.m::bytea AS same_as_serial
FROM combined c, serial s;

-- one binary's mapping (same size, offset and file) at two start
-- addresses, as two processes of a PIE binary under ASLR have it: the
-- lowest start represents both whatever the plan. c names it only as its
-- main binary, no sample reaches it there, and partition 2's state has b's
-- main binary: that partial state must still carry c's mapping, or the
-- combined result would take a's higher start (a finding of
-- fuzz/merge_fuzz.c)
CREATE TABLE m_start (part int, name text, p pprof) PARTITION BY LIST (part);
CREATE TABLE m_start_1 PARTITION OF m_start FOR VALUES IN (1);
CREATE TABLE m_start_2 PARTITION OF m_start FOR VALUES IN (2);
INSERT INTO m_start
SELECT part, f, pg_read_binary_file(:'data' || f || '.pb')::pprof
FROM (VALUES (1, 'merge_mapstart_a'), (2, 'merge_mapstart_b'),
             (2, 'merge_mapstart_c')) AS v(part, f);
EXPLAIN (COSTS OFF) SELECT pprof_merge(p) FROM m_start;
WITH combined AS (SELECT pprof_merge(p) AS m FROM m_start),
     serial AS (SELECT pprof_merge(p ORDER BY name) AS m FROM m_start),
     reversed AS (SELECT pprof_merge(p ORDER BY name DESC) AS m FROM m_start)
SELECT pprof_mapping_count(c.m) AS mappings,
       c.m::bytea = s.m::bytea AS same_as_serial,
       r.m::bytea = s.m::bytea AS same_reversed
FROM combined c, serial s, reversed r;

RESET enable_partitionwise_aggregate;
\i :abs_srcdir/sql/include/parallel_plans_reset.psql

DROP TABLE m_fx, m_lab, m_mainkey, m_main, m_start, m_frames4, m_nodeny, m_deny, m_par, m_part, m_serial, m_serial_norm;
DROP FUNCTION m_fix, m_merge, m_pgo, m_pgo_w, m_merge1, m_pgo1, m_totals_scaled,
  m_stack_diff, m_sum_diff, m_zero_samples;
