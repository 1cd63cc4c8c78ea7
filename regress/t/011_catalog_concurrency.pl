# The catalog under concurrency:
#  1. four sessions ingest into one tag, starting on a catalog without any
#     daily partition (they race to create today's), while one session
#     loops on retention (creating, filling and dropping an old partition,
#     rolling up rows) and one on profile_for / selection_key / pgo.tags:
#     every acknowledged upload is kept, no session fails, no deadlock;
#  2. two sessions ingesting with the same idempotency key store one row
#     (the second waits for the first, then returns its id), also when the
#     first rolls back;
#  3. retention cannot get its short ACCESS EXCLUSIVE lock while a reader
#     holds pgo.profiles: ingest waits at most a lock_timeout, retention
#     deletes the rows instead of dropping the partition.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use IPC::Run;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time);

my $data = fixture_dir();

my $node = new_node('concurrency', conf => "log_lock_waits = on\ndeadlock_timeout = 1s\n");
$node->safe_psql('postgres', q{
	INSERT INTO pgo.retention_policies (tag_pattern, max_age, keep_min, rollup_after) VALUES
		('hot', '1 day', 1, NULL),
		('cold', '10 days', 0, NULL),
		('warm', '30 days', 0, '1 day');
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgo.partitions() WHERE NOT is_default'),
	'0', 'no daily partition yet');

my @fixtures = map { "$data/$_" } qw(cpu_a1.pb.gz cpu_a2.pb.gz cpu_a3.pb.gz cpu_b1.pb.gz);

# A psql running a script in the background. Script and output are files,
# so it runs at once (IPC::Run only feeds a scalar input when pumped).
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $n_scripts = 0;
sub start_psql
{
	my ($script) = @_;
	my $base = "$tmp/script" . $n_scripts++;
	write_file("$base.sql", $script);
	my %h = (base => $base);
	$h{run} = IPC::Run::start(
		[ $node->installed_command('psql'), '-X', '-q', '-A', '-t',
		  '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', "$base.sql" ],
		'<', \undef, '>', "$base.out", '2>', "$base.err");
	return \%h;
}

# wait for it; its exit status, stdout and stderr
sub finish_psql
{
	my ($h) = @_;
	$h->{run}->finish;
	$h->{out} = slurp_file("$h->{base}.out");
	$h->{err} = slurp_file("$h->{base}.err");
	return $h->{run}->result(0);
}

#
# 1. Ingest, retention and readers at once
#
my $n_workers = 4;
my $n_ingests = 40;
my @ingesters;
foreach my $w (1 .. $n_workers)
{
	my $script = '';
	foreach my $i (1 .. $n_ingests)
	{
		my $file = $fixtures[ ($w + $i) % @fixtures ];
		$script .= "SELECT pgo.ingest('hot', pg_read_binary_file('$file'), "
		  . "'{\"mode\": \"m$w\"}', 'push', 'w$w-$i');\n";
	}
	push @ingesters, start_psql($script);
}

my $retention_script = "SET client_min_messages = warning;\n";
foreach my $i (1 .. 8)
{
	$retention_script .= qq{
		INSERT INTO pgo.profiles (tag, source, received_at, profile)
		SELECT 'cold', 'sql', now() - interval '960 hours' - make_interval(secs => g), pg_read_binary_file('$fixtures[3]')
		FROM generate_series(1, 3) g;
		SELECT count(*) FROM pgo.maintain();
		INSERT INTO pgo.profiles (tag, labels, source, received_at, profile)
		SELECT 'warm', '{"mode": "w"}', 'sql', now() - interval '72 hours' - make_interval(secs => g), pg_read_binary_file('$fixtures[0]')
		FROM generate_series(1, 2) g;
		SELECT tag, deleted, rolled_up FROM pgo.apply_retention();
		SELECT 'old partitions|' || count(*) FROM pgo.partitions() WHERE to_time < now() - interval '10 days';
		SELECT pg_sleep(0.05);
	};
}
my $retention = start_psql($retention_script);

my $reader_script = '';
$reader_script .= "SELECT length(pgo.profile_for('hot')) > 0, pgo.selection_key('hot') IS NOT NULL; "
  . "SELECT count(*) FROM pgo.tags;\n"
  for 1 .. 30;
my $reader = start_psql($reader_script);

my %status = map { $_ => finish_psql($_) } (@ingesters, $retention, $reader);
my @acked;
foreach my $w (0 .. $#ingesters)
{
	my $h = $ingesters[$w];
	is($status{$h}, 0, "ingest session " . ($w + 1) . " succeeded")
	  or diag $h->{err};
	my @ids = grep { /^\d+$/ } split /\n/, $h->{out};
	is(scalar @ids, $n_ingests, "ingest session " . ($w + 1) . ": every upload acknowledged");
	push @acked, @ids;
	$ingesters[$w]{ids} = \@ids;
}
# the sessions really ran side by side: their ids interleave
my ($first_min, $first_max) = (sort { $a <=> $b } @{ $ingesters[0]{ids} })[ 0, -1 ];
ok( (grep { $_ > $first_min && $_ < $first_max } map { @{ $_->{ids} } } @ingesters[ 1 .. $#ingesters ]),
	'uploads of the sessions interleave');
is($status{$retention}, 0, 'retention session succeeded') or diag $retention->{err};
is($status{$reader}, 0, 'reader session succeeded') or diag $reader->{err};
like($retention->{out}, qr/^cold\|3\|0$/m, 'retention dropped old rows meanwhile');
like($retention->{out}, qr/^warm\|0\|2$/m, 'retention rolled rows up meanwhile');
my $dropped = () = $retention->{out} =~ /^old partitions\|0$/mg;
note "retention dropped the old partition in $dropped of 8 runs (else it deleted its rows)";
cmp_ok($dropped, '>', 0, 'retention dropped partitions while ingest ran');

my $ids = join(',', @acked);
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.profiles WHERE tag = 'hot' AND id IN ($ids)"),
	scalar @acked, 'every acknowledged upload is stored');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'hot'"),
	$n_workers * $n_ingests, 'and nothing else');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pgo.idempotency_keys WHERE tag = 'hot' AND profile_id IN ($ids)"),
	scalar @acked, 'every upload has its idempotency key');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'cold'"),
	'0', 'old rows all gone');
$node->safe_psql('postgres', 'SELECT * FROM pgo.maintain()');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM pgo.profiles_default}),
	'0', 'the default partition is empty');
ok( $node->safe_psql('postgres',
		q{SELECT count(*) FROM pgo.partitions() WHERE NOT is_default AND from_time >= date_trunc('day', now(), 'UTC')})
	  >= 8, 'today and the week ahead have partitions');

my $log = slurp_file($node->logfile);
unlike($log, qr/deadlock detected/, 'no deadlock');
unlike($log, qr/could not serialize/, 'no serialization failure');
my @errors = grep { !/canceling autovacuum task/ } ($log =~ /^.*ERROR:.*$/mg);
is(scalar @errors, 0, 'no error in the server log') or diag join("\n", @errors);

#
# 2. Idempotency keys across sessions
#
my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');

# Session a ingests into tag idem with idempotency key $key in a
# transaction, session b ingests with the same key and waits for a's lock,
# then a ends its transaction with $end (COMMIT or ROLLBACK). Returns the
# ids a and b got.
sub race_on_key
{
	my ($key, $end) = @_;
	$a->query_safe('BEGIN');
	my $id_a = $a->query_safe(
		"SELECT pgo.ingest('idem', pg_read_binary_file('$fixtures[0]'), idempotency_key => '$key')");
	$b->query_until(qr/sent/,
		"\\echo sent\nSELECT pgo.ingest('idem', pg_read_binary_file('$fixtures[1]'), idempotency_key => '$key');\n");
	$node->poll_query_until('postgres',
		q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity
						 WHERE wait_event_type = 'Lock' AND query LIKE '%idempotency_key%')})
	  or die 'the second session does not wait';
	$a->query_safe($end);
	my ($id_b) = split /\n/, $b->query_safe("SELECT 'done'");
	return ($id_a, $id_b);
}

my ($id_a, $id_b) = race_on_key('k1', 'COMMIT');
is($id_b, $id_a, 'a concurrent retry with the same key returns the first id');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgo.profiles WHERE tag = 'idem'"),
	'1', 'one row for two uploads with one key');

my $id_rolled_back;
($id_rolled_back, $id_b) = race_on_key('k2', 'ROLLBACK');
isnt($id_b, $id_rolled_back, 'when the first upload rolls back, the retry stores its own row');
is( $node->safe_psql('postgres',
		"SELECT p.id FROM pgo.idempotency_keys k JOIN pgo.profiles p ON p.id = k.profile_id WHERE k.tag = 'idem' AND k.key = 'k2'"),
	$id_b, 'and the key points to it');

#
# 3. Retention while a long reader holds pgo.profiles
#
$node->safe_psql('postgres', qq{
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	SELECT 'cold', 'sql', now() - interval '1200 hours' - make_interval(secs => g), pg_read_binary_file('$fixtures[3]')
	FROM generate_series(1, 3) g;
	SELECT * FROM pgo.maintain();
});
my $old_partition = $node->safe_psql('postgres',
	q{SELECT DISTINCT tableoid::regclass FROM pgo.profiles WHERE tag = 'cold'});
like($old_partition, qr/^pgo\.profiles_\d{8}$/, "old rows in their own partition $old_partition");

$a->query_safe("BEGIN; SELECT count(*) FROM pgo.profiles WHERE tag = 'hot'");
my $retention_run = start_psql("SELECT tag, deleted, rolled_up FROM pgo.apply_retention();\n");
# until retention waits for its lock
$node->poll_query_until('postgres',
	q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE '%apply_retention%' AND wait_event_type = 'Lock')})
  or die 'retention does not wait for its lock';
# ingest meanwhile: it may wait behind retention's lock request, briefly
my $worst = 0;
foreach my $i (1 .. 10)
{
	# timed by the server: the wait for a lock is what counts, not the
	# start of psql on a loaded machine
	my $elapsed = $node->safe_psql('postgres', qq{
		SELECT clock_timestamp() AS t0 \\gset
		SELECT pgo.ingest('hot', pg_read_binary_file('$fixtures[3]')) \\g /dev/null
		SELECT extract(epoch FROM clock_timestamp() - :'t0')});
	$worst = $elapsed if $elapsed > $worst;
	Time::HiRes::sleep(0.1);
}
my $retention_status = finish_psql($retention_run);
note sprintf('slowest ingest while retention waited for its lock: %.0f ms', $worst * 1000);
cmp_ok($worst, '<', 1.5, 'ingest is never blocked for long');
is($retention_status, 0, 'retention succeeded') or diag $retention_run->{err};
like($retention_run->{err}, qr/pgo\.profiles is busy: deleting the rows/, 'retention fell back to deleting rows');
is($retention_run->{out}, "cold|3|0\n", 'and deleted them');
is($node->safe_psql('postgres', "SELECT to_regclass('$old_partition') IS NOT NULL"),
	't', 'the partition stays, empty');
$a->query_safe('COMMIT');
$node->safe_psql('postgres', 'SELECT * FROM pgo.apply_retention()');
is($node->safe_psql('postgres', "SELECT to_regclass('$old_partition') IS NULL"),
	't', 'once the reader is gone the empty partition is dropped');

$a->quit;
$b->quit;
$node->stop;
done_testing();
