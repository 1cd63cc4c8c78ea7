# GET /profile/<tag> end to end: the merged default.pgo is what
# pgo.profile_for returns, go tool pprof reads it and go build -pgo uses it;
# headers (Content-Type, Content-Disposition, strong ETag = SHA-256 of the
# bytes); 304 on If-None-Match; HEAD; the response cache (no re-merge while
# nothing changed, a new upload is seen); selection parameters; 404 with an
# EMPTY body that go build accepts; releases (/profile/<tag>@<sha256>,
# immutable); /tags; the read token; the sessions keep a merge's memory
# for the next (pprof.retain_memory, set by --merge-memory).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use JSON::PP;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

# log_statement: the gateway's session set-up is in the server log
my $node = new_node('download', conf => "log_statement = 'all'");
my $read_token = 'read-' . int(rand(1e9));
my $gw = start_gateway(node => $node, env => { PGO_READ_TOKEN => $read_token });
my $url = $gw->{url};
my $tmp = tmpdir();
my @octet = ('Content-Type: application/octet-stream');
my @rd = ("Authorization: Bearer $read_token");

# upload that must succeed (uploads need no token here)
sub upload
{
	my ($file, $path) = @_;
	my $r = http('POST', "$url$path", file => fixture($file), headers => \@octet);
	is($r->{status}, 201, "upload $file to $path") or diag($r->{body});
}

upload('cpu_a1.pb.gz', '/profile/svc?mode=batch');
upload('cpu_a2.pb.gz', '/profile/svc?mode=batch');
upload('cpu_b1.pb.gz', '/profile/svc?mode=serve');
upload('heap.pb.gz', '/profile/heaponly');

# the merged profile
my $file = "$tmp/default.pgo";
my $r = http('GET', "$url/profile/svc", headers => \@rd, out => $file);
is($r->{status}, 200, 'GET /profile/svc: 200');
my $bytes = $r->{body};
ok(length($bytes) > 0, 'GET: a body');
is(substr($bytes, 0, 2), "\x1f\x8b", 'GET: gzip');
is($r->{headers}{'content-type'}, 'application/octet-stream', 'GET: Content-Type');
is($r->{headers}{'content-disposition'}, 'attachment; filename=default.pgo', 'GET: Content-Disposition');
is($r->{headers}{etag}, '"' . sha256_hex($bytes) . '"', 'GET: strong ETag, SHA-256 of the bytes');
is($r->{headers}{'content-length'}, length($bytes), 'GET: Content-Length');
is($r->{headers}{'x-pgo-cache'}, 'miss', 'GET: first one merges');
is(unpack('H*', $bytes),
	$node->safe_psql('postgres', "SELECT encode(pgo.profile_for('svc'), 'hex')"),
	'GET: the bytes of pgo.profile_for');
my $etag = $r->{headers}{etag};

SKIP:
{
	skip_unless(go_binary(), 'Go not available', 3);
	my ($rc, $out, $err) = run_go($tmp, {}, 'tool', 'pprof', '-top', $file);
	is($rc, 0, 'go tool pprof reads the downloaded default.pgo') or diag("$out$err");
	like($out, qr/flat%/, 'go tool pprof prints a table');

	# go build -pgo with it, on a tiny module (no network)
	my $dir = "$tmp/app";
	mkdir $dir;
	write_file("$dir/go.mod", "module app\n\ngo 1.23\n");
	write_file("$dir/main.go",
		"package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n");
	($rc, $out, $err) = run_go($dir, {}, 'build', "-pgo=$file", '-o', "$dir/app", '.');
	is($rc, 0, 'go build -pgo=default.pgo succeeds') or diag("$out$err");
}

# cached: no merge while nothing changed
my $merges = metric($gw, 'pgo_gateway_merge_seconds_count');
is($merges, 1, 'one merge so far');
$r = http('GET', "$url/profile/svc", headers => \@rd);
is($r->{status}, 200, 'GET again: 200');
is($r->{headers}{'x-pgo-cache'}, 'hit', 'GET again: from the cache');
is($r->{headers}{etag}, $etag, 'GET again: same ETag');
ok($r->{body} eq $bytes, 'GET again: same bytes');
is(metric($gw, 'pgo_gateway_merge_seconds_count'), $merges, 'GET again: no merge');

# 304
$r = http('GET', "$url/profile/svc", headers => [ @rd, "If-None-Match: $etag" ]);
is($r->{status}, 304, 'If-None-Match with the ETag: 304');
is($r->{body}, '', '304: no body');
is($r->{headers}{etag}, $etag, '304: ETag');
$r = http('GET', "$url/profile/svc", headers => [ @rd, "If-None-Match: \"x\", W/$etag" ]);
is($r->{status}, 304, 'If-None-Match list with the weak form: 304');
$r = http('GET', "$url/profile/svc", headers => [ @rd, 'If-None-Match: "0000"' ]);
is($r->{status}, 200, 'If-None-Match with another ETag: 200');

# HEAD: headers of the GET, no body
my ($answer) = raw_http($gw,
	"HEAD /profile/svc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $read_token\r\nConnection: close\r\n\r\n");
like($answer, qr{^HTTP/1\.1 200 }, 'HEAD: 200');
like($answer, qr{\r\nContent-Length: ${\ length($bytes)}\r\n}, 'HEAD: Content-Length of the GET');
like($answer, qr{\r\nETag: \Q$etag\E\r\n}, 'HEAD: ETag');
like($answer, qr/\r\n\r\n\z/, 'HEAD: no body');

# a new upload changes the selection: merged again, new ETag
upload('cpu_a3.pb.gz', '/profile/svc?mode=batch');
$r = http('GET', "$url/profile/svc", headers => \@rd);
is($r->{status}, 200, 'after an upload: 200');
is($r->{headers}{'x-pgo-cache'}, 'miss', 'after an upload: merged again');
isnt($r->{headers}{etag}, $etag, 'after an upload: new ETag');
is($r->{headers}{etag}, '"' . sha256_hex($r->{body}) . '"', 'after an upload: ETag of the new bytes');
$r = http('GET', "$url/profile/svc", headers => [ @rd, "If-None-Match: $etag" ]);
is($r->{status}, 200, 'the old ETag no longer matches');

# selection parameters reach the catalog
foreach my $case (
	[ 'mode=serve', "mode => 'serve'" ],
	[ 'max=1', 'max_profiles => 1' ],
	[ 'window=1+hour', "\"window\" => '1 hour'" ],
	[ 'normalize=false', '"normalize" => false' ],
	[ 'mode=batch&max=2&normalize=0', "max_profiles => 2, mode => 'batch', \"normalize\" => false" ])
{
	my ($q, $args) = @$case;
	$r = http('GET', "$url/profile/svc?$q", headers => \@rd);
	is($r->{status}, 200, "?$q: 200");
	is(unpack('H*', $r->{body}),
		$node->safe_psql('postgres', "SELECT encode(pgo.profile_for('svc', $args), 'hex')"),
		"?$q: the bytes of pgo.profile_for('svc', $args)");
}
$r = http('GET', "$url/profile/svc?window=banana", headers => \@rd);
is($r->{status}, 400, 'window=banana: 400 (the database rejects the interval)');
is($r->{body}, '', 'window=banana: empty body');
like($r->{headers}{'x-pgo-error'} // '', qr/interval/, 'window=banana: reason in X-PGO-Error');

# nothing usable: 404 and an empty file, which go build accepts
my $empty = "$tmp/empty.pgo";
foreach my $case ([ 'nosuchtag', 'unknown tag' ], [ 'heaponly', 'only unusable profiles' ],
	[ 'svc?mode=nosuchmode', 'a mode with no rows' ])
{
	my ($path, $name) = @$case;
	$r = http('GET', "$url/profile/$path", headers => \@rd, out => $empty);
	is($r->{status}, 404, "$name: 404");
	ok(-f $empty && -s $empty == 0, "$name: curl -o leaves an empty file");
	like($r->{headers}{'x-pgo-error'} // '', qr/no usable profile/, "$name: reason in X-PGO-Error");
}
SKIP:
{
	skip_unless(go_binary(), 'Go not available', 1);
	my ($rc, $out, $err) = run_go("$tmp/app", {}, 'build', "-pgo=$empty", '-o', "$tmp/app/app", '.');
	is($rc, 0, 'go build -pgo=<the empty 404 file> still succeeds') or diag("$out$err");
}

# releases: pinned, immutable
my $sha = $node->safe_psql('postgres', "SELECT sha256 FROM pgo.publish('svc')");
like($sha, qr/^[0-9a-f]{64}$/, 'pgo.publish gives a SHA-256');
$r = http('GET', "$url/profile/svc\@$sha", headers => \@rd);
is($r->{status}, 200, 'release: 200');
is(sha256_hex($r->{body}), $sha, 'release: the bytes hash to the URL');
is($r->{headers}{etag}, "\"$sha\"", 'release: ETag');
like($r->{headers}{'cache-control'} // '', qr/immutable/, 'release: immutable');
like($r->{headers}{'cache-control'} // '', qr/max-age=31536000/, 'release: cached for a year');
is($r->{headers}{'content-disposition'}, 'attachment; filename=default.pgo', 'release: Content-Disposition');
my $release = $r->{body};
$r = http('GET', "$url/profile/svc\@" . uc($sha), headers => \@rd);
is($r->{status}, 200, 'release with upper-case hex: 200');
ok($r->{body} eq $release, 'release with upper-case hex: same bytes');
is($r->{headers}{'x-pgo-cache'}, 'hit', 'release: cached');
$r = http('GET', "$url/profile/svc\@$sha", headers => [ @rd, "If-None-Match: \"$sha\"" ]);
is($r->{status}, 304, 'release: 304');
upload('cpu_a1.pb.gz', '/profile/svc?mode=batch');
$r = http('GET', "$url/profile/svc\@$sha", headers => \@rd);
ok($r->{status} == 200 && $r->{body} eq $release, 'release: unchanged by later uploads');
$r = http('GET', "$url/profile/svc\@" . ('0' x 64), headers => \@rd, out => $empty);
is($r->{status}, 404, 'unknown release: 404');
ok(-s $empty == 0, 'unknown release: empty body');

# /tags
$r = http('GET', "$url/tags", headers => \@rd);
is($r->{status}, 200, '/tags: 200');
my $tags = eval { decode_json($r->{body}) } // {};
my ($svc) = grep { $_->{tag} eq 'svc' } @{ $tags->{tags} // [] };
ok($svc, '/tags lists svc');
is($svc->{profiles}, 5, '/tags: profile count of svc');
ok((grep { $_->{tag} eq 'heaponly' } @{ $tags->{tags} // [] }), '/tags lists heaponly');

# the read token guards reads; the upload token (none here) is not needed
$r = http('GET', "$url/profile/svc");
is($r->{status}, 401, 'GET without the read token: 401');

# every session of the gateway keeps 64M (the default of --merge-memory)
my $server_log = slurp_file($node->logfile);
like($server_log, qr/SET pprof\.retain_memory = '65536kB'/,
	'the gateway sets pprof.retain_memory for its sessions');
is($node->safe_psql('postgres', "LOAD 'pprof'; SET pprof.retain_memory = '65536kB'; SHOW pprof.retain_memory"),
	'64MB', 'the server takes that value');

my $log = gateway_log($gw);
like($log, qr/"method":"GET","path":"\/profile\/svc","route":"profile","status":200,.*"cache":"hit"/,
	'access log: cache hits');
unlike($log, qr/\Q$read_token\E/, 'the read token is not logged');
is(stop_gateway($gw), 0, 'SIGTERM: exit 0');
$node->stop;
done_testing();
