# Publishing with forge 'git' (pprof-worker drives the git command line) to
# real bare repositories over two real transports: a local path, and git's
# own smart HTTP (git http-backend behind the stand-in, with HTTP Basic
# and the token from the worker's environment). The branch holds exactly
# the release's bytes, as one commit on the base branch; a run with no new
# profiles commits nothing; new profiles move the same branch; a base
# branch that already has the bytes, a change below min_change, a tag
# with no profile and a wrong token are recorded as such.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use PublishTest;
use WorkerTest;
use Test::More;

my $node = new_node('publish_git');
my $tmp = tmpdir();
my $token = 'git-' . int(rand(1e9));

my $local = bare_repo("$tmp/local.git");
my $served = bare_repo("$tmp/served/service.git");
my $standin = start_standin(repo => $served, token => $token);

ingest($node, 'svc', 'cpu_a1.pb.gz');
ingest($node, 'svc', 'cpu_a2.pb.gz');

my ($id_local, $id_http) = split /\n/, $node->safe_psql(
	'postgres', qq{
INSERT INTO pgo.publications (tag, forge, repository, schedule, next_run_at)
VALUES ('svc', 'git', '$local', '1 day', 'infinity') RETURNING id;
INSERT INTO pgo.publications (tag, forge, repository, credential, path, schedule, next_run_at)
VALUES ('svc', 'git', '$standin->{url}/git/service.git', 'PUB_GIT_TOKEN', 'cmd/api/default.pgo', '1 day',
        'infinity')
RETURNING id;
});
is($node->safe_psql('postgres', "SELECT branch FROM pgo.publications WHERE id = $id_local"),
	'pgo/svc', 'branch defaults to pgo/<tag>');

my @fast = (args => [ '--poll-interval', '200ms', '--concurrency', '2' ]);
my $worker = start_worker(node => $node, env => { PUB_GIT_TOKEN => $token }, @fast);

# Check: one commit on main holding exactly the release's bytes at $path.
sub branch_holds
{
	my ($repo, $path, $st, $what) = @_;
	my $bytes = release_bytes($node, 'svc', $st->{sha256});
	ok(length($bytes) > 100, "$what: a release");
	is(git_in($repo, 'show', "pgo/svc:$path"), $bytes, "$what: the branch's file is the release's bytes");
	is(git_in($repo, 'rev-parse', 'pgo/svc^'), git_in($repo, 'rev-parse', 'main'),
		"$what: one commit on top of main");
	is(git_in($repo, 'show', '-s', '--format=%s', 'pgo/svc'), "pgo: update $path for svc",
		"$what: the commit's subject");
	is(git_in($repo, 'ls-tree', '--name-only', '-r', 'pgo/svc'), join("\n", sort('README', $path)),
		"$what: the base branch's files plus the profile");
}

foreach my $t ([ $id_local, $local, 'default.pgo', 'local path' ],
	[ $id_http, $served, 'cmd/api/default.pgo', 'smart HTTP' ])
{
	my ($id, $repo, $path, $what) = @$t;

	# first run: published
	my $st = run_publication($node, $id);
	is($st->{status}, 'published', "$what: first run published") or diag(explain($st));
	branch_holds($repo, $path, $st, "$what, first run");
	my $first = git_in($repo, 'rev-parse', 'pgo/svc');
	like($st->{pull_request}, qr/^pgo\/svc $first$/, "$what: the pushed commit recorded");
	is($st->{change_pct}, 100, "$what: no file on main yet: all of the weight changed");

	# no new profile: nothing committed
	$st = run_publication($node, $id);
	is($st->{status}, 'up_to_date', "$what: second run: up to date");
	is(git_in($repo, 'rev-parse', 'pgo/svc'), $first, "$what: second run: no new commit");
	is(git_in($repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/'),
		"refs/heads/main\nrefs/heads/pgo/svc", "$what: one branch");
}

# new profiles: the same branch moves, still one commit on main
my $old_sha = publication($node, $id_local)->{sha256};
ingest($node, 'svc', 'cpu_a3.pb.gz');
foreach my $t ([ $id_local, $local, 'default.pgo', 'local path' ],
	[ $id_http, $served, 'cmd/api/default.pgo', 'smart HTTP' ])
{
	my ($id, $repo, $path, $what) = @$t;
	my $before = git_in($repo, 'rev-parse', 'pgo/svc');
	my $st = run_publication($node, $id);
	is($st->{status}, 'published', "$what: new profiles published");
	isnt($st->{sha256}, $old_sha, "$what: a new release");
	isnt(git_in($repo, 'rev-parse', 'pgo/svc'), $before, "$what: the branch moved");
	branch_holds($repo, $path, $st, "$what, new profiles");
	is(git_in($repo, 'rev-list', '--count', 'main..pgo/svc'), 1, "$what: not a commit per run");
}

# the base branch already has these bytes (the change was merged): nothing to do
git_in($local, 'update-ref', 'refs/heads/main', git_in($local, 'rev-parse', 'pgo/svc'));
my $st = run_publication($node, $id_local);
is($st->{status}, 'unchanged', 'merged: the base branch has the bytes, unchanged');
is($st->{error}, undef, 'unchanged: no error');

# a small change is not worth a pull request
$node->safe_psql('postgres', "UPDATE pgo.publications SET min_change = 0.9 WHERE id = $id_local");
ingest($node, 'svc', 'cpu_a1.pb.gz');
my $branch_before = git_in($local, 'rev-parse', 'pgo/svc');
$st = run_publication($node, $id_local);
is($st->{status}, 'below_min_change', 'a change below min_change is not published')
  or diag(explain($st));
ok($st->{change_pct} > 0 && $st->{change_pct} < 90, "the change measured: $st->{change_pct}%");
like($st->{error}, qr/below min_change 0\.9/, 'below_min_change: says why');
is(git_in($local, 'rev-parse', 'pgo/svc'), $branch_before, 'below_min_change: the branch did not move');
$node->safe_psql('postgres', "UPDATE pgo.publications SET min_change = 0 WHERE id = $id_local");
$st = run_publication($node, $id_local);
is($st->{status}, 'published', 'min_change 0: published');
ok($st->{change_pct} > 0 && $st->{change_pct} < 90, 'published: the change against main recorded');

# nothing to publish
$node->safe_psql('postgres', "UPDATE pgo.publications SET tag = 'nothing-here' WHERE id = $id_local");
$st = run_publication($node, $id_local);
is($st->{status}, 'no_profiles', 'a tag without usable profiles: no_profiles');

# the worker counted what it did
cmp_ok(worker_metric($worker, 'pgo_worker_publishes_total{result="published"}'), '>=', 5,
	'/metrics: publishes by result');
like(worker_log($worker), qr/"job done".*kind=publish .*result=up_to_date/, 'log: up_to_date is a job done');

# a wrong token: a permanent failure with git's message, retried at the schedule
stop_worker($worker);
$worker = start_worker(node => $node, env => { PUB_GIT_TOKEN => 'wrong' }, @fast);
$st = run_publication($node, $id_http);
is($st->{status}, 'failed', 'wrong token: failed');
like($st->{error}, qr/git ls-remote: exit 128: .*(Authentication failed|could not read Username)/, 'wrong token: git says why');
is($st->{consecutive_failures}, 1, 'wrong token: counted');
my $next = $node->safe_psql('postgres',
	"SELECT next_run_at = pgo.schedule_next(schedule, last_run_at, 'publication:' || id) FROM pgo.publications WHERE id = $id_http");
is($next, 't', 'a permanent failure waits for the next scheduled run');

# the worker stops cleanly
is(stop_worker($worker), 0, 'SIGTERM: the worker exits 0');

done_testing();
