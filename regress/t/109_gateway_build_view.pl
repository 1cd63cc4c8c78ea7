# What the gateway serves of the compiler's view and of a build: GET
# /profile/<tag>?format=preprofile is byte for byte what go tool preprofile
# -i (Go 1.23 and 1.27) writes of the default.pgo the same GET serves
# without it; ?go_version= and ?version= select by build as
# pgo.profile_for does, each its own cache entry; /metrics exports per tag
# the age of the newest usable profile and the drift against the newest
# release (pgo.tag_health), for an alert on a stale profile.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my @toolchains = go_toolchains();
my $node = new_node('buildview');
my $read_token = 'read-' . int(rand(1e9));
my $gw = start_gateway(node => $node, asan => 1, env => { PGO_READ_TOKEN => $read_token },
	args => [ '--metrics-tags', '3' ]);
my $url = $gw->{url};
my $tmp = tmpdir();
my @octet = ('Content-Type: application/octet-stream');
my @rd = ("Authorization: Bearer $read_token");

# the Go client's labels: go (runtime.Version()) and version
sub upload
{
	my ($file, $tag, $query) = @_;
	my $r = http('POST', "$url/profile/$tag?$query", file => fixture($file), headers => \@octet);
	is($r->{status}, 201, "upload $file to $tag?$query") or diag($r->{body});
}
upload('cpu_a1.pb.gz', 'svc', 'go=go1.23.4&version=v1');
upload('cpu_a2.pb.gz', 'svc', 'go=go1.27.1&version=v2');
upload('cpu_a3.pb.gz', 'svc', 'go=go1.27.0&version=v1');

# the bytes of a GET and of the same selection in SQL
sub get_ok
{
	my ($query, $name) = @_;
	my $r = http('GET', "$url/profile/svc$query", headers => \@rd);
	is($r->{status}, 200, "$name: 200") or diag($r->{body});
	return $r;
}
sub sql_hex { return $node->safe_psql('postgres', "SELECT encode($_[0], 'hex')"); }

#
# selection by build
#
my %want = (
	'' => "pgo.profile_for('svc')",
	'?go_version=1.27' => "pgo.profile_for('svc', go_version => '1.27')",
	'?go_version=1.25' => "pgo.profile_for('svc', go_version => '1.25')",
	'?version=v1' => "pgo.profile_for('svc', version => 'v1')",
	'?go_version=go1.27&version=v1' => "pgo.profile_for('svc', go_version => '1.27', version => 'v1')");
my %bytes;
foreach my $q (sort keys %want)
{
	my $r = get_ok($q, "GET svc$q");
	is($r->{headers}{'x-pgo-cache'}, 'miss', "GET svc$q: its own cache entry");
	is(unpack('H*', $r->{body}), sql_hex($want{$q}), "GET svc$q: the bytes of $want{$q}");
	$bytes{$q} = $r->{body};
	is(get_ok($q, "GET svc$q again")->{headers}{'x-pgo-cache'}, 'hit', "GET svc$q again: a hit");
}
isnt($bytes{'?go_version=1.27'}, $bytes{''}, 'go_version=1.27 narrows the merge');
is($bytes{'?go_version=1.25'}, $bytes{''}, 'a Go minor no profile has: every profile');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.selection('svc', go_version => '1.27', version => 'v1')"),
	'1', 'go_version and version: the one profile of both');
my $r = http('GET', "$url/profile/svc?go_version=latest", headers => \@rd);
is($r->{status}, 400, 'go_version=latest: 400');
is($r->{headers}{'x-pgo-sqlstate'}, '22023', "go_version=latest: the catalog's SQLSTATE");
like($r->{headers}{'x-pgo-error'}, qr/^invalid go_version/, "go_version=latest: the catalog's message");

#
# format=preprofile
#
foreach my $q ('', '?go_version=1.27&version=v2')
{
	my $sep = $q eq '' ? '?' : '&';
	my $pgo = "$tmp/default" . length($q) . '.pgo';
	my $d = http('GET', "$url/profile/svc$q", headers => \@rd, out => $pgo);
	is($d->{status}, 200, "GET svc$q: the default.pgo");
	my $p = get_ok("$q${sep}format=preprofile", "GET svc$q format=preprofile");
	is($p->{headers}{'content-type'}, 'text/plain; charset=utf-8', "preprofile$q: text/plain");
	ok(!defined $p->{headers}{'content-disposition'}, "preprofile$q: no attachment");
	like($p->{body}, qr/\AGO PREPROFILE V1\n/, "preprofile$q: the header line");
	is($p->{headers}{etag}, '"' . sha256_hex($p->{body}) . '"', "preprofile$q: ETag of its own bytes");
	isnt($p->{headers}{etag}, $d->{headers}{etag}, "preprofile$q: not the default.pgo's ETag");
	is(get_ok("$q${sep}format=preprofile", 'again')->{headers}{'x-pgo-cache'}, 'hit',
		"preprofile$q again: a hit");
	is(http('GET', "$url/profile/svc$q${sep}format=preprofile", headers => [ @rd, "If-None-Match: $p->{headers}{etag}" ])->{status},
		304, "preprofile$q: 304 on its ETag");
	foreach my $tc (@toolchains)
	{
		my $out = "$pgo.$tc->{name}.preprofile";
		my ($rc, undef, $err) = run_with_go(undef, {}, $tc->{go}, 'tool', 'preprofile', '-i', $pgo, '-o', $out);
		is($rc, 0, "$tc->{name} tool preprofile of GET svc$q") or diag($err);
		ok($p->{body} eq slurp_file($out),
			"GET svc$q${sep}format=preprofile is byte for byte $tc->{name} tool preprofile -i of the default.pgo");
	}
}
$r = http('GET', "$url/profile/svc?format=json", headers => \@rd);
is($r->{status}, 400, 'format=json: 400');
is(http('GET', "$url/profile/svc?format=pprof", headers => \@rd)->{body}, $bytes{''}, 'format=pprof: the default.pgo');
$r = http('GET', "$url/ui/svc?format=preprofile", headers => \@rd);
is($r->{status}, 400, 'format is for /profile only');

#
# /metrics: age and drift per tag
#
sub tag_gauges
{
	my (@h) = @_;
	my $m = http('GET', "$url/metrics", headers => \@h);
	is($m->{status}, 200, '/metrics: 200');
	my %g;
	foreach my $line (split /\n/, $m->{body})
	{
		$g{$1}{$2} = $3 + 0 if $line =~ /^(pgo_tag_\w+)\{tag="([^"]+)"\} (\S+)$/;
		$g{up} = $1 + 0 if $line =~ /^pgo_gateway_tag_health_up (\S+)$/;
	}
	return \%g;
}
# a service whose profiles stopped three days ago
$node->safe_psql('postgres', q{
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	SELECT 'stale', 'sql', now() - interval '3 days', profile FROM pgo.profiles WHERE tag = 'svc' LIMIT 1});
my $g = tag_gauges();
ok(!exists $g->{pgo_tag_profile_age_seconds} && !exists $g->{up}, '/metrics without the read token: no tag names');
$g = tag_gauges(@rd);
is($g->{up}, 1, 'pgo_gateway_tag_health_up 1');
ok($g->{pgo_tag_profile_age_seconds}{stale} > 3 * 86400 - 600,
	"a tag whose newest profile is 3 days old: age $g->{pgo_tag_profile_age_seconds}{stale} s");
ok($g->{pgo_tag_profile_age_seconds}{svc} < 3600, "a tag with fresh profiles: age $g->{pgo_tag_profile_age_seconds}{svc} s");
ok(!exists $g->{pgo_tag_drift}{svc}, 'no release yet: no drift');

# right after a release of the same selection, nothing has drifted
$node->safe_psql('postgres', "SELECT pgo.publish('svc')");
$g = tag_gauges(@rd);
is($g->{pgo_tag_drift}{svc}, 0, 'drift 0 right after a release of the selection');
# another program's profiles move it
upload('cpu_b1.pb.gz', 'svc', 'go=go1.27.1&version=v3');
upload('cpu_b1.pb.gz', 'svc', 'go=go1.27.1&version=v3');
$g = tag_gauges(@rd);
my $drift = $g->{pgo_tag_drift}{svc};
ok($drift > 0.3 && $drift <= 1, "another program's profiles: drift $drift");
is($drift + 0, $node->safe_psql('postgres', "SELECT pgo.drift('svc')") + 0, 'the drift is pgo.drift');

# bounded: the tags with the newest uploads
upload('cpu_a1.pb.gz', "t$_", 'go=go1.27.1') foreach (1 .. 3);
$g = tag_gauges(@rd);
is(join(',', sort keys %{ $g->{pgo_tag_profile_age_seconds} }), 't1,t2,t3', '--metrics-tags 3: the 3 tags with the newest uploads');

# the database down: the gateway's own metrics still, tag health 0
$node->stop;
$g = tag_gauges(@rd);
is($g->{up}, 0, 'database down: pgo_gateway_tag_health_up 0');

is(stop_gateway($gw), 0, 'SIGTERM: exit 0');
done_testing();
