--
-- Drift: how far a tag's current selection has moved, for the compiler,
-- from the tag's newest release (pgo_drift of the two), and the health of
-- the tags the gateway exports on /metrics.
--

-- The current merge of a selection made with the release's pprof.pgo_frames,
-- so the two compare frame for frame (a release keeps the setting it was
-- merged with; the current one may differ). The SET clause scopes the
-- set_config to this call.
CREATE FUNCTION pgo.profile_like_release(release pgo.releases, "window" interval, max_profiles integer,
										 mode text, "normalize" boolean, min_duration interval,
										 top_by_cpu integer, go_version text, version text)
	RETURNS bytea
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pgo, pg_temp
	SET pprof.pgo_frames = 4
	AS $$
BEGIN
	IF release.parameters ? 'pprof.pgo_frames' THEN
		PERFORM set_config('pprof.pgo_frames', release.parameters ->> 'pprof.pgo_frames', true);
	END IF;
	RETURN pgo.profile_for(release.tag, profile_like_release."window", profile_like_release.max_profiles,
						   profile_like_release.mode, profile_like_release.normalize,
						   profile_like_release.min_duration, profile_like_release.top_by_cpu,
						   profile_like_release.go_version, profile_like_release.version);
END
$$;
COMMENT ON FUNCTION pgo.profile_like_release(pgo.releases, interval, integer, text, boolean, interval, integer, text, text) IS 'what pgo.profile_for merges now for the release''s tag, with the release''s pprof.pgo_frames';
REVOKE EXECUTE ON FUNCTION pgo.profile_like_release(pgo.releases, interval, integer, text, boolean, interval, integer, text, text) FROM PUBLIC;

-- pgo_drift of what GET /profile/<tag> serves (the same selection
-- arguments) against the tag's newest release (pgo.latest_release): 0 =
-- the compiler sees the same hot call sites with the same relative
-- weights, 1 = nothing in common. NULL when there is nothing to compare:
-- no release, or no usable profile in the selection.
CREATE FUNCTION pgo.drift(tag text, "window" interval DEFAULT '7 days',
						  max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
						  "normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
						  top_by_cpu integer DEFAULT NULL, go_version text DEFAULT NULL,
						  version text DEFAULT NULL)
	RETURNS float8
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	r pgo.releases;
	v_current bytea;
BEGIN
	PERFORM pgo.check_tag(drift.tag);
	r := pgo.latest_release(drift.tag);
	IF r.sha256 IS NULL THEN
		RETURN NULL;
	END IF;
	v_current := pgo.profile_like_release(r, drift."window", drift.max_profiles, drift.mode, drift.normalize,
										  drift.min_duration, drift.top_by_cpu, drift.go_version, drift.version);
	IF v_current IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN @extschema@.pgo_drift(v_current::@extschema@.pprof, r.profile::@extschema@.pprof);
END
$$;
COMMENT ON FUNCTION pgo.drift(text, interval, integer, text, boolean, interval, integer, text, text) IS 'pgo_drift of the current selection (pgo.profile_for, same arguments) against the tag''s newest release: 0 = same hot call sites and weights, 1 = nothing in common; NULL without a release or a usable profile';
REVOKE EXECUTE ON FUNCTION pgo.drift(text, interval, integer, text, boolean, interval, integer, text, text) FROM PUBLIC;

-- One row per tag, for an alert on a stale profile: the age of the newest
-- usable profile (whatever its age: a tag whose uploads stopped keeps
-- aging) and pgo.drift with the default selection. Bounded: the max_tags
-- tags with the most recent uploads, each costing what GET /profile/<tag>
-- costs on a cache miss when it has a release (one merge). The tags come
-- from pgo.tag_names (one index probe per tag), the newest rows of each
-- from its index, never a scan of the profiles.
CREATE FUNCTION pgo.tag_health(max_tags integer DEFAULT 50)
	RETURNS TABLE(tag text, newest_upload timestamptz, newest_usable timestamptz,
				  usable_age_seconds float8, drift float8)
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	IF max_tags IS NULL OR max_tags NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'max_tags must be 1 to 10000, not %', COALESCE(max_tags::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	WITH recent AS (
		SELECT t.tag,
			   (SELECT max(p.received_at) FROM pgo.profiles p WHERE p.tag = t.tag) AS newest_upload,
			   (SELECT max(p.received_at) FROM pgo.profiles p WHERE p.tag = t.tag AND p.pgo_usable) AS newest_usable
		FROM pgo.tag_names() AS t(tag)
		ORDER BY 2 DESC, 1
		LIMIT tag_health.max_tags)
	SELECT r.tag, r.newest_upload, r.newest_usable,
		   extract(epoch FROM now() - r.newest_usable)::float8,
		   pgo.drift(r.tag)
	FROM recent r
	ORDER BY r.tag;
END
$$;
COMMENT ON FUNCTION pgo.tag_health(integer) IS 'per tag (the max_tags with the newest uploads): newest upload, newest usable profile and its age in seconds, pgo.drift of the default selection; the gateway''s /metrics';
REVOKE EXECUTE ON FUNCTION pgo.tag_health(integer) FROM PUBLIC;
