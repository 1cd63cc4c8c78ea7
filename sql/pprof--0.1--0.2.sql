-- pprof 0.1 -> 0.2
\echo Use "ALTER EXTENSION pprof UPDATE TO '0.2'" to load this file. \quit

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
