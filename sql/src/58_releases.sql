--
-- Releases: a selection's merge pinned under its SHA-256, immutable.
--
CREATE FUNCTION pgo.publish(tag text, "window" interval DEFAULT '7 days',
							max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
							"normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
							top_by_cpu integer DEFAULT NULL, go_version text DEFAULT NULL,
							version text DEFAULT NULL)
	RETURNS pgo.releases
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	SET intervalstyle = iso_8601
	AS $$
DECLARE
	v_ids bigint[];
	v_bytes bytea;
	v_sha text;
	v_release pgo.releases;
BEGIN
	SELECT m.input_ids, m.profile INTO v_ids, v_bytes
	FROM pgo.merged_selection(publish.tag, publish."window", publish.max_profiles, publish.mode,
							  publish.normalize, publish.min_duration, publish.top_by_cpu,
							  publish.go_version, publish.version) AS m;
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
							   'pprof.pgo_denylist', current_setting('pprof.pgo_denylist'))
			|| jsonb_strip_nulls(jsonb_build_object('go_version', publish.go_version,
													'version', publish.version)))
	ON CONFLICT ON CONSTRAINT releases_pkey DO NOTHING
	RETURNING r.* INTO v_release;
	IF NOT FOUND THEN
		SELECT r.* INTO STRICT v_release
		FROM pgo.releases r WHERE r.tag = publish.tag AND r.sha256 = v_sha;
	END IF;
	RETURN v_release;
END
$$;
COMMENT ON FUNCTION pgo.publish(text, interval, integer, text, boolean, interval, integer, text, text) IS 'pins the current merge as an immutable release; the same bytes again return the existing release';
REVOKE EXECUTE ON FUNCTION pgo.publish(text, interval, integer, text, boolean, interval, integer, text, text) FROM PUBLIC;

CREATE FUNCTION pgo.release(tag text, sha256 text) RETURNS bytea
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT r.profile FROM pgo.releases r WHERE r.tag = release.tag AND r.sha256 = lower(release.sha256);
END;
COMMENT ON FUNCTION pgo.release(text, text) IS 'the bytes of a release, NULL if there is none';

-- The newest release of a tag: what the tag's page diffs against and
-- pgo.drift measures from. "Newest" is the latest pinned (created_at),
-- whether by pgo.publish or by a publication's run.
CREATE FUNCTION pgo.latest_release(tag text) RETURNS pgo.releases
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT r.tag, r.sha256, r.profile, r.input_ids, r.parameters, r.created_at
	FROM pgo.releases r WHERE r.tag = latest_release.tag
	ORDER BY r.created_at DESC, r.sha256 LIMIT 1;
END;
COMMENT ON FUNCTION pgo.latest_release(text) IS 'the tag''s newest release (created last), NULL if none';
