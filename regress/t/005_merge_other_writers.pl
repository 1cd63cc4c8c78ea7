# Profiles other tools write, against the reference tools.
#
# Converters (JFR, .NET, Node), eBPF agents and older tools write headers
# and sample types runtime/pprof never does. ProfileRewrite.pm makes such
# profiles from the real fixtures; then:
#   - odd headers (durations that overflow when summed, negative durations
#     and times, none at all): pprof_merge and pgo_merge never fail, and
#     pprof_merge's duration is go tool pprof -proto's (summed as Go does);
#   - sample types that differ: pprof_merge keeps the common ones, as go
#     tool pprof -proto does (CompatibilizeSampleTypes), sample for sample;
#   - a CPU profile with only cpu/nanoseconds and period 0: pgo_merge keeps
#     what the compiler reads, so go tool preprofile of its output equals
#     that of the input, and of go tool pprof -proto's merge with others.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use ProfileRewrite;
use Test::More;

skip_all_unless(go_binary(), 'Go toolchain not available');
my $data = fixture_dir();
my $tmp = tmpdir();
my $int64_max = 9223372036854775807;

# the derived profiles, from real ones
my %derived = (
	max1 => [ 'cpu_a1', sub { set_header($_[0], duration_nanos => $int64_max) } ],
	max2 => [ 'cpu_a2', sub { set_header($_[0], duration_nanos => $int64_max) } ],
	negative => [ 'cpu_a3',
		sub { set_header($_[0], duration_nanos => -5_000_000_000, time_nanos => -1) } ],
	one_ns => [ 'cpu_a1', sub { set_header($_[0], duration_nanos => 1) } ],
	no_header => [ 'cpu_a1',
		sub { set_header($_[0], duration_nanos => undef, time_nanos => undef) } ],
	# what eBPF agents write: cpu/nanoseconds only, no period
	cpu_ns => [ 'cpu', sub { set_header(keep_sample_types($_[0], 1), period => undef) } ],
	b1_ns => [ 'cpu_b1', sub { set_header(keep_sample_types($_[0], 1), period => undef) } ],
	# sample types listed the other way round
	cpu_swapped => [ 'cpu_a2', sub { keep_sample_types($_[0], 1, 0) } ],);
my %file = map { $_ => "$data/$_.pb.gz" }
  qw(cpu cpu_a1 cpu_a2 cpu_a3 cpu_b1 heap goroutine);
foreach my $name (sort keys %derived)
{
	my ($from, $edit) = @{ $derived{$name} };
	$file{$name} = "$tmp/$name.pb.gz";
	write_profile($file{$name}, $edit->(read_profile($file{$from})));
}
# the rewriting itself is checked by go tool pprof
like(go_ok('tool', 'pprof', '-raw', $file{cpu_ns}),
	qr/^PeriodType: cpu nanoseconds\nPeriod: 0\n.*^Samples:\ncpu\/nanoseconds\n/ms,
	'cpu_ns: only cpu/nanoseconds, period 0');

my $node = new_node('writers');
$node->safe_psql('postgres', 'CREATE TABLE fx (name text PRIMARY KEY, p pprof NOT NULL)');
foreach my $name (sort keys %file)
{
	$node->safe_psql('postgres',
		"INSERT INTO fx VALUES ('$name', pg_read_binary_file('$file{$name}')::pprof)");
}

# $agg over the named rows into $out; returns $out, undef when NULL.
sub merge_to
{
	my ($agg, $out, @names) = @_;
	my $hex = $node->safe_psql('postgres',
		    "SELECT encode($agg(p)::bytea, 'hex') FROM fx WHERE name IN ('"
		  . join("', '", @names) . "')");
	return undef if $hex eq '';
	write_file($out, pack('H*', $hex));
	return $out;
}

# time, duration, period of a file, as pprof_merge's TAP test reads them
sub header
{
	my %h = (9 => 0, 10 => 0, 12 => 0);
	foreach my $f (pb_fields($_[0]))
	{
		$h{ $f->[0] } = $f->[1] if exists $h{ $f->[0] } && defined $f->[1];
	}
	# varints of negative int64 read as unsigned: compare as signed
	return { map { $_ => unpack('q', pack('Q', $h{$_})) } keys %h };
}

is(header($file{max1})->{10}, $int64_max, 'max1: the largest duration');

# go tool preprofile of a file: the call edges the compiler weighs
sub preprofile
{
	my ($in) = @_;
	go_ok('tool', 'preprofile', '-i', $in, '-o', "$in.pre");
	open my $fh, '<', "$in.pre" or die "$in.pre: $!";
	local $/;
	return <$fh>;
}

#
# odd headers
#
my $n = 0;
foreach my $set ([ 'durations that overflow', qw(max1 max2) ],
	[ 'overflow, negative duration and time', qw(max1 max2 negative) ],
	[ 'no header', qw(no_header cpu_a2) ])
{
	my ($label, @names) = @$set;
	$n++;
	my ($ours, $ref) = ("$tmp/odd$n.pb.gz", "$tmp/odd_ref$n.pb.gz");
	ok(merge_to('pprof_merge', $ours, @names), "$label: pprof_merge returns a profile");
	write_file($ref, go_ok('tool', 'pprof', '-proto', map { $file{$_} } @names));
	is(header($ours)->{10}, header($ref)->{10},
		"$label: the duration is go tool pprof's (Go's int64 sum)");
	my ($t_ours, $b_ours) = parse_traces(go_ok('tool', 'pprof', '-traces', $ours));
	my ($t_ref, $b_ref) = parse_traces(go_ok('tool', 'pprof', '-traces', $ref));
	multiset_is($b_ours, $b_ref, "$label: samples equal the reference's");
	foreach my $normalize ('off', 'on')
	{
		my ($rc, $out, $err) = $node->psql('postgres',
			"SET pprof.pgo_normalize = $normalize; SELECT pprof_total(pgo_merge(p)) FROM fx WHERE name IN ('"
			  . join("', '", @names) . "')");
		is($rc, 0, "$label: pgo_merge (normalize $normalize) does not fail");
		cmp_ok($out, '>', 0, "$label: pgo_merge (normalize $normalize) has samples");
	}
}

# normalized, a profile claiming 1 ns weighs what one without a duration
# does (the CPU time it sampled), not 10^10 times more
$node->safe_psql('postgres', 'ALTER DATABASE postgres SET pprof.pgo_normalize = on');
is( preprofile(merge_to('pgo_merge', "$tmp/n1.pb.gz", 'one_ns', 'cpu_a2')),
	preprofile(merge_to('pgo_merge', "$tmp/n0.pb.gz", 'no_header', 'cpu_a2')),
	'1 ns duration, normalized: weighed as one busy core, like no duration');
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET pprof.pgo_normalize');

#
# sample types: the common ones, as go tool pprof -proto keeps them
#
foreach my $set ([ 'count+cpu with cpu only', qw(cpu cpu_ns) ],
	[ 'cpu only with count+cpu of another program', qw(b1_ns cpu_a1) ],
	# go tool pprof keeps the first file's order; when inputs disagree,
	# pprof_merge orders by name (cpu, samples): cpu_swapped's order
	[ 'types listed in another order', qw(cpu_swapped cpu_a1) ],
	[ 'three kinds of CPU profile', qw(cpu_a1 cpu_swapped cpu_ns) ])
{
	my ($label, @names) = @$set;
	$n++;
	my ($ours, $ref) = ("$tmp/st$n.pb.gz", "$tmp/st_ref$n.pb.gz");
	foreach my $order ('ASC', 'DESC')
	{
		my $hex = $node->safe_psql('postgres',
			    "SELECT encode(pprof_merge(p ORDER BY name $order)::bytea, 'hex') FROM fx WHERE name IN ('"
			  . join("', '", @names) . "')");
		write_file("$ours.$order", pack('H*', $hex));
	}
	is(slurp_file("$ours.ASC"), slurp_file("$ours.DESC"), "$label: the same bytes in any order");
	write_file($ref, go_ok('tool', 'pprof', '-proto', map { $file{$_} } @names));
	my ($t_ours, $b_ours) = parse_traces(go_ok('tool', 'pprof', '-traces', "$ours.ASC"));
	my ($t_ref, $b_ref) = parse_traces(go_ok('tool', 'pprof', '-traces', $ref));
	is_deeply($t_ours, $t_ref, "$label: -traces header (type, total) is the reference's");
	multiset_is($b_ours, $b_ref, "$label: samples equal the reference's");
	# the sample types, in order, with the default marked
	my ($types_ours) = go_ok('tool', 'pprof', '-raw', "$ours.ASC") =~ /^Samples:\n(.*)$/m;
	my ($types_ref) = go_ok('tool', 'pprof', '-raw', $ref) =~ /^Samples:\n(.*)$/m;
	is($types_ours, $types_ref, "$label: sample types ($types_ref)");
}
# nothing in common: an error, as in go tool pprof
my ($rc, undef, $err) = $node->psql('postgres',
	"SELECT pprof_merge(p) FROM fx WHERE name IN ('cpu', 'cpu_swapped', 'heap')");
isnt($rc, 0, 'cpu + heap: pprof_merge fails');

#
# cpu/nanoseconds only, period 0: pgo_merge keeps what the compiler reads
#
foreach my $set ([ 'alone', qw(cpu_ns) ],
	[ 'with a profile of counts', qw(cpu_ns cpu_b1) ],
	[ 'with profiles of counts and of nanoseconds', qw(cpu_ns b1_ns cpu_a1) ])
{
	my ($label, @names) = @$set;
	$n++;
	my ($ours, $ref) = ("$tmp/ns$n.pb.gz", "$tmp/ns_ref$n.pb.gz");
	ok(merge_to('pgo_merge', $ours, @names), "cpu_ns $label: pgo_merge returns a profile");
	write_file($ref, go_ok('tool', 'pprof', '-proto', map { $file{$_} } @names));
	is(preprofile($ours), preprofile($ref),
		"cpu_ns $label: go tool preprofile equals that of go tool pprof -proto's merge");
}
is(preprofile("$tmp/ns" . ($n - 2) . '.pb.gz'), preprofile($file{cpu_ns}),
	'cpu_ns alone: go tool preprofile equals that of the input');

#
# The compiler's projection (pprof_pgo_projection, what pgo.profiles keeps
# beside each profile) stands for these profiles too: pgo_merge of the
# projections is pgo_merge of the profiles, byte for byte, alone and
# together, normalized or not, weighted, at 2 and 4 frames.
#
foreach my $settings ('pprof.pgo_normalize = off', 'pprof.pgo_normalize = on',
	'pprof.pgo_frames = 2')
{
	my $differ = $node->safe_psql('postgres', qq{
		SET $settings;
		WITH c AS (SELECT name, p, pprof_pgo_projection(p, 4) AS q, length(name) / 3.0 AS w FROM fx)
		SELECT coalesce(string_agg(name, ', ' ORDER BY name), 'none') FROM (
			SELECT name, md5(pgo_merge(p)::bytea) IS DISTINCT FROM md5(pgo_merge(q)::bytea)
					  OR md5(pgo_merge(p, w)::bytea) IS DISTINCT FROM md5(pgo_merge(q, w)::bytea) AS d
			FROM c GROUP BY name
			UNION ALL
			SELECT 'all', md5(pgo_merge(p)::bytea) IS DISTINCT FROM md5(pgo_merge(q)::bytea)
					  OR md5(pgo_merge(p, w)::bytea) IS DISTINCT FROM md5(pgo_merge(q, w)::bytea)
			FROM c) x WHERE d});
	is($differ, 'none', "$settings: pgo_merge of the projections is that of the profiles");
}

$node->stop;
done_testing();
