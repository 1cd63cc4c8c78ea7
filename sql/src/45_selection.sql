--
-- Selection: which rows a tag's default.pgo merges, and a fingerprint of
-- them that needs no profile decoded.
--
-- pgo.selection is a plain SQL function so the planner inlines it into its
-- callers: EXPLAIN SELECT * FROM pgo.selection(...) shows the real plan
-- (index scan on (tag, received_at), partition pruning, LIMIT).
--
-- Its plan can be cached. The window bound is a COALESCE, so it is a plain
-- index condition with runtime partition pruning whatever the parameters
-- and a generic plan is as good as a custom one ("window IS NULL OR
-- received_at >= now() - window", as 0.1 wrote it, becomes an index bound
-- only in a custom plan: over a week of daily partitions, planning cost ~7
-- times the execution; pgo.selection_key ran at 2.6k calls/s on 2 cores,
-- 24k with a cached plan).
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
-- The rows a selection chooses among: the tag's usable rows in the window
-- of the mode and duration asked for (pgo.selection applies the build
-- preference and the limits).
CREATE FUNCTION pgo.selection_candidates(tag text, "window" interval, mode text, min_duration interval)
	RETURNS SETOF pgo.profiles
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT p.*
	FROM pgo.profiles p
	WHERE p.tag = selection_candidates.tag
	  AND p.pgo_usable
	  AND p.received_at >= COALESCE(now() - selection_candidates."window", '-infinity'::timestamptz)
	  AND p.received_at < statement_timestamp() + interval '1 day'
	  AND (selection_candidates.mode IS NULL
		   OR p.labels ->> 'mode' = selection_candidates.mode
		   OR (p.labels ->> 'mode' IS NULL AND selection_candidates.mode = ANY (p.sample_modes)))
	  AND (selection_candidates.min_duration IS NULL
		   OR p.duration_seconds >= extract(epoch FROM selection_candidates.min_duration)::float8);
END;
COMMENT ON FUNCTION pgo.selection_candidates(text, interval, text, interval) IS 'the usable rows of the tag in the window with the mode and minimum duration asked for: what pgo.selection chooses among';

-- The Go minor release of a label "go" (runtime.Version(): go1.27.1 and
-- go1.27rc1 are 1.27; a development toolchain's "devel ..." has none).
CREATE FUNCTION pgo.go_minor(go text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN substring(go FROM '^(?:go)?([0-9]+\.[0-9]+)');
COMMENT ON FUNCTION pgo.go_minor(text) IS 'the Go minor release (1.27) of a Go version (go1.27.1, go1.27, 1.27); NULL if it names none';

-- The build preference narrows the candidates: with go_version, to the rows
-- whose label "go" is of that Go minor, unless none is (pgo.selection_go);
-- then with version, to those of them labelled with that version, unless
-- none is. Each falls back instead of selecting nothing, so a build asking
-- for its own toolchain or version still gets a profile when none of it is
-- there yet. The NOT EXISTS are uncorrelated subplans, run only when a
-- preference is given (the OR stops at "IS NULL" first).
CREATE FUNCTION pgo.selection_go(tag text, "window" interval, mode text, min_duration interval,
								 go_version text)
	RETURNS SETOF pgo.profiles
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT p.*
	FROM pgo.selection_candidates(selection_go.tag, selection_go."window", selection_go.mode,
								  selection_go.min_duration) p
	WHERE selection_go.go_version IS NULL
	   OR pgo.go_minor(p.labels ->> 'go') = pgo.go_minor(selection_go.go_version)
	   OR NOT EXISTS (SELECT FROM pgo.selection_candidates(selection_go.tag, selection_go."window",
														   selection_go.mode, selection_go.min_duration) g
					  WHERE pgo.go_minor(g.labels ->> 'go') = pgo.go_minor(selection_go.go_version));
END;
COMMENT ON FUNCTION pgo.selection_go(text, interval, text, interval, text) IS 'pgo.selection_candidates narrowed to the rows built by the Go minor go_version when there are any';

CREATE FUNCTION pgo.selection(tag text, "window" interval DEFAULT '7 days',
							  max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
							  min_duration interval DEFAULT NULL, top_by_cpu integer DEFAULT NULL,
							  go_version text DEFAULT NULL, version text DEFAULT NULL)
	RETURNS SETOF pgo.profiles
	LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT s.id, s.tag, s.labels, s.source, s.received_at, s.profile, s.duration_seconds,
		   s.cpu_nanos, s.samples, s.pgo_usable, s.problems, s.build_id, s.input_bytes,
		   s.sample_types, s.sample_modes
	FROM (SELECT n.*,
				 row_number() OVER (ORDER BY n.cpu_nanos DESC NULLS LAST, n.received_at DESC, n.id DESC) AS cpu_rank
		  FROM (SELECT p.*
				FROM pgo.selection_go(selection.tag, selection."window", selection.mode,
									  selection.min_duration, selection.go_version) p
				WHERE selection.version IS NULL
				   OR p.labels ->> 'version' = selection.version
				   OR NOT EXISTS (SELECT FROM pgo.selection_go(selection.tag, selection."window", selection.mode,
															   selection.min_duration, selection.go_version) v
								  WHERE v.labels ->> 'version' = selection.version)
				ORDER BY p.received_at DESC, p.id DESC
				LIMIT selection.max_profiles) n) s
	WHERE selection.top_by_cpu IS NULL OR s.cpu_rank <= selection.top_by_cpu
	ORDER BY s.received_at DESC, s.id DESC;
END;
COMMENT ON FUNCTION pgo.selection(text, interval, integer, text, interval, integer, text, text) IS 'the rows pgo.profile_for merges: usable rows of the tag in the window, newest first; go_version and version narrow them to a build''s Go minor and version when any matches';

-- The merge of a selection, for pgo.profile_for and pgo.publish: each row
-- reduced to the requested mode when the mode is not its upload label, the
-- ids and the bytes from one statement, so the ids are exactly the rows
-- merged.
CREATE FUNCTION pgo.merged_selection(tag text, "window" interval, max_profiles integer, mode text,
									 "normalize" boolean, min_duration interval, top_by_cpu integer,
									 go_version text, version text,
									 OUT input_ids bigint[], OUT profile bytea)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pgo, pg_temp
	SET plan_cache_mode = force_custom_plan
	SET pprof.pgo_normalize = on
	AS $$
BEGIN
	PERFORM pgo.check_tag(merged_selection.tag);
	PERFORM pgo.check_selection(merged_selection."window", merged_selection.max_profiles,
								merged_selection.min_duration, merged_selection.top_by_cpu);
	PERFORM pgo.check_build(merged_selection.go_version, merged_selection.version);
	-- scoped to this call by the SET clause above
	PERFORM set_config('pprof.pgo_normalize',
					   CASE WHEN merged_selection.normalize IS FALSE THEN 'off' ELSE 'on' END, true);

	SELECT array_agg(s.id ORDER BY s.id),
		   @extschema@.pgo_merge(
			   CASE WHEN merged_selection.mode IS NOT NULL AND s.labels ->> 'mode' IS NULL
					THEN @extschema@.pprof_filter_label(s.profile, 'mode', merged_selection.mode)
					ELSE s.profile END)::bytea
	INTO merged_selection.input_ids, merged_selection.profile
	FROM pgo.selection(merged_selection.tag, merged_selection."window", merged_selection.max_profiles,
					   merged_selection.mode, merged_selection.min_duration,
					   merged_selection.top_by_cpu, merged_selection.go_version,
					   merged_selection.version) AS s;
END
$$;
COMMENT ON FUNCTION pgo.merged_selection(text, interval, integer, text, boolean, interval, integer, text, text) IS 'the ids and pgo_merge bytes of a selection (pgo.profile_for, pgo.publish); NULLs if nothing usable';
REVOKE EXECUTE ON FUNCTION pgo.merged_selection(text, interval, integer, text, boolean, interval, integer, text, text) FROM PUBLIC;

CREATE FUNCTION pgo.profile_for(tag text, "window" interval DEFAULT '7 days',
								max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
								"normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
								top_by_cpu integer DEFAULT NULL, go_version text DEFAULT NULL,
								version text DEFAULT NULL)
	RETURNS bytea
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT m.profile
	FROM pgo.merged_selection(profile_for.tag, profile_for."window", profile_for.max_profiles,
							  profile_for.mode, profile_for.normalize, profile_for.min_duration,
							  profile_for.top_by_cpu, profile_for.go_version, profile_for.version) AS m;
END;
COMMENT ON FUNCTION pgo.profile_for(text, interval, integer, text, boolean, interval, integer, text, text) IS 'the merged default.pgo (gzip pprof) of a tag''s newest usable rows (of the Go minor go_version and the version, preferred when there are any); NULL if none';
REVOKE EXECUTE ON FUNCTION pgo.profile_for(text, interval, integer, text, boolean, interval, integer, text, text) FROM PUBLIC;

CREATE FUNCTION pgo.selection_key(tag text, "window" interval DEFAULT '7 days',
								  max_profiles integer DEFAULT 100, mode text DEFAULT NULL,
								  "normalize" boolean DEFAULT true, min_duration interval DEFAULT NULL,
								  top_by_cpu integer DEFAULT NULL, go_version text DEFAULT NULL,
								  version text DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	-- the key the gateway checks on every GET: its selection plan is kept
	-- for the session instead of being made anew on every call
	SET plan_cache_mode = force_generic_plan
	AS $$
DECLARE
	ids text;
BEGIN
	PERFORM pgo.check_tag(selection_key.tag);
	PERFORM pgo.check_selection(selection_key."window", selection_key.max_profiles,
								selection_key.min_duration, selection_key.top_by_cpu);
	PERFORM pgo.check_build(selection_key.go_version, selection_key.version);

	SELECT string_agg(s.id::text, ',' ORDER BY s.id)
	INTO ids
	FROM pgo.selection(selection_key.tag, selection_key."window", selection_key.max_profiles,
					   selection_key.mode, selection_key.min_duration, selection_key.top_by_cpu,
					   selection_key.go_version, selection_key.version) AS s;
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
COMMENT ON FUNCTION pgo.selection_key(text, interval, integer, text, boolean, interval, integer, text, text) IS 'fingerprint of what pgo.profile_for would merge (no profile decoded); equal keys mean equal bytes; NULL if nothing usable';
REVOKE EXECUTE ON FUNCTION pgo.selection_key(text, interval, integer, text, boolean, interval, integer, text, text) FROM PUBLIC;
