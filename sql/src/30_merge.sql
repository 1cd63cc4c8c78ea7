--
-- Merging
--
-- Both aggregates keep an internal state in the aggregate context and are
-- parallel safe: partial states serialize to the stored layout and combine.
--
CREATE FUNCTION pprof_merge_transfn(internal, pprof) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION pprof_merge_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION pprof_merge_serialfn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_merge_deserialfn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_merge_finalfn(internal) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C PARALLEL SAFE;

CREATE AGGREGATE pprof_merge(pprof) (
	SFUNC = pprof_merge_transfn,
	STYPE = internal,
	SSPACE = 4194304,
	FINALFUNC = pprof_merge_finalfn,
	COMBINEFUNC = pprof_merge_combinefn,
	SERIALFUNC = pprof_merge_serialfn,
	DESERIALFUNC = pprof_merge_deserialfn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE pprof_merge(pprof) IS 'lossless merge with go tool pprof -proto semantics (equal sample types required); deterministic output';

CREATE FUNCTION pgo_merge_transfn(internal, pprof) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION pgo_merge_weighted_transfn(internal, pprof, float8) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION pgo_merge_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION pgo_merge_deserialfn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL SAFE;

CREATE AGGREGATE pgo_merge(pprof) (
	SFUNC = pgo_merge_transfn,
	STYPE = internal,
	SSPACE = 1048576,
	FINALFUNC = pprof_merge_finalfn,
	COMBINEFUNC = pgo_merge_combinefn,
	SERIALFUNC = pprof_merge_serialfn,
	DESERIALFUNC = pgo_merge_deserialfn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgo_merge(pprof) IS 'merge for go build -pgo: skips unusable inputs, keeps what the compiler reads; NULL if nothing usable';

CREATE AGGREGATE pgo_merge(pprof, float8) (
	SFUNC = pgo_merge_weighted_transfn,
	STYPE = internal,
	SSPACE = 1048576,
	FINALFUNC = pprof_merge_finalfn,
	COMBINEFUNC = pgo_merge_combinefn,
	SERIALFUNC = pprof_merge_serialfn,
	DESERIALFUNC = pgo_merge_deserialfn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE pgo_merge(pprof, float8) IS 'pgo_merge with a weight per row (>= 0) scaling its contribution';

-- What pgo_merge reads of a profile (extension/pprof_pgo_projection.c):
-- pgo.profiles keeps it beside each profile, so catalog merges read a few
-- kilobytes per row instead of the whole profile.
CREATE FUNCTION pprof_pgo_projection(pprof, frames integer) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pgo_projection(pprof, integer) IS 'the profile reduced to what pgo_merge reads of it (sample types, values, leaf-most frames, "mode" labels); pgo_merge of it is pgo_merge of the profile for pprof.pgo_frames up to frames';


--
-- Label filters (extension/pprof_filter.c): the fleet catalog selects one
-- "mode" of a service from the pprof labels of its samples.
--
CREATE FUNCTION pprof_label_values(pprof, key text) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_label_values(pprof, text) IS 'the distinct values of a string label over all samples, sorted; empty if no sample has it';

CREATE FUNCTION pprof_filter_label(pprof, key text, value text) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_filter_label(pprof, text, text) IS 'the profile with only the samples carrying the string label key=value';
