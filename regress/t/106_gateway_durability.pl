# Durability beyond the gateway: what an upload's 201 promises when the
# database itself fails.
# - kill -9 of the postmaster and every backend (a machine crash, as far as
#   the database can tell) during a stream of uploads: while it is down the
#   gateway answers 503 quickly (never another 5xx, never a hang); after
#   crash recovery every upload that got 201 is present and whole, and the
#   gateway serves again without a restart;
# - the disk under the catalog fills up (a tablespace on a small tmpfs that
#   scripts/run-tests mounts when it runs as root, given in
#   $PPROF_SMALL_FS): uploads get 503 naming the full disk, nothing
#   acknowledged is lost, and uploads succeed again once space is freed.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use JSON::PP;
use POSIX qw(WNOHANG);
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = tmpdir();
my $node = new_node('durability');
my @octet = ('Content-Type: application/octet-stream');
my $cpu = fixture('cpu.pb.gz');
my $hex = unpack('H*', slurp_file($cpu));

# Rows of $tag that are not exactly the uploaded profile (0 when all whole).
sub broken_rows
{
	my ($tag) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.profiles WHERE tag = '$tag' AND "
		  . "(profile::bytea <> decode('$hex', 'hex')::pprof::bytea OR samples IS NULL OR NOT pgo_usable)");
}

# $n processes each upload to $tag until $stop_file exists (or $max
# uploads); each writes "status id seconds" per upload into $tmp/$tag-<n>.
sub start_streams
{
	my ($url, $tag, $n, $stop_file, $max) = @_;
	my @pids;
	foreach my $c (1 .. $n)
	{
		my $pid = fork();
		die "fork: $!" unless defined $pid;
		if ($pid == 0)
		{
			open(my $out, '>', "$tmp/$tag-$c") or die;
			$out->autoflush(1);
			foreach my $i (1 .. $max)
			{
				last if -e $stop_file;
				my $res = http('POST', "$url/profile/$tag", file => $cpu, headers => \@octet, timeout => 30);
				my $id = ($res->{status} == 201 && $res->{body} =~ /"id"\s*:\s*(\d+)/) ? $1 : 0;
				printf $out "%d %d %.3f\n", $res->{status}, $id, $res->{seconds};
				sleep(0.05) if $res->{status} != 201;
			}
			close $out;
			POSIX::_exit(0);    # not exit: the test's END blocks would stop the cluster
		}
		push @pids, $pid;
	}
	return @pids;
}

# The lines the streams of $tag wrote: a list of [status, id, seconds].
sub stream_results
{
	my ($tag, $n) = @_;
	my @r;
	foreach my $c (1 .. $n)
	{
		push @r, [ split / / ] foreach split /\n/, slurp_file("$tmp/$tag-$c");
	}
	return @r;
}

# --- kill -9 of the database during a stream of uploads
my $gw = start_gateway(node => $node, args => [ '--connect-timeout', '2', '--pool-wait', '1s' ]);
my $url = $gw->{url};
is(http('POST', "$url/profile/crash", file => $cpu, headers => \@octet)->{status}, 201, 'upload before the crash');

my $stop = "$tmp/stop-crash";
my @pids = start_streams($url, 'crash', 3, $stop, 100000);
sleep(2);

# The postmaster and all its children at once: no backend survives to
# finish a commit, as in a power cut. Recovery replays the WAL on start.
my $postmaster = $node->{_pid};
my @children = split /\s+/, `pgrep -P $postmaster`;
kill 'KILL', $postmaster, grep { /^\d+$/ } @children;
$node->{_pid} = undef;    # as Cluster::kill9 leaves it
my $down_at = time();
sleep(3);    # the streams meet the dead database for a while

my $r = http('GET', "$url/healthz");
is($r->{status}, 503, 'database killed: /healthz 503');
ok($r->{seconds} < 5, "database killed: /healthz answers quickly ($r->{seconds}s)");

$node->start;    # crash recovery
my $up_at = time();
sleep(3);        # and the streams meet it again
write_file($stop, '');
waitpid($_, 0) foreach @pids;

my @results = stream_results('crash', 3);
my @created = map { $_->[1] } grep { $_->[0] == 201 } @results;
my @others = grep { $_->[0] != 201 } @results;
my @bad = grep { $_->[0] != 503 } @others;
ok(@others > 0, scalar(@others) . ' uploads were refused while the database was down');
is(scalar(@bad), 0, 'every refused upload got 503 (no other status, no dropped connection)')
  or diag(join(', ', map { "$_->[0] after $_->[2]s" } @bad[ 0 .. ($#bad < 9 ? $#bad : 9) ]));
my @slow = grep { $_->[2] > 10 } @results;
is(scalar(@slow), 0, 'no upload waited more than 10 s (never a hang)');

# uploads that got 201 after the restart: the gateway recovered by itself
my $after = 0;
foreach my $c (1 .. 3)
{
	my @lines = split /\n/, slurp_file("$tmp/crash-$c");
	my $seen503 = 0;
	foreach (@lines)
	{
		my ($s) = split / /;
		$seen503 = 1 if $s == 503;
		$after++ if $seen503 && $s == 201;
	}
}
ok($after > 0, "$after uploads got 201 after recovery, on the same gateway");

my $ids = join(',', @created);
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE id IN ($ids)"),
	scalar(@created), 'every upload that got 201 survived the crash (' . scalar(@created) . ')');
is(broken_rows('crash'), '0', 'no row is half-written after crash recovery');
is(http('GET', "$url/profile/crash")->{status}, 200, 'GET after recovery: 200');
stop_gateway($gw);

# --- the disk under the catalog fills up
SKIP:
{
	my $fs = $ENV{PPROF_SMALL_FS};
	if (!$fs)
	{
		# CI runs as root, where scripts/run-tests always mounts one
		BAIL_OUT('PPROF_SMALL_FS is not set (scripts/run-tests mounts a tmpfs when run as root)')
		  if $ENV{CI};
		skip 'no small file system (PPROF_SMALL_FS; needs root to mount)', 8;
	}
	my $space = "$fs/durability-$$";
	mkdir $space or die "mkdir $space: $!";
	$node->safe_psql('postgres', "CREATE TABLESPACE small LOCATION '$space'");
	# every partition of the catalog (their TOAST goes along), and the
	# partitions created from now on
	$node->safe_psql('postgres', q{
		DO $$
		DECLARE part regclass;
		BEGIN
			FOR part IN SELECT inhrelid::regclass FROM pg_inherits
					WHERE inhparent = 'pgo.profiles'::regclass LOOP
				EXECUTE format('ALTER TABLE %s SET TABLESPACE small', part);
			END LOOP;
			ALTER TABLE pgo.profiles SET TABLESPACE small;
		END $$});

	# leave about 1 MB free
	my $filler = "$fs/filler-$$";
	my $free = `df -k --output=avail $fs | tail -1` * 1024;
	system('fallocate', '-l', $free - (1 << 20), $filler) == 0
	  or system('dd', 'if=/dev/zero', "of=$filler", 'bs=64k',
		'count=' . int(($free - (1 << 20)) / 65536), 'status=none');

	$gw = start_gateway(node => $node);
	$url = $gw->{url};
	my ($full, @ok);
	foreach my $i (1 .. 2000)
	{
		my $res = http('POST', "$url/profile/full", file => $cpu, headers => \@octet);
		if ($res->{status} == 201)
		{
			push @ok, $1 if $res->{body} =~ /"id"\s*:\s*(\d+)/;
			next;
		}
		$full = $res;
		last;
	}
	ok(@ok > 0, scalar(@ok) . ' uploads fitted before the disk filled');
	ok(defined $full, 'an upload was refused once the disk was full');
	$full //= { status => 0, headers => {}, body => '' };
	is($full->{status}, 503, 'disk full: 503');
	is($full->{headers}{'retry-after'}, '1', 'disk full: Retry-After');
	my $e = eval { decode_json($full->{body}) } // {};
	is($e->{sqlstate}, '53100', 'disk full: the JSON names SQLSTATE 53100 (disk_full)');
	like($e->{error} // '', qr/No space left on device|disk/i, "disk full: the reason ($e->{error})");

	unlink $filler;
	is(http('POST', "$url/profile/full", file => $cpu, headers => \@octet)->{status}, 201,
		'space freed: uploads succeed again');
	$ids = join(',', @ok);
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pgo.profiles WHERE id IN ($ids)") . '/' . broken_rows('full'),
		scalar(@ok) . '/0', 'nothing acknowledged was lost, no row half-written');
	stop_gateway($gw);
}

done_testing();
