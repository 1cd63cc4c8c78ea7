# Two pprof-workers share 50 scrape targets (5 s schedule, 1 s profiles
# from a stand-in server, regress/tools/profserver) through the catalog's
# leases: every slot is scraped once (no duplicate row, no gap that
# skipped_slots does not account for), and after kill -9 of one worker in
# the middle of its scrapes, the slots it held are done by the other once
# their leases expire. A longer soak: bench/scrape-soak.sh.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use File::Spec;
use GatewayTest;
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
my $tmp = tmpdir();
my $targets = 50;

my ($rc, $out, $err) = run_with_go("$repo/regress/tools/profserver", {}, $go, 'build',
	'-o', "$tmp/profserver", 'main.go');
is($rc, 0, 'profserver builds') or diag($out . $err);
my $server = spawn("$tmp/profserver.log", {}, "$tmp/profserver", '-profile',
	fixture('cpu.pb.gz'));
my $addr = wait_for_log($server, "$tmp/profserver.log", qr/^listening (\S+)/m, 20, 'profserver');

my $node = new_node('workers', conf => "max_connections = 100\n");
$node->safe_psql('postgres', qq{
	INSERT INTO pgo.scrape_targets (tag, url, schedule, labels, timeout, enabled)
	SELECT 'fleet', 'http://$addr/t/' || i || '?seconds=1', '5 seconds',
		   jsonb_build_object('t', i::text), '2 seconds', false
	FROM generate_series(1, $targets) i});
# two that fail in ways only a stand-in shows: rate-limited, unavailable
$node->safe_psql('postgres', qq{
	INSERT INTO pgo.scrape_targets (tag, url, schedule, enabled) VALUES
	('limited', 'http://$addr/limited?seconds=0&status=429&retry_after=30', '5 seconds', false),
	('down', 'http://$addr/down?seconds=0&status=503', '5 seconds', false)});

my @args = ('--concurrency', '16', '--poll-interval', '200ms');
my $w1 = start_worker(node => $node, id => 'one', args => \@args);
my $w2 = start_worker(node => $node, id => 'two', args => \@args);
$node->safe_psql('postgres', 'UPDATE pgo.scrape_targets SET enabled = true');
my $t0 = time();

# Both work; then worker one dies with scrapes in hand.
sleep(12);
my $held = '';
my $deadline = time() + 10;
while (time() < $deadline)
{
	$held = $node->safe_psql('postgres', q{
		SELECT string_agg(id || ':' || (extract(epoch FROM slot_at) * 1000)::bigint, ' ')
		FROM pgo.scrape_targets WHERE leased_by = 'one' AND lease_until > now()});
	last if $held ne '';
	sleep(0.05);
}
kill_worker($w1);
my @held = split / /, $held;
cmp_ok(scalar(@held), '>', 0, 'kill -9 of worker one with ' . scalar(@held) . ' scrapes in hand');

# Its leases expire (timeout 1 + 2 s, plus 10 s); worker two takes over.
sleep(20);
is(stop_worker($w2, 30), 0, 'worker two: SIGTERM, exit 0');
my $elapsed = time() - $t0;

foreach my $slot (@held)
{
	my ($id, $ms) = split /:/, $slot;
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.idempotency_keys WHERE key LIKE 'scrape:$id:$ms:%'"),
		'1', "the slot worker one held (target $id) was scraped by worker two");
}

my ($rows, $keys) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM pgo.profiles WHERE source = 'scrape'),
		   (SELECT count(*) FROM pgo.idempotency_keys WHERE key LIKE 'scrape:%')});
is($rows, $keys, "one row per scraped slot ($rows rows)");

# Per target: the slots scraped, the gaps between consecutive ones, and
# the slots between the last one and the next to run: skipped_slots must
# count exactly these.
my $per_target = $node->safe_psql('postgres', q{
	WITH k AS (
		SELECT split_part(key, ':', 2)::bigint AS id, split_part(key, ':', 3)::bigint AS slot
		FROM pgo.idempotency_keys WHERE key LIKE 'scrape:%'),
	g AS (
		SELECT id, count(*) AS slots, max(slot) AS last,
			   COALESCE(sum(d / 5000 - 1) FILTER (WHERE d IS NOT NULL), 0) AS missing
		FROM (SELECT id, slot, slot - lag(slot) OVER (PARTITION BY id ORDER BY slot) AS d FROM k) x
		GROUP BY id)
	SELECT count(*), sum(g.slots), sum(g.missing), sum(t.skipped_slots),
		   count(*) FILTER (WHERE t.skipped_slots <> g.missing
			   + ((extract(epoch FROM t.slot_at) * 1000)::bigint - g.last) / 5000 - 1),
		   min(g.slots), max(g.slots)
	FROM g JOIN pgo.scrape_targets t USING (id)});
my ($n, $slots, $missing, $skipped, $unexplained, $min, $max) = split /\|/, $per_target;
note("targets $n, slots scraped $slots, gaps $missing, skipped_slots $skipped, per target $min..$max, "
	  . sprintf('%.0f s', $elapsed));
is($n, $targets, 'every target was scraped');
is($unexplained, 0, 'skipped_slots counts every slot not scraped, no other is missing');
# a slot is stored once by construction of its key: per target, as many
# rows as slots
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
		SELECT p.labels->>'t' AS t, count(*) AS n FROM pgo.profiles p GROUP BY 1) r
	JOIN (SELECT t.labels->>'t' AS t, count(*) AS n
		  FROM pgo.idempotency_keys k JOIN pgo.scrape_targets t
			ON t.id = split_part(k.key, ':', 2)::bigint GROUP BY 1) s USING (t)
	WHERE r.n <> s.n}), '0', 'no duplicate rows: per target, rows = slots');
# the skips are the slots lost to the kill, not a scheduler that falls behind
cmp_ok($skipped, '<=', 3 * scalar(@held) + $targets / 10,
	"few slots skipped ($skipped: those of the killed worker's leases)");
cmp_ok($slots, '>=', $targets * ($elapsed / 5) * 0.7, 'most slots scraped');

# 429 with Retry-After: transient, and the next try waits as asked (30 s,
# past the next slots); 503: transient, retried within the slot
my ($lim_status, $lim_error, $lim_wait) = split /\|/, $node->safe_psql('postgres', q{
	SELECT last_status, last_error, extract(epoch FROM next_run_at - last_run_at)
	FROM pgo.scrape_status WHERE tag = 'limited'});
is($lim_status, 'transient', '429: transient');
like($lim_error, qr/HTTP 429 with Retry-After/, '429: the reason says so');
cmp_ok($lim_wait, '>=', 30, "429: the next try after Retry-After ($lim_wait s)");
cmp_ok($node->safe_psql('postgres', q{SELECT consecutive_failures FROM pgo.scrape_status WHERE tag = 'limited'}),
	'<=', 2, '429: not retried before Retry-After');
my ($down_status, $down_error, $down_failures) = split /\|/, $node->safe_psql('postgres', q{
	SELECT last_status, last_error, consecutive_failures FROM pgo.scrape_status WHERE tag = 'down'});
is($down_status, 'transient', '503: transient');
like($down_error, qr/HTTP 503/, '503: the reason says so');
cmp_ok($down_failures, '>', $elapsed / 5, "503: retried within slots ($down_failures tries)");
cmp_ok($down_failures, '<', $elapsed, '503: with backoff, not in a tight loop');

kill 'TERM', $server;
wait_or_kill($server, 10);
$node->stop;
done_testing();
