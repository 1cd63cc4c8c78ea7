--
-- The compiler's view of a profile: pgo_edges, pgo_preprofile, pgo_hot_edges,
-- pgo_hot_threshold, pgo_drift. The TAP test 005_pgo_compiler_view checks
-- the same functions against go tool preprofile and the compiler (Go 1.23
-- and 1.27); this file pins their values on the fixtures.
--
\getenv abs_srcdir PG_ABS_SRCDIR

CREATE TABLE cfx (name text PRIMARY KEY, p pprof NOT NULL);
INSERT INTO cfx
SELECT name, pg_read_binary_file(:'abs_srcdir' || '/data/' || name || '.pb.gz')::pprof
FROM unnest(ARRAY['cpu', 'cpu_a1', 'cpu_a2', 'cpu_b1', 'cpu_empty', 'heap',
				  'goroutine']) AS name;

-- the heaviest edges, in the compiler's order
SELECT e.* FROM cfx, pgo_edges(p) e WHERE name = 'cpu' LIMIT 6;

-- edge counts and weights; the total is what the compiler divides by
SELECT name, count(*) AS edges, sum(weight) AS total, min(call_site_offset), max(call_site_offset)
FROM cfx, pgo_edges(p) WHERE name LIKE 'cpu%' GROUP BY name ORDER BY name;

-- the serialized form: header, then three lines an edge
SELECT name, length(pgo_preprofile(p)) AS bytes,
	   split_part(convert_from(pgo_preprofile(p), 'UTF8'), E'\n', 1) AS header,
	   array_length(string_to_array(rtrim(convert_from(pgo_preprofile(p), 'UTF8'), E'\n'), E'\n'), 1) AS lines
FROM cfx WHERE name LIKE 'cpu%' ORDER BY name;
SELECT convert_from(substr(pgo_preprofile(p), 1, 100), 'UTF8') FROM cfx WHERE name = 'cpu';

-- hot call sites and the threshold the compiler prints
SELECT name, pgo_hot_threshold(p) AS thres_99, pgo_hot_threshold(p, 50) AS thres_50,
	   pgo_hot_threshold(p, 100) AS thres_100, pgo_hot_threshold(p, 0) AS thres_0,
	   (SELECT count(*) FROM pgo_hot_edges(p)) AS hot_99,
	   (SELECT count(*) FROM pgo_hot_edges(p, 50)) AS hot_50,
	   (SELECT count(*) FROM pgo_hot_edges(p, 100)) AS hot_100,
	   (SELECT count(*) FROM pgo_hot_edges(p, 0)) AS hot_0
FROM cfx WHERE name LIKE 'cpu%' ORDER BY name;
SELECT h.caller, h.callee, h.call_site_offset, h.weight, round(h.share::numeric, 3) AS share
FROM cfx, pgo_hot_edges(p, 10) h WHERE name = 'cpu';

-- drift: 0 against itself, 1 against another program, symmetric
SELECT a.name, b.name, round(pgo_drift(a.p, b.p)::numeric, 3) AS drift
FROM cfx a, cfx b
WHERE a.name <= b.name AND a.name LIKE 'cpu%' AND b.name LIKE 'cpu%'
ORDER BY 1, 2;

-- errors: profiles go build rejects, thresholds out of range

SELECT count(*) FROM cfx, pgo_edges(p) WHERE name = 'heap';
SELECT pgo_preprofile(p) FROM cfx WHERE name = 'goroutine';
SELECT pgo_hot_threshold(p, 101) FROM cfx WHERE name = 'cpu';
SELECT count(*) FROM cfx, pgo_hot_edges(p, 'NaN') WHERE name = 'cpu';
SELECT pgo_drift(a.p, b.p) FROM cfx a, cfx b WHERE a.name = 'cpu' AND b.name = 'heap';

DROP TABLE cfx;
