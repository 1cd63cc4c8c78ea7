--
-- Pull mode: scheduled scrapes of /debug/pprof/profile (pprof-worker).
--
-- The catalog judges: it validates schedules (cron in C, pgo.cron_next),
-- computes every next run, hands due slots to workers under a lease and
-- records what happened. A worker only does the HTTP and calls
-- pgo.scrape_claim, pgo.ingest and pgo.scrape_finish. Any number of workers
-- share the rows: a slot is leased to one of them (FOR UPDATE SKIP LOCKED,
-- then a lease expiry), and the lease of a worker that died expires so
-- another takes the slot; pgo.ingest's idempotency key per (target, slot,
-- instance) makes the second run store nothing twice.
--
-- Slots: an interval schedule fires at fixed multiples of the interval
-- since the Unix epoch, shifted by a phase taken from a hash of the target
-- (tag and URL), so targets on one schedule spread over the interval as
-- Prometheus spreads them; a cron schedule fires at its minutes plus the
-- same hash modulo 60 seconds. Slots missed while no worker ran are not
-- caught up: the next run is the first slot after the last one ended, and
-- skipped_slots counts what was skipped.
--

CREATE FUNCTION pgo.cron_next(expr text, after timestamptz) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'pgo_cron_next'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgo.cron_next(text, timestamptz) IS 'the first minute after `after` matched by a 5-field cron expression (UTC); raises invalid_parameter_value on an invalid expression';

CREATE FUNCTION pgo.schedule_is_cron(schedule text) RETURNS boolean
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT btrim(schedule) LIKE '@%'
		   OR cardinality(regexp_split_to_array(btrim(schedule), '\s+')) = 5;
END;
COMMENT ON FUNCTION pgo.schedule_is_cron(text) IS 'true if a schedule is read as cron (5 fields or an @macro), false if as an interval';

CREATE FUNCTION pgo.schedule_interval(schedule text) RETURNS interval
	LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v interval;
BEGIN
	BEGIN
		v := schedule::interval;
	EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
		v := NULL;
	END;
	IF v IS NULL OR date_part('month', v) <> 0 OR date_part('year', v) <> 0
	   OR v < interval '1 second' OR v > interval '366 days' THEN
		RAISE EXCEPTION 'invalid schedule %', quote_literal(schedule)
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A schedule is an interval of 1 second to 366 days without months or years, '
						   'such as ''10 minutes'', or a 5-field cron expression such as ''*/10 * * * *'' (UTC).';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION pgo.schedule_interval(text) IS 'the interval of an interval schedule; raises invalid_parameter_value unless it is 1 second to 366 days without months';

CREATE FUNCTION pgo.schedule_next(schedule text, after timestamptz, phase_key text DEFAULT '')
	RETURNS timestamptz
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	-- 0 .. 2^32-1, the same for the same key everywhere
	v_phase bigint := ('x' || substr(md5(COALESCE(phase_key, '')), 1, 8))::bit(32)::bigint;
	v_len bigint;
	v_off bigint;
	v_after bigint;
BEGIN
	IF schedule IS NULL OR after IS NULL THEN
		RETURN NULL;
	END IF;
	IF pgo.schedule_is_cron(schedule) THEN
		v_off := v_phase % 60;
		RETURN pgo.cron_next(schedule, after - v_off * interval '1 second') + v_off * interval '1 second';
	END IF;
	-- milliseconds since the epoch: exact in bigint, so slots never drift
	v_len := (extract(epoch FROM pgo.schedule_interval(schedule)) * 1000)::bigint;
	v_off := v_phase % v_len;
	v_after := floor(extract(epoch FROM after) * 1000)::bigint;
	RETURN timestamptz 'epoch' + (v_off + v_len * (div(v_after - v_off, v_len) + 1)) * interval '1 millisecond';
END
$$;
COMMENT ON FUNCTION pgo.schedule_next(text, timestamptz, text) IS 'the first slot of a schedule (interval or 5-field cron, UTC) strictly after `after`, shifted by a phase hashed from phase_key';

-- The checks of a target's URL, labels and timeout, each failing with a
-- message that says what is expected (a CHECK constraint calls it).
CREATE FUNCTION pgo.check_scrape_target(url text, labels jsonb, timeout interval)
	RETURNS boolean
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF url IS NULL OR length(url) > 2048 OR url !~* '^https?://[^/?#[:space:]]+[^[:space:]]*$' THEN
		RAISE EXCEPTION 'invalid scrape URL %', COALESCE(quote_literal(left(url, 100)), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The URL is the full profile URL, http:// or https://, at most 2048 characters without spaces, '
						   'e.g. ''http://api:6060/debug/pprof/profile?seconds=30''.';
	END IF;
	IF labels IS NULL OR jsonb_typeof(labels) <> 'object' THEN
		RAISE EXCEPTION 'scrape labels must be a JSON object, not %', COALESCE(jsonb_typeof(labels), 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF timeout IS NULL OR timeout < interval '1 second' OR timeout > interval '1 hour' THEN
		RAISE EXCEPTION 'invalid scrape timeout %', COALESCE(timeout::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The timeout is the grace beyond the profile''s ?seconds=, 1 second to 1 hour.';
	END IF;
	RETURN true;
END
$$;
COMMENT ON FUNCTION pgo.check_scrape_target(text, jsonb, interval) IS 'raises invalid_parameter_value unless a scrape target''s URL, labels and timeout are valid; true otherwise';

CREATE TABLE pgo.scrape_targets (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tag text NOT NULL,
	url text NOT NULL,
	schedule text NOT NULL,
	labels jsonb NOT NULL DEFAULT '{}',
	-- the grace beyond the profile's ?seconds=: connect timeout, and added
	-- to the profile's duration for the whole request
	timeout interval NOT NULL DEFAULT '10 seconds',
	enabled boolean NOT NULL DEFAULT true,
	-- status, kept by the workers
	next_run_at timestamptz,
	last_run_at timestamptz,
	last_success_at timestamptz,
	last_status text,
	last_error text,
	consecutive_failures integer NOT NULL DEFAULT 0,
	skipped_slots bigint NOT NULL DEFAULT 0,
	-- the slot being worked on (next_run_at differs while retrying it), the
	-- failed attempts at it, and the lease of the worker running it
	slot_at timestamptz,
	attempt integer NOT NULL DEFAULT 0,
	lease_token uuid,
	leased_by text,
	lease_until timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT scrape_targets_tag_url_key UNIQUE (tag, url),
	CONSTRAINT scrape_targets_check CHECK (pgo.check_scrape_target(url, labels, timeout)),
	CONSTRAINT scrape_targets_schedule_check
		CHECK (pgo.schedule_next(schedule, timestamptz '2000-01-01 00:00+00') IS NOT NULL),
	CONSTRAINT scrape_targets_last_status_check
		CHECK (last_status IN ('ok', 'partial', 'transient', 'permanent'))
);
CREATE INDEX scrape_targets_due ON pgo.scrape_targets (next_run_at) WHERE enabled;
-- configuration people wrote: pg_dump keeps it
SELECT pg_catalog.pg_extension_config_dump('pgo.scrape_targets', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.scrape_targets_id_seq', '');
COMMENT ON TABLE pgo.scrape_targets IS 'profile URLs pprof-worker scrapes on a schedule; status columns kept by the workers';

-- The phase of a target: its tag and URL, so re-creating it keeps the phase.
CREATE FUNCTION pgo.scrape_phase_key(tag text, url text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN tag || ' ' || url;
COMMENT ON FUNCTION pgo.scrape_phase_key(text, text) IS 'the key whose hash places a target''s slots within its schedule';

-- The tag must be a profile tag (as pgo.ingest checks it), and a change of
-- schedule, URL or tag, or enabling a target, starts its slots afresh. A
-- person setting next_run_at (to scrape now) makes that time a slot of its
-- own, so its rows are not taken for the next regular slot's.
CREATE FUNCTION pgo.scrape_targets_schedule() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	IF TG_OP = 'INSERT' OR NEW.tag IS DISTINCT FROM OLD.tag THEN
		PERFORM pgo.check_tag(NEW.tag);
	END IF;
	IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule
	   OR NEW.url IS DISTINCT FROM OLD.url OR NEW.tag IS DISTINCT FROM OLD.tag
	   OR (NEW.enabled AND NOT OLD.enabled) THEN
		NEW.slot_at := pgo.schedule_next(NEW.schedule, now(), pgo.scrape_phase_key(NEW.tag, NEW.url));
		NEW.next_run_at := NEW.slot_at;
		NEW.attempt := 0;
	ELSIF NEW.next_run_at IS DISTINCT FROM OLD.next_run_at
		  AND NEW.slot_at IS NOT DISTINCT FROM OLD.slot_at
		  AND NEW.attempt IS NOT DISTINCT FROM OLD.attempt THEN
		NEW.slot_at := NEW.next_run_at;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgo.scrape_targets_schedule() IS 'trigger: checks the tag, places the first slot of a new or changed target';
CREATE TRIGGER scrape_targets_schedule BEFORE INSERT OR UPDATE ON pgo.scrape_targets
	FOR EACH ROW EXECUTE FUNCTION pgo.scrape_targets_schedule();

-- The whole request's timeout: the profile's ?seconds= (Go's default 30
-- when absent) plus the target's grace.
CREATE FUNCTION pgo.scrape_timeout(url text, timeout interval) RETURNS interval
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN COALESCE(substring(url FROM '[?&]seconds=([0-9]{1,5})(?:[&#]|$)')::integer, 30)
		   * interval '1 second' + timeout;
COMMENT ON FUNCTION pgo.scrape_timeout(text, interval) IS 'the time a scrape of url may take: its ?seconds= (default 30) plus the grace';

-- The lease outlasts the request by 10 s, for storing and recording: a
-- worker killed mid-scrape delays its slot by at most the scrape's timeout
-- plus 10 s. A worker slower than that only repeats work: the idempotency
-- key stores a slot once, and the late finish is refused.
CREATE FUNCTION pgo.scrape_claim(worker text)
	RETURNS TABLE (id bigint, tag text, url text, labels jsonb, slot bigint,
				   connect_timeout_ms integer, timeout_ms integer, lease_token uuid,
				   attempt integer)
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	WITH due AS (
		SELECT d.id FROM pgo.scrape_targets d
		WHERE d.enabled AND d.next_run_at <= now()
			  AND (d.lease_until IS NULL OR d.lease_until < now())
		ORDER BY d.next_run_at
		LIMIT 1
		FOR UPDATE SKIP LOCKED
	)
	UPDATE pgo.scrape_targets t
	SET lease_token = gen_random_uuid(), leased_by = scrape_claim.worker,
		lease_until = now() + pgo.scrape_timeout(t.url, t.timeout) + interval '10 seconds'
	FROM due
	WHERE t.id = due.id
	RETURNING t.id, t.tag, t.url, t.labels,
			  (extract(epoch FROM t.slot_at) * 1000)::bigint,
			  (extract(epoch FROM t.timeout) * 1000)::integer,
			  (extract(epoch FROM pgo.scrape_timeout(t.url, t.timeout)) * 1000)::integer,
			  t.lease_token, t.attempt;
END;
COMMENT ON FUNCTION pgo.scrape_claim(text) IS 'for pprof-worker: leases the most overdue due scrape slot to a worker; zero rows if none is due';

CREATE FUNCTION pgo.scrape_finish(target bigint, lease uuid, result text,
								  error text DEFAULT NULL, retry_after integer DEFAULT NULL)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	t pgo.scrape_targets;
	v_next timestamptz;
	v_skipped bigint := 0;
	v_slot timestamptz;
	v_backoff interval;
BEGIN
	IF result IS NULL OR result NOT IN ('ok', 'partial', 'transient', 'permanent') THEN
		RAISE EXCEPTION 'invalid scrape result: %', COALESCE(quote_literal(result), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The result is ok, partial, transient or permanent.';
	END IF;
	SELECT * INTO t FROM pgo.scrape_targets s
	WHERE s.id = scrape_finish.target AND s.lease_token = scrape_finish.lease
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN false;			-- the lease expired and another worker has the slot
	END IF;

	v_next := pgo.schedule_next(t.schedule, now(), pgo.scrape_phase_key(t.tag, t.url));
	-- slots strictly between this one and the next (bounded count for cron)
	v_slot := pgo.schedule_next(t.schedule, t.slot_at, pgo.scrape_phase_key(t.tag, t.url));
	WHILE v_slot < v_next AND v_skipped < 10000 LOOP
		v_skipped := v_skipped + 1;
		IF NOT pgo.schedule_is_cron(t.schedule) THEN
			v_skipped := round(extract(epoch FROM v_next - t.slot_at)
							   / extract(epoch FROM pgo.schedule_interval(t.schedule)))::bigint - 1;
			EXIT;
		END IF;
		v_slot := pgo.schedule_next(t.schedule, v_slot, pgo.scrape_phase_key(t.tag, t.url));
	END LOOP;

	IF result = 'transient' THEN
		-- capped exponential backoff within the slot: 1 s, 2 s, 4 s ... 5 min,
		-- longer if the target asked so (Retry-After, at most an hour)
		v_backoff := least(interval '1 second' * power(2, least(t.attempt, 16)), interval '5 minutes');
		IF retry_after IS NOT NULL THEN
			v_backoff := greatest(v_backoff, least(retry_after, 3600) * interval '1 second');
		END IF;
		IF now() + v_backoff < v_next THEN
			UPDATE pgo.scrape_targets s
			SET next_run_at = now() + v_backoff, attempt = t.attempt + 1,
				last_run_at = now(), last_status = result, last_error = left(error, 2000),
				consecutive_failures = t.consecutive_failures + 1,
				lease_token = NULL, leased_by = NULL, lease_until = NULL
			WHERE s.id = t.id;
			RETURN true;
		END IF;
		-- the wait reaches the next slot: that slot it is, after Retry-After
		IF retry_after IS NOT NULL AND now() + least(retry_after, 3600) * interval '1 second' > v_next THEN
			v_next := pgo.schedule_next(t.schedule, now() + least(retry_after, 3600) * interval '1 second',
										pgo.scrape_phase_key(t.tag, t.url));
		END IF;
	END IF;

	UPDATE pgo.scrape_targets s
	SET next_run_at = v_next, slot_at = v_next, attempt = 0,
		skipped_slots = t.skipped_slots + v_skipped,
		last_run_at = now(), last_status = result,
		last_error = CASE WHEN result = 'ok' THEN NULL ELSE left(error, 2000) END,
		last_success_at = CASE WHEN result IN ('ok', 'partial') THEN now() ELSE t.last_success_at END,
		consecutive_failures = CASE WHEN result IN ('ok', 'partial') THEN 0
								ELSE t.consecutive_failures + 1 END,
		lease_token = NULL, leased_by = NULL, lease_until = NULL
	WHERE s.id = t.id;
	RETURN true;
END
$$;
COMMENT ON FUNCTION pgo.scrape_finish(bigint, uuid, text, text, integer) IS 'for pprof-worker: records a scrape''s outcome and schedules the next run (retry with backoff or next slot); false if the lease was lost';

CREATE FUNCTION pgo.scrape_release(target bigint, lease uuid) RETURNS boolean
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	WITH r AS (
		UPDATE pgo.scrape_targets t
		SET lease_token = NULL, leased_by = NULL, lease_until = NULL
		WHERE t.id = scrape_release.target AND t.lease_token = scrape_release.lease
		RETURNING 1
	)
	SELECT count(*) > 0 FROM r;
END;
COMMENT ON FUNCTION pgo.scrape_release(bigint, uuid) IS 'for pprof-worker: gives a leased slot back unrun (shutdown), so another worker takes it at once';

CREATE FUNCTION pgo.scrape_lag() RETURNS float8
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT COALESCE(extract(epoch FROM now() - min(t.next_run_at))::float8, 0)
	FROM pgo.scrape_targets t
	WHERE t.enabled AND t.next_run_at <= now()
		  AND (t.lease_until IS NULL OR t.lease_until < now());
END;
COMMENT ON FUNCTION pgo.scrape_lag() IS 'seconds the most overdue unclaimed scrape has waited (0: none waits); pprof-worker''s lag gauge';

CREATE VIEW pgo.scrape_status AS
SELECT t.id, t.tag, t.url, t.schedule, t.enabled, t.last_status, t.last_error,
	   t.consecutive_failures, t.last_run_at, t.last_success_at, t.next_run_at,
	   CASE WHEN t.lease_until >= now() THEN t.leased_by END AS running_on,
	   CASE WHEN t.enabled AND t.next_run_at < now() AND (t.lease_until IS NULL OR t.lease_until < now())
			THEN now() - t.next_run_at END AS overdue,
	   t.attempt AS retries_in_slot, t.skipped_slots, t.labels
FROM pgo.scrape_targets t
ORDER BY t.tag, t.url;
COMMENT ON VIEW pgo.scrape_status IS 'one line per scrape target: its last outcome and why, what runs where, what is overdue';

REVOKE EXECUTE ON FUNCTION
	pgo.scrape_claim(text),
	pgo.scrape_finish(bigint, uuid, text, text, integer),
	pgo.scrape_release(bigint, uuid),
	pgo.scrape_lag()
FROM PUBLIC;
