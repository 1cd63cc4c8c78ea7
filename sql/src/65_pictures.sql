--
-- Pictures: flame graphs and folded stacks (extension/pprof_flamegraph.c,
-- pprof_folded.c). Frames are named as go tool pprof names them, inlined
-- calls included; output is deterministic.
--
CREATE FUNCTION pprof_flamegraph(p pprof, sample_type text DEFAULT NULL,
		title text DEFAULT NULL, width integer DEFAULT 1200,
		min_width float8 DEFAULT 0.1, interactive boolean DEFAULT true)
	RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph(pprof, text, text, integer, float8, boolean) IS
	'a self-contained SVG flame graph of the profile (frames narrower than min_width pixels left out; interactive adds click-to-zoom and search)';

CREATE FUNCTION pprof_flamegraph_diff(base pprof, current pprof, sample_type text DEFAULT NULL,
		title text DEFAULT NULL, width integer DEFAULT 1200,
		min_width float8 DEFAULT 0.1, interactive boolean DEFAULT true)
	RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph_diff(pprof, pprof, text, text, integer, float8, boolean) IS
	'an SVG flame graph of current, each frame coloured by the change of its share of the total against base (red grew, blue shrank)';

CREATE FUNCTION pprof_folded(p pprof, sample_type text DEFAULT NULL)
	RETURNS TABLE(stack text, value bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_folded(pprof, text) IS
	'the profile as folded stacks (root;caller;callee and the value of the samples ending there), as flamegraph.pl, inferno and speedscope read';
