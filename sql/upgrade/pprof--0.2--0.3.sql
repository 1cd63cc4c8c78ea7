-- pprof 0.2 -> 0.3: changes to objects that exist in 0.2. Objects new in 0.3
-- are not restated here: the build appends their source files (SQL_NEW_0_3
-- in the Makefile) to make sql/pprof--0.2--0.3.sql.
--
-- A changed object, or a new one that lives in the concern file of objects
-- of 0.2, is named by a line "-- @restate <source file> <object>": the
-- build copies its definition from sql/src/ (sql/restate.pl), with the
-- REVOKE that follows it there, so it is written once. regress/t/014_catalog_upgrade.pl checks that an upgraded
-- catalog and a fresh one agree.

--
-- One rule, one place: the label checks of ingest in their own function,
-- the insert with today's partition apart from the upload's logic.
--
-- @restate sql/src/42_checks.sql pgo.check_labels
-- @restate sql/src/50_ingest.sql pgo.insert_profile
-- @restate sql/src/50_ingest.sql pgo.store_profile
-- @restate sql/src/50_ingest.sql pgo.ingest_summary

--
-- One rule of a tag (pgo.is_valid_tag): 0.2's tag constraints accepted "."
-- and "..", which pgo.check_tag now rejects (no gateway URL can name them).
-- First of the changes to pgo.profiles: a catalog holding such rows fails
-- here, before the rewrite below, rolled back whole and still 0.2, with an
-- error that says what to do; the upgrade never deletes or renames rows.
--
-- @restate sql/src/40_catalog_tables.sql pgo.is_valid_tag
-- @restate sql/src/42_checks.sql pgo.check_tag
DO $$
BEGIN
	ALTER TABLE pgo.profiles DROP CONSTRAINT profiles_tag_check,
		ADD CONSTRAINT profiles_tag_check CHECK (pgo.is_valid_tag(tag));
	ALTER TABLE pgo.releases DROP CONSTRAINT releases_tag_check,
		ADD CONSTRAINT releases_tag_check CHECK (pgo.is_valid_tag(tag));
EXCEPTION WHEN check_violation THEN
	RAISE EXCEPTION 'cannot update pprof to 0.3: % rows of pgo.profiles and % of pgo.releases are tagged "." or ".."',
		(SELECT count(*) FROM pgo.profiles WHERE NOT pgo.is_valid_tag(tag)),
		(SELECT count(*) FROM pgo.releases WHERE NOT pgo.is_valid_tag(tag))
		USING ERRCODE = 'check_violation',
			  DETAIL = SQLERRM || '. A URL normalises "." and ".." away, so the gateway can serve no such tag, and 0.3''s tag constraints reject them, as pgo.ingest does.',
			  HINT = 'Delete those rows, then run ALTER EXTENSION pprof UPDATE again: DELETE FROM pgo.profiles WHERE tag IN (''.'', ''..''); '
					 'for releases, ALTER TABLE pgo.releases DISABLE TRIGGER releases_immutable first. '
					 'To keep profiles, insert them under another tag first: INSERT INTO pgo.profiles (tag, labels, source, received_at, profile) '
					 'SELECT ''new-tag'', labels, source, received_at, profile FROM pgo.profiles WHERE tag IN (''.'', ''..'').';
END
$$;

--
-- pgo.profiles keeps what pgo_merge reads of each profile, its projection,
-- which catalog merges read instead of the profile (pgo.merged_selection,
-- restated below). Adding the column computes it for every existing row;
-- before the selection functions are restated, as their row type has it.
--
-- @restate sql/src/30_merge.sql pprof_pgo_projection
ALTER TABLE pgo.profiles ADD COLUMN pgo_projection @extschema@.pprof NOT NULL
	GENERATED ALWAYS AS (@extschema@.pprof_pgo_projection(profile, 4)) STORED;
COMMENT ON COLUMN pgo.profiles.pgo_projection IS 'pprof_pgo_projection(profile, 4): what pgo_merge reads of the profile; catalog merges read it';
-- stored uncompressed (40_catalog_tables.sql); SET STORAGE reaches the
-- existing partitions, the default one included
ALTER TABLE pgo.profiles ALTER COLUMN pgo_projection SET STORAGE EXTERNAL;

--
-- Selection by build: pgo.selection, pgo.profile_for, pgo.selection_key
-- and pgo.publish take go_version and version, so their 0.2 signatures are
-- dropped (an added argument is another function to PostgreSQL). What was
-- granted on them is granted again on the new ones (kept in a setting of
-- this transaction meanwhile).
--
SELECT set_config('pprof_upgrade.grants',
				  COALESCE(string_agg(format('GRANT EXECUTE ON FUNCTION %s TO %I', m.new,
											 pg_get_userbyid(a.grantee)), ';'), ''),
				  true)
FROM (VALUES
		('pgo.profile_for(text, interval, integer, text, boolean, interval, integer)'::regprocedure,
		 'pgo.profile_for(text, interval, integer, text, boolean, interval, integer, text, text)'),
		('pgo.selection_key(text, interval, integer, text, boolean, interval, integer)'::regprocedure,
		 'pgo.selection_key(text, interval, integer, text, boolean, interval, integer, text, text)'),
		('pgo.publish(text, interval, integer, text, boolean, interval, integer)'::regprocedure,
		 'pgo.publish(text, interval, integer, text, boolean, interval, integer, text, text)'),
		('pgo.selection(text, interval, integer, text, interval, integer)'::regprocedure,
		 'pgo.selection(text, interval, integer, text, interval, integer, text, text)')) AS m(old, new)
	 JOIN pg_proc p ON p.oid = m.old
	 CROSS JOIN LATERAL aclexplode(p.proacl) a
WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner;

DROP FUNCTION pgo.profile_for(text, interval, integer, text, boolean, interval, integer);
DROP FUNCTION pgo.selection_key(text, interval, integer, text, boolean, interval, integer);
DROP FUNCTION pgo.publish(text, interval, integer, text, boolean, interval, integer);
DROP FUNCTION pgo.selection(text, interval, integer, text, interval, integer);

-- @restate sql/src/42_checks.sql pgo.check_build
-- @restate sql/src/45_selection.sql pgo.selection_candidates
-- @restate sql/src/45_selection.sql pgo.go_minor
-- @restate sql/src/45_selection.sql pgo.selection_go
-- @restate sql/src/45_selection.sql pgo.selection

--
-- pgo.profile_for and pgo.publish merge the selection through one function
-- (each wrote the mode filter and the normalize setting itself).
--
-- @restate sql/src/45_selection.sql pgo.merged_selection
-- @restate sql/src/45_selection.sql pgo.profile_for
-- @restate sql/src/45_selection.sql pgo.selection_key
-- @restate sql/src/58_releases.sql pgo.publish
-- @restate sql/src/58_releases.sql pgo.latest_release

DO $$
DECLARE
	g text;
BEGIN
	FOREACH g IN ARRAY string_to_array(current_setting('pprof_upgrade.grants'), ';') LOOP
		EXECUTE g;
	END LOOP;
END
$$;

--
-- pgo.apply_retention as its steps.
--
-- @restate sql/src/55_retention.sql pgo.retention_roll_up
-- @restate sql/src/55_retention.sql pgo.expired_partition
-- @restate sql/src/55_retention.sql pgo.retention_expired_partitions
-- @restate sql/src/55_retention.sql pgo.retention_expire_rows
-- @restate sql/src/55_retention.sql pgo.retention_drop_partitions
-- @restate sql/src/55_retention.sql pgo.apply_retention

-- pprof_top lists every function, as go tool pprof -top -nodefraction=0
COMMENT ON FUNCTION pprof_top(pprof, integer, text) IS 'the n functions go tool pprof -top -nodefraction=0 lists first, in its order (plain -top also leaves out those under 0.5% of the total)';

-- the compilers pprof_pgo_usable answers for (README: Go 1.24 to 1.27 read
-- profiles as 1.23 does)
COMMENT ON FUNCTION pprof_pgo_usable(pprof) IS 'true if go build -pgo (Go 1.21 to 1.27) would use the profile';
