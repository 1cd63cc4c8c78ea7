--
-- Retention: pgo.retention_policies applied by pgo.apply_retention (rollups,
-- expiry, idempotency keys, dropping whole partitions). Locking: see
-- sql/src/52_partitions.sql.
--
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
