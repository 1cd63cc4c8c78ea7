# pgo_merge against what the Go compiler sees.
#
# The consumer of pgo_merge is `go build -pgo`, which reads a profile through
# the same code as `go tool preprofile`: its output (the weighted call edges)
# is what matters. For each set of real fixtures, `go tool preprofile` of
# pgo_merge's output must be byte-identical to that of the reference merge
# `go tool pprof -proto` over the inputs a compiler can use; weighted rows
# must read as repeated rows; and one `go build -pgo` of the fixture program
# with each profile must report the same hot call sites, the threshold it
# prints being pgo_hot_threshold's. All of it on Go 1.23 and on the current
# release, Go 1.27.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time);

my @toolchains = go_toolchains();
skip_all_unless(scalar(@toolchains), 'Go toolchain not available');
my $data = fixture_dir();
my $tmp_base = tmpdir();

# What pgo_merge promises about its output, read from `go tool pprof -raw`:
# sample types, labels, file names, stack depth, value sums.
sub raw_facts
{
	my ($text) = @_;
	my %f = (labels => 0, files => 0, depth => 0,
		sums => [], nsamples => 0);
	my $section = 'header';
	for my $l (split /\n/, $text)
	{
		if ($l eq 'Samples:') { $section = 'types'; next }
		if ($l eq 'Locations') { $section = 'locations'; next }
		if ($l eq 'Mappings') { $section = 'mappings'; next }
		if ($section eq 'types') { $f{types} = $l; $section = 'samples'; next }
		if ($section eq 'samples')
		{
			if ($l =~ /^((?:\s+-?\d+)+): ((?:\d+ )*)$/)
			{
				my @v = split ' ', $1;
				my @locs = split ' ', $2;
				$f{sums}[$_] += $v[$_] for 0 .. $#v;
				$f{depth} = @locs if @locs > $f{depth};
				$f{nsamples}++;
			}
			else { $f{labels}++ }
		}
		elsif ($section eq 'locations')
		{
			# "name file:line:col s=start"; an empty file name leaves " :"
			$f{files}++ if $l =~ /\S+ (\S+):\d+:\d+ s=\d+/;
		}
	}
	return \%f;
}

# Number of each top-level field of a (gzip) pprof file, by field number
# (go tool pprof invents a mapping for locations without one, so mappings
# are counted here, in the file itself).
sub pb_field_counts
{
	my ($file) = @_;
	my %count;
	$count{ $_->[0] }++ foreach pb_fields($file);
	return \%count;
}

my $node = new_node('pgo');
fixture_table($node, 'fx',
	qw(cpu cpu_labels heap goroutine cpu_empty cpu_a1 cpu_a2 cpu_a3 cpu_a_long cpu_b1));

# pgo_merge over the named rows (repeats allowed; optional weights) into
# $file; returns false when the aggregate returned NULL.
sub pgo_merge_to
{
	my ($file, $names, $weights) = @_;
	my $sql =
	  $weights
	  ? "SELECT coalesce(encode(pgo_merge(fx.p, s.w)::bytea, 'hex'), 'NULL') "
	  . "FROM unnest('{" . join(',', @$names) . "}'::text[], '{"
	  . join(',', @$weights) . "}'::float8[]) AS s(name, w) JOIN fx USING (name)"
	  : "SELECT coalesce(encode(pgo_merge(fx.p)::bytea, 'hex'), 'NULL') "
	  . "FROM unnest('{" . join(',', @$names) . "}'::text[]) AS s(name) "
	  . "JOIN fx USING (name)";
	my $hex = $node->safe_psql('postgres', $sql);
	return 0 if $hex eq 'NULL';
	write_file($file, pack('H*', $hex));
	return 1;
}

# The reference: go tool pprof -proto over the files, into $file.
sub reference_to
{
	my ($file, @names) = @_;
	write_file($file,
		go_ok('tool', 'pprof', '-proto', map { "$data/$_.pb.gz" } @names));
}

# go tool preprofile of $in; returns its output (the call-edge weights).
sub preprofile
{
	my ($in) = @_;
	my $out = "$in.preprofile";
	go_ok('tool', 'preprofile', '-i', $in, '-o', $out);
	return PostgreSQL::Test::Utils::slurp_file($out);
}

# [label, rows merged by pgo_merge, the usable ones the reference merges]
my @sets = (
	[ 'A (3 captures)', [qw(cpu_a1 cpu_a2 cpu_a3)], [qw(cpu_a1 cpu_a2 cpu_a3)] ],
	[
		'A + long capture', [qw(cpu_a1 cpu_a2 cpu_a3 cpu_a_long)],
		[qw(cpu_a1 cpu_a2 cpu_a3 cpu_a_long)]
	],
	[ 'two programs', [qw(cpu cpu_b1)], [qw(cpu cpu_b1)] ],
	[
		'labels + cpu + a1', [qw(cpu_labels cpu cpu_a1)],
		[qw(cpu_labels cpu cpu_a1)]
	],
	[ 'cpu + empty + heap', [qw(cpu cpu_empty heap)], [qw(cpu)] ],);

# No usable input: NULL (and so no file for curl to write).
is($node->safe_psql('postgres',
		"SELECT pgo_merge(p) IS NULL FROM fx WHERE name IN ('heap', 'goroutine', 'cpu_empty')"),
	't', 'pgo_merge over heap, goroutine and empty profiles is NULL');
is($node->safe_psql('postgres',
		"SELECT pgo_merge(p, 1) IS NULL FROM fx WHERE name IN ('heap', 'goroutine', 'cpu_empty')"),
	't', 'weighted pgo_merge over heap, goroutine and empty profiles is NULL');

for my $tc (@toolchains)
{
	local $ENV{GO} = $tc->{go};
	my $tmp = "$tmp_base/$tc->{name}";
	mkdir $tmp or die "$tmp: $!";
	note("=== $tc->{name}");

	my $n = 0;
	my %files;
	for my $set (@sets)
	{
		my ($label, $rows, $usable) = @$set;
		$n++;
		my ($ours, $ref) = ("$tmp/pgo$n.pb.gz", "$tmp/ref$n.pb.gz");
		ok(pgo_merge_to($ours, $rows), "$label: pgo_merge returns a profile")
		  or next;
		reference_to($ref, @$usable);
		$files{$label} = [ $ours, $ref ];

		my $pre_ref = preprofile($ref);
		like($pre_ref, qr/\AGO PREPROFILE V1\n.+\n.+\n\d+ \d+\n/,
			"$label: the reference has call edges");
		is(preprofile($ours), $pre_ref,
			"$label: go tool preprofile output is byte-identical to the reference's");

		my $fo = raw_facts(go_ok('tool', 'pprof', '-raw', $ours));
		my $fr = raw_facts(go_ok('tool', 'pprof', '-raw', $ref));
		is($fo->{types}, 'samples/count cpu/nanoseconds', "$label: sample types");
		is_deeply($fo->{sums}, $fr->{sums}, "$label: sample and CPU totals equal the reference's");
		is($fo->{labels}, 0, "$label: no labels");
		is(pb_field_counts($ours)->{3} // 0, 0, "$label: no mappings");
		cmp_ok(pb_field_counts($ref)->{3} // 0, '>', 0, "$label: (the reference has mappings)");
		is($fo->{files}, 0, "$label: no file names");
		cmp_ok($fr->{files}, '>', 0, "$label: (the reference has file names)");
		cmp_ok($fo->{depth}, '<=', 4, "$label: at most pprof.pgo_frames (4) locations per sample");
		cmp_ok($fr->{depth}, '>', 4, "$label: (the reference has deeper stacks)");
		note(sprintf("%s: ours %d bytes (%d samples), reference merge %d bytes (%d samples), ratio %.3f",
				$label, -s $ours, $fo->{nsamples}, -s $ref, $fr->{nsamples}, (-s $ours) / (-s $ref)));
	}


	# Weights read as repeated rows: weight 2 ≙ the row twice, 3 ≙ three times,
	# 0 ≙ absent; both against pgo_merge itself and against the reference.
	{
		my $w2 = "$tmp/w2.pb.gz";
		ok(pgo_merge_to($w2, [qw(cpu_a1 cpu_a2)], [ 2, 2 ]), 'weight 2: a profile');
		my $twice = "$tmp/twice.pb.gz";
		pgo_merge_to($twice, [qw(cpu_a1 cpu_a1 cpu_a2 cpu_a2)]);
		my $pre = preprofile($w2);
		is($pre, preprofile($twice), 'weight 2 = each row twice (preprofile)');
		my $ref = "$tmp/ref_twice.pb.gz";
		reference_to($ref, qw(cpu_a1 cpu_a1 cpu_a2 cpu_a2));
		is($pre, preprofile($ref), 'weight 2 = the reference merge of each file twice');
		reference_to("$tmp/ref_a12.pb.gz", qw(cpu_a1 cpu_a2));
		isnt($pre, preprofile("$tmp/ref_a12.pb.gz"), '(and differs from the unweighted merge)');

		my $w13 = "$tmp/w13.pb.gz";
		pgo_merge_to($w13, [qw(cpu_a1 cpu_a2)], [ 1, 3 ]);
		reference_to("$tmp/ref_w13.pb.gz", qw(cpu_a1 cpu_a2 cpu_a2 cpu_a2));
		is(preprofile($w13), preprofile("$tmp/ref_w13.pb.gz"),
			'weights 1 and 3 = the reference merge of a1 once and a2 three times');

		my $w0 = "$tmp/w0.pb.gz";
		pgo_merge_to($w0, [qw(cpu_a1 cpu_b1)], [ 1, 0 ]);
		reference_to("$tmp/ref_a1.pb.gz", 'cpu_a1');
		is(preprofile($w0), preprofile("$tmp/ref_a1.pb.gz"), 'weight 0 = the row is absent');
	}

	# The build: go build -pgo with ours and with the reference (one set, each
	# with a cold build cache of its own so nothing is shared), same hot call
	# sites reported by the compiler (-d=pgodebug=1: the CDF threshold, hot-node
	# budgets, hot-budget/hot-big inlining decisions).
	SKIP:
	{
		my $f = $files{'A + long capture'};
		skip_unless($f, 'no A + long capture merge', 6);
		my $src = "$tmp/src";
		PostgreSQL::Test::RecursiveCopy::copypath("$data/gen", $src);
		my %hot;
		my $t0 = time;
		for my $which (0, 1)
		{
			my $name = $which ? 'reference' : 'pgo_merge';
			my ($rc, $out, $err) = run_go(
				$src, { GOCACHE => "$tmp/gocache-build$which" },
				'build', '-trimpath', "-pgo=$f->[$which]",
				'-gcflags=all=-d=pgodebug=1', '-o', "$tmp/gen-$which", '.');
			is($rc, 0, "go build -pgo=<$name> succeeds") or diag($err);
			my ($pkg, @lines) = ('?');
			for my $l (split /\n/, "$out\n$err")
			{
				if ($l =~ /^# (\S+)/) { $pkg = $1; next }
				push @lines, "$pkg: $l" if $l =~ /^hot-/;
			}
			$hot{$name} = [ sort @lines ];
		}
		note(sprintf('two cold PGO builds: %.1f s', time - $t0));
		my @ours = @{ $hot{pgo_merge} };
		my @ref = @{ $hot{reference} };
		cmp_ok(scalar(grep { /hot-budget check allows inlining/ } @ref), '>', 0,
			'the reference build inlines hot call sites');
		is_deeply(\@ours, \@ref, 'same hot call sites, nodes and threshold as with the reference');
		ok(scalar(grep { /allows inlining for call .* in function main\./ } @ours),
			'the hot call sites include the workload (main.*)');
		my $sql_thres = $node->safe_psql('postgres',
			"SELECT pgo_hot_threshold(pgo_merge(p)) FROM fx "
			  . "WHERE name IN ('cpu_a1', 'cpu_a2', 'cpu_a3', 'cpu_a_long')");
		my %printed = map { /hot-callsite-thres-from-CDF=(\S+)$/ ? ($1 => 1) : () } @ours;
		ok(keys(%printed) == 1 && (keys %printed)[0] == $sql_thres,
			"every package's hot-callsite-thres-from-CDF= is pgo_hot_threshold ($sql_thres)")
		  or diag(join(', ', keys %printed));
		note(scalar(@ours) . ' hot-* lines; e.g. '
			  . join(' | ', (grep { /in function main\./ } @ours)[ 0 .. 1 ]));
	}

}

$node->stop;
done_testing();
