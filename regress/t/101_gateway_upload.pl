# POST /profile/<tag> end to end: raw, gzip, Content-Encoding: gzip,
# chunked and multipart (real curl -F) uploads land in pgo.profiles with
# their labels; the 201 body; bad profiles answer 400 with the database's
# message and SQLSTATE; Idempotency-Key makes retries (sequential and
# concurrent) insert once; the Go client (clients/go) talks to the real
# gateway. Runs the ASan/UBSan build.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $node = new_node('upload');
my $gw = start_gateway(node => $node, asan => 1, args => [ '--max-body', '1M' ]);
my $url = $gw->{url};
my $tmp = tmpdir();
my @octet = ('Content-Type: application/octet-stream');

# the stored profile, as the type outputs it
sub stored
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT encode(profile::bytea, 'hex') FROM pgo.profiles WHERE id = $id");
}

# what the type makes of a file
sub canonical
{
	my ($file) = @_;
	my $hex = unpack('H*', slurp_file($file));
	return $node->safe_psql('postgres', "SELECT encode(decode('$hex', 'hex')::pprof::bytea, 'hex')");
}

# an upload that must succeed; returns the decoded 201 body
sub upload_ok
{
	my ($name, $path, %o) = @_;
	my $r = http('POST', "$url$path", %o);
	is($r->{status}, 201, "$name: 201") or diag($r->{body});
	like($r->{headers}{'content-type'} // '', qr{^application/json}, "$name: JSON");
	my $j = eval { decode_json($r->{body}) } // {};
	like($j->{id} // '', qr/^\d+$/, "$name: id");
	return $j;
}

my $cpu = fixture('cpu.pb.gz');

# the first upload anyone types: curl --data-binary labels it
# application/x-www-form-urlencoded; the body is judged by the pprof type
my $c = upload_ok('curl --data-binary without a Content-Type', '/profile/curldefault', file => $cpu);
is(stored($c->{id}), canonical($cpu), 'curl default type: stored as sent');
upload_ok('an unknown application type', '/profile/curldefault', file => $cpu,
	headers => ['Content-Type: application/vnd.example.pprof']);

# raw gzip body, labels from the query string
my $j = upload_ok('raw gzip', '/profile/svc?mode=batch&version=1.4&note=a%22b%5Cc+d&host=h%C3%A9',
	file => $cpu, headers => \@octet);
is($j->{tag}, 'svc', '201: tag');
ok($j->{samples} > 0, '201: samples');
ok($j->{duration_seconds} > 0, '201: duration_seconds');
is($j->{pgo_usable}, JSON::PP::true, '201: pgo_usable');
is_deeply($j->{problems}, [], '201: problems is an empty array');
is( $node->safe_psql('postgres',
		"SELECT tag, labels->>'mode', labels->>'version', labels->>'note', labels->>'host', source, "
		  . "(SELECT count(*) FROM jsonb_object_keys(labels)) FROM pgo.profiles WHERE id = $j->{id}"),
	"svc|batch|1.4|a\"b\\c d|h\xc3\xa9|push|4",
	'labels stored from the query string (escapes, UTF-8)');
is(stored($j->{id}), canonical($cpu), 'stored profile equals the upload');
is( $node->safe_psql('postgres', "SELECT samples FROM pgo.profiles WHERE id = $j->{id}"),
	$j->{samples}, '201 samples is the row\'s');

# uncompressed protobuf
$j = upload_ok('raw protobuf', '/profile/svc', file => fixture('cpu.pb'), headers => \@octet);
is(stored($j->{id}), canonical(fixture('cpu.pb')), 'raw protobuf stored');

# Content-Encoding: gzip, passed through as is
$j = upload_ok('Content-Encoding: gzip', '/profile/svc', file => $cpu,
	headers => [ @octet, 'Content-Encoding: gzip' ]);
is(stored($j->{id}), canonical($cpu), 'gzip-encoded body stored');

# no Content-Type at all, and chunked
$j = upload_ok('no Content-Type', '/profile/svc', file => $cpu, headers => ['Content-Type:']);
$j = upload_ok('chunked', '/profile/svc', file => $cpu, headers => \@octet, chunked => 1);
is(stored($j->{id}), canonical($cpu), 'chunked body stored');

# multipart, as existing clients send it (curl -F), with other fields around
$j = upload_ok('multipart', '/profile/mp?mode=serve', form => 'cpu_profile=@' . fixture('cpu_a1.pb.gz'));
is(stored($j->{id}), canonical(fixture('cpu_a1.pb.gz')), 'multipart part stored byte for byte');
is($node->safe_psql('postgres', "SELECT labels->>'mode' FROM pgo.profiles WHERE id = $j->{id}"),
	'serve', 'multipart: labels from the query string');
my $r = http('POST', "$url/profile/mp",
	extra => [ '-F', 'before=x', '-F', 'cpu_profile=@' . fixture('cpu.pb') . ';type=application/octet-stream',
		'-F', 'after=@' . fixture('heap.pb.gz') ]);
is($r->{status}, 201, 'multipart with other parts: 201') or diag($r->{body});
$j = decode_json($r->{body});
is(stored($j->{id}), canonical(fixture('cpu.pb')), 'multipart: the cpu_profile part, binary, uncompressed');

# profiles the compiler cannot use are stored, flagged
$j = upload_ok('heap profile', '/profile/heapy', file => fixture('heap.pb.gz'), headers => \@octet);
is($j->{pgo_usable}, JSON::PP::false, 'heap profile: pgo_usable false');
ok(ref $j->{problems} eq 'ARRAY' && @{ $j->{problems} } > 0, 'heap profile: problems listed');

# bad profiles: 400 with the database's message and SQLSTATE
foreach my $case (
	[ 'not a profile', "this is not a profile\n", '22P03' ],
	[ 'truncated gzip', substr(slurp_file($cpu), 0, 100), 'XX001' ])
{
	my ($name, $bytes, $sqlstate) = @$case;
	my $f = "$tmp/bad";
	write_file($f, $bytes);
	$r = http('POST', "$url/profile/svc", file => $f, headers => \@octet);
	is($r->{status}, 400, "$name: 400");
	my $e = eval { decode_json($r->{body}) } // {};
	is($e->{status}, 400, "$name: JSON status");
	like($e->{error} // '', qr/pprof|gzip/, "$name: the database's message");
	is($e->{sqlstate}, $sqlstate, "$name: SQLSTATE $sqlstate");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'svc'"),
	'5', 'bad profiles stored nothing');

# Idempotency-Key: a retry returns the first row, inserts nothing
my $key = 'a' x 32;
my $first = upload_ok('keyed upload', '/profile/idem', file => $cpu,
	headers => [ @octet, "Idempotency-Key: $key" ]);
my $again = upload_ok('keyed retry', '/profile/idem', file => $cpu,
	headers => [ @octet, "Idempotency-Key: $key" ]);
is($again->{id}, $first->{id}, 'retry with the same key: same id');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'idem'"),
	'1', 'retry with the same key: one row');

# concurrent twins with one key: one row
$key = 'b' x 32;
my @runs;
foreach my $i (1 .. 6)
{
	my $out = '';
	my $h = IPC::Run::start(
		[ 'curl', '-sS', '-w', '\n%{http_code}', '--data-binary', "\@$cpu",
			'-H', $octet[0], '-H', "Idempotency-Key: $key", "$url/profile/idem2" ],
		'<', \undef, '>', \$out, '2>', \my $err);
	push @runs, [ $h, \$out ];
}
my %ids;
foreach my $run (@runs)
{
	$run->[0]->finish;
	my ($body, $status) = ${ $run->[1] } =~ /^(.*)\n(\d+)$/s;
	is($status, 201, 'concurrent twin: 201');
	$ids{ (eval { decode_json($body)->{id} } // 'none') }++;
}
is(scalar(keys %ids), 1, 'concurrent twins: one id for all');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'idem2'"),
	'1', 'concurrent twins: one row');
$j = upload_ok('other key', '/profile/idem', file => $cpu,
	headers => [ @octet, 'Idempotency-Key: ' . ('c' x 32) ]);
isnt($j->{id}, $first->{id}, 'another key: a new row');

# the Go client against the real gateway
SKIP:
{
	my $client = "$FindBin::Bin/../../clients/go";
	skip_unless(go_binary() && -f "$client/go.mod", 'Go or clients/go not available', 6);
	my $dir = "$tmp/goclient";
	mkdir $dir;
	write_file("$dir/go.mod",
		"module gatewaytest\n\ngo 1.23\n\n"
		  . "require github.com/pg-pprof/pg_pprof/clients/go v0.0.0\n\n"
		  . "replace github.com/pg-pprof/pg_pprof/clients/go => $client\n");
	write_file("$dir/main.go", <<'GO');
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	pgo "github.com/pg-pprof/pg_pprof/clients/go"
)

func main() {
	b, err := os.ReadFile(os.Args[3])
	if err != nil {
		panic(err)
	}
	res, err := pgo.Upload(context.Background(), os.Args[2], b,
		pgo.WithGatewayURL(os.Args[1]), pgo.WithMode("e2e"), pgo.WithRetries(0))
	var ge *pgo.Error
	if errors.As(err, &ge) {
		fmt.Printf("error %d %s %s\n", ge.Status, ge.SQLState, ge.Message)
		return
	}
	if err != nil {
		fmt.Printf("failed %v\n", err)
		return
	}
	fmt.Printf("ok %d %s %v %d\n", res.ID, res.Tag, res.PGOUsable, len(res.Problems))
}
GO
	my ($rc, $out, $err) = run_go($dir, {}, 'build', '-o', "$dir/upload", '.');
	is($rc, 0, 'Go client program builds') or diag("$out$err");

	my $go_out = '';
	IPC::Run::run([ "$dir/upload", $url, 'goclient', $cpu ], '>&', \$go_out);
	like($go_out, qr/^ok (\d+) goclient true 0$/, 'Go client: upload accepted') or diag($go_out);
	my ($id) = $go_out =~ /^ok (\d+)/;
	is( $node->safe_psql('postgres',
			"SELECT labels->>'mode', labels ? 'go' FROM pgo.profiles WHERE id = " . ($id // 0)),
		'e2e|t', 'Go client: labels mode and go stored');

	my $bad = "$tmp/bad";
	IPC::Run::run([ "$dir/upload", $url, 'goclient', $bad ], '>&', \$go_out);
	like($go_out, qr/^error 400 XX001 /, 'Go client: a bad profile is a *pgo.Error with status and SQLSTATE')
	  or diag($go_out);
	IPC::Run::run([ "$dir/upload", "$url/nope", 'goclient', $cpu ], '>&', \$go_out);
	like($go_out, qr/^error 404  not found/, 'Go client: JSON error of an unknown route') or diag($go_out);
	is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'goclient'"),
		'1', 'Go client: one row');
}

# a least-privilege role: the README's grants for the gateway
$node->safe_psql('postgres', q{
CREATE ROLE pgo_gateway LOGIN;
GRANT USAGE ON SCHEMA pgo TO pgo_gateway;
GRANT EXECUTE ON FUNCTION
  pgo.ingest_summary(text, bytea, jsonb, text, text),
  pgo.profile_for(text, interval, integer, text, boolean, interval, integer, text, text),
  pgo.selection_key(text, interval, integer, text, boolean, interval, integer, text, text),
  pgo.release(text, text)
TO pgo_gateway;
GRANT SELECT ON pgo.tags TO pgo_gateway;
});
{
	my $gw2 = start_gateway(node => $node,
		env => { PGO_DATABASE_URL => $node->connstr('postgres') . ' user=pgo_gateway' });
	my $u2 = $gw2->{url};
	my $r2 = http('POST', "$u2/profile/leastpriv", file => $cpu, headers => \@octet);
	is($r2->{status}, 201, 'as pgo_gateway: upload 201') or diag($r2->{body});
	ok((eval { decode_json($r2->{body})->{samples} } // 0) > 0, 'as pgo_gateway: the 201 body is complete');
	is(http('GET', "$u2/profile/leastpriv")->{status}, 200, 'as pgo_gateway: GET 200');
	is(http('GET', "$u2/tags")->{status}, 200, 'as pgo_gateway: /tags 200');
	my $sha = $node->safe_psql('postgres', "SELECT sha256 FROM pgo.publish('leastpriv')");
	is(http('GET', "$u2/profile/leastpriv\@$sha")->{status}, 200, 'as pgo_gateway: release 200');
	is(stop_gateway($gw2), 0, 'as pgo_gateway: SIGTERM exit 0');
}

# 201 means committed: an upload is one autocommit statement whose commit
# runs after the row was sent to the gateway; a commit that fails (here a
# deferred constraint trigger) must be an error, and store nothing
$node->safe_psql('postgres', q{
CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation';
END $$;
CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON pgo.profiles
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.tag = 'failcommit')
	EXECUTE FUNCTION refuse_at_commit();
});
{
	my $r = http('POST', "$url/profile/failcommit", file => $cpu, headers => \@octet);
	is($r->{status}, 400, 'commit fails: 400, not 201') or diag($r->{body});
	like($r->{body}, qr/"error":"refused at commit","sqlstate":"23514"/, 'commit fails: the error of the commit');
	is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'failcommit'"),
		'0', 'commit fails: nothing stored');
	upload_ok('after a failed commit, the next upload', '/profile/aftercommit', file => $cpu, headers => \@octet);
	$node->safe_psql('postgres', 'DROP TRIGGER refuse_at_commit ON pgo.profiles');
}

# upload bytes are counted
ok(metric($gw, 'pgo_gateway_upload_bytes_total') > 100000, '/metrics: upload bytes counted');
like(gateway_log($gw), qr/"method":"POST","path":"\/profile\/svc","route":"upload","status":201,"bytes_in":\d+,"bytes_out":\d+,"ms":[\d.]+,"remote":"127.0.0.1","tag":"svc","id":\d+/,
	'access log: upload line with tag and id');

is(stop_gateway($gw), 0, 'SIGTERM: exit 0, no sanitizer report') or diag(gateway_log($gw));
$node->stop;
done_testing();
