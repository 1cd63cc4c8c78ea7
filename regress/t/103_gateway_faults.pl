# pprof-gateway under faults:
# - the database stops while the gateway runs: 503 with Retry-After at
#   once (POST: JSON; GET: empty body), and recovery when it is back;
# - kill -9 of the gateway during a stream of uploads: every upload that got
#   201 is in the table, and every row is whole;
# - SIGTERM during a slow upload: the upload completes (201), new
#   connections are refused, exit 0;
# - one database connection held by a lock: the next request gets 503
#   "pool exhausted" after --pool-wait, the blocked one 503 at
#   --statement-timeout (never a hang);
# - a read replica: builds keep getting profiles while the primary is down.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use POSIX qw(WNOHANG);
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = tmpdir();
my $node = new_node('faults', streaming => 1);
my @octet = ('Content-Type: application/octet-stream');
my $cpu = fixture('cpu.pb.gz');

# poll until GET $path answers $status (or the deadline); returns seconds
sub wait_status
{
	my ($gw, $path, $status, $timeout) = @_;
	my $t0 = time();
	while (time() - $t0 < $timeout)
	{
		return time() - $t0 if http('GET', "$gw->{url}$path")->{status} == $status;
		sleep(0.1);
	}
	return undef;
}

# --- the database goes away and comes back
my $gw = start_gateway(node => $node, args => [ '--connect-timeout', '2', '--pool-wait', '1s' ]);
my $url = $gw->{url};
is(http('POST', "$url/profile/svc", file => $cpu, headers => \@octet)->{status}, 201, 'upload with the database up');
is(http('GET', "$url/profile/svc")->{status}, 200, 'GET with the database up');

$node->stop('fast');
my $r = http('GET', "$url/healthz");
is($r->{status}, 503, 'database down: /healthz 503');
ok($r->{seconds} < 3, "database down: /healthz answers quickly ($r->{seconds}s)");
is($r->{body}, '', '/healthz 503: empty body');
like($r->{headers}{'x-pgo-error'} // '', qr/database unavailable/, '/healthz 503: reason');

$r = http('POST', "$url/profile/svc", file => $cpu, headers => \@octet);
is($r->{status}, 503, 'database down: upload 503');
ok($r->{seconds} < 3, "database down: upload answered quickly ($r->{seconds}s)");
is($r->{headers}{'retry-after'}, '1', 'upload 503: Retry-After');
my $e = eval { decode_json($r->{body}) } // {};
is($e->{status}, 503, 'upload 503: JSON status');
like($e->{error} // '', qr/database unavailable/, 'upload 503: JSON error');

my $file = "$tmp/default.pgo";
$r = http('GET', "$url/profile/other", out => $file);
is($r->{status}, 503, 'database down: GET 503');
ok(-f $file && -s $file == 0, 'GET 503: curl -o leaves an empty file');
is($r->{headers}{'retry-after'}, '1', 'GET 503: Retry-After');
ok(metric($gw, 'pgo_gateway_db_errors_total{kind="connect"}') > 0, '/metrics counts connect errors');

$node->start;
my $secs = wait_status($gw, '/healthz', 200, 10);
ok(defined $secs, 'database back: /healthz 200 again' . (defined $secs ? " after ${secs}s" : ''));
is(http('POST', "$url/profile/svc", file => $cpu, headers => \@octet)->{status}, 201, 'database back: upload 201');
is(http('GET', "$url/profile/svc")->{status}, 200, 'database back: GET 200');

# a server restart breaks every idle connection: the next requests retry on a new one
$node->restart;
is(http('POST', "$url/profile/svc", file => $cpu, headers => \@octet)->{status}, 201,
	'after a restart: upload 201 at once (stale connection replaced)');
is(http('GET', "$url/profile/svc?max=1")->{status}, 200, 'after a restart: GET 200 at once');

# --- kill -9 during a stream of uploads
my @children;
foreach my $c (1 .. 4)
{
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(my $out, '>', "$tmp/stream-$c") or die;
		$out->autoflush(1);
		foreach my $i (1 .. 400)
		{
			my $res = http('POST', "$url/profile/stream", file => $cpu, headers => \@octet, timeout => 10);
			my $id = ($res->{body} =~ /"id"\s*:\s*(\d+)/) ? $1 : 0;
			print $out "$res->{status} $id\n";
			last if $res->{status} == 0;
		}
		close $out;
		POSIX::_exit(0);    # not exit: the test's END blocks would stop the cluster
	}
	push @children, $pid;
}
sleep(1.5);
kill_gateway($gw);
waitpid($_, 0) foreach @children;

my (@created, $failed);
foreach my $c (1 .. 4)
{
	foreach my $line (split /\n/, slurp_file("$tmp/stream-$c"))
	{
		my ($status, $id) = split / /, $line;
		if ($status == 201) { push @created, $id }
		else { $failed++ }
	}
}
ok(@created > 0, scalar(@created) . ' uploads got 201 before kill -9');
ok($failed > 0, 'and the stream was cut by the kill');
my $ids = join(',', @created);
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE id IN ($ids)"),
	scalar(@created), 'every upload that got 201 is in the table');
my $rows = $node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'stream'");
ok($rows >= @created, "rows of the stream: $rows (201s: " . scalar(@created) . ')');
my $hex = unpack('H*', slurp_file($cpu));
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.profiles WHERE tag = 'stream' AND "
		  . "(profile::bytea <> decode('$hex', 'hex')::pprof::bytea OR samples IS NULL OR NOT pgo_usable)"),
	'0', 'no row is half-written: every row is the whole uploaded profile');

# --- SIGTERM drains a slow upload
$gw = start_gateway(node => $node, args => ['--drain-timeout', '30s']);
$url = $gw->{url};
my ($slow_out, $slow_err) = ('', '');
my $slow = IPC::Run::start(
	[ 'curl', '-sS', '-w', '\n%{http_code}', '--limit-rate', '8k', '--data-binary', '@' . fixture('cpu.pb'),
		'-H', $octet[0], "$url/profile/slow" ],
	'<', \undef, '>', \$slow_out, '2>', \$slow_err);
sleep(1);
kill 'TERM', $gw->{pid};
sleep(0.3);
$r = http('GET', "$url/healthz", timeout => 3);
is($r->{status}, 0, 'draining: new connections are refused');
ok(waitpid($gw->{pid}, WNOHANG) == 0, 'draining: the gateway waits for the upload');
$slow->finish;
like($slow_out, qr/\n201$/, 'the slow upload in flight at SIGTERM got 201') or diag("$slow_out $slow_err");
is(wait_gateway($gw, 10), 0, 'SIGTERM: exit 0 once drained');
my $t0;
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'slow'"),
	'1', 'the drained upload is stored');

# --- a held lock: pool exhausted, queue full, then statement timeout
# (the ASan build: these paths suspend and resume connections from other
# threads)
$gw = start_gateway(node => $node, asan => 1,
	args => [ '--db-pool', '1', '--pool-wait', '300ms', '--statement-timeout', '2500ms' ]);
$url = $gw->{url};
my $locker = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c',
		'BEGIN; LOCK TABLE pgo.profiles IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;' ],
	'<', \undef, '>', \my $lock_out, '2>', \my $lock_err);
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'pgo.profiles'::regclass")
  or die 'lock not taken';
my $blocked_out = '';
my $blocked = IPC::Run::start(
	[ 'curl', '-sS', '-w', '\n%{http_code}', '--data-binary', "\@$cpu", '-H', $octet[0], "$url/profile/locked" ],
	'<', \undef, '>', \$blocked_out, '2>', \my $blocked_err);
sleep(0.3);
$r = http('POST', "$url/profile/locked", file => $cpu, headers => \@octet);
is($r->{status}, 503, 'the only connection is busy: 503');
like($r->{body}, qr/pool exhausted/, '503: pool exhausted');
# answered while the lock was still held: after --pool-wait, not at the
# statement timeout or when the lock goes (a time bound would measure the
# machine's load)
my $lock_held = "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'pgo.profiles'::regclass";
is($node->safe_psql('postgres', $lock_held), '1', '503 after --pool-wait, while the lock is still held');
is($r->{headers}{'retry-after'}, '1', '503: Retry-After');
# 1 connection queues at most 16 requests: a burst of 30, all sent within a
# millisecond on connections opened beforehand, overflows it
my @socks = map {
	IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}, Proto => 'tcp')
	  or die "connect: $!"
} 1 .. 30;
syswrite($_, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n") foreach @socks;
my %burst;
foreach my $s (@socks)
{
	my $answer = '';
	while (sysread($s, my $buf, 4096)) { $answer .= $buf }
	close $s;
	$burst{ $answer =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'none' }++;
	$burst{busy}++ if $answer =~ /X-PGO-Error: gateway busy/;
}
is($burst{503}, 30, 'burst while the only connection is busy: all 503');
ok($burst{busy} >= 14, "burst: those beyond the queue refused at once ($burst{busy} busy)");
is($node->safe_psql('postgres', $lock_held), '1', 'burst: every answer came while the lock was still held');
$t0 = time();
$blocked->finish;
my $waited = time() - $t0 + 0.3;
like($blocked_out, qr/"status":503,"error":"database query timed out".*"sqlstate":"57014"/s,
	'the blocked upload: 503 at the statement timeout');
ok($waited < 5, "the blocked upload did not hang (${waited}s)");
ok(metric($gw, 'pgo_gateway_db_errors_total{kind="pool"}') >= 1, '/metrics counts pool exhaustion');
$locker->finish;
is(http('POST', "$url/profile/locked", file => $cpu, headers => \@octet)->{status}, 201,
	'lock released: upload 201');
is(stop_gateway($gw), 0, 'SIGTERM: exit 0, no sanitizer report') or diag(gateway_log($gw));

# --- a read replica serves GETs while the primary is down
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$gw = start_gateway(node => $node,
	env => { PGO_READ_DATABASE_URL => $standby->connstr('postgres') });
$url = $gw->{url};
is(http('POST', "$url/profile/replicated", file => $cpu, headers => \@octet)->{status}, 201, 'upload to the primary');
$node->wait_for_catchup($standby);
$r = http('GET', "$url/healthz");
like($r->{body}, qr/"replica":"ok"/, '/healthz checks the replica too');
is(http('GET', "$url/profile/replicated")->{status}, 200, 'GET through the replica');
$node->stop('fast');
$r = http('GET', "$url/profile/replicated?max=1");
is($r->{status}, 200, 'primary down: GET (a new merge) still served by the replica');
is($r->{headers}{'x-pgo-cache'}, 'miss', 'primary down: it was merged on the replica');
is(http('GET', "$url/tags")->{status}, 200, 'primary down: /tags from the replica');
is(http('POST', "$url/profile/replicated", file => $cpu, headers => \@octet)->{status}, 503,
	'primary down: upload 503');
is(http('GET', "$url/healthz")->{status}, 503, 'primary down: /healthz 503');
is(stop_gateway($gw), 0, 'SIGTERM: exit 0');
$standby->stop;
done_testing();
