# Fresh install against the upgrade chain. A database made with version 0.1
# (the first release) and updated through every upgrade script must end up
# with what CREATE EXTENSION of the current version makes from its own
# full script (generated from sql/src/): the same extension members with
# the same definitions, columns, constraints, indexes, triggers, privileges
# and comments, and the same answers on the same data. The update keeps
# the rows, partitions, releases, idempotency keys and the privileges
# granted on its functions.
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

# A fresh install runs the current version's own script, not the chain
# from 0.1 (PostgreSQL takes the full script when there is one).
my $sharedir = $node->safe_psql('postgres', "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'");
ok(-f "$sharedir/extension/pprof--$current.sql",
	"a full install script pprof--$current.sql is installed");

# The same uploads, releases and grants, run on each database under the
# version it has.
my $setup_sql = qq{
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a1.pb.gz'), '{"mode": "batch"}', idempotency_key => 'k1');
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a2.pb.gz'));
	SELECT pgo.ingest('api', pg_read_binary_file('$data/heap.pb.gz'));
	INSERT INTO pgo.profiles (tag, source, received_at, profile)
	VALUES ('api', 'sql', now() - interval '72 hours', pg_read_binary_file('$data/cpu_a3.pb.gz'));
	SELECT * FROM pgo.maintain();
	SELECT sha256 FROM pgo.publish('api');
	DO \$\$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_uploader') THEN
			CREATE ROLE regress_uploader;
		END IF;
	END \$\$;
	GRANT USAGE ON SCHEMA pgo TO regress_uploader;
	GRANT EXECUTE ON FUNCTION pgo.ingest(text, bytea, jsonb, text, text) TO regress_uploader;
	-- a function whose arguments changed since (0.3 added go_version and
	-- version): the update grants again what was granted on the old one
	DO \$\$ BEGIN
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO regress_uploader',
					   (SELECT p.oid::regprocedure FROM pg_proc p
						WHERE p.proname = 'profile_for' AND p.pronamespace = 'pgo'::regnamespace));
	END \$\$;
};
$node->safe_psql('postgres', $setup_sql);
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pprof'"),
	'0.1', 'installed as 0.1');

# What a database holds and answers, apart from the time of the uploads.
my $state_sql = q{
	SELECT concat_ws(E'\n',
		(SELECT string_agg(concat_ws(' ', id, tag, labels, source, samples, duration_seconds, cpu_nanos,
								   pgo_usable, problems, build_id, input_bytes, sample_types, sample_modes,
								   md5(profile::bytea)), E'\n' ORDER BY id)
		 FROM pgo.profiles),
		(SELECT string_agg(concat_ws(' ', tag, sha256, input_ids, parameters), E'\n' ORDER BY sha256)
		 FROM pgo.releases),
		(SELECT string_agg(concat_ws(' ', tag, key, profile_id), E'\n' ORDER BY tag, key) FROM pgo.idempotency_keys),
		(SELECT string_agg(concat_ws(' ', tag, profiles, usable, total_cpu_seconds, modes), E'\n' ORDER BY tag)
		 FROM pgo.tags),
		(SELECT string_agg(id::text, ',' ORDER BY id) FROM pgo.selection('api')),
		md5(pgo.profile_for('api')),
		md5(pgo.profile_for('api', mode => 'batch')),
		md5(pgo.profile_for('api', "normalize" => false, max_profiles => 2)))};
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
my $grantee_sql = qq{
	CREATE TABLE upload AS SELECT pg_read_binary_file('$data/cpu_b1.pb.gz') AS b;
	GRANT SELECT ON upload TO regress_uploader;
	SET ROLE regress_uploader;
	SELECT pgo.ingest('api', b) > 0 FROM upload;
};
is($node->safe_psql('postgres', $grantee_sql), 't', 'a role granted pgo.ingest under 0.1 can still ingest');
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

# The fresh install, with the same history.
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pprof');
is($node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'pprof'"),
	$current, "fresh install of $current");
$node->safe_psql('fresh', $setup_sql);
is($node->safe_psql('fresh', $grantee_sql), 't', 'fresh: a role granted pgo.ingest can ingest');
$node->safe_psql('fresh', qq{
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a3.pb.gz'), idempotency_key => 'k1');
	SELECT pgo.ingest_summary('api', pg_read_binary_file('$data/cpu_a3.pb.gz'), idempotency_key => 'k1')});

# Every extension member described by what defines it (no OIDs, no
# times): one line per member and attribute, sorted.
my $catalog_sql = q{
	WITH m AS (
		SELECT d.classid, d.objid, d.objsubid
		FROM pg_depend d
		WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'pprof')),
	described AS (
		SELECT pg_describe_object(m.classid, m.objid, m.objsubid) AS object,
			   concat_ws(E'\n',
				'comment: ' || obj_description(m.objid, m.classid::regclass::text),
				CASE m.classid
				WHEN 'pg_proc'::regclass THEN (
					SELECT concat_ws(E'\n', 'acl: ' || p.proacl::text, 'owner: ' || p.proowner::regrole,
						CASE WHEN p.prokind = 'a'
						THEN (SELECT concat_ws(' ', 'aggregate', pg_get_function_arguments(p.oid), a.aggkind,
											   a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
											   a.aggdeserialfn, a.aggtranstype::regtype, a.aggtransspace,
											   a.agginitval, a.aggfinalextra, a.aggfinalmodify, p.proparallel)
							  FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
						ELSE pg_get_functiondef(p.oid) END)
					FROM pg_proc p WHERE p.oid = m.objid)
				WHEN 'pg_class'::regclass THEN (
					SELECT concat_ws(E'\n',
						'kind: ' || c.relkind::text || c.relpersistence::text, 'acl: ' || c.relacl::text,
						'owner: ' || c.relowner::regrole, 'options: ' || c.reloptions::text,
						'partition key: ' || pg_get_partkeydef(c.oid),
						'partition bound: ' || pg_get_expr(c.relpartbound, c.oid),
						CASE WHEN c.relkind = 'v' THEN 'view: ' || pg_get_viewdef(c.oid) END,
						(SELECT string_agg(concat_ws(' ', 'column', a.attnum, a.attname,
													 format_type(a.atttypid, a.atttypmod),
													 CASE WHEN a.attnotnull THEN 'not null' END,
													 'identity=' || nullif(a.attidentity::text, ''),
													 'generated=' || nullif(a.attgenerated::text, ''),
													 'expr=' || pg_get_expr(ad.adbin, ad.adrelid),
													 'compression=' || nullif(a.attcompression::text, ''),
													 'storage=' || a.attstorage::text, 'acl=' || a.attacl::text,
													 'comment=' || col_description(c.oid, a.attnum)),
										   E'\n' ORDER BY a.attnum)
						 FROM pg_attribute a
							  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
						 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
						(SELECT string_agg(concat_ws(' ', 'constraint', k.conname, pg_get_constraintdef(k.oid),
													 'comment=' || obj_description(k.oid, 'pg_constraint')),
										   E'\n' ORDER BY k.conname)
						 FROM pg_constraint k WHERE k.conrelid = c.oid),
						(SELECT string_agg(concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid),
													 'comment=' || obj_description(i.indexrelid, 'pg_class')),
										   E'\n' ORDER BY i.indexrelid::regclass::text)
						 FROM pg_index i WHERE i.indrelid = c.oid),
						(SELECT string_agg(concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled),
										   E'\n' ORDER BY t.tgname)
						 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
						(SELECT concat_ws(' ', 'sequence', s.seqtypid::regtype, s.seqstart, s.seqincrement,
										  s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
						 FROM pg_sequence s WHERE s.seqrelid = c.oid))
					FROM pg_class c WHERE c.oid = m.objid)
				WHEN 'pg_type'::regclass THEN (
					SELECT concat_ws(' ', 'type', t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage,
									 t.typcategory, t.typinput, t.typoutput, t.typreceive, t.typsend,
									 t.typanalyze, t.typdefault, 'acl=' || t.typacl::text,
									 (SELECT 'attributes=' || string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
																		 ', ' ORDER BY a.attnum)
									  FROM pg_attribute a
									  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
					FROM pg_type t WHERE t.oid = m.objid)
				WHEN 'pg_cast'::regclass THEN (
					SELECT concat_ws(' ', 'cast', k.castcontext, k.castmethod, k.castfunc::regprocedure)
					FROM pg_cast k WHERE k.oid = m.objid)
				WHEN 'pg_namespace'::regclass THEN (
					SELECT concat_ws(' ', 'schema', n.nspowner::regrole, 'acl=' || n.nspacl::text)
					FROM pg_namespace n WHERE n.oid = m.objid)
				END) AS definition
		FROM m)
	SELECT concat_ws(E'\n',
		(SELECT concat_ws(' ', 'extension', e.extversion, e.extrelocatable, e.extnamespace::regnamespace,
						  e.extconfig::regclass[], e.extcondition)
		 FROM pg_extension e WHERE e.extname = 'pprof'),
		(SELECT string_agg(d.object || E'\n' || d.definition, E'\n\n' ORDER BY d.object) FROM described d))};
my $fresh_catalog = $node->safe_psql('fresh', $catalog_sql);
like($fresh_catalog, qr/function pgo\.ingest\(text,bytea,jsonb,text,text\)\ncomment: \S/,
	'fresh install: members described with their comments');
cmp_ok(scalar(() = $fresh_catalog =~ /^function /mg), '>', 60, 'fresh install: every function described');
my $upgraded_catalog = $node->safe_psql('postgres', $catalog_sql);
is($upgraded_catalog, $fresh_catalog,
	"0.1 updated to $current and a fresh $current: the same members, definitions, privileges and comments");

# The same answers on the same data, also after retention.
is($node->safe_psql('postgres', $state_sql), $node->safe_psql('fresh', $state_sql),
	'updated and fresh: the same rows, releases, keys, selection and merged bytes');
my $retention_sql = q{
	INSERT INTO pgo.retention_policies (tag_pattern, max_age, keep_min, rollup_after)
	VALUES ('a%', '48 hours', 1, '24 hours');
	SELECT string_agg(concat_ws(' ', tag, deleted, rolled_up), E'\n' ORDER BY tag) FROM pgo.apply_retention();
};
my $retained = $node->safe_psql('fresh', $retention_sql);
is($node->safe_psql('postgres', $retention_sql), $retained, 'updated and fresh: the same retention');
is($node->safe_psql('postgres', $state_sql), $node->safe_psql('fresh', $state_sql),
	'updated and fresh: the same state after retention');

# A 0.2 catalog holding rows tagged "." or ".." (0.2's constraints and
# pgo.ingest took them; no gateway URL can name them): the update fails,
# changes nothing and says what to do; done, it succeeds, and the tables
# then refuse such rows.
$node->safe_psql('postgres', 'CREATE DATABASE dotted');
$node->safe_psql('dotted', qq{
	CREATE EXTENSION pprof VERSION '0.2';
	SELECT pgo.ingest('.', pg_read_binary_file('$data/cpu_a1.pb.gz'));
	SELECT pgo.ingest('..', pg_read_binary_file('$data/cpu_a2.pb.gz'));
	SELECT pgo.ingest('api', pg_read_binary_file('$data/cpu_a3.pb.gz'));
	SELECT * FROM pgo.maintain();
	SELECT sha256 FROM pgo.publish('.');
});
my $dotted_sql = q{SELECT string_agg(concat_ws(' ', tableoid::regclass::text ~ '^pgo\.profiles_[0-9]{8}$', tag),
									 ',' ORDER BY id) FROM pgo.profiles};
my $dotted = $node->safe_psql('dotted', $dotted_sql);
is($dotted, 't .,t ..,t api', '0.2 stored rows tagged "." and ".." (in a daily partition)');
my ($rc, $out, $err) = (undef, '', '');
$rc = $node->psql('dotted', 'ALTER EXTENSION pprof UPDATE', stdout => \$out, stderr => \$err);
isnt($rc, 0, 'the update of a catalog with such rows fails');
like($err, qr/ERROR:  cannot update pprof to 0\.3: 2 rows of pgo\.profiles and 1 of pgo\.releases are tagged "\." or "\.\."/,
	'the error counts the rows');
like($err, qr/DETAIL:  check constraint "profiles_tag_check" of relation "profiles_\d{8}" is violated by some row/,
	'its detail names the constraint');
like($err, qr/HINT:  Delete those rows, then run ALTER EXTENSION pprof UPDATE again: DELETE FROM pgo\.profiles WHERE tag IN \('\.', '\.\.'\); .*DISABLE TRIGGER releases_immutable.*INSERT INTO pgo\.profiles/s,
	'its hint says how to delete them, or keep them under another tag');
is($node->safe_psql('dotted', "SELECT extversion FROM pg_extension WHERE extname = 'pprof'"), '0.2',
	'the catalog is still 0.2');
is($node->safe_psql('dotted', $dotted_sql), $dotted, 'with its rows');
# what the hint says
$node->safe_psql('dotted', q{
	INSERT INTO pgo.profiles (tag, labels, source, received_at, profile)
	SELECT 'dot', labels, source, received_at, profile FROM pgo.profiles WHERE tag IN ('.', '..');
	DELETE FROM pgo.profiles WHERE tag IN ('.', '..');
	ALTER TABLE pgo.releases DISABLE TRIGGER releases_immutable;
	DELETE FROM pgo.releases WHERE tag IN ('.', '..');
	ALTER TABLE pgo.releases ENABLE TRIGGER releases_immutable;
	ALTER EXTENSION pprof UPDATE;
});
is($node->safe_psql('dotted', "SELECT extversion FROM pg_extension WHERE extname = 'pprof'"), $current,
	"done as the hint says, the update to $current succeeds");
is($node->safe_psql('dotted', $dotted_sql), 't api,t dot,t dot', 'the rows kept under another tag');
is($node->safe_psql('dotted', q{
	SELECT string_agg(DISTINCT pg_get_constraintdef(oid), ',') FROM pg_constraint
	WHERE conname = 'profiles_tag_check' AND conrelid::regclass::text ~ '^pgo\.profiles_[0-9]{8}$'}),
	'CHECK (pgo.is_valid_tag(tag))', 'the daily partitions have the new constraint');
$rc = $node->psql('dotted', q{
	INSERT INTO pgo.profiles (tag, source, profile) SELECT '..', source, profile FROM pgo.profiles LIMIT 1},
	stdout => \$out, stderr => \$err);
like($err, qr/violates check constraint "profiles_tag_check"/, 'a direct INSERT of ".." is refused');

$node->stop;
done_testing();
