# One rule, one place: the catalog judges tags, labels, idempotency keys and
# selection parameters, and the gateway passes its verdict through. At every
# limit (just under, at, just over) an HTTP request and the same call in
# SQL give the same answer: both accept, or both refuse with the same
# SQLSTATE and message (400, in the JSON body of a POST, in X-PGO-SQLSTATE
# and X-PGO-Error of a GET).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use GatewayTest;
use JSON::PP;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $node = new_node('limits');
my $gw = start_gateway(node => $node, args => [ '--max-body', '1M' ]);
my $url = $gw->{url};
my @octet = ('Content-Type: application/octet-stream');
my $cpu = fixture('cpu.pb.gz');

# the profile and a verdict function on the SQL side
my $hex = unpack('H*', slurp_file($cpu));
$node->safe_psql('postgres', qq{
	CREATE TABLE fixture AS SELECT decode('$hex', 'hex') AS b;
	CREATE FUNCTION verdict(sql text) RETURNS text LANGUAGE plpgsql AS \$\$
	BEGIN
		EXECUTE sql;
		RETURN 'ok';
	EXCEPTION WHEN OTHERS THEN
		RETURN SQLSTATE || ' ' || SQLERRM;
	END
	\$\$;
});
is(http('POST', "$url/profile/svc", file => $cpu, headers => \@octet)->{status}, 201,
	'a profile to select');

sub sql_quote { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

# percent-encode a query component
sub enc
{
	my ($s) = @_;
	utf8::encode($s);
	$s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
	return $s;
}

# what SQL says: 'ok' or 'SQLSTATE message'
sub sql_verdict
{
	my ($sql) = @_;
	my $v = $node->safe_psql('postgres', 'SELECT verdict(' . sql_quote($sql) . ')');
	utf8::decode($v);
	return $v;
}

# what HTTP says, in the same words
sub http_verdict
{
	my ($r) = @_;
	my $s = $r->{status};
	return 'ok' if $s == 200 || $s == 201;
	return 'ok' if $s == 404 && ($r->{headers}{'x-pgo-error'} // '') =~ /^no usable profile/;
	if ($r->{body} ne '')
	{
		my $j = eval { JSON::PP->new->utf8->decode($r->{body}) } // {};
		return "$s " . ($j->{sqlstate} // '-') . ' ' . ($j->{error} // $r->{body});
	}
	return "$s " . ($r->{headers}{'x-pgo-sqlstate'} // '-') . ' ' . ($r->{headers}{'x-pgo-error'} // '');
}

# the same verdict, a refusal as 400
sub agree
{
	my ($name, $r, $sql) = @_;
	my $want = sql_verdict($sql);
	my $got = http_verdict($r);
	if ($want eq 'ok')
	{
		is($got, 'ok', "$name: both accept");
		return;
	}
	# a GET's header carries "message: detail"; compare the message
	ok(index($got, "400 $want") == 0, "$name: both refuse with $want")
	  or diag("HTTP: $got");
}

# an upload and its pgo.ingest twin; on different tags so that neither
# sees the other's idempotency key
my $n = 0;
sub upload_case
{
	my ($name, %o) = @_;
	$n++;
	my $tag = $o{tag} // "up$n";
	my %labels = %{ $o{labels} // {} };
	my $query = join('&', map { enc($_) . '=' . enc($labels{$_}) } sort keys %labels);
	my @h = @octet;
	push @h, "Idempotency-Key: $o{key}" if defined $o{key};
	my $r = http('POST', "$url/profile/" . enc($tag) . ($query ne '' ? "?$query" : ''),
		file => $cpu, headers => \@h);
	my $sqltag = $o{tag} // "sql$n";
	my $json = JSON::PP->new->canonical->encode(\%labels);
	agree("POST $name", $r,
		    'SELECT pgo.ingest(' . sql_quote($sqltag) . ', (SELECT b FROM fixture), '
		  . sql_quote($json) . "::jsonb, 'push', "
		  . (defined $o{key} ? sql_quote($o{key}) : 'NULL') . ')');
}

# a GET and its pgo.profile_for twin
sub select_case
{
	my ($name, $tag, %p) = @_;
	my %arg = (window => 'window', max => 'max_profiles', min_duration => 'min_duration',
		top_by_cpu => 'top_by_cpu', mode => 'mode', normalize => 'normalize',
		go_version => 'go_version', version => 'version');
	my %cast = (window => 'interval', max => 'integer', min_duration => 'interval',
		top_by_cpu => 'integer', mode => 'text', normalize => 'boolean',
		go_version => 'text', version => 'text');
	my $query = join('&', map { "$_=" . enc($p{$_}) } sort keys %p);
	my $r = http('GET', "$url/profile/" . enc($tag) . ($query ne '' ? "?$query" : ''));
	agree("GET $name", $r,
		    'SELECT pgo.profile_for(' . sql_quote($tag)
		  . join('', map { ", \"$arg{$_}\" => " . sql_quote($p{$_}) . "::$cast{$_}" } sort keys %p)
		  . ')');
}

# tags: 1 to 128 characters of [A-Za-z0-9._-] (pgo.check_tag)
foreach my $len (127, 128, 129)
{
	upload_case("tag of $len characters", tag => ('t' x ($len - 3)) . sprintf('%03d', $len));
	select_case("tag of $len characters", 'g' x $len);
}
upload_case('tag with a space', tag => 'a b');
select_case('tag with a colon', 'a:b');
select_case('empty tag', '');
# "." and "..": a client would read them as a step of the path, so the
# catalog refuses them; "..." is a tag like any other
foreach my $dots ('.', '..', '...')
{
	upload_case("tag $dots", tag => $dots);
	select_case("tag $dots", $dots);
}

# labels: at most 64, keys of 1 to 128 characters, values of at most 1024
# characters (characters, not bytes: é is two bytes)
foreach my $len (127, 128, 129)
{
	upload_case("label key of $len characters", labels => { ('k' x $len) => 'v' });
}
upload_case('label key with a space', labels => { 'a key' => 'v' });
foreach my $len (1023, 1024, 1025)
{
	upload_case("label value of $len characters", labels => { v => 'x' x $len });
	upload_case("label value of $len characters é", labels => { v => "\x{e9}" x $len });
}
foreach my $count (63, 64, 65)
{
	upload_case("$count labels", labels => { map { ("k$_" => 'v') } 1 .. $count });
}

# idempotency keys: 1 to 256 characters
foreach my $len (255, 256, 257)
{
	upload_case("Idempotency-Key of $len characters", key => 'i' x $len);
}
upload_case('Idempotency-Key with a space', key => 'a b');

# selection parameters (pgo.check_selection and the types' input)
foreach my $p (qw(max top_by_cpu))
{
	select_case("$p=$_", 'svc', $p => $_) foreach (0, 1, 2);
	select_case("$p=ten", 'svc', $p => 'ten');
	select_case("$p=2147483648", 'svc', $p => '2147483648');
}
foreach my $p (qw(window min_duration))
{
	select_case("$p=$_", 'svc', $p => $_) foreach ('-0.000001', '0', '0.000001');
	select_case("$p=banana", 'svc', $p => 'banana');
}
select_case("normalize=$_", 'svc', normalize => $_) foreach (qw(yes maybe));
select_case('mode of 300 characters', 'svc', mode => 'm' x 300);

# the build a selection prefers (pgo.check_build)
select_case("go_version=$_", 'svc', go_version => $_) foreach ('1.27', 'go1.23', '1', '1.27.1', 'latest', '');
foreach my $len (1024, 1025)
{
	select_case("version of $len characters", 'svc', version => 'v' x $len);
}
select_case('empty version', 'svc', version => '');

is(stop_gateway($gw), 0, 'SIGTERM: exit 0');
$node->stop;
done_testing();
