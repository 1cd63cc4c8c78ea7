--
-- Partitions: one per UTC day, created ahead (pgo.maintain) and standalone
-- before they are attached, so ingest and readers never wait for them.
--
-- Locking (README "Operating the catalog"): ingest takes ROW EXCLUSIVE on
-- pgo.profiles and today's partition, readers ACCESS SHARE. Retention
-- deletes and rolls up rows under the same weak locks, in statements that
-- name the rows they decided on, so a row inserted later is never touched.
-- Only dropping a partition needs ACCESS EXCLUSIVE on pgo.profiles: it is
-- requested last, just before commit, with a short lock_timeout, so ingest
-- waits at most that long; if it cannot be had the rows are deleted instead.
--
CREATE FUNCTION pgo.partitions()
	RETURNS TABLE(partition regclass, from_time timestamptz, to_time timestamptz,
				  is_default boolean, total_bytes bigint)
	LANGUAGE sql STABLE ROWS 30
BEGIN ATOMIC
	SELECT c.oid::regclass, x.m[1]::timestamptz, x.m[2]::timestamptz,
		   y.bound = 'DEFAULT', pg_total_relation_size(c.oid)
	FROM pg_inherits i
		 JOIN pg_class c ON c.oid = i.inhrelid
		 CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) y
		 CROSS JOIN LATERAL (SELECT regexp_match(y.bound, 'FROM \(''([^'']*)''\) TO \(''([^'']*)''\)') AS m) x
	WHERE i.inhparent = 'pgo.profiles'::regclass
	ORDER BY 2 NULLS LAST;
END;
COMMENT ON FUNCTION pgo.partitions() IS 'the partitions of pgo.profiles with their time range and size';

CREATE FUNCTION pgo.create_partition(day date, lock_wait interval DEFAULT '1s') RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_lock_timeout text := current_setting('lock_timeout');
	v_name text;
	v_from text;
	v_to text;
	v_moved bigint;
BEGIN
	IF create_partition.day IS NULL THEN
		RAISE EXCEPTION 'day must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	v_name := 'profiles_' || to_char(create_partition.day, 'YYYYMMDD');
	IF to_regclass(format('pgo.%I', v_name)) IS NOT NULL THEN
		RETURN NULL;
	END IF;
	v_from := to_char(create_partition.day, 'YYYY-MM-DD') || ' 00:00:00+00';
	v_to := to_char(create_partition.day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';

	PERFORM set_config('lock_timeout',
					   COALESCE(extract(epoch FROM create_partition.lock_wait) * 1000, 0)::bigint::text, true);
	-- Created standalone, then attached: ATTACH PARTITION takes only SHARE
	-- UPDATE EXCLUSIVE on pgo.profiles, which ingest and readers do not
	-- conflict with (CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE).
	EXECUTE format('CREATE TABLE pgo.%I (LIKE pgo.profiles_default INCLUDING DEFAULTS INCLUDING GENERATED'
				   ' INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMPRESSION)',
				   v_name);
	-- no new row in the default partition until the attach commits
	LOCK TABLE pgo.profiles_default IN SHARE ROW EXCLUSIVE MODE;
	EXECUTE format($q$
		WITH moved AS (
			DELETE FROM pgo.profiles_default p
			WHERE p.received_at >= $1 AND p.received_at < $2
			RETURNING p.id, p.tag, p.labels, p.source, p.received_at, p.profile, p.input_bytes)
		INSERT INTO pgo.%I (id, tag, labels, source, received_at, profile, input_bytes)
		SELECT * FROM moved$q$, v_name)
		USING v_from::timestamptz, v_to::timestamptz;
	GET DIAGNOSTICS v_moved = ROW_COUNT;
	EXECUTE format('ALTER TABLE pgo.profiles ATTACH PARTITION pgo.%I FOR VALUES FROM (%L) TO (%L)',
				   v_name, v_from, v_to);
	PERFORM set_config('lock_timeout', v_lock_timeout, true);
	RETURN v_moved;
END
$$;
COMMENT ON FUNCTION pgo.create_partition(date, interval) IS 'creates the partition of one UTC day, moving its rows out of the default partition; returns the rows moved, NULL if it existed';

CREATE FUNCTION pgo.maintain(days_ahead integer DEFAULT 7, lock_wait interval DEFAULT '1s')
	RETURNS TABLE(partition_name text, moved_rows bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_today date := (now() AT TIME ZONE 'UTC')::date;
	v_day date;
	v_moved bigint;
BEGIN
	IF maintain.days_ahead IS NULL OR maintain.days_ahead NOT BETWEEN 0 AND 366 THEN
		RAISE EXCEPTION 'days_ahead must be between 0 and 366' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT pg_try_advisory_xact_lock(('pgo.profiles'::regclass::oid::bigint << 8) + 1) THEN
		RAISE NOTICE 'pgo.maintain() is already running in another session';
		RETURN;
	END IF;

	-- today and the days ahead, and every day with rows in the default partition
	FOR v_day IN
		SELECT d.day
		FROM (SELECT (p.received_at AT TIME ZONE 'UTC')::date AS day FROM pgo.profiles_default p
			  UNION
			  SELECT v_today + g FROM generate_series(0, maintain.days_ahead) AS g) d
		WHERE to_regclass(format('pgo.%I', 'profiles_' || to_char(d.day, 'YYYYMMDD'))) IS NULL
		ORDER BY d.day
	LOOP
		BEGIN
			v_moved := pgo.create_partition(v_day, maintain.lock_wait);
			IF v_moved IS NOT NULL THEN
				partition_name := 'pgo.profiles_' || to_char(v_day, 'YYYYMMDD');
				moved_rows := v_moved;
				RETURN NEXT;
			END IF;
		EXCEPTION WHEN lock_not_available OR invalid_object_definition THEN
			-- busy, or a partition of another name covers the day
			RAISE NOTICE 'partition of % not created: %', v_day, SQLERRM;
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pgo.maintain(integer, interval) IS 'creates the daily partitions of today and the next days_ahead days, and of every day with rows in the default partition';
