-- pprof: every object of the current version, before the split by concern.


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

--
-- Fleet catalog
--
-- Schema pgo (DESIGN.md section 7): one row per upload in pgo.profiles,
-- daily range partitions on received_at (UTC days, named profiles_YYYYMMDD,
-- created ahead by pgo.maintain(); pgo.profiles_default catches the rest),
-- selection (pgo.selection, pgo.profile_for, pgo.selection_key), releases
-- (pgo.publish, pgo.release) and retention (pgo.retention_policies,
-- pgo.apply_retention).
--
-- Privileges: the functions are the interface. Those that write, or read
-- for a caller who has no table privileges, are SECURITY DEFINER with a
-- fixed search_path and EXECUTE revoked from PUBLIC; an administrator grants
-- USAGE ON SCHEMA pgo and EXECUTE on the functions a role needs (README).
-- Partitions created by pgo.maintain() are not members of the extension, so
-- pg_dump dumps them (and their rows) like any table; the extension's own
-- tables are registered with pg_extension_config_dump.
--
CREATE SCHEMA pgo;
COMMENT ON SCHEMA pgo IS 'fleet catalog of the pprof extension: uploads, selection, releases, retention';

CREATE TABLE pgo.profiles (
	id bigint GENERATED ALWAYS AS IDENTITY,
	tag text NOT NULL
		CONSTRAINT profiles_tag_check CHECK (tag ~ '^[A-Za-z0-9._-]{1,128}$'),
	labels jsonb NOT NULL DEFAULT '{}'
		CONSTRAINT profiles_labels_check
		CHECK (jsonb_typeof(labels) = 'object'
			   AND NOT jsonb_path_exists(labels, '$.* ? (@.type() != "string")')),
	source text NOT NULL
		CONSTRAINT profiles_source_check CHECK (source IN ('push', 'scrape', 'sql', 'rollup')),
	received_at timestamptz NOT NULL DEFAULT now(),
	profile @extschema@.pprof NOT NULL,
	-- derived at insert, so selection never decodes a profile
	duration_seconds float8
		GENERATED ALWAYS AS (extract(epoch FROM @extschema@.pprof_duration(profile))::float8) STORED,
	cpu_nanos bigint
		GENERATED ALWAYS AS (CASE WHEN 'cpu/nanoseconds' = ANY (@extschema@.pprof_sample_type_names(profile))
							 THEN @extschema@.pprof_total(profile, 'cpu/nanoseconds') END) STORED,
	samples bigint
		GENERATED ALWAYS AS (@extschema@.pprof_sample_count(profile)) STORED,
	pgo_usable boolean NOT NULL
		GENERATED ALWAYS AS (@extschema@.pprof_pgo_usable(profile)) STORED,
	problems text[] NOT NULL
		GENERATED ALWAYS AS (@extschema@.pprof_pgo_problems(profile)) STORED,
	build_id text
		GENERATED ALWAYS AS (@extschema@.pprof_build_id(profile)) STORED,
	input_bytes integer,
	sample_types text[] NOT NULL
		GENERATED ALWAYS AS (@extschema@.pprof_sample_type_names(profile)) STORED,
	sample_modes text[] NOT NULL
		GENERATED ALWAYS AS (@extschema@.pprof_label_values(profile, 'mode')) STORED
) PARTITION BY RANGE (received_at);

COMMENT ON TABLE pgo.profiles IS 'one row per uploaded profile; daily partitions on received_at (UTC), each with primary key (id, received_at) and index (tag, received_at DESC)';
COMMENT ON COLUMN pgo.profiles.labels IS 'string labels of the upload: mode, host, version, go...';
COMMENT ON COLUMN pgo.profiles.source IS 'push (HTTP upload), scrape (pulled by the gateway), sql, rollup (merged by pgo.apply_retention)';
COMMENT ON COLUMN pgo.profiles.duration_seconds IS 'pprof_duration of the profile, in seconds';
COMMENT ON COLUMN pgo.profiles.cpu_nanos IS 'total of the cpu/nanoseconds sample type, NULL if the profile has none';
COMMENT ON COLUMN pgo.profiles.samples IS 'pprof_sample_count of the profile';
COMMENT ON COLUMN pgo.profiles.pgo_usable IS 'pprof_pgo_usable: would go build -pgo use it';
COMMENT ON COLUMN pgo.profiles.problems IS 'pprof_pgo_problems: why go build -pgo would not';
COMMENT ON COLUMN pgo.profiles.build_id IS 'pprof_build_id: build ID of the profiled binary';
COMMENT ON COLUMN pgo.profiles.input_bytes IS 'size of the upload as received (gzip or raw), NULL if not uploaded';
COMMENT ON COLUMN pgo.profiles.sample_types IS 'pprof_sample_type_names: rows merge together only with equal sample types';
COMMENT ON COLUMN pgo.profiles.sample_modes IS 'values of the pprof sample label "mode" (runtime/pprof labels)';

-- lz4, measured on cpu.pb.gz (84 KB stored): 27 KB compressed against
-- pglz's 22 KB, but 2000 inserts take 0.26 s instead of 14 s, and reading
-- them back 70 ms instead of 110 ms.
DO $$
BEGIN
	ALTER TABLE pgo.profiles ALTER COLUMN profile SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;						-- a server built without lz4 keeps pglz
END
$$;

-- The default partition is the template of the daily ones (pgo.maintain
-- creates them LIKE it, indexes included). Indexes are per partition, not
-- partitioned indexes of pgo.profiles: an extension's partitioned table with
-- partitioned indexes gives a pg_dump that fails to restore (ATTACH PARTITION
-- re-creates the indexes the dump then creates again).
CREATE TABLE pgo.profiles_default PARTITION OF pgo.profiles (PRIMARY KEY (id, received_at)) DEFAULT;
COMMENT ON TABLE pgo.profiles_default IS 'rows whose day has no partition yet (pgo.maintain() moves them out); template of the daily partitions';
-- recent rows of one tag: every selection walks this index newest first
CREATE INDEX profiles_default_tag_received_at_idx ON pgo.profiles_default (tag, received_at DESC);
-- newest usable rows of one tag and mode: "keep at least N" in retention
CREATE INDEX profiles_default_keep_idx ON pgo.profiles_default
	(tag, (COALESCE(labels ->> 'mode', '')), received_at DESC, id DESC) WHERE pgo_usable;

-- Rows are immutable but for their labels: a selection is identified by its
-- row ids (pgo.selection_key). Releases are immutable.
CREATE FUNCTION pgo.reject_change() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	RAISE EXCEPTION '% of %.% cannot be %', TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME,
		CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END
		USING ERRCODE = 'object_not_in_prerequisite_state',
			  HINT = TG_ARGV[1];
END
$$;
COMMENT ON FUNCTION pgo.reject_change() IS 'trigger: rejects the change (TG_ARGV: what is changed, hint)';

CREATE TRIGGER profiles_immutable
	BEFORE UPDATE OF id, tag, source, received_at, profile ON pgo.profiles
	FOR EACH ROW EXECUTE FUNCTION pgo.reject_change(
		'the profile', 'Only labels can change: insert a new row with pgo.ingest() instead.');

CREATE TABLE pgo.idempotency_keys (
	tag text NOT NULL,
	key text NOT NULL CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 256),
	profile_id bigint,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tag, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON pgo.idempotency_keys (created_at);
COMMENT ON TABLE pgo.idempotency_keys IS 'pgo.ingest idempotency keys: a retried upload returns the first row''s id (created_at = that row''s received_at)';

CREATE TABLE pgo.releases (
	tag text NOT NULL CONSTRAINT releases_tag_check CHECK (tag ~ '^[A-Za-z0-9._-]{1,128}$'),
	sha256 text NOT NULL,
	profile bytea NOT NULL,
	input_ids bigint[] NOT NULL,
	parameters jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tag, sha256),
	CONSTRAINT releases_sha256_check CHECK (sha256 = encode(sha256(profile), 'hex'))
);
COMMENT ON TABLE pgo.releases IS 'immutable pinned merges: GET /profile/<tag>@<sha256>';
COMMENT ON COLUMN pgo.releases.sha256 IS 'lowercase hex SHA-256 of profile';
COMMENT ON COLUMN pgo.releases.input_ids IS 'pgo.profiles ids merged, ascending';
COMMENT ON COLUMN pgo.releases.parameters IS 'the selection parameters and pgo_merge settings used';

CREATE TRIGGER releases_immutable
	BEFORE UPDATE OR DELETE ON pgo.releases
	FOR EACH ROW EXECUTE FUNCTION pgo.reject_change(
		'a release', 'Releases are immutable; an administrator can ALTER TABLE pgo.releases DISABLE TRIGGER releases_immutable to remove one.');
CREATE TRIGGER releases_no_truncate
	BEFORE TRUNCATE ON pgo.releases
	FOR EACH STATEMENT EXECUTE FUNCTION pgo.reject_change(
		'a release', 'Releases are immutable; an administrator can ALTER TABLE pgo.releases DISABLE TRIGGER releases_no_truncate to remove them.');

CREATE TABLE pgo.retention_policies (
	tag_pattern text PRIMARY KEY,
	max_age interval CONSTRAINT retention_policies_max_age_check CHECK (max_age > '0'),
	keep_min integer NOT NULL DEFAULT 0 CONSTRAINT retention_policies_keep_min_check CHECK (keep_min >= 0),
	rollup_after interval CONSTRAINT retention_policies_rollup_after_check CHECK (rollup_after > '0'),
	CONSTRAINT retention_policies_rollup_before_expiry CHECK (rollup_after < max_age)
);
COMMENT ON TABLE pgo.retention_policies IS 'retention per tag (LIKE pattern; exact match, else the longest matching pattern wins)';
COMMENT ON COLUMN pgo.retention_policies.max_age IS 'rows older than this are deleted (NULL: kept forever)';
COMMENT ON COLUMN pgo.retention_policies.keep_min IS 'the newest keep_min PGO-usable rows of each (tag, mode) are kept whatever their age';
COMMENT ON COLUMN pgo.retention_policies.rollup_after IS 'rows older than this are merged into one row per (tag, mode, UTC day, sample types) (NULL: never)';

SELECT pg_catalog.pg_extension_config_dump('pgo.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.profiles_default', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.profiles_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.idempotency_keys', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.releases', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.retention_policies', '');

--
-- Argument checks shared by the entry points.
--
CREATE FUNCTION pgo.check_tag(tag text) RETURNS void
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	IF tag IS NULL OR tag !~ '^[A-Za-z0-9._-]{1,128}$' THEN
		RAISE EXCEPTION 'invalid profile tag: %', COALESCE(quote_literal(tag), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A tag is 1 to 128 characters among A-Z a-z 0-9 . _ -';
	END IF;
END
$$;
COMMENT ON FUNCTION pgo.check_tag(text) IS 'raises invalid_parameter_value unless tag is a valid profile tag';

CREATE FUNCTION pgo.check_selection("window" interval, max_profiles integer,
									min_duration interval, top_by_cpu integer) RETURNS void
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	IF "window" <= interval '0' THEN
		RAISE EXCEPTION 'window must be positive, not %', "window"
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_profiles < 1 THEN
		RAISE EXCEPTION 'max_profiles must be at least 1, not %', max_profiles
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF min_duration < interval '0' THEN
		RAISE EXCEPTION 'min_duration must not be negative, not %', min_duration
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF top_by_cpu < 1 THEN
		RAISE EXCEPTION 'top_by_cpu must be at least 1, not %', top_by_cpu
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION pgo.check_selection(interval, integer, interval, integer) IS 'raises invalid_parameter_value on selection parameters out of range (NULL = no limit)';

--
-- Selection. pgo.selection is a plain SQL function so the planner inlines
-- it into its callers: EXPLAIN SELECT * FROM pgo.selection(...) shows the
-- real plan (index scan on (tag, received_at), partition pruning, LIMIT).
--
CREATE FUNCTION pgo.selection(tag text, "window" interval DEFAULT '7 days',
							  max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
							  min_duration interval DEFAULT NULL, top_by_cpu integer DEFAULT NULL)
	RETURNS SETOF pgo.profiles
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT s.id, s.tag, s.labels, s.source, s.received_at, s.profile, s.duration_seconds,
		   s.cpu_nanos, s.samples, s.pgo_usable, s.problems, s.build_id, s.input_bytes,
		   s.sample_types, s.sample_modes
	FROM (SELECT n.*,
				 row_number() OVER (ORDER BY n.cpu_nanos DESC NULLS LAST, n.received_at DESC, n.id DESC) AS cpu_rank
		  FROM (SELECT p.*
				FROM pgo.profiles p
				WHERE p.tag = selection.tag
				  AND p.pgo_usable
				  AND (selection."window" IS NULL OR p.received_at >= now() - selection."window")
				  AND (selection.mode IS NULL
					   OR p.labels ->> 'mode' = selection.mode
					   OR (p.labels ->> 'mode' IS NULL AND selection.mode = ANY (p.sample_modes)))
				  AND (selection.min_duration IS NULL
					   OR p.duration_seconds >= extract(epoch FROM selection.min_duration)::float8)
				ORDER BY p.received_at DESC, p.id DESC
				LIMIT selection.max_profiles) n) s
	WHERE selection.top_by_cpu IS NULL OR s.cpu_rank <= selection.top_by_cpu
	ORDER BY s.received_at DESC, s.id DESC;
END;
COMMENT ON FUNCTION pgo.selection(text, interval, integer, text, interval, integer) IS 'the rows pgo.profile_for merges: usable rows of the tag in the window, newest first';

CREATE FUNCTION pgo.profile_for(tag text, "window" interval DEFAULT '7 days',
								max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
								"normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
								top_by_cpu integer DEFAULT NULL)
	RETURNS bytea
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET plan_cache_mode = force_custom_plan
	SET pprof.pgo_normalize = on
	AS $$
DECLARE
	result bytea;
BEGIN
	PERFORM pgo.check_tag(profile_for.tag);
	PERFORM pgo.check_selection(profile_for."window", profile_for.max_profiles,
								profile_for.min_duration, profile_for.top_by_cpu);
	-- scoped to this call by the SET clause above
	PERFORM set_config('pprof.pgo_normalize',
					   CASE WHEN profile_for.normalize IS FALSE THEN 'off' ELSE 'on' END, true);

	SELECT @extschema@.pgo_merge(
			   CASE WHEN profile_for.mode IS NOT NULL AND s.labels ->> 'mode' IS NULL
					THEN @extschema@.pprof_filter_label(s.profile, 'mode', profile_for.mode)
					ELSE s.profile END)::bytea
	INTO result
	FROM pgo.selection(profile_for.tag, profile_for."window", profile_for.max_profiles,
					   profile_for.mode, profile_for.min_duration, profile_for.top_by_cpu) AS s;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pgo.profile_for(text, interval, integer, text, boolean, interval, integer) IS 'the merged default.pgo (gzip pprof) of a tag''s newest usable rows; NULL if none';

CREATE FUNCTION pgo.selection_key(tag text, "window" interval DEFAULT '7 days',
								  max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
								  "normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
								  top_by_cpu integer DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET plan_cache_mode = force_custom_plan
	AS $$
DECLARE
	ids text;
BEGIN
	PERFORM pgo.check_tag(selection_key.tag);
	PERFORM pgo.check_selection(selection_key."window", selection_key.max_profiles,
								selection_key.min_duration, selection_key.top_by_cpu);

	SELECT string_agg(s.id::text, ',' ORDER BY s.id)
	INTO ids
	FROM pgo.selection(selection_key.tag, selection_key."window", selection_key.max_profiles,
					   selection_key.mode, selection_key.min_duration, selection_key.top_by_cpu) AS s;
	IF ids IS NULL THEN
		RETURN NULL;
	END IF;

	-- Rows are immutable (trigger profiles_immutable), so the ids and what
	-- else shapes pgo_merge's output identify the bytes. Calling a function
	-- of the module loads it, so its settings have their effective values.
	PERFORM @extschema@.pprof_is_valid('\x'::bytea);
	RETURN md5(concat_ws('|', 'pgo.selection_key 1',
						 (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'pprof'),
						 CASE WHEN selection_key.normalize IS FALSE THEN 'sum' ELSE 'normalize' END,
						 COALESCE(selection_key.mode, ''),
						 current_setting('pprof.pgo_frames'),
						 current_setting('pprof.pgo_denylist'),
						 ids));
END
$$;
COMMENT ON FUNCTION pgo.selection_key(text, interval, integer, text, boolean, interval, integer) IS 'fingerprint of what pgo.profile_for would merge (no profile decoded); equal keys mean equal bytes; NULL if nothing usable';

CREATE FUNCTION pgo.publish(tag text, "window" interval DEFAULT '7 days',
							max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
							"normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
							top_by_cpu integer DEFAULT NULL)
	RETURNS pgo.releases
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET plan_cache_mode = force_custom_plan
	SET pprof.pgo_normalize = on
	SET intervalstyle = iso_8601
	AS $$
DECLARE
	v_ids bigint[];
	v_bytes bytea;
	v_sha text;
	v_release pgo.releases;
BEGIN
	PERFORM pgo.check_tag(publish.tag);
	PERFORM pgo.check_selection(publish."window", publish.max_profiles,
								publish.min_duration, publish.top_by_cpu);
	PERFORM set_config('pprof.pgo_normalize',
					   CASE WHEN publish.normalize IS FALSE THEN 'off' ELSE 'on' END, true);

	-- one statement: the ids are exactly the rows merged
	SELECT array_agg(s.id ORDER BY s.id),
		   @extschema@.pgo_merge(
			   CASE WHEN publish.mode IS NOT NULL AND s.labels ->> 'mode' IS NULL
					THEN @extschema@.pprof_filter_label(s.profile, 'mode', publish.mode)
					ELSE s.profile END)::bytea
	INTO v_ids, v_bytes
	FROM pgo.selection(publish.tag, publish."window", publish.max_profiles,
					   publish.mode, publish.min_duration, publish.top_by_cpu) AS s;
	IF v_bytes IS NULL THEN
		RAISE EXCEPTION 'no usable profile to publish for tag "%"', publish.tag
			USING ERRCODE = 'no_data_found',
				  HINT = 'pgo.selection() with the same arguments lists the rows a release would merge.';
	END IF;

	v_sha := encode(sha256(v_bytes), 'hex');
	INSERT INTO pgo.releases AS r (tag, sha256, profile, input_ids, parameters)
	VALUES (publish.tag, v_sha, v_bytes, v_ids,
			jsonb_build_object('window', publish."window", 'max_profiles', publish.max_profiles,
							   'mode', publish.mode, 'normalize', publish.normalize IS NOT FALSE,
							   'min_duration', publish.min_duration, 'top_by_cpu', publish.top_by_cpu,
							   'pprof.pgo_frames', current_setting('pprof.pgo_frames'),
							   'pprof.pgo_denylist', current_setting('pprof.pgo_denylist')))
	ON CONFLICT ON CONSTRAINT releases_pkey DO NOTHING
	RETURNING r.* INTO v_release;
	IF NOT FOUND THEN
		SELECT r.* INTO STRICT v_release
		FROM pgo.releases r WHERE r.tag = publish.tag AND r.sha256 = v_sha;
	END IF;
	RETURN v_release;
END
$$;
COMMENT ON FUNCTION pgo.publish(text, interval, integer, text, boolean, interval, integer) IS 'pins the current merge as an immutable release; the same bytes again return the existing release';

CREATE FUNCTION pgo.release(tag text, sha256 text) RETURNS bytea
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT r.profile FROM pgo.releases r WHERE r.tag = release.tag AND r.sha256 = lower(release.sha256);
END;
COMMENT ON FUNCTION pgo.release(text, text) IS 'the bytes of a release, NULL if there is none';

--
-- Ingest
--
CREATE FUNCTION pgo.ingest(tag text, profile bytea, labels jsonb DEFAULT '{}',
						   source text DEFAULT 'push', idempotency_key text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_labels jsonb := COALESCE(ingest.labels, '{}');
	v_profile @extschema@.pprof;
	v_id bigint;
	v_bad text;
	v_attempt integer := 0;
BEGIN
	PERFORM pgo.check_tag(ingest.tag);
	IF ingest.profile IS NULL THEN
		RAISE EXCEPTION 'profile must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF jsonb_typeof(v_labels) <> 'object' THEN
		RAISE EXCEPTION 'labels must be a JSON object, not %', jsonb_typeof(v_labels)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT min(e.key) INTO v_bad FROM jsonb_each(v_labels) e
	WHERE jsonb_typeof(e.value) <> 'string' OR length(e.key) NOT BETWEEN 1 AND 128
		  OR length(e.value #>> '{}') > 1024;
	IF v_bad IS NOT NULL OR (SELECT count(*) FROM jsonb_object_keys(v_labels)) > 64 THEN
		RAISE EXCEPTION 'invalid label %', COALESCE(quote_literal(v_bad), 'set')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Labels are at most 64 string values of at most 1024 characters, keys of 1 to 128 characters.';
	END IF;
	IF ingest.source IS NULL OR ingest.source NOT IN ('push', 'scrape', 'sql') THEN
		RAISE EXCEPTION 'invalid profile source: %', COALESCE(quote_literal(ingest.source), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The source is push, scrape or sql.';
	END IF;
	IF length(ingest.idempotency_key) NOT BETWEEN 1 AND 256 THEN
		RAISE EXCEPTION 'idempotency key must have 1 to 256 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- a retry of an upload already stored
	IF ingest.idempotency_key IS NOT NULL THEN
		SELECT k.profile_id INTO v_id FROM pgo.idempotency_keys k
		WHERE k.tag = ingest.tag AND k.key = ingest.idempotency_key;
		IF FOUND THEN
			RETURN v_id;
		END IF;
	END IF;

	-- decode and validate: the cast's errors reach the caller unchanged
	v_profile := ingest.profile::@extschema@.pprof;

	-- Claim the key. A concurrent twin holding it makes this wait for the
	-- twin's transaction: if it commits, its row is the answer.
	IF ingest.idempotency_key IS NOT NULL THEN
		INSERT INTO pgo.idempotency_keys AS k (tag, key)
		VALUES (ingest.tag, ingest.idempotency_key)
		ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING;
		IF NOT FOUND THEN
			SELECT k.profile_id INTO STRICT v_id FROM pgo.idempotency_keys k
			WHERE k.tag = ingest.tag AND k.key = ingest.idempotency_key;
			RETURN v_id;
		END IF;
	END IF;

	IF to_regclass(format('pgo.%I', 'profiles_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NOT NULL THEN
		INSERT INTO pgo.profiles AS p (tag, labels, source, profile, input_bytes)
		VALUES (ingest.tag, v_labels, ingest.source, v_profile, octet_length(ingest.profile))
		RETURNING p.id INTO v_id;
	ELSE
		-- Today's partition is missing: create it (the row would land in
		-- pgo.profiles_default otherwise), never failing the upload for it.
		BEGIN
			PERFORM pgo.maintain(lock_wait => '100ms');
		EXCEPTION WHEN OTHERS THEN
			RAISE NOTICE 'pgo.maintain() failed: %', SQLERRM;
		END;
		-- A session attaching today's partition while this row is routed to
		-- pgo.profiles_default makes the insert fail its partition check;
		-- the retry is routed to the new partition.
		LOOP
			BEGIN
				INSERT INTO pgo.profiles AS p (tag, labels, source, profile, input_bytes)
				VALUES (ingest.tag, v_labels, ingest.source, v_profile, octet_length(ingest.profile))
				RETURNING p.id INTO v_id;
				EXIT;
			EXCEPTION WHEN check_violation THEN
				v_attempt := v_attempt + 1;
				IF v_attempt >= 3 THEN
					RAISE;
				END IF;
			END;
		END LOOP;
	END IF;

	IF ingest.idempotency_key IS NOT NULL THEN
		UPDATE pgo.idempotency_keys k SET profile_id = v_id
		WHERE k.tag = ingest.tag AND k.key = ingest.idempotency_key;
	END IF;
	RETURN v_id;
END
$$;
COMMENT ON FUNCTION pgo.ingest(text, bytea, jsonb, text, text) IS 'validates and stores one uploaded profile, returns its id (the first id again for a reused idempotency key)';

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

--
-- Partitions and retention
--
-- Locking (README "Operating the catalog"): ingest takes ROW EXCLUSIVE on
-- pgo.profiles and today's partition, readers ACCESS SHARE. Retention
-- deletes and rolls up rows under the same weak locks, in statements that
-- name the rows they decided on, so a row inserted later is never touched.
-- Only dropping a partition needs ACCESS EXCLUSIVE on pgo.profiles: it is
-- requested last, just before commit, with a short lock_timeout, so ingest
-- waits at most that long; if it cannot be had the rows are deleted instead.
--
CREATE FUNCTION pgo.partitions()
	RETURNS TABLE(partition regclass, from_time timestamptz, to_time timestamptz,
				  is_default boolean, total_bytes bigint)
	LANGUAGE sql STABLE ROWS 30
BEGIN ATOMIC
	SELECT c.oid::regclass, x.m[1]::timestamptz, x.m[2]::timestamptz,
		   y.bound = 'DEFAULT', pg_total_relation_size(c.oid)
	FROM pg_inherits i
		 JOIN pg_class c ON c.oid = i.inhrelid
		 CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) y
		 CROSS JOIN LATERAL (SELECT regexp_match(y.bound, 'FROM \(''([^'']*)''\) TO \(''([^'']*)''\)') AS m) x
	WHERE i.inhparent = 'pgo.profiles'::regclass
	ORDER BY 2 NULLS LAST;
END;
COMMENT ON FUNCTION pgo.partitions() IS 'the partitions of pgo.profiles with their time range and size';

CREATE FUNCTION pgo.create_partition(day date, lock_wait interval DEFAULT '1s') RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_lock_timeout text := current_setting('lock_timeout');
	v_name text;
	v_from text;
	v_to text;
	v_moved bigint;
BEGIN
	IF create_partition.day IS NULL THEN
		RAISE EXCEPTION 'day must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	v_name := 'profiles_' || to_char(create_partition.day, 'YYYYMMDD');
	IF to_regclass(format('pgo.%I', v_name)) IS NOT NULL THEN
		RETURN NULL;
	END IF;
	v_from := to_char(create_partition.day, 'YYYY-MM-DD') || ' 00:00:00+00';
	v_to := to_char(create_partition.day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';

	PERFORM set_config('lock_timeout',
					   COALESCE(extract(epoch FROM create_partition.lock_wait) * 1000, 0)::bigint::text, true);
	-- Created standalone, then attached: ATTACH PARTITION takes only SHARE
	-- UPDATE EXCLUSIVE on pgo.profiles, which ingest and readers do not
	-- conflict with (CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE).
	EXECUTE format('CREATE TABLE pgo.%I (LIKE pgo.profiles_default INCLUDING DEFAULTS INCLUDING GENERATED'
				   ' INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMPRESSION)',
				   v_name);
	-- no new row in the default partition until the attach commits
	LOCK TABLE pgo.profiles_default IN SHARE ROW EXCLUSIVE MODE;
	EXECUTE format($q$
		WITH moved AS (
			DELETE FROM pgo.profiles_default p
			WHERE p.received_at >= $1 AND p.received_at < $2
			RETURNING p.id, p.tag, p.labels, p.source, p.received_at, p.profile, p.input_bytes)
		INSERT INTO pgo.%I (id, tag, labels, source, received_at, profile, input_bytes)
		SELECT * FROM moved$q$, v_name)
		USING v_from::timestamptz, v_to::timestamptz;
	GET DIAGNOSTICS v_moved = ROW_COUNT;
	EXECUTE format('ALTER TABLE pgo.profiles ATTACH PARTITION pgo.%I FOR VALUES FROM (%L) TO (%L)',
				   v_name, v_from, v_to);
	PERFORM set_config('lock_timeout', v_lock_timeout, true);
	RETURN v_moved;
END
$$;
COMMENT ON FUNCTION pgo.create_partition(date, interval) IS 'creates the partition of one UTC day, moving its rows out of the default partition; returns the rows moved, NULL if it existed';

CREATE FUNCTION pgo.maintain(days_ahead integer DEFAULT 7, lock_wait interval DEFAULT '1s')
	RETURNS TABLE(partition_name text, moved_rows bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_today date := (now() AT TIME ZONE 'UTC')::date;
	v_day date;
	v_moved bigint;
BEGIN
	IF maintain.days_ahead IS NULL OR maintain.days_ahead NOT BETWEEN 0 AND 366 THEN
		RAISE EXCEPTION 'days_ahead must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT pg_try_advisory_xact_lock(('pgo.profiles'::regclass::oid::bigint << 8) + 1) THEN
		RAISE NOTICE 'pgo.maintain() is already running in another session';
		RETURN;
	END IF;

	-- today and the days ahead, and every day with rows in the default partition
	FOR v_day IN
		SELECT d.day
		FROM (SELECT (p.received_at AT TIME ZONE 'UTC')::date AS day FROM pgo.profiles_default p
			  UNION
			  SELECT v_today + g FROM generate_series(0, maintain.days_ahead) AS g) d
		WHERE to_regclass(format('pgo.%I', 'profiles_' || to_char(d.day, 'YYYYMMDD'))) IS NULL
		ORDER BY d.day
	LOOP
		BEGIN
			v_moved := pgo.create_partition(v_day, maintain.lock_wait);
			IF v_moved IS NOT NULL THEN
				partition_name := 'pgo.profiles_' || to_char(v_day, 'YYYYMMDD');
				moved_rows := v_moved;
				RETURN NEXT;
			END IF;
		EXCEPTION WHEN lock_not_available OR invalid_object_definition THEN
			-- busy, or a partition of another name covers the day
			RAISE NOTICE 'partition of % not created: %', v_day, SQLERRM;
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pgo.maintain(integer, interval) IS 'creates the daily partitions of today and the next days_ahead days, and of every day with rows in the default partition';

CREATE FUNCTION pgo.tag_names(from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
	RETURNS SETOF text
	LANGUAGE sql STABLE ROWS 100
BEGIN ATOMIC
	-- a loose index scan: one probe of the (tag, received_at) indexes per
	-- tag; the time range prunes partitions
	WITH RECURSIVE t(tag) AS (
		(SELECT p.tag FROM pgo.profiles p
		 WHERE p.received_at >= COALESCE(tag_names.from_time, '-infinity')
		   AND p.received_at < COALESCE(tag_names.to_time, 'infinity')
		 ORDER BY p.tag LIMIT 1)
		UNION ALL
		SELECT (SELECT p.tag FROM pgo.profiles p
				WHERE p.tag > t.tag
				  AND p.received_at >= COALESCE(tag_names.from_time, '-infinity')
				  AND p.received_at < COALESCE(tag_names.to_time, 'infinity')
				ORDER BY p.tag LIMIT 1)
		FROM t WHERE t.tag IS NOT NULL)
	SELECT t.tag FROM t WHERE t.tag IS NOT NULL;
END;
COMMENT ON FUNCTION pgo.tag_names(timestamptz, timestamptz) IS 'the distinct tags of pgo.profiles (received in [from_time, to_time) if given), sorted; one index probe per tag';

CREATE FUNCTION pgo.policy_for(tag text) RETURNS pgo.retention_policies
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT r.* FROM pgo.retention_policies r
	WHERE policy_for.tag LIKE r.tag_pattern
	ORDER BY r.tag_pattern = policy_for.tag DESC, length(r.tag_pattern) DESC, r.tag_pattern COLLATE "C"
	LIMIT 1;
END;
COMMENT ON FUNCTION pgo.policy_for(text) IS 'the retention policy of a tag: the exact pattern, else the longest matching one';

CREATE FUNCTION pgo.keep_bounds(tag text, keep_min integer)
	RETURNS TABLE(mode text, received_at timestamptz, id bigint)
	LANGUAGE sql STABLE ROWS 4
BEGIN ATOMIC
	-- per mode ('' = none) of the tag's usable rows, the keep_min-th newest
	-- row: it and newer rows are kept; NULL when there are fewer (all kept)
	WITH RECURSIVE m(mode) AS (
		(SELECT COALESCE(p.labels ->> 'mode', '') FROM pgo.profiles p
		 WHERE p.tag = keep_bounds.tag AND p.pgo_usable
		 ORDER BY COALESCE(p.labels ->> 'mode', '') LIMIT 1)
		UNION ALL
		SELECT (SELECT COALESCE(p.labels ->> 'mode', '') FROM pgo.profiles p
				WHERE p.tag = keep_bounds.tag AND p.pgo_usable
				  AND COALESCE(p.labels ->> 'mode', '') > m.mode
				ORDER BY COALESCE(p.labels ->> 'mode', '') LIMIT 1)
		FROM m WHERE m.mode IS NOT NULL)
	SELECT m.mode, b.received_at, b.id
	FROM m LEFT JOIN LATERAL (
			SELECT p.received_at, p.id FROM pgo.profiles p
			WHERE p.tag = keep_bounds.tag AND p.pgo_usable
			  AND COALESCE(p.labels ->> 'mode', '') = m.mode
			ORDER BY p.received_at DESC, p.id DESC
			OFFSET greatest(keep_bounds.keep_min - 1, 0) LIMIT 1) b ON true
	WHERE m.mode IS NOT NULL AND keep_bounds.keep_min > 0;
END;
COMMENT ON FUNCTION pgo.keep_bounds(text, integer) IS 'per mode of a tag, the oldest of the keep_min newest usable rows (NULL: fewer rows, all kept)';

CREATE FUNCTION pgo.common_labels(labels jsonb[]) RETURNS jsonb
	LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
	SELECT COALESCE(jsonb_object_agg(c.key, c.value), '{}')
	FROM (SELECT e.key, e.value
		  FROM unnest(common_labels.labels) AS l(o), jsonb_each_text(l.o) AS e
		  GROUP BY e.key, e.value
		  HAVING count(*) = cardinality(common_labels.labels)) c;
END;
COMMENT ON FUNCTION pgo.common_labels(jsonb[]) IS 'the labels (key and value) that every object of the array has';

CREATE FUNCTION pgo.sum_counts(a jsonb, b jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
	SELECT COALESCE(jsonb_object_agg(s.key, s.n), '{}')
	FROM (SELECT e.key, sum(e.value::bigint) AS n
		  FROM (SELECT * FROM jsonb_each_text(sum_counts.a)
				UNION ALL
				SELECT * FROM jsonb_each_text(sum_counts.b)) e
		  GROUP BY e.key) s;
END;
COMMENT ON FUNCTION pgo.sum_counts(jsonb, jsonb) IS 'adds two {key: count} objects';

CREATE FUNCTION pgo.apply_retention(idempotency_ttl interval DEFAULT '1 day')
	RETURNS TABLE(tag text, deleted bigint, rolled_up bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	-- its statements touch few rows but look costly to the planner, and JIT
	-- compiling them took seconds
	SET jit = off
	AS $$
#variable_conflict use_column
DECLARE
	v_now timestamptz := now();
	v_lock_timeout text := current_setting('lock_timeout');
	v_deleted jsonb := '{}';
	v_rolled jsonb := '{}';
	v_counts jsonb;
	v_pol record;
	v_grp record;
	v_part record;
	v_min_age interval;
	v_ok boolean;
	v_new boolean;
	v_seq bigint;
	v_done boolean := false;
	-- partitions to drop, with what retention saw in them
	v_drop regclass[] := '{}';
	v_drop_seq bigint[] := '{}';
	v_drop_from timestamptz[] := '{}';
	v_drop_to timestamptz[] := '{}';
	v_drop_counts jsonb[] := '{}';
BEGIN
	IF NOT pg_try_advisory_xact_lock(('pgo.profiles'::regclass::oid::bigint << 8) + 2) THEN
		RAISE NOTICE 'pgo.apply_retention() is already running in another session; nothing done';
		RETURN;
	END IF;

	-- 1. Rollups: the rows of one tag, mode, UTC day and sample types that
	-- are older than rollup_after (and not expired) become one row.
	FOR v_pol IN
		SELECT t.tag, r.max_age, r.rollup_after
		FROM pgo.tag_names() AS t(tag) CROSS JOIN LATERAL pgo.policy_for(t.tag) AS r
		WHERE r.rollup_after IS NOT NULL
		ORDER BY t.tag
	LOOP
		FOR v_grp IN
			SELECT date_trunc('day', p.received_at, 'UTC') AS day,
				   COALESCE(p.labels ->> 'mode', '') AS mode, p.sample_types,
				   array_agg(p.id ORDER BY p.id) AS ids, max(p.received_at) AS last_at, count(*) AS n
			FROM pgo.profiles p
			WHERE p.tag = v_pol.tag
			  AND p.received_at < v_now - v_pol.rollup_after
			  AND (v_pol.max_age IS NULL OR p.received_at >= v_now - v_pol.max_age)
			GROUP BY 1, 2, 3
			HAVING count(*) > 1
			ORDER BY 1, 2, 3
		LOOP
			BEGIN
				INSERT INTO pgo.profiles (tag, labels, source, received_at, profile)
				SELECT v_pol.tag, pgo.common_labels(array_agg(p.labels)), 'rollup', v_grp.last_at,
					   @extschema@.pprof_merge(p.profile)
				FROM pgo.profiles p
				WHERE p.tag = v_pol.tag AND p.id = ANY (v_grp.ids)
				  AND p.received_at >= v_grp.day AND p.received_at < v_grp.day + interval '24 hours';
				WITH d AS (
					DELETE FROM pgo.profiles p
					WHERE p.tag = v_pol.tag AND p.id = ANY (v_grp.ids)
					  AND p.received_at >= v_grp.day AND p.received_at < v_grp.day + interval '24 hours'
					RETURNING p.id, p.received_at)
				DELETE FROM pgo.idempotency_keys k USING d
				WHERE k.created_at = d.received_at AND k.profile_id = d.id;
				v_rolled := pgo.sum_counts(v_rolled, jsonb_build_object(v_pol.tag, v_grp.n));
			EXCEPTION WHEN data_exception THEN
				-- e.g. equal sample types but different period types
				RAISE WARNING 'rows % of tag "%" not rolled up: %', v_grp.ids, v_pol.tag, SQLERRM;
			END;
		END LOOP;
	END LOOP;

	-- 2. Expiry: rows older than max_age, but the keep_min newest usable
	-- rows of each (tag, mode). The partitions older than the shortest
	-- max_age are examined each run through their indexes only.
	SELECT min(r.max_age) INTO v_min_age FROM pgo.retention_policies r;
	IF v_min_age IS NOT NULL THEN
		-- 2a. Partitions in which every row is expired and none is kept.
		FOR v_part IN
			SELECT x.partition, x.from_time, x.to_time
			FROM pgo.partitions() x
			WHERE NOT x.is_default AND x.to_time <= v_now - v_min_age
			ORDER BY x.from_time
		LOOP
			v_ok := false;
			BEGIN
				-- SHARE blocks only writers of this old partition (ingest
				-- writes today's), so it may wait out autovacuum too.
				PERFORM set_config('lock_timeout', '5s', true);
				-- Waits for transactions still writing into the partition;
				-- rows written after the lock is released get ids above v_seq.
				EXECUTE format('LOCK TABLE %s IN SHARE MODE', v_part.partition);
				v_seq := COALESCE(pg_sequence_last_value('pgo.profiles_id_seq'), 0);
				-- every tag in it expired by its policy (tags: index probes)...
				SELECT COALESCE(bool_and(r.max_age IS NOT NULL AND v_part.to_time <= v_now - r.max_age), true)
				INTO v_ok
				FROM pgo.tag_names(v_part.from_time, v_part.to_time) AS t(tag)
					 LEFT JOIN LATERAL pgo.policy_for(t.tag) AS r ON true;
				-- ... and no row of it among the keep_min newest of its tag and mode
				IF v_ok THEN
					SELECT NOT EXISTS (
						SELECT 1
						FROM pgo.tag_names(v_part.from_time, v_part.to_time) AS t(tag)
							 CROSS JOIN LATERAL pgo.policy_for(t.tag) AS r
							 CROSS JOIN LATERAL pgo.keep_bounds(t.tag, r.keep_min) AS b
						WHERE EXISTS (
							SELECT 1 FROM pgo.profiles p
							WHERE p.tag = t.tag AND p.pgo_usable
							  AND COALESCE(p.labels ->> 'mode', '') = b.mode
							  AND p.received_at >= v_part.from_time AND p.received_at < v_part.to_time
							  AND (b.received_at IS NULL OR (p.received_at, p.id) >= (b.received_at, b.id))))
					INTO v_ok;
				END IF;
				-- the rows to report, counted only for a partition to drop
				IF v_ok THEN
					EXECUTE format('SELECT COALESCE(jsonb_object_agg(s.tag, s.n), ''{}'')'
								   ' FROM (SELECT p.tag, count(*) AS n FROM %s p GROUP BY p.tag) s',
								   v_part.partition)
						INTO v_counts;
				END IF;
				-- leave the block by an error: that releases the lock
				RAISE SQLSTATE 'PGOR0';
			EXCEPTION
				WHEN SQLSTATE 'PGOR0' THEN
					NULL;
				WHEN lock_not_available THEN
					v_ok := false;
			END;
			IF v_ok THEN
				v_drop := v_drop || v_part.partition;
				v_drop_seq := v_drop_seq || v_seq;
				v_drop_from := v_drop_from || v_part.from_time;
				v_drop_to := v_drop_to || v_part.to_time;
				v_drop_counts := v_drop_counts || v_counts;
			END IF;
		END LOOP;

		-- 2b. Rows, elsewhere: decided and deleted by one statement.
		WITH pol AS MATERIALIZED (
			SELECT t.tag, r.max_age, r.keep_min
			FROM pgo.tag_names() AS t(tag) CROSS JOIN LATERAL pgo.policy_for(t.tag) AS r
			WHERE r.max_age IS NOT NULL),
		bounds AS MATERIALIZED (
			SELECT pol.tag, b.mode, b.received_at, b.id
			FROM pol CROSS JOIN LATERAL pgo.keep_bounds(pol.tag, pol.keep_min) AS b),
		d AS (
			DELETE FROM pgo.profiles p
			USING pol
			WHERE p.tag = pol.tag
			  AND p.received_at < v_now - pol.max_age
			  AND p.tableoid <> ALL (v_drop::oid[])
			  AND NOT (p.pgo_usable AND EXISTS (
					SELECT 1 FROM bounds b
					WHERE b.tag = p.tag AND b.mode = COALESCE(p.labels ->> 'mode', '')
					  AND (b.received_at IS NULL OR (p.received_at, p.id) >= (b.received_at, b.id))))
			RETURNING p.tag, p.id, p.received_at),
		k AS (
			DELETE FROM pgo.idempotency_keys k USING d
			WHERE k.created_at = d.received_at AND k.profile_id = d.id)
		SELECT COALESCE(jsonb_object_agg(c.tag, c.n), '{}') INTO v_counts
		FROM (SELECT d.tag, count(*) AS n FROM d GROUP BY d.tag) c;
		v_deleted := pgo.sum_counts(v_deleted, v_counts);
	END IF;

	-- 3. Idempotency keys outlive their retries by idempotency_ttl.
	IF apply_retention.idempotency_ttl IS NOT NULL THEN
		DELETE FROM pgo.idempotency_keys k WHERE k.created_at < v_now - apply_retention.idempotency_ttl;
	END IF;

	-- 4. Drop the partitions of 2a: the only step that blocks ingest, last
	-- so that the lock is held only until the commit that follows.
	IF cardinality(v_drop) > 0 THEN
		FOR attempt IN 1 .. 5 LOOP
			BEGIN
				PERFORM set_config('lock_timeout', '200ms', true);
				-- ONLY: the partitions are locked by DROP TABLE as needed;
				-- locking them all would also wait for autovacuum on each
				LOCK TABLE ONLY pgo.profiles IN ACCESS EXCLUSIVE MODE;
				FOR i IN 1 .. cardinality(v_drop) LOOP
					EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s p WHERE p.id > $1)', v_drop[i])
						USING v_drop_seq[i] INTO v_new;
					IF v_new THEN
						RAISE NOTICE 'partition % not dropped: rows were added since retention examined it', v_drop[i];
						CONTINUE;
					END IF;
					DELETE FROM pgo.idempotency_keys k
					WHERE k.created_at >= v_drop_from[i] AND k.created_at < v_drop_to[i];
					EXECUTE format('DROP TABLE %s', v_drop[i]);
					v_deleted := pgo.sum_counts(v_deleted, v_drop_counts[i]);
				END LOOP;
				v_done := true;
				EXIT;
			EXCEPTION WHEN lock_not_available THEN
				PERFORM pg_sleep(0.1 * attempt);
			END;
		END LOOP;
		PERFORM set_config('lock_timeout', v_lock_timeout, true);

		IF NOT v_done THEN
			-- pgo.profiles stayed busy: delete the rows seen instead
			RAISE NOTICE 'pgo.profiles is busy: deleting the rows of % instead of dropping them', v_drop;
			FOR i IN 1 .. cardinality(v_drop) LOOP
				EXECUTE format($q$
					WITH d AS (DELETE FROM %s p WHERE p.id <= $1 RETURNING p.tag, p.id, p.received_at),
					k AS (DELETE FROM pgo.idempotency_keys k USING d
						  WHERE k.created_at = d.received_at AND k.profile_id = d.id)
					SELECT COALESCE(jsonb_object_agg(c.tag, c.n), '{}')
					FROM (SELECT d.tag, count(*) AS n FROM d GROUP BY d.tag) c$q$, v_drop[i])
					USING v_drop_seq[i] INTO v_counts;
				v_deleted := pgo.sum_counts(v_deleted, v_counts);
			END LOOP;
		END IF;
	END IF;

	-- 5. Partitions ahead (and rows out of the default partition).
	PERFORM pgo.maintain();

	RETURN QUERY
	SELECT n.tag, COALESCE((v_deleted ->> n.tag)::bigint, 0), COALESCE((v_rolled ->> n.tag)::bigint, 0)
	FROM (SELECT jsonb_object_keys(v_deleted) UNION SELECT jsonb_object_keys(v_rolled)) AS n(tag)
	ORDER BY n.tag;
END
$$;
COMMENT ON FUNCTION pgo.apply_retention(interval) IS 'applies pgo.retention_policies (rollups, expiry) in one transaction, then pgo.maintain(); safe beside ingest';

--
-- Privileges: see the top of this section.
--
REVOKE EXECUTE ON FUNCTION
	pgo.ingest(text, bytea, jsonb, text, text),
	pgo.profile_for(text, interval, integer, text, boolean, interval, integer),
	pgo.selection_key(text, interval, integer, text, boolean, interval, integer),
	pgo.publish(text, interval, integer, text, boolean, interval, integer),
	pgo.release(text, text),
	pgo.create_partition(date, interval),
	pgo.maintain(integer, interval),
	pgo.apply_retention(interval)
FROM PUBLIC;

-- (0.2)

--
-- Selection with a plan that can be cached. 0.1 wrote the window test as
-- "window IS NULL OR received_at >= now() - window", which only a custom
-- plan turns into an index bound, so the catalog planned every selection
-- from scratch: over a week of daily partitions that planning cost ~7 times
-- the execution (pgo.selection_key ran at 2.6k calls/s on 2 cores, 24k with
-- a cached plan). As a COALESCE the bound is a plain index condition with
-- runtime partition pruning whatever the parameters, so a generic plan is
-- as good as a custom one.
--
-- The upper bound prunes the empty partitions pgo.maintain creates a week
-- ahead: a cached plan starts an index scan on every partition it does not
-- prune, and those seven were ~25% of a key check. It cannot hide a
-- committed upload: a row this query sees committed before the query's
-- snapshot, and its received_at (its transaction's start) is earlier still;
-- the snapshot is taken when the statement starts (statement_timestamp()),
-- or for a function's later statements within its run, far less than the
-- day of slack, which also absorbs clock adjustments. Only rows inserted
-- with a received_at set over a day ahead are not selected (until then).
--
CREATE OR REPLACE FUNCTION pgo.selection(tag text, "window" interval DEFAULT '7 days',
										 max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
										 min_duration interval DEFAULT NULL, top_by_cpu integer DEFAULT NULL)
	RETURNS SETOF pgo.profiles
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT s.id, s.tag, s.labels, s.source, s.received_at, s.profile, s.duration_seconds,
		   s.cpu_nanos, s.samples, s.pgo_usable, s.problems, s.build_id, s.input_bytes,
		   s.sample_types, s.sample_modes
	FROM (SELECT n.*,
				 row_number() OVER (ORDER BY n.cpu_nanos DESC NULLS LAST, n.received_at DESC, n.id DESC) AS cpu_rank
		  FROM (SELECT p.*
				FROM pgo.profiles p
				WHERE p.tag = selection.tag
				  AND p.pgo_usable
				  AND p.received_at >= COALESCE(now() - selection."window", '-infinity'::timestamptz)
				  AND p.received_at < statement_timestamp() + interval '1 day'
				  AND (selection.mode IS NULL
					   OR p.labels ->> 'mode' = selection.mode
					   OR (p.labels ->> 'mode' IS NULL AND selection.mode = ANY (p.sample_modes)))
				  AND (selection.min_duration IS NULL
					   OR p.duration_seconds >= extract(epoch FROM selection.min_duration)::float8)
				ORDER BY p.received_at DESC, p.id DESC
				LIMIT selection.max_profiles) n) s
	WHERE selection.top_by_cpu IS NULL OR s.cpu_rank <= selection.top_by_cpu
	ORDER BY s.received_at DESC, s.id DESC;
END;

-- The key the gateway checks on every GET: its selection plan is now kept
-- for the session instead of being made anew on every call.
ALTER FUNCTION pgo.selection_key(text, interval, integer, text, boolean, interval, integer)
	SET plan_cache_mode = force_generic_plan;

--
-- Ingest that answers with the stored row's summary. An uploader wants to
-- know at once what was stored (samples, duration, whether go build can use
-- it, and why not), and the gateway answers 201 with exactly that: in 0.1
-- this took a second query (and a SELECT privilege on pgo.profiles) inside
-- an explicit transaction, four round trips per upload. The summary comes
-- from INSERT ... RETURNING of the generated columns, so one autocommit
-- statement does it all; pgo.ingest keeps its signature and returns the id.
--
CREATE FUNCTION pgo.ingest_summary(tag text, profile bytea, labels jsonb DEFAULT '{}',
								   source text DEFAULT 'push', idempotency_key text DEFAULT NULL,
								   OUT id bigint, OUT received_at timestamptz, OUT samples bigint,
								   OUT duration_seconds float8, OUT pgo_usable boolean,
								   OUT problems text[])
	RETURNS record
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_labels jsonb := COALESCE(ingest_summary.labels, '{}');
	v_profile @extschema@.pprof;
	v_id bigint;
	v_bad text;
	v_attempt integer := 0;
	v_replay boolean := false;
BEGIN
	PERFORM pgo.check_tag(ingest_summary.tag);
	IF ingest_summary.profile IS NULL THEN
		RAISE EXCEPTION 'profile must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF jsonb_typeof(v_labels) <> 'object' THEN
		RAISE EXCEPTION 'labels must be a JSON object, not %', jsonb_typeof(v_labels)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT min(e.key) INTO v_bad FROM jsonb_each(v_labels) e
	WHERE jsonb_typeof(e.value) <> 'string' OR length(e.key) NOT BETWEEN 1 AND 128
		  OR length(e.value #>> '{}') > 1024;
	IF v_bad IS NOT NULL OR (SELECT count(*) FROM jsonb_object_keys(v_labels)) > 64 THEN
		RAISE EXCEPTION 'invalid label %', COALESCE(quote_literal(v_bad), 'set')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Labels are at most 64 string values of at most 1024 characters, keys of 1 to 128 characters.';
	END IF;
	IF ingest_summary.source IS NULL OR ingest_summary.source NOT IN ('push', 'scrape', 'sql') THEN
		RAISE EXCEPTION 'invalid profile source: %', COALESCE(quote_literal(ingest_summary.source), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The source is push, scrape or sql.';
	END IF;
	IF length(ingest_summary.idempotency_key) NOT BETWEEN 1 AND 256 THEN
		RAISE EXCEPTION 'idempotency key must have 1 to 256 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- a retry of an upload already stored
	IF ingest_summary.idempotency_key IS NOT NULL THEN
		SELECT k.profile_id INTO v_id FROM pgo.idempotency_keys k
		WHERE k.tag = ingest_summary.tag AND k.key = ingest_summary.idempotency_key;
		v_replay := FOUND;
	END IF;

	IF NOT v_replay THEN
		-- decode and validate: the cast's errors reach the caller unchanged
		v_profile := ingest_summary.profile::@extschema@.pprof;

		-- Claim the key. A concurrent twin holding it makes this wait for
		-- the twin's transaction: if it commits, its row is the answer.
		IF ingest_summary.idempotency_key IS NOT NULL THEN
			INSERT INTO pgo.idempotency_keys AS k (tag, key)
			VALUES (ingest_summary.tag, ingest_summary.idempotency_key)
			ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING;
			IF NOT FOUND THEN
				SELECT k.profile_id INTO STRICT v_id FROM pgo.idempotency_keys k
				WHERE k.tag = ingest_summary.tag AND k.key = ingest_summary.idempotency_key;
				v_replay := true;
			END IF;
		END IF;
	END IF;

	-- a replay answers with the first upload's row (all NULL but the id if
	-- retention has removed the row since)
	IF v_replay THEN
		SELECT v_id, p.received_at, p.samples, p.duration_seconds, p.pgo_usable, p.problems
		INTO id, received_at, samples, duration_seconds, pgo_usable, problems
		FROM (SELECT 1) AS one
			 LEFT JOIN pgo.profiles p ON p.id = v_id AND p.tag = ingest_summary.tag;
		RETURN;
	END IF;

	IF to_regclass(format('pgo.%I', 'profiles_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NOT NULL THEN
		INSERT INTO pgo.profiles AS p (tag, labels, source, profile, input_bytes)
		VALUES (ingest_summary.tag, v_labels, ingest_summary.source, v_profile,
				octet_length(ingest_summary.profile))
		RETURNING p.id, p.received_at, p.samples, p.duration_seconds, p.pgo_usable, p.problems
		INTO id, received_at, samples, duration_seconds, pgo_usable, problems;
	ELSE
		-- Today's partition is missing: create it (the row would land in
		-- pgo.profiles_default otherwise), never failing the upload for it.
		BEGIN
			PERFORM pgo.maintain(lock_wait => '100ms');
		EXCEPTION WHEN OTHERS THEN
			RAISE NOTICE 'pgo.maintain() failed: %', SQLERRM;
		END;
		-- A session attaching today's partition while this row is routed to
		-- pgo.profiles_default makes the insert fail its partition check;
		-- the retry is routed to the new partition.
		LOOP
			BEGIN
				INSERT INTO pgo.profiles AS p (tag, labels, source, profile, input_bytes)
				VALUES (ingest_summary.tag, v_labels, ingest_summary.source, v_profile,
						octet_length(ingest_summary.profile))
				RETURNING p.id, p.received_at, p.samples, p.duration_seconds, p.pgo_usable, p.problems
				INTO id, received_at, samples, duration_seconds, pgo_usable, problems;
				EXIT;
			EXCEPTION WHEN check_violation THEN
				v_attempt := v_attempt + 1;
				IF v_attempt >= 3 THEN
					RAISE;
				END IF;
			END;
		END LOOP;
	END IF;

	IF ingest_summary.idempotency_key IS NOT NULL THEN
		UPDATE pgo.idempotency_keys k SET profile_id = ingest_summary.id
		WHERE k.tag = ingest_summary.tag AND k.key = ingest_summary.idempotency_key;
	END IF;
END
$$;
COMMENT ON FUNCTION pgo.ingest_summary(text, bytea, jsonb, text, text) IS 'pgo.ingest returning the stored row''s id, received_at, samples, duration_seconds, pgo_usable and problems';

-- OR REPLACE keeps the privileges granted on it
CREATE OR REPLACE FUNCTION pgo.ingest(tag text, profile bytea, labels jsonb DEFAULT '{}',
						   source text DEFAULT 'push', idempotency_key text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT s.id FROM pgo.ingest_summary(ingest.tag, ingest.profile, ingest.labels,
										ingest.source, ingest.idempotency_key) AS s;
END;

REVOKE EXECUTE ON FUNCTION pgo.ingest_summary(text, bytea, jsonb, text, text) FROM PUBLIC;
