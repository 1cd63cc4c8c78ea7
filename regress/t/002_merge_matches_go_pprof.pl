# pprof_merge against the reference merge, `go tool pprof -proto a b ...`.
#
# For each set of real fixtures, the aggregate's output and the reference are
# compared through go tool pprof itself (so the comparison reads both files
# with the same parser): the -traces report (one block per sample, compared
# as a sorted multiset), and the -raw dump, where every sample is expanded to
# its values, labels and full stack (address, mapping, frames with file,
# line and start line), so sample keying, value sums and label handling must
# match exactly; ids and sample order may differ (ours is canonically
# sorted). Header fields (time, duration, period) are compared exactly from
# the protobuf. Incompatible sample types must fail in both.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use File::Copy;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

skip_all_unless(go_binary(), 'Go toolchain not available');
my $data = fixture_dir();
my $tmp = tmpdir();

# time_nanos, duration_nanos and period of a (gzip) pprof file.
sub pb_header
{
	my ($file) = @_;
	my %h = (time => 0, duration => 0, period => 0);
	my %name = (9 => 'time', 10 => 'duration', 12 => 'period');
	foreach my $f (pb_fields($file))
	{
		my ($field, $value) = @$f;
		$h{ $name{$field} } = $value if $name{$field} && defined $value;
	}
	return \%h;
}

# Parse `go tool pprof -raw`: header lines, sample types, and every sample
# expanded to "values | labels | stack" with locations spelled out.
sub parse_raw
{
	my ($text) = @_;
	my @lines = split /\n/, $text;
	my (%r, @header, @samples, %loc, %map, %mapflags, $section, $cur_loc);
	$section = 'header';
	for my $l (@lines)
	{
		if ($l eq 'Samples:') { $section = 'types'; next }
		if ($l eq 'Locations') { $section = 'locations'; next }
		if ($l eq 'Mappings') { $section = 'mappings'; next }
		if ($section eq 'header') { push @header, $l; next }
		if ($section eq 'types') { $r{types} = $l; $section = 'samples'; next }
		if ($section eq 'samples')
		{
			if ($l =~ /^((?:\s+-?\d+)+): ((?:\d+ )*)$/)
			{
				push @samples,
				  { values => [ split ' ', $1 ], locs => [ split ' ', $2 ],
					labels => [] };
			}
			elsif ($l =~ /^ {16}(\S.*)$/ && @samples)
			{
				push @{ $samples[-1]{labels} }, $1;
			}
			else { die "unexpected sample line: $l" }
			next;
		}
		if ($section eq 'locations')
		{
			if ($l =~ /^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(\[F\] )?(.*)$/)
			{
				$cur_loc = $1;
				$loc{$1} = { addr => $2, map => $3 // 0, folded => $4 // '',
					lines => [$5] };
			}
			elsif ($l =~ /^ {13}(\S.*)$/ && defined $cur_loc)
			{
				push @{ $loc{$cur_loc}{lines} }, $1;
			}
			else { die "unexpected location line: $l" }
			next;
		}
		if ($section eq 'mappings')
		{
			# flags ([FN][FL][LN][IN]) apart: pprof's merge keeps the first
			# input's, so they depend on input order
			$l =~ /^(\d+): (.*?) ?((?:\[[A-Z]{2}\])*)$/
			  or die "unexpected mapping line: $l";
			$map{$1} = $2;
			$mapflags{$2} = $3;
		}
	}
	my $locstr = sub {
		my $x = $loc{ $_[0] } // die "sample refers to missing location $_[0]";
		my $m = $x->{map} ? ($map{ $x->{map} } // die "missing mapping") : '-';
		return "$x->{addr} [$m] $x->{folded}" . join(' / ', @{ $x->{lines} });
	};
	my (@keys, @sums, %used_maps);
	for my $s (@samples)
	{
		$sums[$_] += $s->{values}[$_] for 0 .. $#{ $s->{values} };
		$used_maps{ $map{ $loc{$_}{map} } // '-' } = 1 for @{ $s->{locs} };
		push @keys,
		  join("\n",
			join(' ', @{ $s->{values} }),
			join(' ', @{ $s->{labels} }),
			map { '  ' . $locstr->($_) } @{ $s->{locs} });
	}
	$r{header} = [ grep { !/^Time:|^Duration:/ } @header ];
	$r{keys} = [ sort @keys ];
	$r{sums} = \@sums;
	$r{nsamples} = scalar @samples;
	$r{used_maps} = [ sort keys %used_maps ];
	$r{all_maps} = [ sort values %map ];
	$r{mapflags} = \%mapflags;
	return \%r;
}

my $node = new_node('merge');
fixture_table($node, 'fx',
	qw(cpu cpu_labels heap goroutine cpu_empty cpu_a1 cpu_a2 cpu_a3 cpu_a_long cpu_b1
	  cpu_badutf8));

# SQL for the merge of the named rows (duplicates allowed), as hex.
sub merge_sql
{
	my ($agg, @names) = @_;
	return "SELECT encode($agg(fx.p)::bytea, 'hex') "
	  . "FROM unnest('{" . join(',', @names) . "}'::text[]) AS s(name) "
	  . "JOIN fx USING (name)";
}

my @sets = (
	[ 'A (3 captures)', qw(cpu_a1 cpu_a2 cpu_a3) ],
	[ 'A + long capture', qw(cpu_a1 cpu_a2 cpu_a3 cpu_a_long) ],
	[ 'two programs', qw(cpu cpu_b1) ],
	[ 'with an empty profile', qw(cpu cpu_empty) ],
	[ 'labels twice', qw(cpu_labels cpu_labels) ],
	[ 'label values not UTF-8, twice', qw(cpu_badutf8 cpu_badutf8) ],
	[ 'label values not UTF-8 + labels', qw(cpu_badutf8 cpu_labels) ],
	[ 'heap twice', qw(heap heap) ],
	[ 'goroutine twice', qw(goroutine goroutine) ],);

my $n = 0;
for my $set (@sets)
{
	my ($label, @names) = @$set;
	$n++;
	my $ours = "$tmp/ours$n.pb.gz";
	my $ref = "$tmp/ref$n.pb.gz";

	my $hex = $node->safe_psql('postgres', merge_sql('pprof_merge', @names));
	ok(length $hex > 0, "$label: pprof_merge returns a profile");
	write_file($ours, pack('H*', $hex));

	my @inputs = map { "$data/$_.pb.gz" } @names;
	write_file($ref, go_ok('tool', 'pprof', '-proto', @inputs));

	# header fields, exactly, and as pprof defines them
	my ($ho, $hr) = (pb_header($ours), pb_header($ref));
	is_deeply($ho, $hr, "$label: time, duration and period equal the reference's");
	my @hi = map { pb_header($_) } @inputs;
	my $dur = 0;
	$dur += $_->{duration} for @hi;
	my ($t) = sort { $a <=> $b } grep { $_ != 0 } map { $_->{time} } @hi;
	my ($per) = sort { $b <=> $a } map { $_->{period} } @hi;
	is_deeply($ho, { time => $t // 0, duration => $dur, period => $per },
		"$label: durations summed, earliest time, largest period");

	# -traces: one block per sample
	my ($th_o, $tb_o) = parse_traces(go_ok('tool', 'pprof', '-traces', $ours));
	my ($th_r, $tb_r) = parse_traces(go_ok('tool', 'pprof', '-traces', $ref));
	is_deeply($th_o, $th_r, "$label: -traces header (type, time, duration, total)");
	cmp_ok(scalar @$tb_r, '>', 1, "$label: the reference has samples");
	multiset_is($tb_o, $tb_r, "$label: -traces sample blocks equal the reference's");

	# -raw: every value of every sample, full stacks, labels
	my $ro = parse_raw(go_ok('tool', 'pprof', '-raw', $ours));
	my $rr = parse_raw(go_ok('tool', 'pprof', '-raw', $ref));
	is_deeply($ro->{header}, $rr->{header}, "$label: -raw header (period type, period)");
	is($ro->{types}, $rr->{types}, "$label: sample types");
	is($ro->{nsamples}, $rr->{nsamples}, "$label: number of samples");
	is_deeply($ro->{sums}, $rr->{sums}, "$label: per-sample-type sums");
	my @zero = grep { (split /\n/)[0] =~ /^[0 ]+$/ } @{ $ro->{keys} };
	is(scalar @zero, 0, "$label: no all-zero samples in ours");
	multiset_is($ro->{keys}, $rr->{keys},
		"$label: expanded samples (values, labels, full stacks) equal the reference's");
	is_deeply($ro->{used_maps}, $rr->{used_maps}, "$label: mappings used by samples");
	# pprof keeps the first input's mapping flags; an order-independent merge
	# must keep at least those (a union)
	my @lost;
	for my $m (@{ $rr->{used_maps} })
	{
		my %have = map { $_ => 1 } ($ro->{mapflags}{$m} // '') =~ /(\[..\])/g;
		push @lost, "$m: $_" for grep { !$have{$_} } ($rr->{mapflags}{$m} // '') =~ /(\[..\])/g;
	}
	is_deeply(\@lost, [], "$label: mapping flags include the reference's");
	note("$label: mappings kept by ours but not by the reference (unreferenced): "
		  . join('; ', grep { my $m = $_; !grep { $_ eq $m } @{ $rr->{all_maps} } } @{ $ro->{all_maps} }))
	  if @{ $ro->{all_maps} } != @{ $rr->{all_maps} };
	note(sprintf("%s: %d samples; ours %d bytes, reference %d bytes",
			$label, $rr->{nsamples}, -s $ours, -s $ref));
}

# Incompatible sample types: an error naming both, in either order, and the
# reference refuses too.
for my $order ('ASC', 'DESC')
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n"
		  . "SELECT pprof_merge(p ORDER BY name $order) FROM fx WHERE name IN ('cpu', 'heap')");
	isnt($ret, 0, "cpu + heap ($order): pprof_merge fails");
	like($err, qr/ERROR:\s+(22000|22023):/, "cpu + heap ($order): SQLSTATE 22000 or 22023");
	like($err, qr/cpu|samples\/count/, "cpu + heap ($order): the message names the CPU profile's types");
	like($err, qr/space|alloc_|inuse_/, "cpu + heap ($order): the message names the heap profile's types");
	note("cpu + heap ($order): $err");
}
my ($rc, undef, $goerr) =
  run_go(undef, {}, 'tool', 'pprof', '-proto', "$data/cpu.pb.gz", "$data/heap.pb.gz");
isnt($rc, 0, 'cpu + heap: go tool pprof -proto refuses too');
like($goerr, qr/common sample type|incompatible/, 'cpu + heap: go tool pprof says why');

# same for a goroutine profile (one sample type, goroutine/count)
my ($ret, undef, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\n"
	  . "SELECT pprof_merge(p) FROM fx WHERE name IN ('cpu', 'goroutine')");
like($err, qr/ERROR:\s+(22000|22023):.*/, 'cpu + goroutine: pprof_merge fails with SQLSTATE 22000/22023');
($rc) = run_go(undef, {}, 'tool', 'pprof', '-proto', "$data/cpu.pb.gz", "$data/goroutine.pb.gz");
isnt($rc, 0, 'cpu + goroutine: go tool pprof -proto refuses too');

$node->stop;
done_testing();
