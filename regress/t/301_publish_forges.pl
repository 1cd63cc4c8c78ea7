# Contract tests of pprof-worker's GitHub, GitLab and Gitea clients: the
# forges cannot run here, so regress/forge/standin.py answers as their
# published REST documentation says (paths, bodies, status codes, error
# shapes), writing real git objects into a real bare repository that the
# test reads with git. Per forge: the first pull/merge request, the update
# of the open one (never a second one), nothing to do, a 5xx then
# success, a rate limit with Retry-After, the "already exists" answer of
# a request opened meanwhile, 401, 404, 5xx that outlast the retries
# (backoff), a base branch that has the bytes, a protected branch; GitHub
# App authentication (RS256 JWT checked with openssl, installation token).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use PublishTest;
use WorkerTest;
use Test::More;

my $node = new_node('publish_forges');
my $tmp = tmpdir();
my $token = 'forge-' . int(rand(1e9));

ingest($node, 'svc', 'cpu_a1.pb.gz');
ingest($node, 'svc', 'cpu_a2.pb.gz');

# GitHub App: a real RSA key; the stand-in verifies the JWT with the public half
system('openssl', 'genrsa', '-out', "$tmp/app.pem", '2048') == 0 or die 'openssl genrsa';
system('openssl', 'rsa', '-in', "$tmp/app.pem", '-pubout', '-out', "$tmp/app.pub.pem") == 0
  or die 'openssl rsa';
chmod 0600, "$tmp/app.pem";

# the sanitized build: the forge clients parse what the forges send
my $worker = start_worker(
	node => $node,
	asan => 1,
	env => { PUB_FORGE_TOKEN => $token, PUB_WRONG_TOKEN => 'not-the-token' },
	args => [ '--poll-interval', '200ms', '--concurrency', '2' ]);

my $json_error = { message => 'Server Error' };
my %forges = (
	github => {
		api => '/api/v3/repos/acme/service',
		file => '/contents/default.pgo\?ref=main',
		list => [ 'GET', '/pulls\?', 200, [] ],
		update => [ 'PATCH', '/pulls/\d+$' ],
		create => [ 'POST', '/pulls$', 422 ],
		limited => [
			403, { 'Retry-After' => 1 },
			{
				message => 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
				documentation_url => 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'
			}
		],
		unauthorized => qr/HTTP 401: Bad credentials/,
		not_found => qr/HTTP 404: Not Found/,
		protected => [ 'PATCH', '/git/refs/heads/pgo/svc$', 422,
			{ message => 'Protected branch update failed for refs/heads/pgo/svc.',
			  documentation_url => 'https://docs.github.com/rest/git/refs#update-a-reference' } ],
		one_commit => 1,
	},
	gitlab => {
		api => '/api/v4/projects/acme%2Fservice',
		file => '/repository/files/default.pgo\?ref=main',
		list => [ 'GET', '/merge_requests\?', 200, [] ],
		update => [ 'PUT', '/merge_requests/\d+$' ],
		create => [ 'POST', '/merge_requests$', 409 ],
		limited => [ 429, { 'Retry-After' => 1 }, { message => '429 Too Many Requests' } ],
		unauthorized => qr/HTTP 401: 401 Unauthorized/,
		not_found => qr/HTTP 404: 404 Project Not Found/,
		protected => [ 'POST', '/repository/commits$', 403,
			{ message => '403 Forbidden - You are not allowed to push into this branch' } ],
		one_commit => 1,
	},
	gitea => {
		api => '/api/v1/repos/acme/service',
		file => '/contents/default.pgo\?ref=main',
		list => [ 'GET', '/pulls/main/pgo/svc$', 404, { message => 'pull request does not exist' } ],
		update => [ 'PATCH', '/pulls/\d+$' ],
		create => [ 'POST', '/pulls$', 409 ],
		limited => [ 429, { 'Retry-After' => 1 }, { message => 'Too Many Requests' } ],
		unauthorized => qr/HTTP 401: token is required/,
		not_found => qr/HTTP 404: The target couldn't be found/,
		protected => [ 'POST', '/contents$', 403,
			{ message => 'user should have a permission to write to the target branch' } ],
		one_commit => 0,    # no API to force-move a branch: one commit per change
	});

# The requests the stand-in answered matching method and path regex.
sub answered
{
	my ($s, $method, $re) = @_;
	return grep { $_->{method} eq $method && $_->{path} =~ $re } @{ standin($s, 'log') };
}

foreach my $forge (sort keys %forges)
{
	my $f = $forges{$forge};
	my $repo = bare_repo("$tmp/$forge/service.git");
	my $s = start_standin(repo => $repo, token => $token);
	my $id = $node->safe_psql(
		'postgres', qq{
INSERT INTO pgo.publications (tag, forge, repository, credential, next_run_at)
VALUES ('svc', '$forge', '$s->{url}/acme/service', 'PUB_FORGE_TOKEN', 'infinity') RETURNING id});
	my $api = quotemeta($f->{api});

	# first pull request
	my $st = run_publication($node, $id);
	is($st->{status}, 'published', "$forge: first run published") or diag(explain($st));
	my $pulls = standin($s, 'pulls');
	is(scalar(@$pulls), 1, "$forge: one pull request");
	is_deeply([ @{ $pulls->[0] }{qw(head base state)} ], [ 'pgo/svc', 'main', 'open' ],
		"$forge: from pgo/svc into main, open");
	is($pulls->[0]{title}, 'pgo: update default.pgo for svc', "$forge: its title");
	like($pulls->[0]{body}, qr/release: `$st->{sha256}`/, "$forge: the description names the release");
	like($pulls->[0]{body}, qr/merged from \d+ profiles received between/, "$forge: and its profiles");
	like($pulls->[0]{body}, qr/hot call-edge weight changed: 100%/, "$forge: and the change");
	like($pulls->[0]{body}, qr/\| `main\.fib` \| \d+\.\d% \|/, "$forge: and the top functions");
	like($st->{pull_request}, qr{^\Q$s->{url}\E/acme/service/.*\b1$}, "$forge: the request's URL recorded");
	is(git_in($repo, 'show', 'pgo/svc:default.pgo'), release_bytes($node, 'svc', $st->{sha256}),
		"$forge: the branch holds the release's bytes");
	is(git_in($repo, 'rev-parse', 'pgo/svc^'), git_in($repo, 'rev-parse', 'main'),
		"$forge: one commit on top of main");
	my $commit = git_in($repo, 'rev-parse', 'pgo/svc');

	# nothing to do: no commit, no new request
	$st = run_publication($node, $id);
	is($st->{status}, 'up_to_date', "$forge: no new profile: up to date");
	is(git_in($repo, 'rev-parse', 'pgo/svc'), $commit, "$forge: no new commit");
	is(scalar(@{ standin($s, 'pulls') }), 1, "$forge: still one request");

	# new profiles: the open request is updated, not a new one opened
	ingest($node, 'svc', 'cpu_a3.pb.gz');
	my $old = $st->{sha256};
	$st = run_publication($node, $id);
	is($st->{status}, 'published', "$forge: new profiles published");
	isnt($st->{sha256}, $old, "$forge: a new release");
	$pulls = standin($s, 'pulls');
	is(scalar(@$pulls), 1, "$forge: update of the open request, no second one");
	like($pulls->[0]{body}, qr/release: `$st->{sha256}`/, "$forge: the request names the new release");
	unlike($pulls->[0]{body}, qr/\Q$old\E/, "$forge: and not the old one");
	is(git_in($repo, 'show', 'pgo/svc:default.pgo'), release_bytes($node, 'svc', $st->{sha256}),
		"$forge: the branch holds the new release's bytes");
	is(git_in($repo, 'rev-list', '--count', 'main..pgo/svc'), $f->{one_commit} ? 1 : 2,
		$f->{one_commit} ? "$forge: still one commit on main (force-updated)" : "$forge: one commit per change");

	# 5xx, then success: retried within the run
	standin($s, 'faults', [ { method => $f->{update}[0], path => $api . $f->{update}[1],
				status => 502, body => $json_error, times => 1 } ]);
	$st = run_publication($node, $id);
	is($st->{status}, 'up_to_date', "$forge: a 502 is retried");
	my @calls = answered($s, $f->{update}[0], qr/$api$f->{update}[1]/);
	is_deeply([ map { $_->{status} } @calls[ -2, -1 ] ], [ 502, $forge eq 'gitea' ? 201 : 200 ],
		"$forge: 502, then the update succeeded");

	# rate limited with Retry-After: waited, then went on
	my ($status, $headers, $body) = @{ $f->{limited} };
	standin($s, 'faults', [ { method => 'GET', path => $api . $f->{file}, status => $status,
				headers => $headers, body => $body, times => 1 } ]);
	$st = run_publication($node, $id);
	is($st->{status}, 'up_to_date', "$forge: rate limit: retried");
	@calls = answered($s, 'GET', qr/$api$f->{file}/);
	is($calls[-2]{status}, $status, "$forge: rate limit: answered $status");
	cmp_ok($calls[-1]{t} - $calls[-2]{t}, '>=', 0.95, "$forge: rate limit: Retry-After honoured");

	# the request was opened meanwhile: "already exists", then the update
	my ($lm, $lp, $ls, $lb) = @{ $f->{list} };
	standin($s, 'faults', [ { method => $lm, path => $api . $lp, status => $ls, body => $lb, times => 1 } ]);
	$st = run_publication($node, $id);
	is($st->{status}, 'up_to_date', "$forge: already exists: handled") or diag(explain($st));
	@calls = answered($s, $f->{create}[0], qr/$api$f->{create}[1]/);
	is($calls[-1]{status}, $f->{create}[2], "$forge: the forge said $f->{create}[2] already exists");
	is(scalar(@{ standin($s, 'pulls') }), 1, "$forge: already exists: still one request");

	# 401: the forge's message, failed, no retry before the schedule
	$node->safe_psql('postgres', "UPDATE pgo.publications SET credential = 'PUB_WRONG_TOKEN' WHERE id = $id");
	$st = run_publication($node, $id);
	is($st->{status}, 'failed', "$forge: 401: failed");
	like($st->{error}, $f->{unauthorized}, "$forge: 401: the forge's message");
	$node->safe_psql('postgres', "UPDATE pgo.publications SET credential = 'PUB_FORGE_TOKEN' WHERE id = $id");

	# 404: a repository the token cannot see
	$node->safe_psql('postgres',
		"UPDATE pgo.publications SET repository = '$s->{url}/acme/nothere', next_run_at = 'infinity' WHERE id = $id");
	$st = run_publication($node, $id);
	is($st->{status}, 'failed', "$forge: 404: failed");
	like($st->{error}, $f->{not_found}, "$forge: 404: the forge's message");
	is($st->{consecutive_failures}, 2, "$forge: failures counted");
	$node->safe_psql('postgres',
		"UPDATE pgo.publications SET repository = '$s->{url}/acme/service', next_run_at = 'infinity' WHERE id = $id");

	# 5xx through every retry: retrying, with backoff
	standin($s, 'faults', [ { method => 'GET', path => $api . $f->{file}, status => 503,
				body => $json_error, times => 4 } ]);
	$st = run_publication($node, $id);
	is($st->{status}, 'retrying', "$forge: 503 after every retry: retrying");
	like($st->{error}, qr/HTTP 503: Server Error/, "$forge: retrying: says why");
	is($node->safe_psql('postgres',
			"SELECT next_run_at - last_run_at BETWEEN interval '1 minute' AND interval '5 minutes' FROM pgo.publications WHERE id = $id"),
		't', "$forge: retrying: capped exponential backoff (third failure: 2 minutes)");
	$st = run_publication($node, $id);
	is($st->{status}, 'up_to_date', "$forge: then it recovers");
	is($st->{consecutive_failures}, 0, "$forge: recovered: failures reset");

	# the request was merged: the base branch has the bytes
	git_in($repo, 'update-ref', 'refs/heads/main', git_in($repo, 'rev-parse', 'pgo/svc'));
	$st = run_publication($node, $id);
	is($st->{status}, 'unchanged', "$forge: merged: unchanged");

	# a protected branch: the forge's message, failed
	my ($pm, $pp, $ps, $pb) = @{ $f->{protected} };
	ingest($node, 'svc', 'cpu_a1.pb.gz');
	standin($s, 'faults', [ { method => $pm, path => $api . $pp, status => $ps, body => $pb, times => 1 } ]);
	$st = run_publication($node, $id);
	is($st->{status}, 'failed', "$forge: protected branch: failed");
	like($st->{error}, qr/HTTP $ps: \Q$pb->{message}\E/, "$forge: protected branch: the forge's message");

	$node->safe_psql('postgres', "UPDATE pgo.publications SET enabled = false WHERE id = $id");
}

# GitHub App: JWT signed with the app's key, installation token
{
	my $repo = bare_repo("$tmp/app/service.git");
	my $s = start_standin(repo => $repo, token => 'unused-' . int(rand(1e9)), app_id => 4242,
		app_public_key => "$tmp/app.pub.pem");
	my $id = $node->safe_psql(
		'postgres', qq{
INSERT INTO pgo.publications (tag, forge, repository, credential, github_app_id, next_run_at)
VALUES ('svc', 'github', '$s->{url}/acme/service', '$tmp/app.pem', 4242, 'infinity') RETURNING id});
	my $st = run_publication($node, $id);
	is($st->{status}, 'published', 'GitHub App: published') or diag(explain($st));
	is(scalar(answered($s, 'GET', qr{^/api/v3/repos/acme/service/installation$})), 1,
		'GitHub App: the installation found with the JWT');
	is(scalar(answered($s, 'POST', qr{^/api/v3/app/installations/7/access_tokens$})), 1,
		'GitHub App: an installation token made');
	is(git_in($repo, 'show', 'pgo/svc:default.pgo'), release_bytes($node, 'svc', $st->{sha256}),
		'GitHub App: the branch holds the release');
	is(scalar(@{ standin($s, 'pulls') }), 1, 'GitHub App: a pull request');
}

is(stop_worker($worker), 0, 'SIGTERM: the worker exits 0');
done_testing();
