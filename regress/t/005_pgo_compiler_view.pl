# The compiler's view of a profile, judged by the compiler itself, on Go 1.23
# and on the current release (Go 1.27):
# - pgo_preprofile is byte for byte what `go tool preprofile -i` writes and
#   pgo_edges its rows, on every CPU fixture and on pgo_merge outputs;
#   profiles go build rejects are errors, ignored ones have no edges;
# - pgo_hot_threshold is what the compiler prints as
#   hot-callsite-thres-from-CDF= when it compiles the fixture program (its
#   main package, by `go tool compile` as go build runs it) with the profile,
#   at the default CDF threshold and at -d=pgoinlinecdfthreshold=90;
# - pgo_drift: 0 against itself, 1 against another program, small between
#   windows of one process.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my @toolchains = go_toolchains();
plan skip_all => 'no Go toolchain' unless @toolchains;
my $data = fixture_dir();
my $tmp = tmpdir();

my @cpu = qw(cpu cpu_labels cpu_a1 cpu_a2 cpu_a3 cpu_a_long cpu_b1 cpu_badutf8 cpu_empty);
my $node = new_node('compiler');
fixture_table($node, 'fx', @cpu, qw(heap goroutine));

# pgo_merge outputs, as rows of fx and as files
my %merges = (
	merge_a => [qw(cpu_a1 cpu_a2 cpu_a3 cpu_a_long)],
	merge_two_programs => [qw(cpu cpu_b1)],
	merge_labels => [qw(cpu_labels cpu cpu_a1)],);
for my $m (sort keys %merges)
{
	$node->safe_psql('postgres',
		"INSERT INTO fx SELECT '$m', pgo_merge(p) FROM fx WHERE name IN ('"
		  . join("','", @{ $merges{$m} }) . "')");
}

# The profile of row $name as a file.
my %file;
sub profile_file
{
	my ($name) = @_;
	return $file{$name} //= do {
		my $f = "$tmp/$name.pb.gz";
		write_file($f, pack('H*',
			$node->safe_psql('postgres', "SELECT encode(p::bytea, 'hex') FROM fx WHERE name = '$name'")));
		$f;
	};
}

# The bytes of pgo_preprofile and the rows of pgo_edges (as the preprofile
# text would list them) of row $name.
sub ours
{
	my ($name) = @_;
	my $bytes = pack('H*', $node->safe_psql('postgres',
		"SELECT encode(pgo_preprofile(p), 'hex') FROM fx WHERE name = '$name'"));
	my $rows = $node->safe_psql('postgres',
		"SELECT string_agg(caller || E'\\n' || callee || E'\\n' || call_site_offset || ' ' || weight, E'\\n' ORDER BY ord) "
		  . "FROM fx, pgo_edges(p) WITH ORDINALITY AS e(caller, callee, call_site_offset, weight, ord) "
		  . "WHERE name = '$name'");
	return ($bytes, $rows);
}

my @profiles = (@cpu, sort keys %merges);
my %ours = map { $_ => [ ours($_) ] } @profiles;

for my $tc (@toolchains)
{
	local $ENV{GO} = $tc->{go};
	my $v = $tc->{name};

	# --- preprofile, every CPU profile and merge
	for my $name (@profiles)
	{
		my $out = "$tmp/$name.$v.preprofile";
		go_ok('tool', 'preprofile', '-i', profile_file($name), '-o', $out);
		my $ref = slurp_file($out);
		my ($bytes, $rows) = @{ $ours{$name} };
		is($bytes, $ref, "$v $name: pgo_preprofile = go tool preprofile, byte for byte");
		(my $ref_rows = $ref) =~ s/\AGO PREPROFILE V1\n//;
		chomp $ref_rows;
		is($rows, $ref_rows, "$v $name: pgo_edges = the edges go tool preprofile lists");
	}
	cmp_ok(length($ours{cpu}[0]), '>', 1000, "$v: (cpu has call edges)");
	is($ours{cpu_empty}[0], "GO PREPROFILE V1\n", "$v: (cpu_empty: the header alone)");

	# --- rejected profiles: go tool preprofile fails, so does pgo_edges
	for my $name (qw(heap goroutine))
	{
		my ($rc, $out, $err) = run_go(undef, {}, 'tool', 'preprofile', '-i', "$data/$name.pb.gz",
			'-o', "$tmp/$name.preprofile");
		isnt($rc, 0, "$v $name: go tool preprofile fails");
	}
}

for my $name (qw(heap goroutine))
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT count(*) FROM fx, pgo_edges(p) WHERE name = '$name'",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  22000: go build -pgo rejects this profile.*DETAIL:  The profile has no samples\/count/s,
		"$name: pgo_edges is an error (22000) with the reason");
}

# --- the threshold the compiler prints, compiling the fixture programs
# with each profile: gen/ for its profiles, gen/otherprog for cpu_b1.
my %program = (
	(map { $_ => "$data/gen" } qw(cpu cpu_labels cpu_a1 cpu_a_long cpu_badutf8 merge_a)),
	cpu_b1 => "$data/gen/otherprog");
my %threshold;
for my $name (sort keys %program)
{
	for my $cdf (99, 90)
	{
		$threshold{"$name/$cdf"} = $node->safe_psql('postgres',
			"SELECT pgo_hot_threshold(p, $cdf) FROM fx WHERE name = '$name'");
	}
}

for my $tc (@toolchains)
{
	local $ENV{GO} = $tc->{go};
	my $v = $tc->{name};
	my %compile;    # program dir => [importcfg, go files]
	for my $name (sort keys %program)
	{
		my $dir = $program{$name};
		$compile{$dir} //= do {
			# the dependencies' export data (no PGO: the threshold is the
			# main package's own), as go build hands them to the compiler
			my ($rc, $cfg, $err) = run_go($dir, {}, 'list', '-export', '-deps', '-f',
				'{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}', '.');
			die "go list -export failed: $err" if $rc;
			my $icfg = "$tmp/importcfg-$v-" . ($dir =~ /otherprog$/ ? 'other' : 'gen');
			write_file($icfg, $cfg);
			(undef, my $files) = run_go($dir, {}, 'list', '-f', '{{join .GoFiles " "}}', '.');
			[ $icfg, [ split ' ', $files ] ];
		};
		my ($icfg, $files) = @{ $compile{$dir} };
		for my $cdf (99, 90)
		{
			my @d = ('-d=pgodebug=1' . ($cdf == 99 ? '' : ",pgoinlinecdfthreshold=$cdf"));
			my ($rc, $out, $err) = run_go($dir, {}, 'tool', 'compile', '-p', 'main',
				'-importcfg', $icfg, '-pgoprofile=' . profile_file($name), @d,
				'-o', "$tmp/main-$v.a", @$files);
			is($rc, 0, "$v $name: the compiler compiles the program with the profile") or diag($err);
			my ($printed) = "$out$err" =~ /^hot-callsite-thres-from-CDF=(\S+)$/m;
			ok(defined $printed && $printed == $threshold{"$name/$cdf"},
				"$v $name: pgo_hot_threshold(p, $cdf) = the compiler's hot-callsite-thres-from-CDF="
				  . ($printed // 'none'))
			  or diag("ours: " . $threshold{"$name/$cdf"});
		}
	}
}

# --- pgo_hot_edges: the prefix of pgo_edges whose weight first passes the CDF
is($node->safe_psql('postgres', q{
SELECT (SELECT array_agg(ROW(h.caller, h.callee, h.call_site_offset, h.weight) ORDER BY ord)
		FROM pgo_hot_edges(p) WITH ORDINALITY h(caller, callee, call_site_offset, weight, share, ord))
	 = (SELECT array_agg(ROW(e.caller, e.callee, e.call_site_offset, e.weight) ORDER BY ord)
		FROM pgo_edges(p) WITH ORDINALITY e(caller, callee, call_site_offset, weight, ord)
		WHERE ord <= (SELECT count(*) FROM pgo_hot_edges(p)))
	AND (SELECT sum(share) > 99 AND min(share) = pgo_hot_threshold(p) FROM pgo_hot_edges(p))
	AND (SELECT count(*) FROM pgo_hot_edges(p)) < (SELECT count(*) FROM pgo_edges(p))
FROM fx WHERE name = 'cpu'}), 't',
	'pgo_hot_edges: the heaviest edges of pgo_edges, just past 99% of the weight, the lightest at the threshold');

# --- pgo_drift on real profiles
my %drift;
for my $pair ([qw(cpu cpu)], [qw(cpu cpu_b1)], [qw(merge_a cpu_b1)], [qw(cpu_a1 cpu_a2)],
	[qw(cpu_a_long cpu)], [qw(merge_a cpu)], [qw(cpu cpu_badutf8)])
{
	$drift{"@$pair"} = $node->safe_psql('postgres',
		"SELECT round(pgo_drift(a.p, b.p)::numeric, 3) FROM fx a, fx b "
		  . "WHERE a.name = '$pair->[0]' AND b.name = '$pair->[1]'");
	note("pgo_drift(@$pair) = $drift{\"@$pair\"}");
}
is($drift{'cpu cpu'}, '0.000', 'pgo_drift: a profile against itself is 0');
is($drift{'cpu cpu_b1'}, '1.000', 'pgo_drift: against another program 1');
is($drift{'merge_a cpu_b1'}, '1.000', 'pgo_drift: a merge against another program 1');
cmp_ok($drift{'cpu_a1 cpu_a2'}, '<', 0.5, 'pgo_drift: two 1.5 s windows of one process, small');
cmp_ok($drift{'merge_a cpu'}, '<', $drift{'cpu_a1 cpu_a2'},
	'pgo_drift: merged windows are closer to another run than one window to the next');
cmp_ok($drift{'cpu cpu_badutf8'}, '>', 0.7,
	'pgo_drift: the same binary running another workload is far');
is($node->safe_psql('postgres',
		"SELECT pgo_drift(a.p, b.p) = pgo_drift(b.p, a.p) FROM fx a, fx b WHERE a.name = 'cpu_a1' AND b.name = 'cpu_a3'"),
	't', 'pgo_drift is symmetric');

$node->stop;
done_testing();
