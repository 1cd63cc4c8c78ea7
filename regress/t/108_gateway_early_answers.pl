# Early answers arrive: an upload refused from its headers (413, 401, 415,
# 400) or in the middle of its body (a chunked body over --max-body) is
# answered while the client is still sending, and the client must see that
# answer, never a reset connection. 300 MB bodies without
# Expect: 100-continue, many times, from curl and from Go's net/http (which
# never sends Expect); then the Go client (clients/go): a 413 is final, one
# attempt. Before the lingering close, about half of these ended in a
# broken pipe or a reset on a busy machine.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $token = 'up-' . join('', map { ('a' .. 'z')[ rand 26 ] } 1 .. 24);
my $node = new_node('early');
my $gw = start_gateway(
	node => $node,
	args => [ '--max-body', '1M' ],
	env => { PGO_UPLOAD_TOKEN => $token });
my $url = $gw->{url};
my $tmp = tmpdir();
my $size = 300_000_000;
my @auth = ('-H', "Authorization: Bearer $token");
my @octet = ('-H', 'Content-Type: application/octet-stream');

# a 300 MB file that takes no disk (sparse)
my $big = "$tmp/big";
open(my $fh, '>', $big) or die "$big: $!";
truncate($fh, $size) or die "truncate: $!";
close $fh;

# curl, streaming the file (-T) without Expect: 100-continue; the statuses
sub curl_times
{
	my ($times, @args) = @_;
	my %seen;
	foreach (1 .. $times)
	{
		my ($out, $err) = ('', '');
		IPC::Run::run(
			[
				'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '60',
				'-X', 'POST', '-H', 'Expect:', @args, '-T', $big, "$url/profile/early"
			],
			'<', \undef, '>', \$out, '2>', \$err);
		$seen{ $out =~ /^([1-9]\d\d)$/ ? $1 : "none ($err)" }++;
	}
	return join(' ', map { "$_=$seen{$_}" } sort keys %seen);
}

is(curl_times(12, @auth, @octet), '413=12',
	'curl, 300 MB with Content-Length, no Expect: always 413');
is(curl_times(6, @auth, @octet, '-H', 'Transfer-Encoding: chunked'), '413=6',
	'curl, 300 MB chunked: always 413 (answered in the middle of the body)');
is(curl_times(6, @octet), '401=6', 'curl, 300 MB without the token: always 401');

SKIP:
{
	if (!go_binary())
	{
		fail('Go is required in CI') if $ENV{CI};
		skip 'Go not available', 9;
	}
	my $dir = "$tmp/early";
	mkdir $dir;
	write_file("$dir/go.mod", "module early\n\ngo 1.23\n");
	write_file("$dir/main.go", <<'GO');
// POST a body of zeros many times with net/http, a new connection each
// time; print how each ended: a status, or the kind of error.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	clear(p)
	z.left -= int64(len(p))
	return len(p), nil
}

func main() {
	url := os.Args[1]
	size, _ := strconv.ParseInt(os.Args[2], 10, 64)
	times, _ := strconv.Atoi(os.Args[3])
	chunked := os.Args[4] == "chunked"
	counts := map[string]int{}
	for i := 0; i < times; i++ {
		req, _ := http.NewRequest(http.MethodPost, url, &zeros{left: size})
		req.ContentLength = size
		if chunked {
			req.ContentLength = -1
		}
		for _, h := range os.Args[5:] {
			kv := strings.SplitN(h, ": ", 2)
			req.Header.Set(kv[0], kv[1])
		}
		tr := &http.Transport{DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		switch {
		case err == nil:
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			counts[strconv.Itoa(resp.StatusCode)]++
		case errors.Is(err, syscall.ECONNRESET):
			counts["reset"]++
		case errors.Is(err, syscall.EPIPE):
			counts["broken-pipe"]++
		default:
			counts["error"]++
			fmt.Fprintln(os.Stderr, err)
		}
		tr.CloseIdleConnections()
	}
	var out []string
	for k, n := range counts {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(out)
	fmt.Println(strings.Join(out, " "))
}
GO
	my ($rc, $out, $err) = run_go($dir, {}, 'build', '-o', "$dir/early", '.');
	is($rc, 0, 'the net/http program builds') or diag("$out$err");

	my $auth = "Authorization: Bearer $token";
	my $octet = 'Content-Type: application/octet-stream';
	foreach my $case (
		[ 24, 'length', [ $auth, $octet ], '413=24', '300 MB with Content-Length: always 413' ],
		[ 12, 'chunked', [ $auth, $octet ], '413=12', '300 MB chunked: always 413' ],
		[ 12, 'length', [$octet], '401=12', '300 MB without the token: always 401' ],
		[ 12, 'length', [ $auth, 'Content-Type: text/html' ], '415=12', '300 MB of text/html: always 415' ],
		[ 12, 'length', [ $auth, 'Content-Type: multipart/form-data' ], '400=12',
			'300 MB of multipart without a boundary: always 400' ])
	{
		my ($times, $mode, $headers, $want, $name) = @$case;
		my ($o, $e) = ('', '');
		IPC::Run::run([ "$dir/early", "$url/profile/early", $size, $times, $mode, @$headers ],
			'<', \undef, '>', \$o, '2>', \$e);
		chomp $o;
		is($o, $want, "Go net/http, $name") or diag($e);
	}

	# the Go client: a 413 is final, not retried
	my $client = "$FindBin::Bin/../../clients/go";
	skip_unless(-f "$client/go.mod", 'clients/go not available', 3);
	my $cdir = "$tmp/client";
	mkdir $cdir;
	write_file("$cdir/go.mod",
		"module earlyclient\n\ngo 1.23\n\n"
		  . "require github.com/pg-pprof/pg_pprof/clients/go v0.0.0\n\n"
		  . "replace github.com/pg-pprof/pg_pprof/clients/go => $client\n");
	write_file("$cdir/main.go", <<'GO');
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	pgo "github.com/pg-pprof/pg_pprof/clients/go"
)

func main() {
	n, _ := strconv.Atoi(os.Args[3])
	_, err := pgo.Upload(context.Background(), "earlyclient", make([]byte, n),
		pgo.WithGatewayURL(os.Args[1]), pgo.WithToken(os.Args[2]), pgo.WithRetries(3))
	var ge *pgo.Error
	if errors.As(err, &ge) {
		fmt.Printf("error %d\n", ge.Status)
		return
	}
	fmt.Printf("other %v\n", err)
}
GO
	($rc, $out, $err) = run_go($cdir, {}, 'build', '-o', "$cdir/upload", '.');
	is($rc, 0, 'the Go client program builds') or diag("$out$err");
	IPC::Run::run([ "$cdir/upload", $url, $token, 64 << 20 ], '<', \undef, '>&', \$out);
	is($out, "error 413\n", 'Go client, 64 MB: *pgo.Error 413');
	my $attempts = () = gateway_log($gw) =~ m{"path":"/profile/earlyclient"}g;
	is($attempts, 1, 'Go client: one attempt, no retry of a 413');
}

# the gateway keeps serving, and every lingering socket is closed in time
is(http('GET', "$url/healthz")->{status}, 200, 'still healthy');
is(stop_gateway($gw), 0, 'SIGTERM: exit 0');
$node->stop;
done_testing();
