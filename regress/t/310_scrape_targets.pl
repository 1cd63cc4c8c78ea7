# pprof-worker scraping real services on loopback: the example service's
# /debug/pprof/profile (a healthy instance under load, a fleet of two
# instances behind one host name, one busy profiling itself, one killed
# mid-scrape), and endpoints that fail: 404, an HTML page, a listener that
# never answers. Checks the rows stored (labels, source, one per slot and
# instance), each target's status and reason, that the failing targets do
# not delay the healthy one, the worker's /metrics, and SIGTERM. The worker
# is the ASan/UBSan build.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use File::Spec;
use GatewayTest;
use IO::Socket::INET;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);
use WorkerTest;

my $go = go_binary();
if (!$go)
{
	BAIL_OUT('Go toolchain not available') if $ENV{CI};
	plan skip_all => 'Go toolchain not available';
}

my $repo = File::Spec->rel2abs("$FindBin::Bin/../..");
my $src = "$repo/examples/service";
my $tmp = tmpdir();

my ($rc, $out, $err) = run_with_go($src, { CGO_ENABLED => '0' }, $go, 'build', '-pgo=off',
	'-o', "$tmp/service", '.');
is($rc, 0, 'the example service builds') or diag($out . $err);
($rc, $out, $err) = run_with_go($src, { CGO_ENABLED => '0' }, $go, 'build', '-pgo=off',
	'-o', "$tmp/loadgen", './loadgen');
is($rc, 0, 'its load generator builds') or diag($out . $err);

# Start one instance of the example service; returns (pid, host:port).
sub start_service
{
	my ($name, %env) = @_;
	my $log = "$tmp/$name.log";
	my $pid = spawn($log, { LISTEN_ADDR => '127.0.0.1:0', PGO_WINDOW => 'off', %env },
		"$tmp/service");
	my $addr = wait_for_log($pid, $log, qr/msg=listening addr=(\S+)/, 20, "service $name");
	return ($pid, $addr);
}

# A port free on 127.0.0.1 (the fleet listens on it at 127.0.0.2 and .3).
sub free_port
{
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1)
	  or die "listen: $!";
	my $port = $s->sockport;
	close $s;
	return $port;
}

my ($good_pid, $good) = start_service('good');
my $fleet_port = free_port();
my ($fleet1_pid) = start_service('fleet1', LISTEN_ADDR => "127.0.0.2:$fleet_port");
my ($fleet2_pid) = start_service('fleet2', LISTEN_ADDR => "127.0.0.3:$fleet_port");
# profiling itself all the time (its uploads go nowhere): a scrape gets
# "cpu profiling already in use"
my ($busy_pid, $busy) = start_service('busy', PGO_WINDOW => '60s',
	PGO_GATEWAY_URL => 'http://127.0.0.1:9');
my ($doomed_pid, $doomed) = start_service('doomed');
# a listener nobody accepts from: connects, never answers
my $mute = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1)
  or die "listen: $!";
my $mute_port = $mute->sockport;

my $load = spawn("$tmp/loadgen.log", {}, "$tmp/loadgen", '-url', "http://$good",
	'-duration', '60s', '-c', '1');

my $node = new_node('scrape');
my $profile = '/debug/pprof/profile?seconds=1';
my %url = (
	good => "http://$good$profile",
	fleet => "http://fleet.test:$fleet_port$profile",
	busy => "http://$busy$profile",
	doomed => "http://$doomed/debug/pprof/profile?seconds=4",
	missing => "http://$good/debug/pprof/nothing-here?seconds=1",
	html => "http://$good/debug/pprof/?seconds=1",
	mute => "http://127.0.0.1:$mute_port$profile",
);
my $values = join(",\n", map {
	my $schedule = $_ eq 'doomed' ? '10 seconds' : $_ =~ /good|fleet/ ? '3 seconds' : '2 seconds';
	"('svc', '$url{$_}', '$schedule', '{\"role\": \"$_\"}', '1 second', false)"
} sort keys %url);
$node->safe_psql('postgres',
	"INSERT INTO pgo.scrape_targets (tag, url, schedule, labels, timeout, enabled) VALUES $values");
my %id = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
	"SELECT labels->>'role', id FROM pgo.scrape_targets");

my $w = start_worker(node => $node, asan => 1,
	args => [ '--concurrency', '8', '--poll-interval', '200ms',
		'--resolve', 'fleet.test=127.0.0.2,127.0.0.3' ]);
# enabled once the worker runs: the first slots come within 2 s
my $t0 = time();
$node->safe_psql('postgres', 'UPDATE pgo.scrape_targets SET enabled = true');

# Kill the doomed instance while a scrape of it runs (a 4 s profile).
my $deadline = time() + 40;
my $leased = '';
while (time() < $deadline)
{
	$leased = $node->safe_psql('postgres',
		"SELECT running_on FROM pgo.scrape_status WHERE id = $id{doomed}");
	last if $leased ne '';
	sleep(0.1);
}
isnt($leased, '', 'the doomed instance is being scraped');
sleep(1.5);
kill 'KILL', $doomed_pid;
waitpid($doomed_pid, 0);
my $killed_at = time();

# Let every target run for a while.
sleep(14);
my $elapsed = time() - $t0;

my %st;
foreach my $line (split /\n/, $node->safe_psql('postgres', q{
	SELECT labels->>'role', last_status, coalesce(last_error, ''), consecutive_failures,
		   retries_in_slot, skipped_slots
	FROM pgo.scrape_status}))
{
	my ($role, @f) = split /\|/, $line;
	$st{$role} = { status => $f[0], error => $f[1], failures => $f[2], retries => $f[3],
		skipped => $f[4] };
}
note(join("\n", map { "$_: $st{$_}{status} $st{$_}{error}" } sort keys %st));

# --- healthy: every slot, on time, usable rows with the target's labels
is($st{good}{status}, 'ok', 'healthy: last status ok');
is($st{good}{skipped}, 0, 'healthy: no slot skipped while the others fail and hang')
  or diag(join("\n", grep { /target=$id{good} / } split /\n/, worker_log($w)));
my ($rows, $keys, $usable, $labels) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT (SELECT count(*) FROM pgo.profiles WHERE labels->>'role' = 'good'),
		   (SELECT count(*) FROM pgo.idempotency_keys WHERE key LIKE 'scrape:$id{good}:%'),
		   (SELECT count(*) FILTER (WHERE pgo_usable AND samples > 0) FROM pgo.profiles WHERE labels->>'role' = 'good'),
		   (SELECT string_agg(DISTINCT labels::text || ' ' || source, ', ') FROM pgo.profiles WHERE labels->>'role' = 'good')});
cmp_ok($rows, '>=', int($elapsed / 3) - 1, "healthy: a row per 3 s slot ($rows rows in ${\ int($elapsed)} s)");
is($rows, $keys, 'healthy: one row per slot (as many rows as idempotency keys)');
cmp_ok($usable, '>=', $rows - 1, 'healthy: the rows are CPU profiles go build can use');
is($labels, qq({"role": "good", "instance": "$good"} scrape),
	'healthy: rows labelled with the target labels and instance, source scrape');
# the slots are consecutive: no gap between the first and the last
my $gaps = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM (
		SELECT split_part(key, ':', 3)::bigint - lag(split_part(key, ':', 3)::bigint)
				 OVER (ORDER BY split_part(key, ':', 3)::bigint) AS d
		FROM pgo.idempotency_keys WHERE key LIKE 'scrape:$id{good}:%') s
	WHERE d <> 3000});
is($gaps, 0, 'healthy: consecutive slots 3 s apart, none missing');

# --- a fleet: both addresses every slot, labelled by instance
is($st{fleet}{status}, 'ok', 'fleet: last status ok');
my $fleet = $node->safe_psql('postgres', qq{
	SELECT string_agg(i || '=' || n, ' ' ORDER BY i) FROM (
		SELECT labels->>'instance' AS i, count(*) AS n FROM pgo.profiles
		WHERE labels->>'role' = 'fleet' GROUP BY 1) s});
my ($n2) = $fleet =~ /127\.0\.0\.2:\d+=(\d+)/;
my ($n3) = $fleet =~ /127\.0\.0\.3:\d+=(\d+)/;
ok($n2 && $n3 && $n2 == $n3 && $n2 >= 3, "fleet: each address scraped in every slot ($fleet)");
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM pgo.idempotency_keys WHERE key LIKE 'scrape:$id{fleet}:%'
	GROUP BY split_part(key, ':', 3) HAVING count(*) <> 2}), '',
	'fleet: every slot has exactly the two instances');

# --- transient failures: retried with backoff, within the slot
is($st{busy}{status}, 'transient', 'busy profiling itself: transient');
like($st{busy}{error}, qr/profiling already in use/, 'busy: the reason says so');
is($st{mute}{status}, 'transient', 'never answers: transient');
like($st{mute}{error}, qr/timeout after/, 'never answers: the reason is the timeout');
like(worker_log($w), qr/"job failed".*target=$id{doomed} .*result=transient.*(Empty reply|Recv failure|reset|Failed to connect)/,
	'killed mid-scrape: a transient failure');
is($st{doomed}{status}, 'transient', 'killed: still failing (connection refused)');
cmp_ok($st{doomed}{failures}, '>=', 2, 'killed: retried');
cmp_ok($st{doomed}{failures}, '<=', 8, 'killed: with backoff, not in a tight loop');

# --- permanent failures: the reason, no retry before the next slot
is($st{missing}{status}, 'permanent', '404: permanent');
like($st{missing}{error}, qr/HTTP 404/, '404: the reason says HTTP 404');
is($st{html}{status}, 'permanent', 'HTML page: permanent');
like($st{html}{error}, qr/body rejected .*text\/html.*invalid pprof profile/,
	'HTML page: rejected by the pprof type, Content-Type named');
foreach my $role (qw(missing html))
{
	cmp_ok($st{$role}{failures}, '<=', int($elapsed / 2) + 2,
		"$role: one attempt per slot ($st{$role}{failures} in ${\ int($elapsed)} s)");
	is($st{$role}{retries}, 0, "$role: no retry within a slot");
}
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgo.profiles WHERE labels->>'role' NOT IN ('good', 'fleet')}),
	'0', 'failing targets stored nothing');

# --- /metrics
cmp_ok(worker_metric($w, 'pgo_worker_scrapes_total{result="ok"}'), '>=', $rows,
	'/metrics: ok scrapes counted');
cmp_ok(worker_metric($w, 'pgo_worker_scrapes_total{result="transient"}'), '>', 0,
	'/metrics: transient failures counted');
cmp_ok(worker_metric($w, 'pgo_worker_scrapes_total{result="permanent"}'), '>', 0,
	'/metrics: permanent failures counted');
cmp_ok(worker_metric($w, 'pgo_worker_scrapes_seconds_count'), '>', 0,
	'/metrics: durations');
like(http('GET', $w->{metrics})->{body}, qr/^pgo_worker_scrapes_lag_seconds \d/m,
	'/metrics: the lag gauge');

# --- SIGTERM: jobs in hand finish, exit 0
is(stop_worker($w, 30), 0, 'SIGTERM: exit 0');
like(worker_log($w), qr/"msg":"stopped"/, 'SIGTERM: logged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgo.scrape_targets WHERE lease_token IS NOT NULL'),
	'0', 'SIGTERM: no lease left behind');

kill 'INT', $load;
wait_or_kill($load, 10);
kill 'TERM', $good_pid, $fleet1_pid, $fleet2_pid, $busy_pid;
wait_or_kill($_, 10) for $good_pid, $fleet1_pid, $fleet2_pid, $busy_pid;
$node->stop;
done_testing();
