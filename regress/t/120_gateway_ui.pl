# The web pages of pprof-gateway in a real browser: headless Chromium
# (Debian chromium + chromium-driver, W3C WebDriver over HTTP) against the
# real gateway and a real cluster. The front page lists the tags; a tag's
# page shows the flame graph, the diff against the latest release and the
# tables; clicking a frame zooms; the browser logs no error; screenshots at
# desktop and phone widths are written for a person to look at
# ($PPROF_SCREENSHOTS, else tmp_check/screenshots; the path is printed) and
# checked not to be blank. Also with curl: the read token protects the
# pages (Bearer, or Basic with the token as password, as a browser sends
# it), the SVG parses as XML.
#
# Skipped without chromium, chromedriver or xmllint, except under CI=true.
use strict;
use warnings;

use File::Path qw(make_path);
use File::Spec;
use FindBin;
use lib $FindBin::Bin;

use Compress::Zlib qw(uncompress);
use GatewayTest;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(sleep);

my %tool = map { my $t = $_; ($t => (grep { -x } map { "$_/$t" } File::Spec->path)[0]) }
  qw(chromium chromedriver xmllint);
my @missing = grep { !$tool{$_} } sort keys %tool;
if (@missing)
{
	if (($ENV{CI} // '') eq 'true')
	{
		fail("@missing required under CI");
		done_testing();
		exit;
	}
	plan skip_all => "@missing not found";
}

my $tmp = tmpdir();
my $shots = $ENV{PPROF_SCREENSHOTS} // "$ENV{TESTDIR}/tmp_check/screenshots";
make_path($shots);
my $token = 'rd-' . join('', map { ('a' .. 'z')[ rand 26 ] } 1 .. 24);

# a catalog with two tags, a release of one, and profiles after it
my $node = new_node('ui');
my $data = fixture_dir();
sub ingest
{
	my ($tag, $file, $labels) = @_;
	$node->safe_psql('postgres',
		"SELECT pgo.ingest('$tag', pg_read_binary_file('$data/$file'), '$labels')");
}
ingest('api', 'cpu_a1.pb.gz', '{"mode":"batch"}');
ingest('api', 'cpu_a2.pb.gz', '{"mode":"batch"}');
$node->safe_psql('postgres', "SELECT pgo.publish('api')");
ingest('api', 'cpu_labels.pb.gz', '{"mode":"batch","host":"<b>h1</b>"}');
ingest('api', 'heap.pb.gz', '{}');    # unusable: listed with its problem
ingest('worker', 'cpu_b1.pb.gz', '{}');

my $gw = start_gateway(node => $node, asan => 1, env => { PGO_READ_TOKEN => $token });
my $url = $gw->{url};
my @rd = ("Authorization: Bearer $token");

# the token protects the pages; Basic carries it from a browser
foreach my $path ('/ui', '/ui/api', '/profile/api/flamegraph.svg')
{
	my $r = http('GET', "$url$path", extra => [ '-D', "$tmp/h401" ]);
	is($r->{status}, 401, "$path without the read token: 401");
	like(slurp_file("$tmp/h401"), qr/^WWW-Authenticate: Basic realm="pprof-gateway"/mi,
		"$path: 401 offers Basic (a browser asks for the token)");
	$r = http('GET', "$url$path", headers => ['Authorization: Basic ' . encode_base64("x:$token", '')]);
	is($r->{status}, 200, "$path with the token as Basic password: 200");
}
{
	my $r = http('GET', "$url/ui", headers => \@rd);
	is($r->{status}, 200, 'GET /ui: 200');
	like($r->{headers}{'content-type'}, qr{^text/html; charset=utf-8}, 'GET /ui: HTML');
	like($r->{body}, qr{href="/ui/api"}, 'GET /ui links tag api');
	like($r->{body}, qr{href="/ui/worker"}, 'GET /ui links tag worker');

	$r = http('GET', "$url/profile/api/flamegraph.svg?window=7d&mode=batch", headers => \@rd);
	is($r->{status}, 200, 'flamegraph.svg: 200');
	is($r->{headers}{'content-type'}, 'image/svg+xml', 'flamegraph.svg: image/svg+xml');
	my (undef, $err) = run_command([ $tool{xmllint}, '--noout', $r->{out} ]);
	is($err, '', 'flamegraph.svg parses as XML');
	like($r->{body}, qr{<title>main\.hashLoop \(}, 'flamegraph.svg has the hot function');

	$r = http('GET', "$url/profile/nosuch/flamegraph.svg", headers => \@rd);
	is($r->{status}, 404, 'flamegraph.svg of an unknown tag: 404');
	$r = http('GET', "$url/ui/api?window=forever", headers => \@rd);
	is($r->{status}, 400, 'a bad selection parameter: 400');
	$r = http('GET', "$url/ui/api", headers => \@rd);
	unlike($r->{body}, qr{<b>h1</b>}, 'labels are escaped in the page');
	like($r->{body}, qr{&lt;b&gt;h1&lt;/b&gt;}, 'labels show as text');
}

# WebDriver: one chromedriver, one session
my $port = 20000 + int(rand(20000));
my $driver_log = "$tmp/chromedriver.log";
my $driver = spawn($driver_log, {}, $tool{chromedriver}, "--port=$port");
my $wd = "http://127.0.0.1:$port";
my $ua = HTTP::Tiny->new(timeout => 180);
my $json = JSON::PP->new->canonical;
my $EL = 'element-6066-11e4-a52e-4f735466cecf';    # W3C WebDriver element key

# A WebDriver command; dies on an error; returns its value.
sub wd
{
	my ($method, $path, $body) = @_;
	my $res = $ua->request($method, "$wd$path",
		{ headers => { 'Content-Type' => 'application/json' },
		  (defined $body ? (content => $json->encode($body)) : ()) });
	my $v = eval { $json->decode($res->{content}) } // {};
	die "WebDriver $method $path: $res->{status} $res->{content}\n"
	  unless $res->{success};
	return $v->{value};
}
for (1 .. 100)
{
	last if $ua->get("$wd/status")->{success};
	sleep 0.2;
}
my $session = wd(POST => '/session', {
	capabilities => { alwaysMatch => {
		browserName => 'chrome',
		'goog:loggingPrefs' => { browser => 'ALL' },
		'goog:chromeOptions' => {
			binary => $tool{chromium},
			args => [ qw(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
				--disable-background-networking --disable-component-update --disable-sync
				--disable-dev-shm-usage --hide-scrollbars), "--user-data-dir=$tmp/chromium-profile" ] } } } })->{sessionId};
ok($session, 'WebDriver session with headless Chromium');
my $s = "/session/$session";
my $base = "http://reader:$token\@127.0.0.1:$gw->{port}";

sub find_all
{
	my ($css) = @_;
	return @{ wd(POST => "$s/elements", { using => 'css selector', value => $css }) };
}
sub js { my ($script, @args) = @_; return wd(POST => "$s/execute/sync", { script => $script, args => \@args }); }

# A screenshot of the whole page at a window width, written to $shots;
# checks it is a PNG of many colours (not blank).
sub screenshot
{
	my ($name, $width) = @_;
	wd(POST => "$s/window/rect", { width => $width, height => 900 });
	my $height = js('return document.documentElement.scrollHeight;');
	wd(POST => "$s/window/rect", { width => $width, height => ($height > 5000 ? 5000 : $height) + 100 });
	my $png = decode_base64(wd(GET => "$s/screenshot"));
	my $file = "$shots/$name.png";
	write_file($file, $png);
	my ($idat, $pos) = ('', 8);
	while ($pos + 8 <= length $png)
	{
		my ($len, $type) = unpack('Na4', substr($png, $pos, 8));
		$idat .= substr($png, $pos + 8, $len) if $type eq 'IDAT';
		$pos += 12 + $len;
	}
	my $pixels = uncompress($idat) // '';
	my %seen;
	$seen{ substr($pixels, $_ * 97, 3) }++ for 0 .. int(length($pixels) / 97) - 1;
	cmp_ok(scalar(keys %seen), '>', 50, "$name: screenshot $file is not blank ("
		  . scalar(keys %seen) . ' distinct samples)');
	diag("screenshot: $file");
}

# the front page lists the tags
wd(POST => "$s/url", { url => "$base/ui" });
my @links = map { wd(GET => "$s/element/$_->{$EL}/text") }
  find_all('table.tags a[href^="/ui/"]');
is_deeply(\@links, [ 'api', 'worker' ], 'the front page lists the tags');
screenshot('ui-index-desktop', 1280);

# the tag page: two flame graphs (current, diff) and the tables
wd(POST => "$s/url", { url => "$base/ui/api" });
is(scalar(find_all('svg.fg')), 2, 'the tag page shows the flame graph and the diff');
cmp_ok(scalar(find_all('table.top tbody tr')), '>=', 10, 'top functions listed');
is(scalar(find_all('table.profiles tbody tr')), 3, 'the 3 usable profiles of the selection listed');
is(scalar(find_all('table.problems tbody tr')), 1, 'the heap profile listed with its problem');
is(scalar(find_all('table.releases tbody tr')), 1, 'the release listed');
screenshot('ui-tag-desktop', 1280);
screenshot('ui-tag-phone', 390);
wd(POST => "$s/window/rect", { width => 1280, height => 1000 });

# zoom: click a frame of the first flame graph; it spans the whole width,
# frames outside it are hidden, Reset zoom appears and restores
my $frame_js = q{
	var svg = document.querySelectorAll('svg.fg')[0];
	var gs = svg.querySelectorAll('.fg-frames > g');
	for (var i = 0; i < gs.length; i++)
		if (gs[i].querySelector('title').textContent.indexOf(arguments[0] + ' (') === 0)
			return gs[i];
	return null;
};
my $g = js($frame_js, 'main.batchWork');
ok($g, 'the flame graph has a main.batchWork frame');
my $before = js('return +arguments[0].querySelector("rect").getAttribute("width");', $g);
cmp_ok($before, '<', 1000, "main.batchWork is narrower than the graph ($before)");
wd(POST => "$s/element/$g->{$EL}/click", {});
my $after = js('return +arguments[0].querySelector("rect").getAttribute("width");', $g);
is($after, 1180, 'clicking main.batchWork zooms it to the full width');
my $hidden = js(q{
	var svg = document.querySelectorAll('svg.fg')[0], n = 0;
	svg.querySelectorAll('.fg-frames > g').forEach(function (g) { if (g.style.display === 'none') n++; });
	return n;
});
cmp_ok($hidden, '>', 0, "frames outside main.batchWork are hidden ($hidden)");
screenshot('ui-tag-zoomed-desktop', 1280);
my $unzoom = js(q{return document.querySelectorAll('svg.fg')[0].querySelector('.fg-unzoom');});
wd(POST => "$s/element/$unzoom->{$EL}/click", {});
is(js('return +arguments[0].querySelector("rect").getAttribute("width");', $g), $before,
	'Reset zoom restores the frame');

# no errors in the browser's console on any page
my @severe = grep { $_->{level} eq 'SEVERE' } @{ wd(POST => "$s/se/log", { type => 'browser' }) };
is_deeply([ map { $_->{message} } @severe ], [], 'no console errors');

wd(DELETE => $s);
kill 'TERM', $driver;
wait_or_kill($driver, 30);
is(stop_gateway($gw), 0, 'the gateway exits 0');
$node->stop;
done_testing();
