--
-- Fleet catalog
--
-- Schema pgo (docs/DESIGN.md section 7): one row per upload in pgo.profiles,
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

-- The rule of a tag, in one place: the tag CHECK constraints of
-- pgo.profiles, pgo.releases and pgo.publications call it, and so does
-- pgo.check_tag, the entry points' check with its error, so a direct INSERT
-- gets the verdict pgo.ingest and the gateway give. "." and ".." are path
-- segments a URL normalises away: no URL of the gateway could name them.
-- BEGIN ATOMIC: the body is parsed here, once, so a constraint means the
-- same under any search_path (pg_restore's is empty); a one-expression SQL
-- function, the planner inlines it into the constraints.
CREATE FUNCTION pgo.is_valid_tag(tag text) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT tag ~ '^[A-Za-z0-9._-]{1,128}$' AND tag NOT IN ('.', '..');
END;
COMMENT ON FUNCTION pgo.is_valid_tag(text) IS 'true if tag is a valid profile tag: 1 to 128 of A-Z a-z 0-9 . _ -, other than "." and ".." (NULL for NULL)';

CREATE TABLE pgo.profiles (
	id bigint GENERATED ALWAYS AS IDENTITY,
	tag text NOT NULL
		CONSTRAINT profiles_tag_check CHECK (pgo.is_valid_tag(tag)),
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
		GENERATED ALWAYS AS (@extschema@.pprof_label_values(profile, 'mode')) STORED,
	-- what pgo_merge reads of profile, for pprof.pgo_frames up to its
	-- default, 4: pgo.merged_selection reads it instead of the profile
	pgo_projection @extschema@.pprof NOT NULL
		GENERATED ALWAYS AS (@extschema@.pprof_pgo_projection(profile, 4)) STORED
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
COMMENT ON COLUMN pgo.profiles.pgo_projection IS 'pprof_pgo_projection(profile, 4): what pgo_merge reads of the profile; catalog merges read it';

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
-- The projection is stored compact (varints, extension/pprof_pgo_compact.c),
-- which lz4 shrinks by only a third: uncompressed, every catalog merge
-- saves the decompression (BENCHMARKS.md, "Merge path").
ALTER TABLE pgo.profiles ALTER COLUMN pgo_projection SET STORAGE EXTERNAL;

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
	tag text NOT NULL CONSTRAINT releases_tag_check CHECK (pgo.is_valid_tag(tag)),
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
