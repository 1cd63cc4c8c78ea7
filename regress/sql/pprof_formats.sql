-- What people send instead of a protobuf profile is named, with how to get
-- the profile. The inputs in data/wrong/ are written by the real programs
-- (regress/data/gen: runtime/pprof's text forms, runtime/trace, net/http
-- error pages, gperftools' CPU profiler, protoc, go tool preprofile).
\getenv abs_srcdir PG_ABS_SRCDIR
\set wrong :abs_srcdir '/data/wrong/'

-- SQLSTATE, message, detail and hint of the cast
CREATE FUNCTION pf_try(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	detail text;
	hint text;
BEGIN
	PERFORM b::pprof;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN state || ': ' || msg || E'\n' || detail || E'\n' || hint;
END $$;

CREATE TABLE pf_inputs (name text PRIMARY KEY, bytes bytea NOT NULL);
INSERT INTO pf_inputs
SELECT f, pg_read_binary_file(:'wrong' || f)
FROM unnest(ARRAY['goroutine_debug1.txt', 'goroutine_debug2.txt',
                  'goroutine_debug2.txt.gz', 'heap_debug1.txt',
                  'mutex_debug1.txt', 'block_debug1.txt',
                  'threadcreate_debug1.txt', 'trace.out', 'legacy_cpu.prof',
                  'preprofile.txt', 'pprof_index.html', 'error.json',
                  'not_found.txt', 'descriptor_set.pb']) AS f;

SELECT name, pf_try(bytes) AS error FROM pf_inputs ORDER BY name;

-- pprof_validate gives the same detail without raising
SELECT name FROM pf_inputs
WHERE position(split_part(pprof_validate(bytes), ': ', 2) IN pf_try(bytes)) = 0
ORDER BY name;
