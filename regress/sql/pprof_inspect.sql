--
-- Looking inside profiles: accessors, go build -pgo usability, reports.
-- Expected values were checked against go tool pprof (Go 1.23) and
-- regress/data/README.md.
--
\getenv abs_srcdir PG_ABS_SRCDIR

CREATE TABLE fixture (name text PRIMARY KEY, p pprof NOT NULL);
INSERT INTO fixture
SELECT name, pg_read_binary_file(:'abs_srcdir' || '/data/' || name)::pprof
FROM unnest(ARRAY['cpu.pb.gz', 'cpu.pb', 'cpu_labels.pb.gz', 'heap.pb.gz',
				  'goroutine.pb.gz', 'cpu_empty.pb.gz', 'cpu_a1.pb.gz',
				  'cpu_a2.pb.gz', 'cpu_a3.pb.gz', 'cpu_a_long.pb.gz',
				  'cpu_b1.pb.gz']) AS name;

-- sample types, in order
SELECT name, t.ordinality, t.type, t.unit
FROM fixture, pprof_sample_types(p) WITH ORDINALITY AS t
ORDER BY name, t.ordinality;

SELECT name, pprof_sample_type_names(p), pprof_default_sample_type(p)
FROM fixture ORDER BY name;

-- period, duration, time
SELECT name, pprof_period_type(p), pprof_period(p), pprof_duration(p),
	   pprof_time(p) AT TIME ZONE 'UTC' AS time_utc
FROM fixture ORDER BY name;

-- counts
SELECT name, pprof_sample_count(p) AS samples, pprof_location_count(p) AS locations,
	   pprof_function_count(p) AS functions, pprof_mapping_count(p) AS mappings
FROM fixture ORDER BY name;

-- totals of every sample type, by type and by type/unit
SELECT name, t.type, pprof_total(p, t.type) AS total,
	   pprof_total(p, t.type || '/' || t.unit) = pprof_total(p, t.type) AS same_by_unit
FROM fixture, pprof_sample_types(p) WITH ORDINALITY AS t
ORDER BY name, t.ordinality;

-- no sample type (or NULL) = the default sample type
SELECT name, pprof_total(p) AS total,
	   pprof_total(p) = pprof_total(p, pprof_default_sample_type(p)) AS is_default,
	   pprof_total(p, NULL) = pprof_total(p) AS null_is_default
FROM fixture ORDER BY name;

-- comments, build ID of the main binary
SELECT name, pprof_comments(p), pprof_build_id(p) FROM fixture ORDER BY name;

-- usable by go build -pgo?
SELECT name, pprof_pgo_usable(p), pprof_pgo_problems(p) FROM fixture ORDER BY name;

-- top 10 of the CPU profile, as go tool pprof -top prints it
SELECT function, file, flat, round(flat_pct::numeric, 2) AS flat_pct,
	   cum, round(cum_pct::numeric, 2) AS cum_pct
FROM fixture, pprof_top(p, 10) WHERE name = 'cpu.pb.gz';

-- the same by sample count
SELECT function, flat, cum
FROM fixture, pprof_top(p, 5, 'samples') WHERE name = 'cpu.pb.gz';

-- flat values add up to the total; raw and gzip input give the same report
SELECT name, t.flat_sum = pprof_total(p) AS flat_sums_to_total, t.functions
FROM fixture,
	 LATERAL (SELECT coalesce(sum(flat), 0) AS flat_sum, count(*) AS functions
			  FROM pprof_top(p, 1000000)) t
WHERE name IN ('cpu.pb.gz', 'cpu.pb', 'heap.pb.gz', 'goroutine.pb.gz', 'cpu_empty.pb.gz')
ORDER BY name;
SELECT count(*) AS differences FROM (
	(SELECT * FROM pprof_top((SELECT p FROM fixture WHERE name = 'cpu.pb.gz'), 1000000)
	 EXCEPT
	 SELECT * FROM pprof_top((SELECT p FROM fixture WHERE name = 'cpu.pb'), 1000000))
	UNION ALL
	(SELECT * FROM pprof_top((SELECT p FROM fixture WHERE name = 'cpu.pb'), 1000000)
	 EXCEPT
	 SELECT * FROM pprof_top((SELECT p FROM fixture WHERE name = 'cpu.pb.gz'), 1000000))) d;

-- heap, in-use space (the default) and allocated objects
SELECT function, flat, cum FROM fixture, pprof_top(p, 5) WHERE name = 'heap.pb.gz';
SELECT function, flat, cum FROM fixture, pprof_top(p, 5, 'alloc_objects/count') WHERE name = 'heap.pb.gz';
SELECT count(*) FROM fixture, pprof_top(p, 0) WHERE name = 'cpu.pb.gz';

-- every function, with start lines; per-function weights agree with pprof_top
SELECT function, system_name, file, start_line, flat, cum
FROM fixture, pprof_functions(p)
WHERE name = 'cpu.pb.gz' AND function LIKE 'main.%'
ORDER BY function;
SELECT count(*) AS functions, count(*) FILTER (WHERE start_line <> 0) AS with_start_line
FROM fixture, pprof_functions(p) WHERE name = 'cpu.pb.gz';
SELECT count(*) AS differences FROM (
	SELECT function, flat, cum FROM fixture, pprof_functions(p)
	WHERE name = 'cpu.pb.gz' AND (flat <> 0 OR cum <> 0)
	EXCEPT
	SELECT function, flat, cum FROM fixture, pprof_top(p, 1000000) WHERE name = 'cpu.pb.gz') d;

-- labels: pprof.Do string labels, heap numeric labels
SELECT key, value, samples, total FROM fixture, pprof_labels(p)
WHERE name = 'cpu_labels.pb.gz' ORDER BY key, value;
SELECT key, value, samples, total FROM fixture, pprof_labels(p, 'samples')
WHERE name = 'cpu_labels.pb.gz' ORDER BY key, value;
SELECT key, value, samples, total FROM fixture, pprof_labels(p)
WHERE name = 'heap.pb.gz' ORDER BY total DESC, value LIMIT 3;
SELECT count(*) FROM fixture, pprof_labels(p) WHERE name = 'cpu.pb.gz';

-- stacks: one row per sample, leaf first, inlined frames included
SELECT functions, "values", labels FROM fixture, pprof_stacks(p)
WHERE name = 'goroutine.pb.gz' ORDER BY "values";
SELECT functions[1:3], "values", labels FROM fixture, pprof_stacks(p)
WHERE name = 'cpu_labels.pb.gz' AND functions[1] IN ('main.jsonLoop', 'main.sortLoop')
ORDER BY functions[1:3], "values", labels::text;
SELECT labels, count(*), sum("values"[1]) FROM fixture, pprof_stacks(p)
WHERE name = 'cpu_labels.pb.gz' GROUP BY labels ORDER BY labels::text;
SELECT "values", labels FROM fixture, pprof_stacks(p)
WHERE name = 'heap.pb.gz' AND functions[1] = 'main.allocLarge' ORDER BY "values";
SELECT count(*) FROM fixture, pprof_stacks(p) WHERE name = 'cpu_empty.pb.gz';

-- unknown sample types, bad arguments, NULLs
SELECT pprof_total(p, 'alloc_space') FROM fixture WHERE name = 'cpu.pb.gz';
SELECT pprof_total(p, 'cpu/seconds') FROM fixture WHERE name = 'cpu.pb.gz';
SELECT * FROM fixture, pprof_top(p, 5, 'inuse') WHERE name = 'goroutine.pb.gz';
SELECT * FROM fixture, pprof_labels(p, 'nope') WHERE name = 'heap.pb.gz';
DO $$
BEGIN
	PERFORM pprof_total(p, 'nope') FROM fixture WHERE name = 'cpu.pb.gz';
EXCEPTION WHEN invalid_parameter_value THEN
	RAISE NOTICE 'invalid_parameter_value: %', SQLERRM;
END
$$;
SELECT * FROM fixture, pprof_top(p, -1) WHERE name = 'cpu.pb.gz';
SELECT pprof_total(NULL), pprof_total(NULL, 'cpu'), pprof_build_id(NULL);
SELECT count(*) FROM pprof_top(NULL, 5);
SELECT count(*) FROM fixture, pprof_top(p, NULL) WHERE name = 'cpu.pb.gz';

DROP TABLE fixture;
