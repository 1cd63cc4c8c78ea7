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

-- The steps of pgo.apply_retention, in the order it runs them. They are
-- not meant to be called alone (apply_retention holds the lock that keeps
-- two runs apart, and step 4 must come last): EXECUTE is not granted.

-- 1. Rollups: the rows of one tag, mode, UTC day and sample types that are
-- older than rollup_after (and not expired) become one row.
CREATE FUNCTION pgo.retention_roll_up(as_of timestamptz) RETURNS jsonb
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_rolled jsonb := '{}';
	v_pol record;
	v_grp record;
BEGIN
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
			  AND p.received_at < retention_roll_up.as_of - v_pol.rollup_after
			  AND (v_pol.max_age IS NULL OR p.received_at >= retention_roll_up.as_of - v_pol.max_age)
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
	RETURN v_rolled;
END
$$;
COMMENT ON FUNCTION pgo.retention_roll_up(timestamptz) IS 'step 1 of pgo.apply_retention: merges old rows into one per (tag, mode, UTC day, sample types); returns {tag: rows merged}';
REVOKE EXECUTE ON FUNCTION pgo.retention_roll_up(timestamptz) FROM PUBLIC;

-- A partition step 2 found expired as a whole, with what it saw in it: the
-- last profile id when it looked (a row above it arrived since) and the
-- rows per tag.
CREATE TYPE pgo.expired_partition AS (
	partition regclass,
	from_time timestamptz,
	to_time timestamptz,
	last_id bigint,
	counts jsonb
);
COMMENT ON TYPE pgo.expired_partition IS 'a partition pgo.apply_retention will drop: time range, last profile id seen, rows per tag';

-- 2a. Expiry by partition: those in which every row is expired and none is
-- kept. The partitions older than the shortest max_age are examined each
-- run, through their indexes only.
CREATE FUNCTION pgo.retention_expired_partitions(as_of timestamptz)
	RETURNS SETOF pgo.expired_partition
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_min_age interval;
	v_part record;
	v_ok boolean;
	v_seq bigint;
	v_counts jsonb;
BEGIN
	SELECT min(r.max_age) INTO v_min_age FROM pgo.retention_policies r;
	IF v_min_age IS NULL THEN
		RETURN;
	END IF;
	FOR v_part IN
		SELECT x.partition, x.from_time, x.to_time
		FROM pgo.partitions() x
		WHERE NOT x.is_default AND x.to_time <= retention_expired_partitions.as_of - v_min_age
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
			SELECT COALESCE(bool_and(r.max_age IS NOT NULL
									 AND v_part.to_time <= retention_expired_partitions.as_of - r.max_age), true)
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
			-- leave the block by an error: that releases the lock (and
			-- restores lock_timeout)
			RAISE SQLSTATE 'PGOR0';
		EXCEPTION
			WHEN SQLSTATE 'PGOR0' THEN
				NULL;
			WHEN lock_not_available THEN
				v_ok := false;
		END;
		IF v_ok THEN
			RETURN NEXT ROW(v_part.partition, v_part.from_time, v_part.to_time, v_seq, v_counts)::pgo.expired_partition;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pgo.retention_expired_partitions(timestamptz) IS 'step 2a of pgo.apply_retention: the partitions whose rows are all expired and none kept';
REVOKE EXECUTE ON FUNCTION pgo.retention_expired_partitions(timestamptz) FROM PUBLIC;

-- 2b. Expiry by row, outside the partitions of 2a: rows older than max_age,
-- but the keep_min newest usable rows of each (tag, mode), decided and
-- deleted by one statement.
CREATE FUNCTION pgo.retention_expire_rows(as_of timestamptz, dropped regclass[]) RETURNS jsonb
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
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
		  AND p.received_at < retention_expire_rows.as_of - pol.max_age
		  AND p.tableoid <> ALL (retention_expire_rows.dropped::oid[])
		  AND NOT (p.pgo_usable AND EXISTS (
				SELECT 1 FROM bounds b
				WHERE b.tag = p.tag AND b.mode = COALESCE(p.labels ->> 'mode', '')
				  AND (b.received_at IS NULL OR (p.received_at, p.id) >= (b.received_at, b.id))))
		RETURNING p.tag, p.id, p.received_at),
	k AS (
		DELETE FROM pgo.idempotency_keys k USING d
		WHERE k.created_at = d.received_at AND k.profile_id = d.id)
	SELECT COALESCE(jsonb_object_agg(c.tag, c.n), '{}')
	FROM (SELECT d.tag, count(*) AS n FROM d GROUP BY d.tag) c;
END;
COMMENT ON FUNCTION pgo.retention_expire_rows(timestamptz, regclass[]) IS 'step 2b of pgo.apply_retention: deletes the expired rows outside the given partitions; returns {tag: rows deleted}';
REVOKE EXECUTE ON FUNCTION pgo.retention_expire_rows(timestamptz, regclass[]) FROM PUBLIC;

-- 4. Drop the partitions of 2a: the only step that blocks ingest, run last
-- so that the lock is held only until the commit that follows. A partition
-- that got rows since 2a is kept; if pgo.profiles stays busy, the rows 2a
-- saw are deleted instead.
CREATE FUNCTION pgo.retention_drop_partitions(expired pgo.expired_partition[]) RETURNS jsonb
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_lock_timeout text := current_setting('lock_timeout');
	v_deleted jsonb := '{}';
	v_counts jsonb;
	v_new boolean;
	v_part pgo.expired_partition;
BEGIN
	IF COALESCE(cardinality(retention_drop_partitions.expired), 0) = 0 THEN
		RETURN v_deleted;
	END IF;
	FOR attempt IN 1 .. 5 LOOP
		BEGIN
			PERFORM set_config('lock_timeout', '200ms', true);
			-- ONLY: the partitions are locked by DROP TABLE as needed;
			-- locking them all would also wait for autovacuum on each
			LOCK TABLE ONLY pgo.profiles IN ACCESS EXCLUSIVE MODE;
			FOREACH v_part IN ARRAY retention_drop_partitions.expired LOOP
				EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s p WHERE p.id > $1)', v_part.partition)
					USING v_part.last_id INTO v_new;
				IF v_new THEN
					RAISE NOTICE 'partition % not dropped: rows were added since retention examined it', v_part.partition;
					CONTINUE;
				END IF;
				DELETE FROM pgo.idempotency_keys k
				WHERE k.created_at >= v_part.from_time AND k.created_at < v_part.to_time;
				EXECUTE format('DROP TABLE %s', v_part.partition);
				v_deleted := pgo.sum_counts(v_deleted, v_part.counts);
			END LOOP;
			PERFORM set_config('lock_timeout', v_lock_timeout, true);
			RETURN v_deleted;
		EXCEPTION WHEN lock_not_available THEN
			PERFORM pg_sleep(0.1 * attempt);
		END;
	END LOOP;
	PERFORM set_config('lock_timeout', v_lock_timeout, true);

	-- pgo.profiles stayed busy: delete the rows seen instead
	RAISE NOTICE 'pgo.profiles is busy: deleting the rows of % instead of dropping them',
		(SELECT array_agg(e.partition) FROM unnest(retention_drop_partitions.expired) AS e);
	FOREACH v_part IN ARRAY retention_drop_partitions.expired LOOP
		EXECUTE format($q$
			WITH d AS (DELETE FROM %s p WHERE p.id <= $1 RETURNING p.tag, p.id, p.received_at),
			k AS (DELETE FROM pgo.idempotency_keys k USING d
				  WHERE k.created_at = d.received_at AND k.profile_id = d.id)
			SELECT COALESCE(jsonb_object_agg(c.tag, c.n), '{}')
			FROM (SELECT d.tag, count(*) AS n FROM d GROUP BY d.tag) c$q$, v_part.partition)
			USING v_part.last_id INTO v_counts;
		v_deleted := pgo.sum_counts(v_deleted, v_counts);
	END LOOP;
	RETURN v_deleted;
END
$$;
COMMENT ON FUNCTION pgo.retention_drop_partitions(pgo.expired_partition[]) IS 'step 4 of pgo.apply_retention: drops the partitions of step 2a (or deletes their rows if pgo.profiles stays busy); returns {tag: rows deleted}';
REVOKE EXECUTE ON FUNCTION pgo.retention_drop_partitions(pgo.expired_partition[]) FROM PUBLIC;

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
	v_rolled jsonb;
	v_deleted jsonb;
	v_expired pgo.expired_partition[];
BEGIN
	IF NOT pg_try_advisory_xact_lock(('pgo.profiles'::regclass::oid::bigint << 8) + 2) THEN
		RAISE NOTICE 'pgo.apply_retention() is already running in another session; nothing done';
		RETURN;
	END IF;

	-- 1. Rollups
	v_rolled := pgo.retention_roll_up(v_now);

	-- 2. Expiry: rows older than max_age, but the keep_min newest usable
	-- rows of each (tag, mode); whole partitions where that is every row.
	SELECT COALESCE(array_agg(e ORDER BY e.from_time), '{}') INTO v_expired
	FROM pgo.retention_expired_partitions(v_now) AS e;
	v_deleted := pgo.retention_expire_rows(v_now,
		(SELECT COALESCE(array_agg(e.partition), '{}') FROM unnest(v_expired) AS e));

	-- 3. Idempotency keys outlive their retries by idempotency_ttl.
	IF apply_retention.idempotency_ttl IS NOT NULL THEN
		DELETE FROM pgo.idempotency_keys k WHERE k.created_at < v_now - apply_retention.idempotency_ttl;
	END IF;

	-- 4. Drop the partitions of 2, last: the lock it takes blocks ingest
	-- until the commit that follows.
	v_deleted := pgo.sum_counts(v_deleted, pgo.retention_drop_partitions(v_expired));

	-- 5. Partitions ahead (and rows out of the default partition).
	PERFORM pgo.maintain();

	RETURN QUERY
	SELECT n.tag, COALESCE((v_deleted ->> n.tag)::bigint, 0), COALESCE((v_rolled ->> n.tag)::bigint, 0)
	FROM (SELECT jsonb_object_keys(v_deleted) UNION SELECT jsonb_object_keys(v_rolled)) AS n(tag)
	ORDER BY n.tag;
END
$$;
COMMENT ON FUNCTION pgo.apply_retention(interval) IS 'applies pgo.retention_policies (rollups, expiry) in one transaction, then pgo.maintain(); safe beside ingest';
