# ALTER EXTENSION pprof UPDATE on a catalog with data: a database made with
# version 0.1 (the first release) keeps its rows, partitions, releases,
# idempotency keys and the privileges granted on its functions, gets the
# functions of the current version, and then has the same extension
# members and definitions as a fresh CREATE EXTENSION.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $data = fixture_dir();

my $node = new_node('upgrade', version => '0.1');

my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'pprof'");
isnt($current, '0.1', "the current version ($current) is not the first");

$node->safe_psql('postgres', qq{
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a1.pb.gz'), '{"mode": "batch"}', idempotency_key => 'k1');
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a2.pb.gz'));
	SELECT pgo.ingest('api', pg_read_binary_file('$data/heap.pb.gz'));
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	VALUES ('api', 'sql', now() - interval '72 hours', pg_read_binary_file('$data/cpu_a3.pb.gz'));
	SELECT * FROM pgo.maintain();
	SELECT sha256 FROM pgo.publish('api');
	CREATE ROLE regress_uploader;
	GRANT USAGE ON SCHEMA pgo TO regress_uploader;
	GRANT EXECUTE ON FUNCTION pgo.ingest(text, bytea, jsonb, text, text) TO regress_uploader;
});
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pprof'"),
	'0.1', 'installed as 0.1');

my $state_sql = q{
	SELECT concat_ws(E'\n',
		(SELECT string_agg(concat_ws(' ', id, tag, labels, source, received_at, tableoid::regclass,
								   samples, pgo_usable, problems, md5(profile::bytea)), E'\n' ORDER BY id)
		 FROM pgo.profiles),
		(SELECT string_agg(concat_ws(' ', tag, sha256, input_ids), E'\n' ORDER BY sha256) FROM pgo.releases),
		(SELECT string_agg(concat_ws(' ', tag, key, profile_id), E'\n' ORDER BY tag, key) FROM pgo.idempotency_keys),
		(SELECT string_agg(id::text, ',' ORDER BY id) FROM pgo.selection('api')),
		md5(pgo.profile_for('api')),
		md5(pgo.profile_for('api', mode => 'batch')))};
my $before = $node->safe_psql('postgres', $state_sql);
my $key_before = $node->safe_psql('postgres', "SELECT pgo.selection_key('api')");

$node->safe_psql('postgres', 'ALTER EXTENSION pprof UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pprof'"),
	$current, "updated to $current");
is($node->safe_psql('postgres', $state_sql), $before,
	'rows, releases, idempotency keys, selection and merged bytes unchanged');
isnt($node->safe_psql('postgres', "SELECT pgo.selection_key('api')"), $key_before,
	'selection keys change with the version (a gateway cache from before is not reused)');

# privileges granted on a replaced function survive the update
is($node->safe_psql('postgres', qq{
	CREATE TABLE upload AS SELECT pg_read_binary_file('$data/cpu_b1.pb.gz') AS b;
	GRANT SELECT ON upload TO regress_uploader;
	SET ROLE regress_uploader;
	SELECT pgo.ingest('api', b) > 0 FROM upload;
}), 't', 'a role granted pgo.ingest under 0.1 can still ingest');
my $first = $node->safe_psql('postgres',
	"SELECT profile_id FROM pgo.idempotency_keys WHERE key = 'k1'");
is($node->safe_psql('postgres', qq{
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a3.pb.gz'), idempotency_key => 'k1')}),
	$first, 'a key stored by 0.1 still returns its first id');
is($node->safe_psql('postgres', qq{
	SELECT concat_ws(' ', s.id, s.received_at = p.received_at, s.samples = p.samples,
					 s.pgo_usable, s.problems = p.problems)
	FROM pgo.ingest_summary('api', pg_read_binary_file('$data/cpu_a3.pb.gz'), idempotency_key => 'k1') s
		 JOIN pgo.profiles p ON p.id = s.id}),
	"$first t t t t", 'pgo.ingest_summary of a 0.1 key: the first row\'s summary');

# the same objects and definitions as a fresh install
my $members_sql = q{
	SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT pg_describe_object(classid, objid, objsubid)
			   || CASE WHEN classid = 'pg_proc'::regclass
					   THEN E'\n' || pg_get_functiondef(objid) ELSE '' END AS d
		FROM pg_depend
		WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pprof')
		  AND (classid <> 'pg_proc'::regclass OR (SELECT prokind FROM pg_proc WHERE oid = objid) <> 'a')) m};
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pprof');
my $fresh = $node->safe_psql('fresh', $members_sql);
cmp_ok(length($fresh), '>', 1000, 'fresh install: members listed');
is($node->safe_psql('postgres', $members_sql), $fresh,
	'updated install: the same members and function definitions as a fresh one');

$node->stop;
done_testing();
