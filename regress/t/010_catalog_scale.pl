# pgo.profile_for and pgo.selection_key on a 100k-row pgo.profiles touch
# only the rows they select: an index scan on (tag, received_at) of the
# partitions inside the window, the older partitions pruned, a LIMIT.
#
# 10 tags x 20 days x 500 rows of the real profile cpu_b1.pb.gz (every 10th
# row of a tag a heap profile, which selection must skip), in daily
# partitions. The plans of the statements inside profile_for and
# selection_key are taken with auto_explain; timings are reported with
# note() (prove -v shows them).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time);

my $data = fixture_dir();

my $node = new_node('scale', conf => "max_parallel_workers_per_gather = 0\n");

# daily partitions for the 19 days before today, today and the week ahead
$node->safe_psql('postgres', q{
	SELECT pgo.create_partition((now() AT TIME ZONE 'UTC')::date - g) FROM generate_series(1, 19) g;
	SELECT * FROM pgo.maintain();
});

my $t0 = time;
$node->safe_psql('postgres', qq{
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	SELECT 'big' || (g % 10), 'sql',
		   now() - make_interval(hours => 24 * ((g / 10) % 20)) - make_interval(secs => (g / 200) * 0.001),
		   CASE WHEN (g / 200) % 10 = 3 THEN heap.p ELSE cpu.p END
	FROM (SELECT pg_read_binary_file('$data/cpu_b1.pb.gz')::pprof AS p OFFSET 0) cpu,
		 (SELECT pg_read_binary_file('$data/heap.pb.gz')::pprof AS p OFFSET 0) heap,
		 generate_series(0, 99999) g;
	ANALYZE pgo.profiles;
});
my $load = time - $t0;
note sprintf('loading 100k rows: %.1f s', $load);

is( $node->safe_psql('postgres',
		q{SELECT count(*), count(DISTINCT tag), count(DISTINCT tableoid), count(*) FILTER (WHERE NOT pgo_usable) FROM pgo.profiles}),
	'100000|10|20|10000',
	'100k rows, 10 tags, 20 daily partitions, 10% unusable');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgo.profiles_default'),
	'0', 'no row in the default partition');

# The plan of the selection (inlined into both functions)
my $plan = $node->safe_psql('postgres',
	q{EXPLAIN (COSTS OFF) SELECT * FROM pgo.selection('big3')});
note $plan;
like($plan, qr/Index Scan using profiles_\d{8}_tag_received_at_idx/,
	'selection: index scan on (tag, received_at)');
like($plan, qr/Index Cond: \(\(tag = 'big3'::text\) AND \(received_at >= COALESCE\(\(now\(\) - '7 days'::interval\), '-infinity'::timestamp with time zone\)\) AND \(received_at < \(statement_timestamp\(\) \+ '1 day'::interval\)\)\)/,
	'selection: the tag, the window and the bound ahead are the index condition');
like($plan, qr/Subplans Removed: \d+/, 'selection: partitions pruned');
# what is left: the days of the window up to tomorrow, and the default
my $tomorrow = $node->safe_psql('postgres',
	q{SELECT to_char((now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYYMMDD')});
my @scanned = $plan =~ /Index Scan using \w+ on profiles_(\d{8}|default) /g;
is(scalar(grep { $_ ne 'default' && $_ > $tomorrow } @scanned), 0,
	'selection: the empty partitions created ahead are pruned')
  or diag("scanned: @scanned");
ok(scalar(@scanned) >= 8 && scalar(@scanned) <= 10,
	'selection: 7 days, today, tomorrow and the default partition scanned')
  or diag("scanned: @scanned");
like($plan, qr/Limit/, 'selection: LIMIT max_profiles');
unlike($plan, qr/Seq Scan/, 'selection: no sequential scan');

# The statements inside profile_for and selection_key, with actual row
# counts: every row read by a scan node (returned or removed by a filter).
sub nested_plans
{
	my ($call) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
		LOAD 'auto_explain';
		SET auto_explain.log_min_duration = 0;
		SET auto_explain.log_nested_statements = on;
		SET auto_explain.log_analyze = on;
		SET auto_explain.log_timing = off;
		SET client_min_messages = log;
		SELECT length($call);
	});
	is($ret, 0, "$call runs");
	return $stderr;
}

sub rows_read
{
	my ($plans, $what) = @_;
	my $rows = 0;
	my $removed = 0;
	my $scans = 0;
	my $profile_scan = 0;
	my $in_scan = 0;
	foreach my $line (split /\n/, $plans)
	{
		# (PostgreSQL 18 prints the average rows per loop with two decimals)
		if ($line =~ /(Index Scan|Index Only Scan|Seq Scan|Bitmap Heap Scan) .*\bon (profiles_\w+).*actual rows=(\d+(?:\.\d+)?) loops=(\d+)/)
		{
			$scans++;
			$rows += $3 * $4;
			$profile_scan = 1;
			$in_scan = 1;
			next;
		}
		$in_scan = 0 if $line =~ /->|^\S/;
		$removed += $1 if $in_scan && $line =~ /Rows Removed by Filter: (\d+)/;
	}
	note "$what: $scans partition scans, $rows rows returned, $removed removed by filters";
	return ($rows + $removed, $profile_scan);
}

my $pf = nested_plans(q{pgo.profile_for('big3')});
note $pf;
like($pf, qr/Index Scan using profiles_\d{8}_tag_received_at_idx/,
	'profile_for: index scan on (tag, received_at)');
like($pf, qr/Subplans Removed: 1[0-9]/, 'profile_for: partitions pruned');
unlike($pf, qr/Seq Scan on profiles/, 'profile_for: no sequential scan');
my ($pf_rows, $pf_scanned) = rows_read($pf, 'profile_for');
ok($pf_scanned, 'profile_for plan read');
cmp_ok($pf_rows, '<=', 200, "profile_for reads $pf_rows rows of 100000 (100 selected)");

my $sk = nested_plans(q{pgo.selection_key('big3')});
like($sk, qr/Index Scan using profiles_\d{8}_tag_received_at_idx/,
	'selection_key: index scan on (tag, received_at)');
like($sk, qr/Subplans Removed: 1[0-9]/, 'selection_key: partitions pruned');
my ($sk_rows) = rows_read($sk, 'selection_key');
cmp_ok($sk_rows, '<=', 200, "selection_key reads $sk_rows rows of 100000 (100 selected)");

# Timings in one session (psql \timing): best of 5, after a warm-up call
sub best_ms
{
	my ($sql) = @_;
	my $out = $node->safe_psql('postgres', "\\timing on\n" . ("$sql;\n" x 6));
	my @ms = ($out =~ /^Time: ([\d.]+) ms/mg);
	die "no timings in: $out" unless @ms == 6;
	shift @ms;
	my ($best) = sort { $a <=> $b } @ms;
	return $best;
}
my $t_pf = best_ms(q{SELECT length(pgo.profile_for('big3'))});
my $t_pf_week = best_ms(q{SELECT length(pgo.profile_for('big3', max_profiles => 3000))});
my $t_sk = best_ms(q{SELECT pgo.selection_key('big3')});
note sprintf('profile_for (100 newest rows) %.1f ms; profile_for (max_profiles 3000: '
	  . 'the whole week of the tag) %.1f ms; selection_key %.2f ms',
	$t_pf, $t_pf_week, $t_sk);

is( $node->safe_psql('postgres',
		q{SELECT pprof_pgo_usable(pgo.profile_for('big3')::pprof), pgo.selection_key('big3') IS NOT NULL,
				 (SELECT count(*) FROM pgo.selection('big3')),
				 (SELECT count(*) FROM pgo.selection('big3', max_profiles => 100000))}),
	't|t|100|3150',
	'a usable merge of the 100 newest rows; the week holds 3150 usable rows of the tag');

$node->stop;
done_testing();
