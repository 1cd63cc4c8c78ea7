# The whole PGO loop with real processes: a cluster with the extension and
# the catalog, the real pprof-gateway, the example service (examples/service)
# profiling itself with the Go client (pgo.Run, 2 s windows) while a second
# instance is scraped at /debug/pprof/profile and the scrape uploaded with
# curl, both under the example's load generator; then the merged profile
# fetched with curl, a `go build -pgo` of the example that reports hot call
# sites of its hot path, and the Dockerfile's build stage (build.sh) fetching
# the same profile. An unknown tag gives an empty file (curl without -f) that
# go build accepts, and no file at all with the Dockerfile's `curl -f`.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use JSON::PP;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);

my $go = go_binary();
skip_all_unless($go, 'Go toolchain not available');

my $t_start = time();
my $repo = File::Spec->rel2abs("$FindBin::Bin/../..");
my $src = "$repo/examples/service";
die "example service not found in $src" unless -f "$src/main.go";
my $tmp = tmpdir();
my $tag = 'example-service';
my $example_pkgs = 'github.com/pg-pprof/pg_pprof/examples/service/...';

# Offline Go with the build cache the TAP tests share (build.sh included),
# and the build settings of the Dockerfile (CGO_ENABLED=0, -trimpath) so
# that builds with the same profile share the compiled standard library.
my %build_env = (CGO_ENABLED => '0', GO => $go);

# Run a command with that environment (plus %$env) in $dir; returns
# (exit code, stdout + stderr).
sub run_in
{
	my ($dir, $env, @cmd) = @_;
	my ($rc, $out, $err) = run_with_go($dir, { %build_env, %$env }, @cmd);
	return ($rc, $out . $err);
}

# `go version -m` build setting -pgo of a binary ('' when built without).
sub pgo_setting
{
	my ($bin) = @_;
	my ($rc, $out) = run_in($tmp, {}, $go, 'version', '-m', $bin);
	return $out =~ /^\s*build\s+-pgo=(\S+)/m ? $1 : '';
}

# Start the example service with %$env; returns (pid, base URL, log file).
sub start_service
{
	my ($name, $env) = @_;
	my $log = "$tmp/$name.log";
	my $pid = spawn($log, { LISTEN_ADDR => '127.0.0.1:0', LOG_LEVEL => 'debug', %$env },
		"$tmp/service");
	my $addr = wait_for_log($pid, $log, qr/msg=listening addr=(\S+)/, 10, "service $name");
	return ($pid, "http://$addr", $log);
}

my $node = new_node('e2e');
my $gw = start_gateway(node => $node);
my $gwhost = "127.0.0.1:$gw->{port}";

# --- Before any upload the tag is unknown.
my $r = http('GET', "$gw->{url}/profile/$tag", out => "$tmp/unknown.pgo");
is($r->{status}, 404, 'unknown tag: 404');
ok(-e "$tmp/unknown.pgo" && -z _, 'unknown tag: curl without -f writes an EMPTY file');

# The Dockerfile's curl line, run as the Dockerfile runs it (sh -c, ARGs in
# the environment): exit 0 and no file at all.
my ($curl_line) = slurp_file("$src/Dockerfile") =~ /^RUN (curl .*)$/m;
like($curl_line, qr/^curl -fsS -o default\.pgo http:\/\/\$\{PGO_GATEWAY\}\/profile\/\$\{SERVICE_TAG\} \|\| true$/,
	'the Dockerfile fetches the profile with curl -fsS ... || true');
mkdir "$tmp/curl-f";
my ($rc, $out) = run_in("$tmp/curl-f", { PGO_GATEWAY => $gwhost, SERVICE_TAG => $tag },
	'sh', '-c', $curl_line);
is($rc, 0, "unknown tag: the Dockerfile's curl line exits 0");
ok(!-e "$tmp/curl-f/default.pgo", "unknown tag: the Dockerfile's curl -f leaves no default.pgo");

# A build with the empty profile succeeds: this is the service we run.
($rc, $out) = run_in($src, {}, $go, 'build', "-pgo=$tmp/unknown.pgo", '-trimpath',
	'-o', "$tmp/service", '.');
is($rc, 0, 'go build -pgo=<empty file from the unknown tag> succeeds') or diag($out);
like(pgo_setting("$tmp/service"), qr/unknown\.pgo$/, '(go version -m shows the -pgo setting)');
($rc, $out) = run_in($src, {}, $go, 'build', "-pgo=$tmp/unknown.pgo", '-trimpath',
	'-o', "$tmp/loadgen", './loadgen');
is($rc, 0, 'the load generator builds') or diag($out);
note(sprintf('builds done at %.0f s', time() - $t_start));

# --- Production: one instance pushes 2 s windows, one is scraped (CPU
# profiling is process-wide: a process cannot do both at once).
my ($push_pid, $push_url, $push_log) = start_service('push',
	{ SERVICE_TAG => $tag, PGO_GATEWAY_URL => $gw->{url}, PGO_WINDOW => '2s' });
my ($scrape_pid, $scrape_url, $scrape_log) = start_service('scraped', { PGO_WINDOW => 'off' });
my @load;
for my $target ($push_url, $scrape_url)
{
	push @load, spawn("$tmp/loadgen.log", {}, "$tmp/loadgen", '-url', $target,
		'-duration', '40s', '-c', '1');
}

$r = http('GET', "$scrape_url/debug/pprof/profile?seconds=2", out => "$tmp/scrape.pb.gz",
	timeout => 20);
is($r->{status}, 200, 'scrape: /debug/pprof/profile?seconds=2 answers 200');
$r = http('POST', "$gw->{url}/profile/$tag?mode=scrape", file => "$tmp/scrape.pb.gz",
	headers => ['Content-Type: application/octet-stream']);
is($r->{status}, 201, 'scrape: the curl upload is stored (201)') or diag($r->{body});
my $j = eval { decode_json($r->{body}) } // {};
ok($j->{pgo_usable} && $j->{samples} > 0, 'scrape: usable by go build, with samples')
  or diag($r->{body});

# Wait for two windows of the client (plus the one it has in flight).
my $pushed = 0;
my $deadline = time() + 30;
while (time() < $deadline)
{
	$pushed = $node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.profiles WHERE tag = '$tag' AND labels->>'mode' = 'serve'");
	last if $pushed >= 2;
	sleep(0.2);
}
cmp_ok($pushed, '>=', 2, 'the client uploaded two windows or more');

kill 'INT', $_ for @load;
is(wait_or_kill($_, 10), 0, 'load generator: every request answered 200') for @load;
kill 'TERM', $push_pid, $scrape_pid;
is(wait_or_kill($push_pid, 40), 0, 'pushing service: clean exit on SIGTERM');
is(wait_or_kill($scrape_pid, 20), 0, 'scraped service: clean exit on SIGTERM');
my $plog = slurp_file($push_log);
my $uploaded = () = $plog =~ /msg="pgo: profile uploaded"/g;
cmp_ok($uploaded, '>=', 2, "the client logged $uploaded uploads");
unlike($plog, qr/level=(WARN|ERROR)/, 'the client logged no failure');
note(slurp_file("$tmp/loadgen.log"));

my $rows = $node->safe_psql('postgres',
	"SELECT labels->>'mode', count(*), bool_and(pgo_usable), min(samples) > 0, "
	  . "bool_and(labels ? 'go') FROM pgo.profiles WHERE tag = '$tag' "
	  . "GROUP BY 1 ORDER BY 1");
like($rows, qr/^scrape\|1\|t\|t\|f\nserve\|\d+\|t\|t\|t$/,
	'catalog: the scrape and the windows, all usable, windows labelled with the Go version')
  or diag($rows);

# --- The build: curl the merged profile, go build with it.
$r = http('GET', "$gw->{url}/profile/$tag", out => "$tmp/merged.pgo");
is($r->{status}, 200, 'GET /profile/<tag>: 200');
ok(-s "$tmp/merged.pgo" > 100 && substr(slurp_file("$tmp/merged.pgo"), 0, 2) eq "\x1f\x8b",
	'the merged profile is a gzip file');
my $sql_hex = $node->safe_psql('postgres', "SELECT encode(pgo.profile_for('$tag'), 'hex')");
is(unpack('H*', slurp_file("$tmp/merged.pgo")), $sql_hex,
	'the gateway serves what pgo.profile_for gives a psql user');

($rc, $out) = run_in($src, {}, $go, 'build', "-pgo=$tmp/merged.pgo", '-trimpath',
	"-gcflags=$example_pkgs=-d=pgodebug=1", '-o', "$tmp/service-pgo", '.');
is($rc, 0, 'go build -pgo=<merged profile> -gcflags=-d=pgodebug=1 succeeds') or diag($out);
my @hot = grep { /hot-budget check allows inlining for call/ } split /\n/, $out;
my @ours = grep { /examples\/service\/internal\/score\.[\w.()*]+ \(cost/ } @hot;
cmp_ok(scalar(@ours), '>=', 2, 'the compiler inlines hot calls of the hot path (internal/score)')
  or diag($out);
like($out, qr/hot-callsite-thres-from-CDF=/, 'the compiler read call edges from the profile');
my %callees;
$callees{$_}++ for map { /internal\/score\.(\S+) \(cost/ ? $1 : () } @ours;
note(scalar(@ours) . ' hot calls of internal/score inlined: ' . join(', ', sort keys %callees));
like(pgo_setting("$tmp/service-pgo"), qr/merged\.pgo$/, 'go version -m shows -pgo=');

# --- The Dockerfile's build stage, run by build.sh against the gateway.
($rc, $out) = run_in($repo, { PGO_GATEWAY => $gwhost, SERVICE_TAG => $tag,
		BUILD_ROOT => "$tmp/buildroot" },
	'bash', "$src/build.sh", "$tmp/service-docker");
is($rc, 0, 'build.sh (the Dockerfile build stage) succeeds') or diag($out);
is(slurp_file("$tmp/buildroot/src/examples/service/default.pgo"),
	slurp_file("$tmp/merged.pgo"), 'its curl line fetched the same bytes (deterministic merge)');
is(pgo_setting("$tmp/service-docker"), 'default.pgo',
	'its binary is built with -pgo=default.pgo (go version -m)');

stop_gateway($gw);
$node->stop;
my $seconds = time() - $t_start;
note(sprintf('end-to-end test: %.0f s', $seconds));
done_testing();
