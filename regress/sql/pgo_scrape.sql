--
-- Pull mode in the catalog: cron expressions (pgo.cron_next), schedules
-- and their slots (pgo.schedule_next), pgo.scrape_targets' checks, and the
-- lease cycle pprof-worker drives (claim, finish, release). The worker
-- itself, against real services: TAP regress/t/30x_scrape_*.
--
SET TIME ZONE 'UTC';

-- SQLSTATE, message and detail of a statement's error, or 'ok'
CREATE FUNCTION try_scrape(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_detail text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || COALESCE(' / ' || NULLIF(v_detail, ''), '');
END
$$;

--
-- Cron: the next firing after a time (UTC, minute resolution, strictly after)
--
SELECT e, pgo.cron_next(e, '2026-03-14 15:09:26+00') AS next
FROM (VALUES ('* * * * *'), ('*/10 * * * *'), ('0 * * * *'), ('30 4 * * *'),
			 ('0 0 1 * *'), ('0 0 * * 0'), ('0 0 * * 7'), ('0 0 * * sun'),
			 ('15 9-17/4 * * mon-fri'), ('0 12 13 * fri'), ('0 0 29 feb *'),
			 ('5,35 */6 * jan,jul *'), ('10/20 * * * *'), ('@hourly'), ('@daily'),
			 ('@weekly'), ('@monthly'), ('@yearly'), ('  0   0  1  1  *  ')) AS t(e);
-- exactly on a firing minute: the next one
SELECT pgo.cron_next('*/10 * * * *', '2026-03-14 15:10:00+00');
-- Feb 29: the next leap year; day of month and day of week both restricted: either
SELECT pgo.cron_next('0 0 29 2 *', '2026-01-01'), pgo.cron_next('0 0 13 * 5', '2026-01-01');
-- the errors say which field and why
SELECT left(e, 24) AS e, try_scrape(format('SELECT pgo.cron_next(%L, now())', e))
FROM (VALUES ('*/61 * * * *'), ('60 * * * *'), ('* 24 * * *'), ('* * 0 * *'),
			 ('* * * 13 *'), ('* * * * 8'), ('5-1 * * * *'), ('* * * *'),
			 ('* * * * * *'), ('1,,2 * * * *'), ('a * * * *'), ('* * * foo *'),
			 ('*/0 * * * *'), ('1- * * * *'), ('0 0 30 2 *'), ('0 0 31 4,6,9,11 *'),
			 ('@often'), (''), (repeat('1,', 200) || '1 * * * *')) AS t(e);
SELECT pgo.cron_next('* * * * *', 'infinity'), pgo.cron_next(NULL, now());

--
-- Schedules: interval or cron; slots spread by a hash of the target
--
SELECT s, pgo.schedule_is_cron(s) FROM (VALUES ('10 minutes'), ('*/5 * * * *'), ('@hourly'),
	('1 hour 30 minutes'), ('1 day')) AS t(s);
-- an interval's slots are epoch-aligned multiples plus the phase
SELECT pgo.schedule_next('10 minutes', '2026-03-14 15:09:26+00', '') AS no_key,
	   pgo.schedule_next('10 minutes', '2026-03-14 15:09:26+00', 'api http://a/') AS api_a,
	   pgo.schedule_next('10 minutes', '2026-03-14 15:09:26+00', 'api http://b/') AS api_b,
	   pgo.schedule_next('*/10 * * * *', '2026-03-14 15:09:26+00', 'api http://a/') AS cron_a;
-- consecutive slots are exactly one interval apart, and strictly later
WITH RECURSIVE s(n, t) AS (
	SELECT 1, pgo.schedule_next('7 seconds', '2026-03-14 15:09:26+00', 'k')
	UNION ALL
	SELECT n + 1, pgo.schedule_next('7 seconds', t, 'k') FROM s WHERE n < 50
)
SELECT count(*) AS slots, min(d) AS min_gap, max(d) AS max_gap
FROM (SELECT t - lag(t) OVER (ORDER BY n) AS d FROM s) g WHERE d IS NOT NULL;
-- the phase spreads 500 targets over the interval (not all in one second)
SELECT count(DISTINCT date_trunc('second', pgo.schedule_next('1 minute', '2026-03-14 15:09:26+00', 't' || i))) > 40 AS spread
FROM generate_series(1, 500) i;
SELECT s, try_scrape(format('SELECT pgo.schedule_next(%L, now())', s))
FROM (VALUES ('ten minutes'), ('0 seconds'), ('500 milliseconds'), ('1 month'),
			 ('400 days'), ('-5 minutes'), ('1 2 3 4 5 6')) AS t(s);

--
-- The table: checks at INSERT with clear errors
--
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule) VALUES ('api', 'http://a:6060/debug/pprof/profile?seconds=30', 'every minute')$$);
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule) VALUES ('api', 'http://a:6060/debug/pprof/profile?seconds=30', '*/61 * * * *')$$);
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule) VALUES ('api', 'ftp://a/profile', '1 minute')$$);
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule) VALUES ('api', 'http://a/my profile', '1 minute')$$);
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule) VALUES ('bad tag!', 'http://a/p', '1 minute')$$);
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule, labels) VALUES ('api', 'http://a/p', '1 minute', '[]')$$);
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule, timeout) VALUES ('api', 'http://a/p', '1 minute', '0 s')$$);

INSERT INTO pgo.scrape_targets (tag, url, schedule, labels, timeout)
VALUES ('api', 'http://a:6060/debug/pprof/profile?seconds=5', '1 minute', '{"env": "prod"}', '3 seconds'),
	   ('api', 'http://b:6060/debug/pprof/profile', '*/10 * * * *', '{}', '10 seconds');
SELECT try_scrape($$INSERT INTO pgo.scrape_targets (tag, url, schedule) VALUES ('api', 'http://b:6060/debug/pprof/profile', '1 hour')$$);
-- the first slot is the next one of the schedule, in the future
SELECT tag, url, next_run_at > now() AS future, next_run_at = slot_at AS slot,
	   next_run_at <= now() + interval '10 minutes' AS within_schedule, last_status
FROM pgo.scrape_targets ORDER BY id;
-- timeouts: ?seconds= (default 30) plus the grace
SELECT pgo.scrape_timeout('http://a/p?seconds=5', '3 s'), pgo.scrape_timeout('http://a/p', '10 s'),
	   pgo.scrape_timeout('http://a/p?x=1&seconds=60#f', '1 s'), pgo.scrape_timeout('http://a/p?seconds=5x', '1 s');

--
-- The lease cycle
--
-- nothing due yet
SELECT count(*) FROM pgo.scrape_claim('w1');
SELECT pgo.scrape_lag();
-- a person asks for a run now: that time becomes a slot of its own
UPDATE pgo.scrape_targets SET next_run_at = now() - interval '5 seconds' WHERE url LIKE 'http://a:%';
SELECT slot_at = next_run_at AS own_slot FROM pgo.scrape_targets WHERE url LIKE 'http://a:%';
SELECT pgo.scrape_lag() >= 5 AS lagging;
CREATE TEMP TABLE c1 AS SELECT * FROM pgo.scrape_claim('w1');
SELECT tag, url, labels, connect_timeout_ms, timeout_ms, attempt,
	   slot = (SELECT (extract(epoch FROM slot_at) * 1000)::bigint FROM pgo.scrape_targets WHERE id = c1.id) AS slot_ms
FROM c1;
-- leased: nobody else gets it, the view says where it runs, no lag
SELECT count(*) FROM pgo.scrape_claim('w2');
SELECT running_on, overdue FROM pgo.scrape_status WHERE url LIKE 'http://a:%';
SELECT pgo.scrape_lag();
-- a wrong token changes nothing
SELECT pgo.scrape_finish(id, gen_random_uuid(), 'ok') FROM c1;
SELECT try_scrape(format('SELECT pgo.scrape_finish(%s, %L, %L)', id, lease_token, 'fine')) FROM c1;

-- transient: retried in the same slot after 1 s, then 2 s...
SELECT pgo.scrape_finish(id, lease_token, 'transient', 'a:6060: connection refused') FROM c1;
SELECT last_status, last_error, consecutive_failures, retries_in_slot,
	   next_run_at - last_run_at AS backoff, running_on
FROM pgo.scrape_status WHERE url LIKE 'http://a:%';
SELECT (extract(epoch FROM t.slot_at) * 1000)::bigint = c1.slot AS same_slot
FROM pgo.scrape_targets t JOIN c1 USING (id);
SELECT pg_sleep(1.1);
CREATE TEMP TABLE c2 AS SELECT * FROM pgo.scrape_claim('w2');
SELECT c2.attempt, c2.slot = c1.slot AS same_slot_key FROM c1, c2;
-- Retry-After stretches the backoff (here beyond the next slot: the next slot after it)
SELECT pgo.scrape_finish(id, lease_token, 'transient', 'HTTP 429 with Retry-After', 120) FROM c2;
SELECT last_status, consecutive_failures, retries_in_slot,
	   next_run_at >= last_run_at + interval '120 seconds' AS after_retry_after,
	   next_run_at <= last_run_at + interval '180 seconds' AS next_slot
FROM pgo.scrape_status WHERE url LIKE 'http://a:%';

-- permanent: no retry, the next regular slot
UPDATE pgo.scrape_targets SET next_run_at = now() - interval '1 second' WHERE url LIKE 'http://b:%';
CREATE TEMP TABLE c3 AS SELECT * FROM pgo.scrape_claim('w1');
SELECT url, timeout_ms FROM c3;
SELECT pgo.scrape_finish(id, lease_token, 'permanent', 'b:6060: HTTP 404 (no profile at this URL)') FROM c3;
SELECT last_status, last_error, consecutive_failures, retries_in_slot,
	   next_run_at = pgo.schedule_next(schedule, last_run_at, 'api ' || url) AS next_slot
FROM pgo.scrape_status WHERE url LIKE 'http://b:%';

-- ok: failures reset, last_success_at set, error cleared
UPDATE pgo.scrape_targets SET next_run_at = now() - interval '1 second' WHERE url LIKE 'http://a:%';
CREATE TEMP TABLE c4 AS SELECT * FROM pgo.scrape_claim('w1');
SELECT pgo.scrape_finish(id, lease_token, 'ok', 'ignored') FROM c4;
SELECT last_status, last_error, consecutive_failures, last_success_at = last_run_at AS success
FROM pgo.scrape_status WHERE url LIKE 'http://a:%';
-- finishing twice: the lease is gone
SELECT pgo.scrape_finish(id, lease_token, 'ok') FROM c4;

-- release (shutdown): due again at once, for anyone
UPDATE pgo.scrape_targets SET next_run_at = now() - interval '1 second' WHERE url LIKE 'http://a:%';
CREATE TEMP TABLE c5 AS SELECT * FROM pgo.scrape_claim('w1');
SELECT pgo.scrape_release(id, lease_token) FROM c5;
SELECT pgo.scrape_release(id, lease_token) FROM c5;
SELECT url, c.slot = c5.slot AS same_slot FROM pgo.scrape_claim('w2') c JOIN c5 USING (url);

-- an expired lease is taken over; the old holder's finish changes nothing
UPDATE pgo.scrape_targets SET lease_until = now() - interval '1 second' WHERE url LIKE 'http://a:%';
CREATE TEMP TABLE c6 AS SELECT * FROM pgo.scrape_claim('w3');
SELECT count(*) FROM c6;
SELECT pgo.scrape_finish(t.id, c5.lease_token, 'ok') FROM pgo.scrape_targets t JOIN c5 USING (id);
SELECT pgo.scrape_finish(id, lease_token, 'ok') FROM c6;

-- slots missed while no worker ran are counted, not caught up
UPDATE pgo.scrape_targets SET next_run_at = now() - interval '5 minutes 30 seconds' WHERE url LIKE 'http://a:%';
CREATE TEMP TABLE c7 AS SELECT * FROM pgo.scrape_claim('w1');
SELECT pgo.scrape_finish(id, lease_token, 'ok') FROM c7;
SELECT skipped_slots BETWEEN 4 AND 6 AS skipped, next_run_at > now() AS future
FROM pgo.scrape_status WHERE url LIKE 'http://a:%';

-- disabled targets are never claimed; enabling starts a fresh slot
UPDATE pgo.scrape_targets SET enabled = false, next_run_at = now() - interval '1 second';
SELECT count(*) FROM pgo.scrape_claim('w1');
UPDATE pgo.scrape_targets SET enabled = true WHERE url LIKE 'http://a:%';
SELECT next_run_at > now() AS future FROM pgo.scrape_targets WHERE url LIKE 'http://a:%';

-- the worker's functions are not for everyone
SELECT p.oid::regprocedure, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE p.proname IN ('scrape_claim', 'scrape_finish', 'scrape_release', 'scrape_lag')
ORDER BY 1;

DELETE FROM pgo.scrape_targets;
DROP FUNCTION try_scrape(text);
