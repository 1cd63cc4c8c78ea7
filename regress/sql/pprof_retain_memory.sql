-- pprof.retain_memory (extension/pprof_retain.c): with it, a backend keeps
-- freed memory for the next query instead of returning it to the kernel,
-- so a repeated large allocation touches no fresh pages; without it
-- (malloc's own thresholds) each one is fresh pages again.
-- Counted in the backend's minor page faults (/proc/self/stat, field 10):
-- a 20 MB value is 4,883 pages. The module is loaded first: before, SET
-- makes a placeholder that the module applies when it loads.
LOAD 'pprof';
CREATE FUNCTION pg_temp.minor_faults() RETURNS bigint LANGUAGE sql AS $$
	SELECT split_part(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ', 8)::bigint
$$;
CREATE FUNCTION pg_temp.faults_of_repeat() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	before bigint;
BEGIN
	PERFORM length(repeat('x', 20000000));
	before := pg_temp.minor_faults();
	PERFORM length(repeat('x', 20000000));
	RETURN pg_temp.minor_faults() - before;
END
$$;

SHOW pprof.retain_memory;
SELECT pg_temp.faults_of_repeat() > 4000 AS fresh_pages;
SET pprof.retain_memory = '64MB';
SHOW pprof.retain_memory;
SELECT pg_temp.faults_of_repeat() < 500 AS reused;
SELECT pg_temp.faults_of_repeat() < 500 AS reused_again;
-- back to 0: malloc's initial thresholds, fixed (mallopt() cannot give
-- back the dynamic ones); the memory kept so far may still serve
RESET pprof.retain_memory;
SHOW pprof.retain_memory;

-- its range (the SQLSTATE: PostgreSQL 18 words the message with units)
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/sql_error.psql
SELECT v, pg_temp.sql_error(format('SET pprof.retain_memory = %L', v))
FROM unnest(ARRAY['-1', '3GB', '2047MB']) AS v;
SHOW pprof.retain_memory;
RESET pprof.retain_memory;
