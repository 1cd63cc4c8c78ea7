-- The compiler's view of a profile (extension/pprof_compiler.c): the call
-- edges go build -pgo builds from it, its serialized form, the call sites
-- the compiler treats as hot, and the drift between two profiles.

CREATE FUNCTION pgo_edges(p pprof)
	RETURNS TABLE(caller text, callee text, call_site_offset integer, weight bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgo_edges(pprof) IS 'the weighted call edges go build -pgo builds from the profile, in its order (what go tool preprofile lists)';

CREATE FUNCTION pgo_preprofile(p pprof) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgo_preprofile(pprof) IS 'the GO PREPROFILE V1 form of the profile, byte for byte what go tool preprofile -i writes';

CREATE FUNCTION pgo_hot_edges(p pprof, cdf float8 DEFAULT 99)
	RETURNS TABLE(caller text, callee text, call_site_offset integer, weight bigint, share float8)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgo_hot_edges(pprof, float8) IS 'the call edges the compiler treats as hot at this CDF threshold (percent), with their share of the total edge weight in percent';

CREATE FUNCTION pgo_hot_threshold(p pprof, cdf float8 DEFAULT 99) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgo_hot_threshold(pprof, float8) IS 'what go build -gcflags=-d=pgodebug=1 prints as hot-callsite-thres-from-CDF=; NULL when the compiler ignores the profile';

CREATE FUNCTION pgo_drift(a pprof, b pprof) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgo_drift(pprof, pprof) IS 'total variation distance between the two profiles'' relative weights over the call sites hot in either: 0 = same hot call sites, same weights; 1 = nothing in common';

-- The gateway's GET /profile/<tag>?format=preprofile: the merge's
-- serialized form, from the catalog's schema (the gateway does not know
-- the extension's). NULL for NULL.
CREATE FUNCTION pgo.preprofile(profile bytea) RETURNS bytea
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN @extschema@.pgo_preprofile(profile::@extschema@.pprof);
COMMENT ON FUNCTION pgo.preprofile(bytea) IS 'pgo_preprofile of profile bytes (GET /profile/<tag>?format=preprofile)';
