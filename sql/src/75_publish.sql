--
-- Publications: a pinned release of a tag written into a git repository as
-- one file (default.pgo) on one branch, with one pull/merge request.
--
-- The catalog owns the configuration, the schedule, the leases and the
-- outcome; pprof-worker (worker/publish.c and the forge clients) does what
-- needs the network. A run:
--   1. pgo.publication_claim(worker) leases one due row;
--   2. pgo.publication_pin(id, lease) pins the release (pgo.publish);
--   3. the worker reads the file on the base branch: the same git blob hash
--      ends the run ('unchanged');
--   4. pgo.publication_description(id, lease, sha256, base file) measures how
--      much hot call-edge weight moved and writes the pull request's text;
--      below min_change ends the run ('below_min_change');
--   5. the worker force-updates the publication's branch with one commit
--      writing the file and opens the pull request, or updates the open one;
--   6. pgo.publication_finish(...) records the outcome and the next run.
-- No transaction is held across a network call; a worker killed mid-run
-- loses nothing: its lease expires and another worker claims the row.
--

CREATE TABLE pgo.publications (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tag text NOT NULL CONSTRAINT publications_tag_check CHECK (pgo.is_valid_tag(tag)),
	-- the selection of pgo.profile_for / pgo.publish
	"window" interval DEFAULT '7 days',
	max_profiles integer DEFAULT 100,
	mode text,
	"normalize" boolean NOT NULL DEFAULT true,
	min_duration interval,
	top_by_cpu integer,
	-- where the file goes
	forge text NOT NULL CONSTRAINT publications_forge_check CHECK (forge IN ('github', 'gitlab', 'gitea', 'git')),
	repository text NOT NULL,
	base_branch text NOT NULL DEFAULT 'main',
	path text NOT NULL DEFAULT 'default.pgo',
	branch text NOT NULL,
	schedule text NOT NULL DEFAULT '1 day',
	min_change float8 NOT NULL DEFAULT 0
		CONSTRAINT publications_min_change_check CHECK (min_change >= 0 AND min_change <= 1),
	credential text,
	github_app_id bigint CONSTRAINT publications_github_app_id_check CHECK (github_app_id > 0),
	enabled boolean NOT NULL DEFAULT true,
	-- kept by the workers
	next_run_at timestamptz NOT NULL DEFAULT now(),
	last_run_at timestamptz,
	last_success_at timestamptz,
	last_status text NOT NULL DEFAULT 'pending',
	last_error text,
	last_sha256 text,
	last_pull_request text,
	last_change float8,
	consecutive_failures integer NOT NULL DEFAULT 0,
	lease_id uuid,
	lease_owner text,
	lease_expires_at timestamptz,
	CONSTRAINT publications_one_branch UNIQUE (forge, repository, branch),
	CONSTRAINT publications_one_file UNIQUE (forge, repository, base_branch, path)
);
COMMENT ON TABLE pgo.publications IS 'a tag''s release published as a file on one branch of a git repository, with one pull/merge request; status kept by pprof-worker';
COMMENT ON COLUMN pgo.publications.forge IS 'github, gitlab, gitea (also Forgejo): REST API and a pull/merge request; git: a push to any git remote, no request';
COMMENT ON COLUMN pgo.publications.repository IS 'github/gitlab: owner/name (github.com, gitlab.com) or the repository''s https URL (any host); gitea: its https URL; git: any git remote URL or path';
COMMENT ON COLUMN pgo.publications.branch IS 'the one branch the worker force-updates (default pgo/<tag>)';
COMMENT ON COLUMN pgo.publications.schedule IS 'when to run: an interval (''1 day'') or a 5-field cron expression (UTC), as pgo.scrape_targets.schedule';
COMMENT ON COLUMN pgo.publications.min_change IS 'publish only when at least this share (0..1) of the hot call-edge weight moved against the file on the base branch';
COMMENT ON COLUMN pgo.publications.credential IS 'the NAME of an environment variable of the worker, or an absolute file path, holding the token (github_app_id set: the app''s PEM private key); never the secret itself';
COMMENT ON COLUMN pgo.publications.github_app_id IS 'GitHub App id: the worker signs a JWT with the key named by credential and uses an installation token';
COMMENT ON COLUMN pgo.publications.last_status IS 'pending, published, up_to_date, unchanged, below_min_change, no_profiles, retrying, failed (see README, Publishing)';
COMMENT ON COLUMN pgo.publications.last_pull_request IS 'URL of the open pull/merge request (git: the pushed commit)';
COMMENT ON COLUMN pgo.publications.last_change IS 'share of hot call-edge weight that moved against the base branch''s file at the last run (1 = no file there)';

SELECT pg_catalog.pg_extension_config_dump('pgo.publications', '');
SELECT pg_catalog.pg_extension_config_dump('pgo.publications_id_seq', '');

--
-- Checks and defaults of a row, with errors people can act on.
--
CREATE FUNCTION pgo.check_publication() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v_ref text;
BEGIN
	PERFORM pgo.check_tag(NEW.tag);
	PERFORM pgo.check_selection(NEW."window", NEW.max_profiles, NEW.min_duration, NEW.top_by_cpu);
	-- the scrape targets' rule: an interval or a 5-field cron expression
	PERFORM pgo.schedule_next(NEW.schedule, now());
	NEW.branch := COALESCE(NEW.branch, 'pgo/' || NEW.tag);
	IF NEW.branch = NEW.base_branch THEN
		RAISE EXCEPTION 'branch and base_branch are both "%"', NEW.branch
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The worker force-updates branch; it must not be the base branch.';
	END IF;
	FOREACH v_ref IN ARRAY ARRAY[NEW.branch, NEW.base_branch] LOOP
		IF v_ref !~ '^[A-Za-z0-9._/-]{1,200}$' OR v_ref ~ '(^[-/.]|//|\.\.|[/.]$|\.lock$)' THEN
			RAISE EXCEPTION 'invalid branch name: %', quote_literal(v_ref)
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'Branch names here are 1 to 200 of A-Z a-z 0-9 . _ / -, without "..", "//", a leading "-", "/" or "." or a trailing "/" or ".".';
		END IF;
	END LOOP;
	IF length(NEW.path) > 400 OR NEW.path !~ '^[A-Za-z0-9._/-]+$' OR NEW.path ~ '(^/|//|/$|(^|/)\.\.?(/|$))' THEN
		RAISE EXCEPTION 'invalid path: %', quote_literal(NEW.path)
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The path is relative to the repository root, e.g. cmd/api/default.pgo.';
	END IF;
	IF NEW.forge = 'git' THEN
		IF NEW.repository !~ '^(/|(https?|ssh|git|file)://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)' THEN
			RAISE EXCEPTION 'invalid git remote: %', quote_literal(NEW.repository)
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'A git remote is an absolute path or a URL (https://, ssh://, git://, file://, user@host:path).';
		END IF;
	ELSIF NEW.repository !~ '^(https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._-]+){2,}|[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+)$'
		  OR (NEW.forge IN ('github', 'gitea') AND NEW.repository !~ '^(https?://[^/]+)?/?[^/]+/[^/]+$')
		  OR (NEW.forge = 'gitea' AND NEW.repository !~ '^https?://') THEN
		RAISE EXCEPTION 'invalid % repository: %', NEW.forge, quote_literal(NEW.repository)
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = CASE NEW.forge
					  WHEN 'gitea' THEN 'A Gitea or Forgejo repository is its URL, e.g. https://codeberg.org/owner/name.'
					  WHEN 'github' THEN 'A GitHub repository is owner/name (github.com) or its URL on a GitHub Enterprise host.'
					  ELSE 'A GitLab project is group/name (gitlab.com, subgroups allowed) or its URL on another host.' END;
	END IF;
	IF NEW.credential IS NOT NULL
	   AND (length(NEW.credential) > 4096 OR NEW.credential !~ '^([A-Za-z_][A-Za-z0-9_]{0,127}|/[^[:space:]]+)$'
			OR NEW.credential ~ '^(ghp|gho|ghu|ghs|ghr|github_pat|glpat|glptt|gldt)[_-]') THEN
		RAISE EXCEPTION 'credential must name an environment variable or a file, not hold a secret'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The database never stores tokens: credential is the name of an environment variable of the worker or an absolute file path.',
				  HINT = 'Put the token in the worker''s environment, e.g. PGO_GITHUB_TOKEN, and set credential = ''PGO_GITHUB_TOKEN''.';
	END IF;
	IF NEW.forge NOT IN ('git') AND NEW.credential IS NULL THEN
		RAISE EXCEPTION 'a % publication needs a credential', NEW.forge
			USING ERRCODE = 'not_null_violation',
				  HINT = 'Set credential to the name of the worker''s environment variable holding the token.';
	END IF;
	IF NEW.github_app_id IS NOT NULL AND NEW.forge <> 'github' THEN
		RAISE EXCEPTION 'github_app_id is for forge github only'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- a changed configuration runs at once (unless next_run_at is set too)
	IF TG_OP = 'UPDATE' AND NEW.next_run_at IS NOT DISTINCT FROM OLD.next_run_at
	   AND (NEW.schedule, NEW.enabled, NEW.repository, NEW.branch, NEW.base_branch, NEW.path)
		   IS DISTINCT FROM (OLD.schedule, OLD.enabled, OLD.repository, OLD.branch, OLD.base_branch, OLD.path) THEN
		NEW.next_run_at := now();
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgo.check_publication() IS 'trigger: validates a publication (tag, selection, schedule, branch, path, repository, credential is a name) and fills branch';

CREATE TRIGGER publications_check
	BEFORE INSERT OR UPDATE OF tag, "window", max_profiles, min_duration, top_by_cpu, forge, repository,
		base_branch, path, branch, schedule, credential, github_app_id, enabled
	ON pgo.publications
	FOR EACH ROW EXECUTE FUNCTION pgo.check_publication();

--
-- The worker's side: claim, release, description, finish.
--
CREATE FUNCTION pgo.publication_claim(worker text, lease interval DEFAULT '10 minutes')
	RETURNS TABLE(id bigint, lease_id uuid, tag text, forge text, repository text, base_branch text,
				  path text, branch text, credential text, github_app_id bigint, min_change float8,
				  last_pull_request text)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF worker IS NULL OR length(worker) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'worker must be 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease IS NULL OR lease < interval '10 seconds' THEN
		RAISE EXCEPTION 'lease must be at least 10 seconds' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	UPDATE pgo.publications p
	SET lease_id = gen_random_uuid(), lease_owner = publication_claim.worker,
		lease_expires_at = now() + publication_claim.lease
	WHERE p.id = (SELECT q.id FROM pgo.publications q
				  WHERE q.enabled AND q.next_run_at <= now()
					AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
				  ORDER BY q.next_run_at, q.id
				  LIMIT 1
				  FOR UPDATE SKIP LOCKED)
	RETURNING p.id, p.lease_id, p.tag, p.forge, p.repository, p.base_branch, p.path, p.branch,
			  p.credential, p.github_app_id, p.min_change, p.last_pull_request;
END
$$;
COMMENT ON FUNCTION pgo.publication_claim(text, interval) IS 'leases one due publication to a worker (SKIP LOCKED; an expired lease is taken over); no row when nothing is due';

CREATE FUNCTION pgo.publication_release(id bigint, lease_id uuid) RETURNS boolean
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	WITH r AS (
		UPDATE pgo.publications p
		SET lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL
		WHERE p.id = publication_release.id AND p.lease_id = publication_release.lease_id
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM r);
END;
COMMENT ON FUNCTION pgo.publication_release(bigint, uuid) IS 'gives a leased publication back unrun (a stopping worker); false if the lease was no longer held';

-- Raise unless the lease is still held: a worker whose lease expired and
-- was taken over must change nothing.
CREATE FUNCTION pgo.publication_leased(id bigint, lease_id uuid) RETURNS pgo.publications
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v pgo.publications;
BEGIN
	SELECT p.* INTO v FROM pgo.publications p
	WHERE p.id = publication_leased.id AND p.lease_id = publication_leased.lease_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lease % of publication % is not held', publication_leased.lease_id, publication_leased.id
			USING ERRCODE = 'lock_not_available',
				  DETAIL = 'The lease expired and another worker may have claimed the publication, or it was deleted.';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION pgo.publication_leased(bigint, uuid) IS 'the publication row if the lease is still held, else raises lock_not_available';

CREATE FUNCTION pgo.publication_pin(id bigint, lease_id uuid,
										OUT sha256 text, OUT profile bytea, OUT profiles integer)
	RETURNS record
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v pgo.publications := pgo.publication_leased(publication_pin.id, publication_pin.lease_id);
	r pgo.releases;
BEGIN
	BEGIN
		r := pgo.publish(v.tag, v."window", v.max_profiles, v.mode, v."normalize", v.min_duration, v.top_by_cpu);
	EXCEPTION WHEN no_data_found THEN
		RETURN;					-- all NULL: nothing usable to publish
	END;
	sha256 := r.sha256;
	profile := r.profile;
	profiles := cardinality(r.input_ids);
END
$$;
COMMENT ON FUNCTION pgo.publication_pin(bigint, uuid) IS 'pins the release of a leased publication''s selection (pgo.publish); all NULL when nothing is usable';

--
-- What the compiler would see change: pgo_drift, the one measure of how
-- differently the compiler sees two profiles (its hot call sites, keyed as
-- it keys them by caller, callee and call-site offset, and their relative
-- weights). A base file that is missing, not a profile, one go build
-- rejects, or one without call edges changes everything: 1.
--
CREATE FUNCTION pgo.publication_change(new_profile bytea, old_profile bytea) RETURNS float8
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
BEGIN
	IF old_profile IS NULL OR NOT @extschema@.pprof_is_valid(old_profile)
	   OR NOT EXISTS (SELECT FROM @extschema@.pgo_edges(old_profile::@extschema@.pprof)) THEN
		RETURN 1.0;
	END IF;
	RETURN @extschema@.pgo_drift(new_profile::@extschema@.pprof, old_profile::@extschema@.pprof);
EXCEPTION WHEN data_exception THEN
	RETURN 1.0;					-- go build would reject the old file
END
$$;
COMMENT ON FUNCTION pgo.publication_change(bytea, bytea) IS 'pgo_drift (0..1) of the new profile against the old; 1 when the old one is missing, not a profile go build uses, or has no call edges';

CREATE FUNCTION pgo.publication_description(id bigint, lease_id uuid, sha256 text, base_profile bytea,
											OUT change float8, OUT publish boolean, OUT title text,
											OUT body text, OUT commit_message text)
	RETURNS record
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v pgo.publications := pgo.publication_leased(publication_description.id, publication_description.lease_id);
	r pgo.releases;
	v_oldest timestamptz;
	v_newest timestamptz;
	v_top text;
BEGIN
	SELECT rel.* INTO STRICT r FROM pgo.releases rel
	WHERE rel.tag = v.tag AND rel.sha256 = publication_description.sha256;
	change := pgo.publication_change(r.profile, base_profile);
	publish := change >= v.min_change AND change > 0;
	SELECT min(p.received_at), max(p.received_at) INTO v_oldest, v_newest
	FROM pgo.profiles p WHERE p.tag = v.tag AND p.id = ANY (r.input_ids);
	SELECT string_agg(format('| `%s` | %s%% |', replace(t.function, '|', '\|'),
							 to_char(t.flat_pct, 'FM990.0')), E'\n' ORDER BY t.ord)
	INTO v_top
	FROM @extschema@.pprof_top(r.profile::@extschema@.pprof, 10) WITH ORDINALITY AS t(function, file, flat, flat_pct, cum, cum_pct, ord);

	title := format('pgo: update %s for %s', v.path, v.tag);
	commit_message := format(E'pgo: update %s for %s\n\nRelease %s of tag %s: %s profiles.', v.path, v.tag,
							 r.sha256, v.tag, cardinality(r.input_ids));
	body := concat_ws(E'\n',
		format('This updates `%s` with the profile-guided optimization profile of tag `%s`, published by pg_pprof.', v.path, v.tag),
		'',
		format('- release: `%s` (fetch it with `GET /profile/%s@%s`)', r.sha256, v.tag, r.sha256),
		format('- merged from %s profiles received between %s and %s (window %s, at most %s profiles%s)',
			   cardinality(r.input_ids),
			   COALESCE(to_char(v_oldest AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), '?'),
			   COALESCE(to_char(v_newest AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), '?'),
			   COALESCE(v."window"::text, 'unlimited'), COALESCE(v.max_profiles::text, 'unlimited'),
			   CASE WHEN v.mode IS NOT NULL THEN format(', mode %s', v.mode) ELSE '' END),
		CASE WHEN base_profile IS NULL
			 THEN format('- hot call-edge weight changed: 100%% (no `%s` on `%s` yet)', v.path, v.base_branch)
			 ELSE format('- hot call-edge weight changed: %s%% against `%s` on `%s`',
						 to_char(change * 100, 'FM990.0'), v.path, v.base_branch) END,
		'',
		'Top functions (flat CPU):',
		'',
		'| function | flat |',
		'|---|---|',
		COALESCE(v_top, ''),
		'',
		'This branch is rewritten by each run; merge the request to build with this profile (`go build -pgo=auto`).');
END
$$;
COMMENT ON FUNCTION pgo.publication_description(bigint, uuid, text, bytea) IS 'for a leased publication''s release against the base branch''s file: the hot call-edge change, whether it reaches min_change, and the request''s title, body and commit message';

CREATE FUNCTION pgo.publication_finish(id bigint, lease_id uuid, status text, error text DEFAULT NULL,
									   sha256 text DEFAULT NULL, pull_request text DEFAULT NULL,
									   change float8 DEFAULT NULL, retry_after interval DEFAULT NULL)
	RETURNS timestamptz
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
	AS $$
DECLARE
	v pgo.publications;
	v_ok boolean := status IN ('published', 'up_to_date', 'unchanged', 'below_min_change', 'no_profiles');
	v_next timestamptz;
BEGIN
	IF status IS NULL OR status NOT IN ('published', 'up_to_date', 'unchanged', 'below_min_change',
										'no_profiles', 'retrying', 'failed') THEN
		RAISE EXCEPTION 'invalid publication status: %', COALESCE(quote_literal(status), 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT p.* INTO v FROM pgo.publications p
	WHERE p.id = publication_finish.id AND p.lease_id = publication_finish.lease_id
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;			-- the lease was lost: another worker owns the row now
	END IF;
	-- the next slot of the schedule, spread by a hash of the publication
	v_next := pgo.schedule_next(v.schedule, now(), 'publication:' || v.id);
	IF status = 'retrying' THEN
		-- capped backoff (30 s, 1 min, 2 min ... 1 h), or the forge's Retry-After
		v_next := LEAST(v_next, now() + COALESCE(retry_after,
			interval '30 seconds' * power(2, LEAST(v.consecutive_failures, 7))));
	END IF;
	UPDATE pgo.publications p
	SET last_run_at = now(),
		last_success_at = CASE WHEN v_ok THEN now() ELSE p.last_success_at END,
		last_status = publication_finish.status,
		last_error = left(publication_finish.error, 2000),
		last_sha256 = COALESCE(publication_finish.sha256, p.last_sha256),
		last_pull_request = COALESCE(publication_finish.pull_request, p.last_pull_request),
		last_change = COALESCE(publication_finish.change, p.last_change),
		consecutive_failures = CASE WHEN v_ok THEN 0 ELSE p.consecutive_failures + 1 END,
		next_run_at = v_next,
		lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL
	WHERE p.id = v.id;
	RETURN v_next;
END
$$;
COMMENT ON FUNCTION pgo.publication_finish(bigint, uuid, text, text, text, text, float8, interval) IS 'records a run''s outcome, ends the lease and sets the next run (backoff after a transient error); NULL if the lease was lost';

CREATE VIEW pgo.publication_status AS
SELECT p.id, p.tag, p.forge, p.repository, p.base_branch, p.branch, p.path, p.enabled,
	   p.last_status AS status, p.last_error AS error, p.last_pull_request AS pull_request,
	   p.last_sha256 AS sha256, round((p.last_change * 100)::numeric, 1) AS change_pct,
	   p.last_run_at, p.last_success_at, p.consecutive_failures, p.next_run_at,
	   p.lease_owner AS running_on,
	   GREATEST(now() - p.next_run_at, interval '0') AS overdue
FROM pgo.publications p
ORDER BY p.tag, p.id;
COMMENT ON VIEW pgo.publication_status IS 'one row per publication: its last outcome, pull request, next run, and the worker running it now';

REVOKE EXECUTE ON FUNCTION
	pgo.publication_claim(text, interval),
	pgo.publication_release(bigint, uuid),
	pgo.publication_pin(bigint, uuid),
	pgo.publication_description(bigint, uuid, text, bytea),
	pgo.publication_finish(bigint, uuid, text, text, text, text, float8, interval)
FROM PUBLIC;

CREATE FUNCTION pgo.publication_lag() RETURNS float8
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pgo, pg_temp
BEGIN ATOMIC
	SELECT COALESCE(max(extract(epoch FROM now() - p.next_run_at)), 0)::float8
	FROM pgo.publications p
	WHERE p.enabled AND p.next_run_at <= now()
	  AND (p.lease_expires_at IS NULL OR p.lease_expires_at < now());
END;
COMMENT ON FUNCTION pgo.publication_lag() IS 'seconds the most overdue unclaimed publication has waited (0: none waits); pprof-worker''s lag gauge';
REVOKE EXECUTE ON FUNCTION pgo.publication_lag() FROM PUBLIC;
