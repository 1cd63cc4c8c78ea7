# pprof-gateway against abusive clients, with real uploads:
# - many idle and slow connections do not starve a normal upload or GET;
# - idle connections are closed after --http-timeout;
# - the per-IP connection limit;
# - concurrent large uploads beyond --upload-memory: 503, not memory growth;
# - SQL in a tag is only an invalid tag.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use IO::Socket::INET;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = new_node('abuse');
my @octet = ('Content-Type: application/octet-stream');
my $cpu = fixture('cpu.pb.gz');

# how many of the sockets the server has not closed yet (a read would block)
sub still_open
{
	my $open = 0;
	foreach my $s (@_)
	{
		$s->blocking(0);
		my $n = sysread($s, my $buf, 4096);
		$open++ if !defined $n && $!{EAGAIN};
		$s->blocking(1);
	}
	return $open;
}

# an open connection to the gateway that sent $bytes and then nothing
sub idle_conn
{
	my ($gw, $bytes) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->{port}, Proto => 'tcp')
	  or die "connect: $!";
	print $s $bytes if defined $bytes;
	return $s;
}

my $gw = start_gateway(node => $node,
	args => [ '--threads', '2', '--max-connections-per-ip', '500', '--http-timeout', '3s' ]);
my $url = $gw->{url};

# 300 connections: silent, half a request line, headers without the end,
# a body that stops half way
my @idle;
foreach my $i (1 .. 75)
{
	push @idle, idle_conn($gw, undef);
	push @idle, idle_conn($gw, "POST /profile/slow HTTP/1.1\r\n");
	push @idle, idle_conn($gw, "GET /profile/slow HTTP/1.1\r\nHost: t\r\nX-Slow: 1\r\n");
	push @idle, idle_conn($gw,
		"POST /profile/slow HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
		  . "Content-Length: 10000\r\n\r\n" . ('x' x 100));
}
sleep(0.3);
my $r = http('POST', "$url/profile/normal", file => $cpu, headers => \@octet);
is($r->{status}, 201, '300 idle and slow connections: a normal upload gets 201');
$r = http('GET', "$url/profile/normal");
is($r->{status}, 200, '300 idle and slow connections: GET 200');
# answered while all of them were still held, not after --http-timeout
# freed them (a time bound would measure the machine's load instead)
is(still_open(@idle), scalar(@idle), '... without waiting for the idle ones to time out');

# --http-timeout closes them
sleep(4.5);
# EOF, an answer or a reset: the server is done with it; EAGAIN: still open
is(still_open(@idle), 0, 'idle connections closed after --http-timeout');
close $_ foreach @idle;
is(stop_gateway($gw), 0, 'SIGTERM with idle connections gone: exit 0');

# per-IP limit
$gw = start_gateway(node => $node, args => [ '--max-connections-per-ip', '5' ]);
$url = $gw->{url};
my @five = map { idle_conn($gw, undef) } 1 .. 5;
sleep(0.2);
$r = http('GET', "$url/healthz", timeout => 3);
isnt($r->{status}, 200, 'a 6th connection from the same address is refused');
close $_ foreach @five;
sleep(0.3);
is(http('GET', "$url/healthz")->{status}, 200, 'after closing them: served');
is(stop_gateway($gw), 0, 'SIGTERM: exit 0');

# memory budget for uploads: two 60 kB bodies fit in 128k, the third does not
$gw = start_gateway(node => $node, args => [ '--max-body', '64k', '--upload-memory', '128k' ]);
$url = $gw->{url};
my @held = map {
	idle_conn($gw,
		"POST /profile/big HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
		  . "Content-Length: 60000\r\n\r\nxx")
} 1 .. 2;
sleep(0.3);
my ($answer) = raw_http($gw,
	"POST /profile/big HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
	  . "Content-Length: 60000\r\n\r\n", until => qr/\}\n/);
like($answer, qr{^HTTP/1\.1 503 .*Retry-After: 1\r\n}s, 'upload memory budget exhausted: 503 with Retry-After');
like($answer, qr/"error":"gateway busy"/, '503: gateway busy');
close $_ foreach @held;
sleep(0.3);
is(http('POST', "$url/profile/big", file => $cpu, headers => \@octet)->{status}, 201,
	'budget freed when those connections closed: 201');

# SQL in a tag is an invalid tag; the table is still there
$r = http('POST', "$url/profile/x%27%3Bdrop%20table%20pgo.profiles%3B--", file => $cpu, headers => \@octet);
is($r->{status}, 400, 'SQL in the tag: 400');
is($node->safe_psql('postgres', "SELECT count(*) > 0 FROM pgo.profiles"), 't', 'pgo.profiles intact');

is(stop_gateway($gw), 0, 'SIGTERM: exit 0');
$node->stop;
done_testing();
