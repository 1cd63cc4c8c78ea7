# pg_dump keeps the catalog: uploads (in the daily partitions, which are not
# members of the extension, and in the default partition), releases,
# policies, idempotency keys and the id sequence. The dump restores with
# pg_restore --exit-on-error into a fresh database, where the same
# selection gives the same key and byte-identical default.pgo.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $data = fixture_dir();

my $node = new_node('dump');
$node->safe_psql('postgres', qq{
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a1.pb.gz'), '{"mode": "batch"}', idempotency_key => 'u1');
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a2.pb.gz'), '{"mode": "batch"}', idempotency_key => 'u2');
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_labels.pb.gz'));
	SELECT pgo.ingest('api', pg_read_binary_file('$data/heap.pb.gz'));
	-- an old row in a partition of its own, a row left in the default partition
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	VALUES ('api', 'sql', now() - interval '72 hours', pg_read_binary_file('$data/cpu_a3.pb.gz'));
	SELECT * FROM pgo.maintain();
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	VALUES ('old', 'sql', now() - interval '2400 hours', pg_read_binary_file('$data/cpu_b1.pb.gz'));
	SELECT sha256 FROM pgo.publish('api');
	INSERT INTO pgo.retention_policies VALUES ('api', '30 days', 2, '7 days');
});

# what a database holds, as one text
my $summary_sql = q{
	SELECT concat_ws(E'\n',
		(SELECT string_agg(concat_ws(' ', id, tag, labels, source, received_at, tableoid::regclass,
								   cpu_nanos, pgo_usable, input_bytes, md5(profile::bytea)), E'\n' ORDER BY id)
		 FROM pgo.profiles),
		(SELECT string_agg(concat_ws(' ', tag, sha256, input_ids, parameters, created_at), E'\n' ORDER BY sha256)
		 FROM pgo.releases),
		(SELECT string_agg(concat_ws(' ', tag_pattern, max_age, keep_min, rollup_after), E'\n' ORDER BY tag_pattern)
		 FROM pgo.retention_policies),
		(SELECT string_agg(concat_ws(' ', tag, key, profile_id, created_at), E'\n' ORDER BY tag, key)
		 FROM pgo.idempotency_keys),
		pgo.selection_key('api'),
		md5(pgo.profile_for('api')),
		md5(pgo.profile_for('api', mode => 'batch')))};
my $before = $node->safe_psql('postgres', $summary_sql);
like($before, qr/profiles_default/, 'a row in the default partition');
like($before, qr/profiles_\d{8}/, 'rows in daily partitions');

my $tmp = PostgreSQL::Test::Utils::tempdir;
$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', "$tmp/catalog.dump", '-d', $node->connstr('postgres') ],
	'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), "$tmp/catalog.dump" ],
	'pg_restore --exit-on-error');

is($node->safe_psql('restored', $summary_sql), $before,
	'rows, releases, policies and keys come back; same selection key and default.pgo');
# the sequence went on: a new upload gets a new id
my $max_id = $node->safe_psql('restored', 'SELECT max(id) FROM pgo.profiles');
cmp_ok($node->safe_psql('restored', qq{SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_b1.pb.gz'))}),
	'>', $max_id, 'ids continue after the restore');
is( $node->safe_psql('restored',
		q{SELECT pgo.ingest('api', '\x00'::bytea, idempotency_key => 'u1') = (SELECT profile_id FROM pgo.idempotency_keys WHERE key = 'u1')}),
	't', 'idempotency keys still answer retries');
# the restored partitions keep the tag rule (a CHECK calling
# pgo.is_valid_tag, which CREATE EXTENSION made before their rows came back)
is( $node->safe_psql('restored', q{
		SELECT string_agg(DISTINCT pg_get_constraintdef(oid), ',') FROM pg_constraint
		WHERE conname = 'profiles_tag_check' AND conrelid::regclass::text ~ '^pgo\.profiles_[0-9]{8}$'}),
	'CHECK (pgo.is_valid_tag(tag))', 'restored daily partitions: the tag constraint');
my ($rc, $out, $err) = $node->psql('restored', q{
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	SELECT '.', source, received_at, profile FROM pgo.profiles WHERE tableoid::regclass::text ~ '_[0-9]{8}$' LIMIT 1});
like($err, qr/new row for relation "profiles_\d{8}" violates check constraint "profiles_tag_check"/,
	'restored daily partitions refuse the tag "."');
# and the catalog still works as a whole
is( $node->safe_psql('restored',
		q{SELECT count(*) FROM pgo.apply_retention()}), '0', 'retention runs on the restored catalog');

$node->stop;
done_testing();
