# The whole PGO loop with real processes: a cluster with the extension and
# the catalog, the real pprof-gateway, the example service (examples/service)
# profiling itself with the Go client (pgo.Run, 2 s windows) while a second
# instance is scraped at /debug/pprof/profile and the scrape uploaded with
# curl, both under the example's load generator; then the merged profile
# fetched with curl, a `go build -pgo` of the example that reports hot call
# sites of its hot path, and the Dockerfile's build stage (build.sh) fetching
# the same profile. An unknown tag gives an empty file (curl without -f) that
# go build accepts, and no file at all with the Dockerfile's `curl -f`.
#
# On Go 1.23 and 1.27: the pushing instance is built by the newest toolchain,
# the scraped one by the oldest, and the merged profile is built with by
# each, whose printed CDF threshold is pgo_hot_threshold's. pgo-check
# (clients/go/cmd/pgo-check) finds the fresh profile matching the service's
# source, and names the hot function in which lines were then inserted.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use PostgreSQL::Test::RecursiveCopy;
use JSON::PP;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);

my @toolchains = go_toolchains();
skip_all_unless(scalar(@toolchains), 'Go toolchain not available');
my $go = $toolchains[0]{go};    # the load generator, build.sh, pgo-check

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

# Start the example service built by toolchain $tc with %$env; returns
# (pid, base URL, log file).
sub start_service
{
	my ($name, $tc, $env) = @_;
	my $log = "$tmp/$name.log";
	my $pid = spawn($log, { LISTEN_ADDR => '127.0.0.1:0', LOG_LEVEL => 'debug', %$env },
		"$tmp/service-$tc->{name}");
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

# A build with the empty profile succeeds: this is the service we run, one
# build per toolchain.
for my $tc (@toolchains)
{
	($rc, $out) = run_in($src, { GO => $tc->{go} }, $tc->{go}, 'build', "-pgo=$tmp/unknown.pgo",
		'-trimpath', '-o', "$tmp/service-$tc->{name}", '.');
	is($rc, 0, "$tc->{name}: go build -pgo=<empty file from the unknown tag> succeeds") or diag($out);
	like(pgo_setting("$tmp/service-$tc->{name}"), qr/unknown\.pgo$/,
		"$tc->{name}: (go version -m shows the -pgo setting)");
}
($rc, $out) = run_in($src, {}, $go, 'build', "-pgo=$tmp/unknown.pgo", '-trimpath',
	'-o', "$tmp/loadgen", './loadgen');
is($rc, 0, 'the load generator builds') or diag($out);
note(sprintf('builds done at %.0f s', time() - $t_start));

# --- Production: one instance pushes 2 s windows, one is scraped (CPU
# profiling is process-wide: a process cannot do both at once).
my ($push_pid, $push_url, $push_log) = start_service('push', $toolchains[-1],
	{ SERVICE_TAG => $tag, PGO_GATEWAY_URL => $gw->{url}, PGO_WINDOW => '2s' });
my ($scrape_pid, $scrape_url, $scrape_log) = start_service('scraped', $toolchains[0],
	{ PGO_WINDOW => 'off' });
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
# a dropped in-flight upload is the client's back-pressure when uploads are
# slower than its windows (a loaded machine), not a failure
my @failures = grep { /level=(WARN|ERROR)/ && !/dropping the oldest in-flight profile upload/ }
  split /\n/, $plog;
is(scalar(@failures), 0, 'the client logged no failure') or diag(join("\n", @failures));
note(slurp_file("$tmp/loadgen.log"));

my $rows = $node->safe_psql('postgres',
	"SELECT labels->>'mode', count(*), bool_and(pgo_usable), min(samples) > 0, "
	  . "bool_and(labels ? 'go') FROM pgo.profiles WHERE tag = '$tag' "
	  . "GROUP BY 1 ORDER BY 1");
like($rows, qr/^scrape\|1\|t\|t\|f\nserve\|\d+\|t\|t\|t$/,
	'catalog: the scrape and the windows, all usable, windows labelled with the Go version')
  or diag($rows);
my ($push_minor) = $toolchains[-1]{name} =~ /^go(1\.\d+)$/;
is($node->safe_psql('postgres',
		"SELECT DISTINCT labels->>'go' ~ ('^go' || replace('$push_minor', '.', '\\.') || '(\\.|\$)') "
		  . "FROM pgo.profiles WHERE tag = '$tag' AND labels->>'mode' = 'serve'"),
	't', "the windows come from the $toolchains[-1]{name} build (label go)");
# a build on that toolchain asks for its profiles: the windows, not the
# scrape (no label go); a minor no profile has selects them all
$r = http('GET', "$gw->{url}/profile/$tag?go_version=$push_minor");
is($r->{status}, 200, "GET /profile/<tag>?go_version=$push_minor: 200");
is(unpack('H*', $r->{body}),
	$node->safe_psql('postgres', "SELECT encode(pgo.profile_for('$tag', go_version => '$push_minor'), 'hex')"),
	"?go_version=$push_minor: what pgo.profile_for gives with go_version");
is($node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT labels->>'mode', ',') FROM pgo.selection('$tag', go_version => '$push_minor')"),
	'serve', "?go_version=$push_minor: the windows of that build only");
is($node->safe_psql('postgres',
		"SELECT count(*) = (SELECT count(*) FROM pgo.selection('$tag')) FROM pgo.selection('$tag', go_version => '1.1')"),
	't', 'a Go minor no profile has: every profile');

# --- The build: curl the merged profile, go build with it.
$r = http('GET', "$gw->{url}/profile/$tag", out => "$tmp/merged.pgo");
is($r->{status}, 200, 'GET /profile/<tag>: 200');
ok(-s "$tmp/merged.pgo" > 100 && substr(slurp_file("$tmp/merged.pgo"), 0, 2) eq "\x1f\x8b",
	'the merged profile is a gzip file');
my $sql_hex = $node->safe_psql('postgres', "SELECT encode(pgo.profile_for('$tag'), 'hex')");
is(unpack('H*', slurp_file("$tmp/merged.pgo")), $sql_hex,
	'the gateway serves what pgo.profile_for gives a psql user');

# each toolchain builds with it; the threshold it prints is pgo_hot_threshold's
my $threshold = $node->safe_psql('postgres',
	"SELECT pgo_hot_threshold(pgo.profile_for('$tag')::pprof)");
for my $tc (@toolchains)
{
	my $v = $tc->{name};
	($rc, $out) = run_in($src, { GO => $tc->{go} }, $tc->{go}, 'build', "-pgo=$tmp/merged.pgo",
		'-trimpath', "-gcflags=$example_pkgs=-d=pgodebug=1", '-o', "$tmp/service-pgo-$v", '.');
	is($rc, 0, "$v: go build -pgo=<merged profile> -gcflags=-d=pgodebug=1 succeeds") or diag($out);
	my @hot = grep { /hot-budget check allows inlining for call/ } split /\n/, $out;
	my @ours = grep { /examples\/service\/internal\/score\.[\w.()*]+ \(cost/ } @hot;
	cmp_ok(scalar(@ours), '>=', 2, "$v: the compiler inlines hot calls of the hot path (internal/score)")
	  or diag($out);
	my %printed = map { $_ => 1 } $out =~ /^hot-callsite-thres-from-CDF=(\S+)$/mg;
	ok(keys(%printed) == 1 && (keys %printed)[0] == $threshold,
		"$v: the compiler's hot-callsite-thres-from-CDF= is pgo_hot_threshold ($threshold)")
	  or diag(join(', ', keys %printed));
	my %callees;
	$callees{$_}++ for map { /internal\/score\.(\S+) \(cost/ ? $1 : () } @ours;
	note("$v: " . scalar(@ours) . ' hot calls of internal/score inlined: ' . join(', ', sort keys %callees));
	like(pgo_setting("$tmp/service-pgo-$v"), qr/merged\.pgo$/, "$v: go version -m shows -pgo=");
}

# --- pgo-check: the fresh profile fits the source; after lines are inserted
# at the top of the module's heaviest hot caller, it does not, and says where.
($rc, $out) = run_in("$repo/clients/go", {}, $go, 'build', '-o', "$tmp/pgo-check", './cmd/pgo-check');
is($rc, 0, 'pgo-check builds') or diag($out);
($rc, $out) = run_in($src, {}, "$tmp/pgo-check", '-go', $go, '-profile', "$gw->{url}/profile/$tag", '.');
is($rc, 0, 'pgo-check of the fresh profile (from the gateway): exit 0') or diag($out);
my ($fresh) = $out =~ /^match: ([\d.]+)%/m;
cmp_ok($fresh // 0, ">=", 95, "pgo-check: the fresh profile matches ~100% of the module's hot weight")
  or diag($out);
note($out);
my ($caller, $callee) = split /\|/, $node->safe_psql('postgres', qq{
SELECT caller, callee FROM pgo_hot_edges(pgo.profile_for('$tag')::pprof)
WHERE caller LIKE 'github.com/pg-pprof/pg_pprof/examples/service/%'
  AND caller !~ '\\.func[0-9]' AND callee !~ '^runtime\\.' AND callee LIKE '%.%'
ORDER BY weight DESC, caller LIMIT 1});
ok($caller, "the module's heaviest hot caller: $caller -> " . ($callee // ''));
# its declaration: (*T).M, T.M or F in the file of its package
my ($pkgdir, $fname) = $caller =~ m{^github\.com/pg-pprof/pg_pprof/examples/service/?([^.]*)\.(.+)$};
my $decl =
	$fname =~ /^\(\*(\w+)\)\.(\w+)$/ ? qr/^func \(\w+ \*\Q$1\E\) \Q$2\E[(\[]/m
  : $fname =~ /^(\w+)\.(\w+)$/ ? qr/^func \(\w+ \Q$1\E\) \Q$2\E[(\[]/m
  : qr/^func \Q$fname\E[(\[]/m;
my $edit = "$tmp/edited";
PostgreSQL::Test::RecursiveCopy::copypath($src, $edit);
my ($file) = grep { slurp_file($_) =~ $decl } glob("$edit/" . ($pkgdir ne '' ? "$pkgdir/" : '') . '*.go');
ok($file, "the declaration of $fname found") or diag("$pkgdir $fname");
if ($file)
{
	(my $code = slurp_file($file)) =~ s/($decl.*\n)/$1\t\/\/ three lines\n\t\/\/ inserted\n\t\/\/ here\n/;
	write_file($file, $code);
}
($rc, $out) = run_in($edit, {}, "$tmp/pgo-check", '-go', $go, '-profile', "$tmp/merged.pgo", '.');
my ($edited) = $out =~ /^match: ([\d.]+)%/m;
cmp_ok($edited // 100, '<', $fresh // 0, "pgo-check after inserting lines in $fname: the match drops")
  or diag($out);
(my $short = $caller) =~ s{^github\.com/pg-pprof/pg_pprof/examples/service/}{};
like($out, qr/^\s+[\d.]+% \Q$short\E -> .* at \+\d+: no call of /m,
	'pgo-check names the edited function among the edges that no longer match');
isnt($rc, 0, 'pgo-check exits non-zero (warning or failure) for CI');
note($out);

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
