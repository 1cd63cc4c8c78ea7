-- pprof extension, version 0.1: the pprof type.

\echo Use "CREATE EXTENSION pprof" to load this file. \quit

--
-- The type. Values are validated pprof profiles, stored decoded (see
-- extension/pprof.h); text and binary I/O speak gzip pprof files.
--
CREATE TYPE pprof;

CREATE FUNCTION pprof_in(cstring) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pprof_out(pprof) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pprof_recv(internal) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pprof_send(pprof) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE pprof (
	INPUT = pprof_in,
	OUTPUT = pprof_out,
	RECEIVE = pprof_recv,
	SEND = pprof_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

COMMENT ON TYPE pprof IS 'a validated pprof profile (gzip or raw protobuf in, gzip out)';

CREATE FUNCTION pprof(bytea) RETURNS pprof
	AS 'MODULE_PATHNAME', 'pprof_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof(bytea) IS 'decode and validate a gzip or raw pprof profile';

CREATE FUNCTION bytea(pprof) RETURNS bytea
	AS 'MODULE_PATHNAME', 'pprof_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bytea(pprof) IS 'the profile as a gzip pprof file';

CREATE CAST (bytea AS pprof) WITH FUNCTION pprof(bytea) AS ASSIGNMENT;
CREATE CAST (pprof AS bytea) WITH FUNCTION bytea(pprof);

CREATE FUNCTION pprof_is_valid(bytea) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_is_valid(bytea) IS 'true if the bytes are a profile the pprof type accepts';

CREATE FUNCTION pprof_validate(bytea) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_validate(bytea) IS 'NULL if the bytes are a valid profile, else the reason they are not';

-- Inspection
--
-- Accessors (extension/pprof_inspect.c), go build -pgo usability
-- (extension/pprof_pgo.c) and reports over the samples
-- (extension/pprof_report.c). A NULL sample_type means the default sample
-- type, the one go tool pprof shows.
--
CREATE FUNCTION pprof_sample_types(pprof) RETURNS TABLE(type text, unit text)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION pprof_sample_types(pprof) IS 'the sample types (type, unit) of the profile, in order';

CREATE FUNCTION pprof_sample_type_names(pprof) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_sample_type_names(pprof) IS 'the sample types of the profile as ''type/unit'' strings, in order';

CREATE FUNCTION pprof_default_sample_type(pprof) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_default_sample_type(pprof) IS 'the sample type go tool pprof shows by default, as ''type/unit''';

CREATE FUNCTION pprof_period_type(pprof) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period_type(pprof) IS 'the sampling period''s ''type/unit'', NULL if unset';

CREATE FUNCTION pprof_period(pprof) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period(pprof) IS 'the sampling period, in units of the period type';

CREATE FUNCTION pprof_duration(pprof) RETURNS interval
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_duration(pprof) IS 'how long the profile was collected, NULL if not recorded';

CREATE FUNCTION pprof_time(pprof) RETURNS timestamptz
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_time(pprof) IS 'when collection started, NULL if not recorded';

CREATE FUNCTION pprof_sample_count(pprof) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_sample_count(pprof) IS 'number of samples (distinct stack and labels) in the profile';

CREATE FUNCTION pprof_location_count(pprof) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_location_count(pprof) IS 'number of locations in the profile';

CREATE FUNCTION pprof_function_count(pprof) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_function_count(pprof) IS 'number of functions in the profile';

CREATE FUNCTION pprof_mapping_count(pprof) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_mapping_count(pprof) IS 'number of mappings (binaries and libraries) in the profile';

CREATE FUNCTION pprof_total(pprof, sample_type text DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_total(pprof, text) IS 'sum of one sample type''s values (''type'' or ''type/unit''; NULL = default)';

CREATE FUNCTION pprof_comments(pprof) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_comments(pprof) IS 'the profile''s comments';

CREATE FUNCTION pprof_build_id(pprof) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_build_id(pprof) IS 'build ID of the main binary (the first mapping), NULL if none';

CREATE FUNCTION pprof_pgo_usable(pprof) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pgo_usable(pprof) IS 'true if go build -pgo (Go 1.21-1.23) would use the profile';

CREATE FUNCTION pprof_pgo_problems(pprof) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pgo_problems(pprof) IS 'why go build -pgo would reject or ignore the profile; empty when usable';

CREATE FUNCTION pprof_top(pprof, n integer, sample_type text DEFAULT NULL)
	RETURNS TABLE(function text, file text, flat bigint, flat_pct float8, cum bigint, cum_pct float8)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_top(pprof, integer, text) IS 'the n functions go tool pprof -top lists first, in its order';

CREATE FUNCTION pprof_functions(pprof, sample_type text DEFAULT NULL)
	RETURNS TABLE(function text, system_name text, file text, start_line bigint, flat bigint, cum bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_functions(pprof, text) IS 'every function of the profile with its flat and cumulative value';

CREATE FUNCTION pprof_labels(pprof, sample_type text DEFAULT NULL)
	RETURNS TABLE(key text, value text, samples bigint, total bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_labels(pprof, text) IS 'every label (key, value) with the number of samples carrying it and their total';

CREATE FUNCTION pprof_stacks(pprof)
	RETURNS TABLE(functions text[], "values" bigint[], labels jsonb)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_stacks(pprof) IS 'one row per sample: function names leaf first (inlined frames included), values, labels';

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
