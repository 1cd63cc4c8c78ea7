# The type end to end with real tools:
#  - a profile stored and read back is the same profile to go tool pprof;
#  - decoding, merging and reporting run clean under valgrind memcheck;
#  - statement_timeout stops a large merge promptly, and an ERROR in the
#    middle of an aggregate leaves no memory behind.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time);

my $data = fixture_dir();
my $tmp = tmpdir();

my $node = new_node('main', conf => "shared_buffers = 32MB\n");

my @fixtures = qw(cpu.pb.gz cpu.pb cpu_labels.pb.gz heap.pb.gz goroutine.pb.gz
  cpu_empty.pb.gz cpu_b1.pb.gz cpu_badutf8.pb.gz);

# 1. round trip through the type, judged by go tool pprof
SKIP:
{
	skip_unless(go_binary(), 'Go toolchain not found', scalar(@fixtures));
	for my $f (@fixtures)
	{
		my $hex = $node->safe_psql('postgres',
			"SELECT encode(pg_read_binary_file('$data/$f')::pprof::bytea, 'hex')");
		my $out = "$tmp/$f.out.pb.gz";
		write_file($out, pack('H*', $hex));
		my (undef, $want) = run_go(undef, {}, 'tool', 'pprof', '-raw', "$data/$f");
		my (undef, $got) = run_go(undef, {}, 'tool', 'pprof', '-raw', $out);
		ok(length($want) > 0, "go tool pprof reads $f");
		is($got, $want, "$f: go tool pprof -raw of the stored profile equals the input's");
	}
}

# 2. statement_timeout and cancel stop a large merge within a second
$node->safe_psql('postgres', qq{
	CREATE TABLE many AS
	SELECT g, pg_read_binary_file('$data/cpu_a' || (1 + g % 3) || '.pb.gz')::pprof AS p
	FROM generate_series(1, 3000) g;
	CREATE TABLE bad AS SELECT pg_read_binary_file('$data/heap.pb.gz')::pprof AS p;
});
# what a statement cancelled at once costs here (psql's start, the timeout
# itself): the bound below is relative to it, so that the machine's load
# does not decide the test
my $start = time;
$node->psql('postgres', "SET statement_timeout = '300ms'; SELECT pg_sleep(10)");
my $baseline = time - $start;
for my $agg (qw(pprof_merge pgo_merge))
{
	$start = time;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
		SET statement_timeout = '300ms';
		SELECT length($agg(p)::bytea) FROM many, generate_series(1, 20);
	});
	my $elapsed = time - $start;
	like($stderr, qr/canceling statement due to statement timeout/, "$agg is cancelled by statement_timeout");
	cmp_ok($elapsed, '<', $baseline + 1.0,
		"$agg stopped within a second of the timeout (took ${elapsed}s, pg_sleep ${baseline}s)");
}

# 3. an ERROR in the middle of a merge leaves the backend's memory as it was
my $out = $node->safe_psql('postgres', q{
	SELECT length(pprof_merge(p)::bytea) FROM many;  -- warm caches
	SELECT sum(total_bytes) AS before FROM pg_backend_memory_contexts \gset
	CREATE FUNCTION pg_temp.aborted_merge() RETURNS text LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM length(pprof_merge(x.p)::bytea)
		FROM (SELECT p FROM many UNION ALL SELECT p FROM bad UNION ALL SELECT p FROM many) x;
		RETURN 'no error';
	EXCEPTION WHEN data_exception THEN
		RETURN SQLSTATE || ' ' || SQLERRM;
	END $$;
	SELECT pg_temp.aborted_merge();
	SELECT sum(total_bytes) - :before FROM pg_backend_memory_contexts;
	SELECT length(pgo_merge(p)::bytea) > 0 FROM many;
});
my ($error, $growth, $works) = (split /\n/, $out)[ -3, -2, -1 ];
like($error, qr/^22\S{3} /, "the merge with a heap profile in the middle failed ($error)");
cmp_ok($growth, '<', 1024 * 1024, "memory after an aborted 6000-row merge grew by $growth bytes only");
is($works, 't', 'the next merge works');

# 4. the C code under valgrind memcheck: a single-user backend runs decoding
# (good and hostile inputs), both merges (one aborted by an ERROR) and reports
SKIP:
{
	# (not `command -v`: backticks without shell metacharacters exec
	# directly, and command is a shell builtin)
	my ($valgrind) = grep { -x } map { "$_/valgrind" } split /:/, $ENV{PATH};
	skip_unless($valgrind, 'valgrind not installed', 2);
	$node->safe_psql('postgres', q{CREATE TABLE small AS SELECT p FROM many LIMIT 60});
	$node->stop;
	my $script = join("\n",
		'SELECT length(pgo_merge(p)::bytea) FROM small;',
		'SELECT length(pprof_merge(p)::bytea) FROM small;',
		'SELECT length(pprof_merge(x.p)::bytea) FROM (SELECT p FROM small UNION ALL SELECT p FROM bad UNION ALL SELECT p FROM small) x;',
		'SELECT count(*) FROM pprof_top((SELECT pprof_merge(p) FROM small), 10);',
		'SELECT count(*) FROM pprof_stacks((SELECT p FROM small LIMIT 1));',
		(map { "SELECT pprof_validate(pg_read_binary_file('$data/$_'));" } @fixtures),
		"SELECT pprof_validate(pg_read_binary_file('$data/hostile/amplification.pb.gz'));",
		"SELECT pprof_validate(pg_read_binary_file('$data/hostile/bomb.pb.gz'));",
		q{SELECT pprof_validate('\x1f8b0800'::bytea), pprof_validate('\x0f'::bytea), pprof_validate('\x48ffffffffffffffffffff01'::bytea);},
		'SELECT length(p::bytea) FROM small LIMIT 3;', '');
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ $valgrind, '--quiet', '--error-exitcode=99', '--trace-children=no',
		'postgres', '--single', '-D', $node->data_dir, '-c', 'shared_buffers=16MB', 'postgres' ],
		'<', \$script, '>', \$stdout, '2>', \$stderr);
	my $rc = $? >> 8;
	is($rc, 0, 'valgrind memcheck found no errors') or diag($stderr);
	like($stdout, qr/pprof_validate = "pprof profile is too large/, 'the bomb was decoded (and refused) under valgrind');
	$node->start;
}

$node->stop;
done_testing();
