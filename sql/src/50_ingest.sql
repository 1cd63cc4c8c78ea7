--
-- Ingest: validate and store one upload, idempotently per key.
--
-- pgo.ingest_summary answers with the stored row's summary. An uploader
-- wants to know at once what was stored (samples, duration, whether go
-- build can use it, and why not), and the gateway answers 201 with exactly
-- that. The summary comes from INSERT ... RETURNING of the generated
-- columns, so one autocommit statement does it all (0.1 took a second
-- query, and a SELECT privilege on pgo.profiles, inside an explicit
-- transaction: four round trips per upload). pgo.ingest returns the id.
--
-- The insert of pgo.store_profile, returning the row's summary from the
-- generated columns.
CREATE FUNCTION pgo.insert_profile(tag text, labels jsonb, source text, profile @extschema@.pprof,
								   input_bytes integer,
								   OUT id bigint, OUT received_at timestamptz, OUT samples bigint,
								   OUT duration_seconds float8, OUT pgo_usable boolean,
								   OUT problems text[])
	LANGUAGE sql VOLATILE
BEGIN ATOMIC
	INSERT INTO pgo.profiles AS p (tag, labels, source, profile, input_bytes)
	VALUES (insert_profile.tag, insert_profile.labels, insert_profile.source, insert_profile.profile,
			insert_profile.input_bytes)
	RETURNING p.id, p.received_at, p.samples, p.duration_seconds, p.pgo_usable, p.problems;
END;
COMMENT ON FUNCTION pgo.insert_profile(text, jsonb, text, pprof, integer) IS 'inserts one row of pgo.profiles and returns its summary (pgo.store_profile)';
REVOKE EXECUTE ON FUNCTION pgo.insert_profile(text, jsonb, text, pprof, integer) FROM PUBLIC;

-- Insert one row into today's partition and return its summary. The
-- partition may be missing (pgo.maintain not run yet): create it, never
-- failing the upload for it, since the row would land in
-- pgo.profiles_default otherwise.
CREATE FUNCTION pgo.store_profile(tag text, labels jsonb, source text, profile @extschema@.pprof,
								  input_bytes integer,
								  OUT id bigint, OUT received_at timestamptz, OUT samples bigint,
								  OUT duration_seconds float8, OUT pgo_usable boolean,
								  OUT problems text[])
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_attempt integer := 0;
BEGIN
	IF to_regclass(format('pgo.%I', 'profiles_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NOT NULL THEN
		SELECT * INTO id, received_at, samples, duration_seconds, pgo_usable, problems
		FROM pgo.insert_profile(store_profile.tag, store_profile.labels, store_profile.source,
								store_profile.profile, store_profile.input_bytes);
		RETURN;
	END IF;

	BEGIN
		PERFORM pgo.maintain(lock_wait => '100ms');
	EXCEPTION WHEN OTHERS THEN
		RAISE NOTICE 'pgo.maintain() failed: %', SQLERRM;
	END;
	-- A session attaching today's partition while this row is routed to
	-- pgo.profiles_default makes the insert fail its partition check; the
	-- retry is routed to the new partition. (Only on this path: the block
	-- costs a subtransaction per insert.)
	LOOP
		BEGIN
			SELECT * INTO id, received_at, samples, duration_seconds, pgo_usable, problems
			FROM pgo.insert_profile(store_profile.tag, store_profile.labels, store_profile.source,
								store_profile.profile, store_profile.input_bytes);
			RETURN;
		EXCEPTION WHEN check_violation THEN
			v_attempt := v_attempt + 1;
			IF v_attempt >= 3 THEN
				RAISE;
			END IF;
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pgo.store_profile(text, jsonb, text, pprof, integer) IS 'inserts one row of pgo.profiles (creating today''s partition if missing) and returns its summary; pgo.ingest_summary''s last step';
REVOKE EXECUTE ON FUNCTION pgo.store_profile(text, jsonb, text, pprof, integer) FROM PUBLIC;

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
	v_replay boolean := false;
BEGIN
	PERFORM pgo.check_tag(ingest_summary.tag);
	IF ingest_summary.profile IS NULL THEN
		RAISE EXCEPTION 'profile must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pgo.check_labels(v_labels);
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

	SELECT s.* INTO id, received_at, samples, duration_seconds, pgo_usable, problems
	FROM pgo.store_profile(ingest_summary.tag, v_labels, ingest_summary.source, v_profile,
						   octet_length(ingest_summary.profile)) AS s;
	IF ingest_summary.idempotency_key IS NOT NULL THEN
		UPDATE pgo.idempotency_keys k SET profile_id = ingest_summary.id
		WHERE k.tag = ingest_summary.tag AND k.key = ingest_summary.idempotency_key;
	END IF;
END
$$;
COMMENT ON FUNCTION pgo.ingest_summary(text, bytea, jsonb, text, text) IS 'pgo.ingest returning the stored row''s id, received_at, samples, duration_seconds, pgo_usable and problems';

CREATE FUNCTION pgo.ingest(tag text, profile bytea, labels jsonb DEFAULT '{}',
						   source text DEFAULT 'push', idempotency_key text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT s.id FROM pgo.ingest_summary(ingest.tag, ingest.profile, ingest.labels,
										ingest.source, ingest.idempotency_key) AS s;
END;
COMMENT ON FUNCTION pgo.ingest(text, bytea, jsonb, text, text) IS 'validates and stores one uploaded profile, returns its id (the first id again for a reused idempotency key)';
