# pprof-gateway's HTTP surface that needs no catalog rows: flags, routing,
# tokens, size and type checks, path tricks, malformed HTTP, /healthz and
# /metrics. Runs the ASan/UBSan build of the gateway: any memory error or
# leak makes it exit non-zero at SIGTERM, which fails the last test.
#
# Body shapes: JSON {"status","error","detail"} for POST and other methods;
# an EMPTY body with the reason in X-PGO-Error for GET and HEAD.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $upload_token = 'up-' . join('', map { ('a' .. 'z')[ rand 26 ] } 1 .. 24);
my $read_token = 'rd-' . join('', map { ('a' .. 'z')[ rand 26 ] } 1 .. 24);

# --help documents every flag and variable
{
	my ($out, $err);
	IPC::Run::run([ gateway_binary(), '--help' ], '>', \$out, '2>', \$err);
	is($?, 0, '--help exits 0');
	foreach my $word (
		qw(--listen :8080 PGO_DATABASE_URL PGO_READ_DATABASE_URL
		PGO_UPLOAD_TOKEN PGO_READ_TOKEN --max-body 32M --threads --db-pool
		--pool-wait --connect-timeout --statement-timeout --http-timeout
		--max-connections --max-connections-per-ip --connection-memory
		--drain-timeout --cache-size --merge-memory PGO_MERGE_MEMORY))
	{
		like($out, qr/\Q$word\E/, "--help mentions $word");
	}

	local $ENV{PGO_DATABASE_URL};
	delete $ENV{PGO_DATABASE_URL};
	IPC::Run::run([ gateway_binary() ], '>', \$out, '2>', \$err);
	is($? >> 8, 2, 'no database URL: exit 2');
	like($err, qr/PGO_DATABASE_URL/, 'no database URL: says which variable');

	IPC::Run::run([ gateway_binary(), '--database-url', '', '--max-body', 'lots' ],
		'>', \$out, '2>', \$err);
	is($? >> 8, 2, 'bad flag value: exit 2');
}

my $node = new_node('http');
my $gw = start_gateway(
	node => $node,
	asan => 1,
	args => [ '--max-body', '64k', '--threads', '2' ],
	env => { PGO_UPLOAD_TOKEN => $upload_token, PGO_READ_TOKEN => $read_token });
my $url = $gw->{url};
my @up = ('Authorization: Bearer ' . $upload_token);
my @rd = ('Authorization: Bearer ' . $read_token);
my $profile = fixture('cpu.pb.gz');

# a GET error: status, empty body, reason header
sub get_error
{
	my ($r, $status, $reason, $name) = @_;
	is($r->{status}, $status, "$name: $status");
	is($r->{body}, '', "$name: empty body");
	like($r->{headers}{'x-pgo-error'} // '', $reason, "$name: reason in X-PGO-Error");
	is($r->{headers}{'content-length'}, '0', "$name: Content-Length: 0")
	  if $r->{headers}{'content-length'};
}

# a POST error: status, JSON body of the one shape
sub post_error
{
	my ($r, $status, $error, $name) = @_;
	is($r->{status}, $status, "$name: $status");
	like($r->{headers}{'content-type'} // '', qr{^application/json}, "$name: JSON");
	like($r->{body}, qr/^\{"status":$status,"error":"[^"]*$error/, "$name: JSON error shape");
}

# health and metrics (no token needed)
my $r = http('GET', "$url/healthz");
is($r->{status}, 200, '/healthz: 200 with the database up');
like($r->{body}, qr/"database":"ok"/, '/healthz: database ok');
my ($answer, $secs) = raw_http($gw, "HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
like($answer, qr{^HTTP/1\.1 200 .*\r\nContent-Length: 32\r\n}s, 'HEAD /healthz: 200 with the GET length');
like($answer, qr/\r\n\r\n\z/, 'HEAD /healthz: no body');
$r = http('GET', "$url/metrics");
is($r->{status}, 200, '/metrics: 200');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, '/metrics: Prometheus text format');
foreach my $m (
	qw(pgo_gateway_requests_total pgo_gateway_upload_bytes_total
	pgo_gateway_merge_seconds_bucket pgo_gateway_db_errors_total
	pgo_gateway_request_duration_seconds_bucket pgo_gateway_cache_bytes))
{
	like($r->{body}, qr/^\Q$m\E[{ ]/m, "/metrics has $m");
}
like($r->{body}, qr/^pgo_gateway_requests_total\{route="healthz",status="200"\} 2$/m,
	'/metrics counts requests by route and status');

# 404
my $file = tmpdir() . '/default.pgo';
$r = http('GET', "$url/nope", out => $file);
get_error($r, 404, qr/not found/, 'GET unknown path');
ok(-f $file && -s $file == 0, 'curl -o without -f leaves an EMPTY file on a GET error');
post_error(http('POST', "$url/nope", data => 'x'), 404, 'not found', 'POST unknown path');

# 405 with Allow
$r = http('PUT', "$url/profile/svc", headers => \@up, data => 'x');
post_error($r, 405, 'method not allowed', 'PUT /profile/svc');
is($r->{headers}{allow}, 'GET, HEAD, POST', 'PUT /profile/svc: Allow');
$r = http('POST', "$url/tags", data => 'x');
post_error($r, 405, 'method not allowed', 'POST /tags');
is($r->{headers}{allow}, 'GET, HEAD', 'POST /tags: Allow');
$r = http('POST', "$url/profile/svc@" . ('a' x 64), headers => \@up, data => 'x');
post_error($r, 405, 'method not allowed', 'POST to a release');
is($r->{headers}{allow}, 'GET, HEAD', 'POST to a release: Allow');
post_error(http('DELETE', "$url/healthz"), 405, 'method not allowed', 'DELETE /healthz');

# 401: tokens
$r = http('POST', "$url/profile/svc", file => $profile,
	headers => ['Content-Type: application/octet-stream']);
post_error($r, 401, 'unauthorized', 'upload without token');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'upload without token: WWW-Authenticate');
post_error(
	http('POST', "$url/profile/svc", file => $profile,
		headers => [ 'Authorization: Bearer ' . $upload_token . 'x', 'Content-Type: application/octet-stream' ]),
	401, 'unauthorized', 'upload with a longer token');
post_error(
	http('POST', "$url/profile/svc", file => $profile,
		headers => [ 'Authorization: Bearer ' . $read_token, 'Content-Type: application/octet-stream' ]),
	401, 'unauthorized', 'upload with the read token');
get_error(http('GET', "$url/profile/svc"), 401, qr/unauthorized/, 'GET without read token');
get_error(http('GET', "$url/profile/svc", headers => ['Authorization: Bearer nope']),
	401, qr/unauthorized/, 'GET with a wrong token');
get_error(http('GET', "$url/tags"), 401, qr/unauthorized/, 'GET /tags without read token');

# 411: a POST without Content-Length nor chunked body
($answer, $secs) = raw_http($gw,
	"POST /profile/svc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $upload_token\r\n"
	  . "Content-Type: application/octet-stream\r\n\r\n",
	until => qr/\}\n/);
like($answer, qr{^HTTP/1\.1 411 }, '411 without Content-Length');
like($answer, qr/\{"status":411,"error":"length required"/, '411: JSON');

# 413 decided from Content-Length, before the body: none is ever sent here
($answer, $secs) = raw_http($gw,
	"POST /profile/svc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $upload_token\r\n"
	  . "Content-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\nabc");
like($answer, qr{^HTTP/1\.1 413 }, '413 on a 1 GiB Content-Length with 3 bytes sent');
like($answer, qr/\{"status":413,"error":"request body too large"/, '413: JSON');
ok($secs < 2, "413: answered without waiting for the body (${secs}s)");
($answer) = raw_http($gw,
	"POST /profile/svc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $upload_token\r\n"
	  . "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
like($answer, qr{^HTTP/1\.1 413 }, '413 with Expect: 100-continue');
unlike($answer, qr/100 Continue/, '413: no 100 Continue, so the client never sends the body');

my $big = tmpdir() . '/big';
write_file($big, 'x' x 100000);
post_error(
	http('POST', "$url/profile/svc", file => $big,
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	413, 'request body too large', 'curl upload over --max-body');
post_error(
	http('POST', "$url/profile/svc", file => $big, chunked => 1,
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	413, 'request body too large', 'chunked upload over --max-body');

# 415
foreach my $case (
	[ 'Content-Type: text/plain', 'unsupported Content-Type' ],
	[ 'Content-Type: application/json', 'unsupported Content-Type' ],
	[ 'Content-Type: text/html; charset=utf-8', 'unsupported Content-Type' ],
	[ 'Content-Type: application/problem+json', 'unsupported Content-Type' ],
	[ 'Content-Encoding: br', 'unsupported Content-Encoding' ],
	[ 'Content-Encoding: deflate', 'unsupported Content-Encoding' ])
{
	post_error(http('POST', "$url/profile/svc", file => $profile, headers => [ @up, $case->[0] ]),
		415, $case->[1], "upload with $case->[0]");
}
post_error(
	http('POST', "$url/profile/svc", form => "cpu_profile=\@$profile",
		headers => [ @up, 'Content-Encoding: gzip' ]),
	415, 'unsupported Content-Encoding', 'gzip-encoded multipart body');

# 400: bad uploads
post_error(
	http('POST', "$url/profile/svc", form => "other=\@$profile", headers => \@up),
	400, 'invalid multipart body', 'multipart without a cpu_profile part');
post_error(
	http('POST', "$url/profile/svc", data => 'x',
		headers => [ @up, 'Content-Type: multipart/form-data' ]),
	400, 'invalid multipart body', 'multipart without a boundary');
post_error(
	http('POST', "$url/profile/svc", data => "--b\r\nContent-Disposition: form-data; name=\"cpu_profile\"\r\n\r\nabc",
		headers => [ @up, 'Content-Type: multipart/form-data; boundary=b' ]),
	400, 'invalid multipart body', 'truncated multipart body');
post_error(
	http('POST', "$url/profile/svc", data => '',
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	400, 'empty request body', 'empty body');
# labels are the catalog's to judge (pgo.ingest): its verdict comes back
post_error(
	http('POST', "$url/profile/svc?" . ('k' x 129) . '=1', file => $profile,
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	400, 'invalid label', 'label name of 129 characters');
post_error(
	http('POST', "$url/profile/svc?mode=" . ('v' x 1025), file => $profile,
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	400, 'invalid label', 'label value of 1025 characters');
post_error(
	http('POST', "$url/profile/svc?mode=a%00b", file => $profile,
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	400, 'invalid query string', 'label value with %00');
post_error(
	http('POST', "$url/profile/svc?mode=a&mode=b", file => $profile,
		headers => [ @up, 'Content-Type: application/octet-stream' ]),
	400, 'invalid query string', 'label given twice');
post_error(
	http('POST', "$url/profile/svc", file => $profile,
		headers => [ @up, 'Content-Type: application/octet-stream', 'Idempotency-Key: ' . ('i' x 257) ]),
	400, 'idempotency key must have 1 to 256 characters', 'Idempotency-Key of 257 characters');

# 400: path tricks, on GET (empty body) and POST (JSON)
foreach my $case (
	[ '/profile/..', 'dots' ],
	[ '/profile/.', 'one dot' ],
	[ '/profile/%2e%2e', 'encoded dots' ],
	[ '/profile/../etc/passwd', 'path traversal' ],
	[ '/profile/a%2fb', 'encoded slash' ],
	[ '/profile/a%00b', '%00' ],
	[ '/profile/a%0ab', '%0a' ],
	[ '/profile/a%zzb', 'malformed escape' ],
	[ '/profile/%ff%fe', 'invalid UTF-8' ],
	[ '/profile/x%27%3B%20drop%20table%20pgo.profiles', 'SQL in the tag' ],
	[ '/profile/' . ('a' x 129), 'tag of 129 characters' ],
	[ '/profile/' . ('a' x 5000), 'tag of 5000 characters' ],
	[ '/profile/', 'empty tag' ],
	[ '/profile/svc@abc', 'short release hash' ],
	[ '/profile/svc@' . ('g' x 64), 'non-hex release hash' ],
	[ '/profile/svc?windoww=7d', 'unknown parameter' ],
	[ '/profile/svc?max=0', 'max=0', qr/^max_profiles must be at least 1/ ],
	[ '/profile/svc?max=ten', 'max=ten' ],
	[ '/profile/svc?normalize=maybe', 'normalize=maybe' ],
	[ '/profile/svc?window=1%3Bselect', 'window with a semicolon' ])
{
	my ($path, $name, $reason) = @$case;
	get_error(http('GET', "$url$path", headers => \@rd), 400, $reason // qr/^invalid/, "GET $name");
}
foreach my $case (
	[ '/profile/..', 'dots' ],
	[ '/profile/a%00b', '%00' ],
	[ '/profile/' . ('a' x 129), 'tag of 129 characters' ],
	[ '/profile/x%27%3B%20drop%20table', 'SQL in the tag' ])
{
	my ($path, $name) = @$case;
	post_error(
		http('POST', "$url$path", file => $profile,
			headers => [ @up, 'Content-Type: application/octet-stream' ]),
		400, 'invalid', "POST $name");
}

# malformed HTTP: refused, and the gateway keeps serving
($answer) = raw_http($gw, "GARBAGE\r\n\r\n", timeout => 3);
unlike($answer, qr{^HTTP/1\.1 [23]}, 'garbage request line: refused');
($answer) = raw_http($gw, "GET /healthz HTTP/1.1\r\n\r\n", timeout => 3);
like($answer, qr{^HTTP/1\.1 400 }, 'HTTP/1.1 without Host: 400');
($answer) = raw_http($gw, "GET /healthz HTTP/7.1\r\nHost: t\r\n\r\n", timeout => 3);
like($answer, qr{^HTTP/1\.1 505 }, 'unknown HTTP version: 505');
($answer) = raw_http($gw, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " . ('a' x 300000) . "\r\n\r\n",
	timeout => 3);
like($answer, qr{^HTTP/1\.1 (431|413|400) }, 'huge header: refused');
($answer) = raw_http($gw, "GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n", timeout => 3);
like($answer, qr{^HTTP/1\.1 400 }, 'negative Content-Length: 400');
($answer) = raw_http($gw, "POST /profile/svc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $upload_token\r\n"
	  . "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", timeout => 3);
unlike($answer, qr{^HTTP/1\.1 2}, 'malformed chunk size: refused');
is(http('GET', "$url/healthz")->{status}, 200, 'still healthy after malformed requests');

# tokens never reach the log
my $log = gateway_log($gw);
unlike($log, qr/\Q$upload_token\E/, 'the upload token is not in the log');
unlike($log, qr/\Q$read_token\E/, 'the read token is not in the log');
like($log, qr/^\{"ts":"[^"]+","level":"info","msg":"access","method":"GET","path":"\/healthz","route":"healthz","status":200,"bytes_in":0,"bytes_out":\d+,"ms":[\d.]+,/m,
	'access log: one JSON line with method, path, status, bytes, ms');

# SIGTERM: drains and exits 0 (and the ASan build found nothing)
my $status = stop_gateway($gw);
is($status, 0, 'SIGTERM: exit 0, no sanitizer report') or diag(gateway_log($gw));
like(gateway_log($gw), qr/"msg":"stopped"/, 'SIGTERM: logged the stop');

$node->stop;
done_testing();
