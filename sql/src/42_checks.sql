--
-- Argument checks shared by the entry points.
--
CREATE FUNCTION pgo.check_tag(tag text) RETURNS void
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	-- the rule is pgo.is_valid_tag, which the tables' tag constraints call
	-- too: an entry point and a direct INSERT get one verdict
	IF tag IS NULL OR NOT pgo.is_valid_tag(tag) THEN
		RAISE EXCEPTION 'invalid profile tag: %', COALESCE(quote_literal(tag), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A tag is 1 to 128 characters among A-Z a-z 0-9 . _ -, other than "." and "..".';
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

-- The build a selection prefers: go_version is a Go minor release, as the
-- Go client's label "go" (runtime.Version(), e.g. go1.27.1) begins;
-- version is a value of the label "version" (at most 1024 characters, as
-- every label value).
CREATE FUNCTION pgo.check_build(go_version text, version text) RETURNS void
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	IF go_version !~ '^(go)?[0-9]{1,4}\.[0-9]{1,4}$' THEN
		RAISE EXCEPTION 'invalid go_version: %', quote_literal(left(go_version, 64))
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'go_version is a Go minor release such as 1.27 or go1.27.',
				  HINT = 'Profiles are selected by the minor release of the label "go" (go1.27.1 is 1.27).';
	END IF;
	IF length(version) NOT BETWEEN 1 AND 1024 THEN
		RAISE EXCEPTION 'version must be 1 to 1024 characters'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'version is a value of the label "version" of the profiles.';
	END IF;
END
$$;
COMMENT ON FUNCTION pgo.check_build(text, text) IS 'raises invalid_parameter_value unless go_version is a Go minor release (1.27, go1.27) and version a label value (NULL = any)';

CREATE FUNCTION pgo.check_labels(labels jsonb) RETURNS void
	LANGUAGE plpgsql IMMUTABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_bad text;
BEGIN
	IF jsonb_typeof(check_labels.labels) <> 'object' THEN
		RAISE EXCEPTION 'labels must be a JSON object, not %', jsonb_typeof(check_labels.labels)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT min(e.key) INTO v_bad FROM jsonb_each(check_labels.labels) e
	WHERE jsonb_typeof(e.value) <> 'string' OR length(e.key) NOT BETWEEN 1 AND 128
		  OR length(e.value #>> '{}') > 1024;
	IF v_bad IS NOT NULL OR (SELECT count(*) FROM jsonb_object_keys(check_labels.labels)) > 64 THEN
		RAISE EXCEPTION 'invalid label %', COALESCE(quote_literal(v_bad), 'set')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Labels are at most 64 string values of at most 1024 characters, keys of 1 to 128 characters.';
	END IF;
END
$$;
COMMENT ON FUNCTION pgo.check_labels(jsonb) IS 'raises invalid_parameter_value unless labels are an upload''s labels (an object of at most 64 strings)';
