# Concurrent GET /profile/<tag> of one selection share a key check (and a
# merge), and sharing never serves a request from a query sent before the
# request arrived: an upload that got its 201 is in every later GET.
#
# The key check is held up by a lock on pg_extension (pgo.selection_key
# reads the extension's version; ingest never does), so the test decides
# which requests arrive while the first check is in flight. Runs the
# ASan/UBSan build: shared answers are handed between threads.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $node = new_node('coalesce');
my $gw = start_gateway(node => $node, asan => 1, args => [ '--db-pool', '2' ]);
my $url = $gw->{url};
my @octet = ('Content-Type: application/octet-stream');

sub upload
{
	my ($file) = @_;
	my $r = http('POST', "$url/profile/co", file => fixture($file), headers => \@octet);
	is($r->{status}, 201, "upload $file: 201") or diag($r->{body});
}

sub in_flight { return metric($gw, 'pgo_gateway_in_flight_requests') - 1 }    # not /metrics itself

# a GET running in the background: curl writes the headers and the body
my $n = 0;
sub start_get
{
	my (@headers) = @_;
	my $i = ++$n;
	my $dir = tmpdir();
	my %g = (body => "$dir/co-$i.body", headers => "$dir/co-$i.headers");
	$g{run} = IPC::Run::start(
		[ 'curl', '-sS', '-o', $g{body}, '-D', $g{headers}, '-w', '%{http_code}',
			(map { ('-H', $_) } @headers), "$url/profile/co" ],
		'<', \undef, '>', \$g{status}, '2>', \$g{stderr});
	return \%g;
}

sub finish_get
{
	my ($g) = @_;
	$g->{run}->finish;
	my %h = map { /^([^:]+):\s*(.*?)\r?$/ ? (lc $1 => $2) : () } split /\n/, slurp_file($g->{headers});
	$g->{h} = \%h;
	$g->{bytes} = -f $g->{body} ? slurp_file($g->{body}) : "";    # none for a 304
	return $g;
}

sub wait_until
{
	my ($what, $cond) = @_;
	for (1 .. 300)
	{
		return 1 if $cond->();
		sleep(0.05);
	}
	die "timed out waiting for $what";
}

upload('cpu_a1.pb.gz');
my $r = http('GET', "$url/profile/co");
is($r->{status}, 200, 'first GET: 200');
my $etag_old = $r->{headers}{etag};
is(http('GET', "$url/profile/co")->{headers}{'x-pgo-cache'}, 'hit', 'second GET: a cache hit');
my %before = map { $_ => metric($gw, "pgo_gateway_cache_requests_total{result=\"$_\"}") } qw(hit miss shared);

# hold up the key check
my $lock = $node->background_psql('postgres');
$lock->query_safe('BEGIN');
$lock->query_safe('LOCK TABLE pg_catalog.pg_extension IN ACCESS EXCLUSIVE MODE');

# the leader: its check is sent and waits for the lock
my $leader = start_get();
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE wait_event_type = 'Lock' AND query LIKE '%pgo.selection_key%'})
  or die 'the key check does not wait';

# six more requests arrive while that check is in flight, then an upload
# commits (201), then one more request, which already holds the bytes the
# merge will now give: none of them may ride on the check in flight, which
# cannot see the upload
my @followers = map { start_get() } 1 .. 6;
wait_until('six parked requests', sub { in_flight() == 7 });
upload('cpu_a2.pb.gz');
my $new = $node->safe_psql('postgres', q{SELECT encode(pgo.profile_for('co'), 'hex')});
my $etag_new = '"' . sha256_hex(pack('H*', $new)) . '"';
isnt($etag_new, $etag_old, 'the upload changed the merged profile');
my $conditional = start_get("If-None-Match: $etag_new");
wait_until('seven parked requests', sub { in_flight() == 8 });
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity
	WHERE query LIKE '%pgo.selection_key%' AND state = 'active' AND pid <> pg_backend_pid()}),
	'1', 'eight requests, one key check in flight');

$lock->query_safe('COMMIT');
$lock->quit;
finish_get($_) for ($leader, @followers, $conditional);

is($leader->{status}, '200', 'leader: 200');
is($leader->{h}{etag}, $etag_old, 'leader: the selection of its own check (before the upload)');
is($leader->{h}{'x-pgo-cache'}, 'hit', 'leader: a cache hit');

is(scalar(grep { $_->{status} eq '200' } @followers), 6, 'followers: all 200');
is(scalar(grep { ($_->{h}{etag} // '') eq $etag_new } @followers), 6,
	'followers: all see the upload (ETag of the current merge)');
is(scalar(grep { $_->{bytes} eq pack('H*', $new) } @followers), 6,
	'followers: the bytes of pgo.profile_for now');
is(scalar(grep { ($_->{h}{'x-pgo-cache'} // '') eq 'miss' } @followers), 6,
	'followers: X-PGO-Cache of the shared answer (one merge)');
is($conditional->{status}, '304', 'a follower holding the new bytes: 304 (If-None-Match is its own)');
is($conditional->{bytes}, '', '304: no body');

my %after = map { $_ => metric($gw, "pgo_gateway_cache_requests_total{result=\"$_\"}") } qw(hit miss shared);
is($after{hit} - $before{hit}, 1, 'one key check for the leader (a hit)');
is($after{miss} - $before{miss}, 1, 'one key check and merge for the seven followers');
is($after{shared} - $before{shared}, 6, 'six requests answered by another one\'s check');
is(metric($gw, 'pgo_gateway_merge_seconds_count'), 2, 'two merges in all (the first GET and the followers\')');
my $log = gateway_log($gw);
is(scalar(() = $log =~ /"route":"profile","status":(?:200|304),[^\n]*"cache":"shared"/g), 6,
	'access log: six shared answers');

is(stop_gateway($gw), 0, 'SIGTERM: exit 0, no sanitizer report') or diag(gateway_log($gw));
$node->stop;
done_testing();
