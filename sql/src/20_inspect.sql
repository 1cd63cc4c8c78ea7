--
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
COMMENT ON FUNCTION pprof_pgo_usable(pprof) IS 'true if go build -pgo (Go 1.21 to 1.27) would use the profile';

CREATE FUNCTION pprof_pgo_problems(pprof) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pgo_problems(pprof) IS 'why go build -pgo would reject or ignore the profile; empty when usable';

CREATE FUNCTION pprof_top(pprof, n integer, sample_type text DEFAULT NULL)
	RETURNS TABLE(function text, file text, flat bigint, flat_pct float8, cum bigint, cum_pct float8)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_top(pprof, integer, text) IS 'the n functions go tool pprof -top -nodefraction=0 lists first, in its order (plain -top also leaves out those under 0.5% of the total)';

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

