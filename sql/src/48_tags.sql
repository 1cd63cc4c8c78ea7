--
-- Tags
--
CREATE VIEW pgo.tags AS
SELECT p.tag,
	   count(*) FILTER (WHERE m.n IS NULL OR m.n = 1) AS profiles,
	   count(*) FILTER (WHERE (m.n IS NULL OR m.n = 1) AND p.pgo_usable) AS usable,
	   max(p.received_at) AS newest,
	   min(p.received_at) AS oldest,
	   (sum(p.cpu_nanos) FILTER (WHERE m.n IS NULL OR m.n = 1) / 1e9)::float8 AS total_cpu_seconds,
	   COALESCE(array_agg(DISTINCT m.mode ORDER BY m.mode) FILTER (WHERE m.mode IS NOT NULL), '{}') AS modes
FROM pgo.profiles p
	 LEFT JOIN LATERAL unnest(CASE WHEN p.labels ->> 'mode' IS NOT NULL
								   THEN ARRAY[p.labels ->> 'mode'] ELSE p.sample_modes END)
		 WITH ORDINALITY AS m(mode, n) ON true
GROUP BY p.tag;
COMMENT ON VIEW pgo.tags IS 'one row per tag: profile counts, newest and oldest upload, total CPU, modes (from labels or pprof sample labels)';
