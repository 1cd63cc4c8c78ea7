--
-- Publications (sql/src/75_publish.sql): what a row accepts and refuses,
-- the lease protocol the workers use (claim, pin, describe, finish,
-- release), the hot call-edge change, the status view. The forges and the
-- worker: TAP tests 300_publish_git and 301_publish_forges.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set d :abs_srcdir '/data/'
SET max_parallel_workers_per_gather = 0;

CREATE FUNCTION try_pub(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f-]{27}', '<uuid>', 'g');
END
$$;

SELECT pgo.ingest('pub', pg_read_binary_file(:'d' || 'cpu_a1.pb.gz')) IS NOT NULL AS stored,
	   pgo.ingest('pub', pg_read_binary_file(:'d' || 'cpu_a2.pb.gz')) IS NOT NULL AS stored;

-- defaults
INSERT INTO pgo.publications (tag, forge, repository, credential, next_run_at)
VALUES ('pub', 'github', 'acme/api', 'PGO_GITHUB_TOKEN', now() - interval '1 minute');
SELECT tag, forge, repository, base_branch, path, branch, schedule, min_change, enabled,
	   last_status, consecutive_failures
FROM pgo.publications;

-- refused, each with its reason
SELECT q, try_pub(q) FROM unnest(ARRAY[
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('bad tag', 'github', 'a/b', 'T')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('t', 'bitbucket', 'a/b', 'T')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('t', 'github', 'a/b/c', 'T')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('t', 'gitea', 'a/b', 'T')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository) VALUES ('t', 'git', 'relative/path')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository) VALUES ('t', 'gitlab', 'a/b')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('t', 'github', 'a/b', 'ghp_abcdef0123456789')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('t', 'gitlab', 'a/b', 'glpat-abcdef')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('t', 'github', 'a/b', 'a token with spaces')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, schedule) VALUES ('t', 'github', 'a/b', 'T', 'often')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, schedule) VALUES ('t', 'github', 'a/b', 'T', '61 * * * *')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, path) VALUES ('t', 'github', 'a/b', 'T', '../default.pgo')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, path) VALUES ('t', 'github', 'a/b', 'T', '/default.pgo')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, branch) VALUES ('t', 'github', 'a/b', 'T', 'main')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, branch) VALUES ('t', 'github', 'a/b', 'T', 'pgo/../x')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, min_change) VALUES ('t', 'github', 'a/b', 'T', 1.5)$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, "window") VALUES ('t', 'github', 'a/b', 'T', '-1 day')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, github_app_id) VALUES ('t', 'gitlab', 'a/b', 'T', 1)$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential) VALUES ('pub', 'github', 'acme/api', 'OTHER')$$
]) AS q;

-- accepted forms
SELECT q, try_pub(q) FROM unnest(ARRAY[
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, path, next_run_at) VALUES ('t', 'gitlab', 'group/sub/project', 'T', 'cmd/api/default.pgo', 'infinity')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, next_run_at) VALUES ('t', 'gitea', 'https://codeberg.org/acme/api', 'T', 'infinity')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, credential, github_app_id, next_run_at) VALUES ('t', 'github', 'https://ghe.example.com/acme/api', '/run/secrets/app.pem', 42, 'infinity')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, next_run_at) VALUES ('t', 'git', 'git@example.com:acme/api.git', 'infinity')$$,
	$$INSERT INTO pgo.publications (tag, forge, repository, next_run_at, schedule) VALUES ('t', 'git', '/srv/git/api.git', 'infinity', '17 3 * * 1')$$
]) AS q;

-- the lease: one worker holds a due row, the other gets nothing
SELECT id AS pub_id, lease_id AS lease FROM pgo.publication_claim('worker-a') \gset
SELECT count(*) AS second_claim FROM pgo.publication_claim('worker-b');
SELECT running_on, status FROM pgo.publication_status WHERE id = :pub_id;

-- pin: the release of the row's selection
SELECT sha256 AS sha, profiles, length(profile) > 1000 AS has_bytes
FROM pgo.publication_pin(:pub_id, :'lease') \gset
SELECT :profiles AS profiles, :'has_bytes' AS has_bytes,
	   (SELECT count(*) FROM pgo.releases r WHERE r.tag = 'pub' AND r.sha256 = :'sha') AS releases;

-- describe: no file on the base branch, then the same file, then an older one
SELECT round(change::numeric, 3) AS change, publish, title,
	   body LIKE '%release: `' || :'sha' || '`%' AS names_release,
	   body LIKE '%merged from 2 profiles%' AS says_profiles,
	   body LIKE '%| `main.fib` |%' AS lists_top
FROM pgo.publication_description(:pub_id, :'lease', :'sha', NULL);
SELECT round(change::numeric, 3) AS change, publish
FROM pgo.publication_description(:pub_id, :'lease', :'sha', pgo.release('pub', :'sha'));
SELECT change > 0.01 AND change < 0.5 AS some_change, publish
FROM pgo.publication_description(:pub_id, :'lease', :'sha', pg_read_binary_file(:'d' || 'cpu_a1.pb.gz'));
SELECT round(pgo.publication_change(pgo.release('pub', :'sha'), '\x00'::bytea)::numeric, 3) AS vs_garbage,
	   pgo.publication_change(pgo.release('pub', :'sha'), pg_read_binary_file(:'d' || 'cpu_b1.pb.gz')) > 0.5 AS vs_other_program;
-- the change is pgo_drift, the compiler's view of two profiles
SELECT pgo.publication_change(pgo.release('pub', :'sha'), b) = pgo_drift(pgo.release('pub', :'sha')::pprof, b::pprof) AS is_pgo_drift
FROM (SELECT pg_read_binary_file(:'d' || 'cpu_a1.pb.gz') AS b) f;

-- another worker's lease: refused
SELECT replace(try_pub(format('SELECT pgo.publication_pin(%s, %L)', :pub_id, gen_random_uuid())),
			   'publication ' || :pub_id, 'publication <id>') AS pin_without_lease;
SELECT pgo.publication_finish(:pub_id, gen_random_uuid(), 'published') AS finish_without_lease;

-- finish: a transient failure backs off 30 s, a second one 1 min, the forge's Retry-After wins
SELECT pgo.publication_finish(:pub_id, :'lease', 'retrying', 'HTTP 502') - now() AS backoff;
SELECT status, error, consecutive_failures, running_on FROM pgo.publication_status WHERE id = :pub_id;
UPDATE pgo.publications SET next_run_at = now() - interval '1 second' WHERE id = :pub_id;
SELECT lease_id AS lease FROM pgo.publication_claim('worker-a') \gset
SELECT pgo.publication_finish(:pub_id, :'lease', 'retrying', 'HTTP 502') - now() AS backoff;
UPDATE pgo.publications SET next_run_at = now() - interval '1 second' WHERE id = :pub_id;
SELECT lease_id AS lease FROM pgo.publication_claim('worker-a') \gset
SELECT pgo.publication_finish(:pub_id, :'lease', 'retrying', 'rate limited', retry_after => '7 seconds') - now() AS retry_after;
-- a permanent failure waits for the schedule; success resets the count
UPDATE pgo.publications SET next_run_at = now() - interval '1 second' WHERE id = :pub_id;
SELECT lease_id AS lease FROM pgo.publication_claim('worker-a') \gset
-- (BETWEEN evaluates its left side twice: the call goes in a CTE)
WITH f AS MATERIALIZED (SELECT pgo.publication_finish(:pub_id, :'lease', 'failed', 'HTTP 401: Bad credentials') AS next)
SELECT next > now() AND next <= now() + interval '1 day' AS at_the_next_slot FROM f;
UPDATE pgo.publications SET next_run_at = now() - interval '1 second' WHERE id = :pub_id;
SELECT lease_id AS lease FROM pgo.publication_claim('worker-a') \gset
WITH f AS MATERIALIZED (SELECT pgo.publication_finish(:pub_id, :'lease', 'published', NULL, :'sha',
														'https://example.com/pr/1', 1) AS next)
SELECT next > now() AND next <= now() + interval '1 day' AS at_the_next_slot FROM f;
SELECT status, error, pull_request, sha256 = :'sha' AS sha, change_pct, consecutive_failures,
	   last_success_at IS NOT NULL AS succeeded, running_on
FROM pgo.publication_status WHERE id = :pub_id;
SELECT try_pub(format('SELECT pgo.publication_finish(%s, %L, %L)', :pub_id, gen_random_uuid(), 'done'));

-- release: a stopping worker gives the row back, claimable at once
UPDATE pgo.publications SET next_run_at = now() - interval '1 second' WHERE id = :pub_id;
SELECT lease_id AS lease FROM pgo.publication_claim('worker-a') \gset
SELECT pgo.publication_release(:pub_id, :'lease') AS released,
	   pgo.publication_release(:pub_id, :'lease') AS released_twice;
SELECT count(*) AS claimable_again FROM pgo.publication_claim('worker-b');

-- an expired lease is taken over
UPDATE pgo.publications SET lease_expires_at = now() - interval '1 second' WHERE id = :pub_id;
SELECT lease_owner FROM pgo.publication_claim('worker-c') JOIN pgo.publications USING (id);
SELECT pgo.publication_lag() = 0 AS nothing_waits;

-- a changed configuration runs at once
UPDATE pgo.publications SET lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
	next_run_at = now() + interval '1 day' WHERE id = :pub_id;
UPDATE pgo.publications SET path = 'cmd/api/default.pgo' WHERE id = :pub_id;
SELECT next_run_at <= now() AS due FROM pgo.publications WHERE id = :pub_id;

-- no secret in the database, and the worker's functions are not PUBLIC
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'pgo' AND p.proname LIKE 'publication\_%' AND p.prosecdef
ORDER BY 1;

DELETE FROM pgo.publications;
DROP FUNCTION try_pub(text);
