# Retention scheduled with the real pg_cron (Debian postgresql-15-cron), as
# the README documents:
#   SELECT cron.schedule('pgo-retention', '17 * * * *', 'SELECT * FROM pgo.apply_retention()');
# pg_cron 1.4 runs jobs at minute boundaries only (seconds arrived in 1.5),
# so the job that must run during the test is scheduled '@reboot' and the
# server restarted; with pg_cron >= 1.5 it is scheduled every 2 seconds.
#
# Skipped when pg_cron is not installed in the server under test.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $data = fixture_dir();

my $node = new_node('cron');
my $have_cron = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_cron'}) ne '0';
$node->stop unless $have_cron;
skip_all_unless($have_cron, 'pg_cron is not installed');

$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
# jobs run in background workers: the test server listens on a socket only
cron.use_background_workers = on
max_worker_processes = 16
});
$node->restart;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
my $cron_version = $node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'});
note "pg_cron $cron_version";

# expired rows in an old partition, fresh rows, a policy
$node->safe_psql('postgres', qq{
	INSERT INTO pgo.retention_policies (tag_pattern, max_age, keep_min) VALUES ('api', '7 days', 1);
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	SELECT 'api', 'sql', now() - interval '720 hours' - make_interval(secs => g), pg_read_binary_file('$data/cpu_a1.pb.gz')
	FROM generate_series(1, 3) g;
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a2.pb.gz'));
	SELECT * FROM pgo.maintain();
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgo.profiles WHERE tag = 'api'}),
	'4', 'three expired rows and a fresh one');

# the documented line
my $job = $node->safe_psql('postgres',
	q{SELECT cron.schedule('pgo-retention', '17 * * * *', 'SELECT * FROM pgo.apply_retention()')});
is( $node->safe_psql('postgres',
		"SELECT schedule, command, database, active FROM cron.job WHERE jobid = $job"),
	'17 * * * *|SELECT * FROM pgo.apply_retention()|postgres|t',
	'the README line schedules hourly retention');

# a job that runs now
my ($major, $minor) = split /[.-]/, $cron_version;
my $soon = ($major > 1 || $minor >= 5) ? '2 seconds' : '@reboot';
my $now_job = $node->safe_psql('postgres',
	"SELECT cron.schedule('pgo-retention-now', '$soon', 'SELECT * FROM pgo.apply_retention()')");
$node->restart if $soon eq '@reboot';

ok( $node->poll_query_until('postgres',
		"SELECT status FROM cron.job_run_details WHERE jobid = $now_job ORDER BY runid LIMIT 1",
		'succeeded'),
	"pg_cron ran pgo.apply_retention() ($soon)")
  or diag $node->safe_psql('postgres', 'SELECT * FROM cron.job_run_details');
is( $node->safe_psql('postgres',
		"SELECT return_message FROM cron.job_run_details WHERE jobid = $now_job ORDER BY runid LIMIT 1"),
	'SELECT 1', 'it returned one row (tag api)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgo.profiles WHERE tag = 'api'}),
	'1', 'the expired rows are gone, the fresh one stays');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM pgo.partitions() WHERE to_time < now() - interval '7 days'}),
	'0', 'with their partition');

$node->safe_psql('postgres', "SELECT cron.unschedule($job); SELECT cron.unschedule($now_job)");
$node->stop;
done_testing();
