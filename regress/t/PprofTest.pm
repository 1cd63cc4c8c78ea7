# Helpers of every pg_pprof TAP test (regress/t/*.pl): a cluster with the
# extension and the fixture profiles.
#
# The fixtures come from $PPROF_DATA (set by scripts/run-tests), else
# regress/data of this checkout.
package PprofTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(tmpdir new_node fixture_dir fixture fixture_table);

my $repo = File::Spec->rel2abs(dirname(__FILE__) . '/../..');

# Cluster->init runs pg_regress --config-auth; PGXS's prove_installcheck
# sets PG_REGRESS, a bare prove does not: find it next to pg_config's PGXS.
if (!defined $ENV{PG_REGRESS})
{
	my ($pgxs) = run_command([ 'pg_config', '--pgxs' ]);
	$ENV{PG_REGRESS} = dirname(dirname($pgxs)) . '/test/regress/pg_regress';
}

# A new temporary directory, absolute (the server, go and curl run elsewhere).
sub tmpdir
{
	return File::Spec->rel2abs(PostgreSQL::Test::Utils::tempdir);
}

# A started cluster with the pprof extension in database postgres.
# Options: streaming => 1 (a standby can be made from it), conf => text
# for postgresql.conf, version => the extension version to create (else
# the default one).
sub new_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $o{streaming} ? 1 : 0);
	$node->append_conf('postgresql.conf', $o{conf}) if $o{conf};
	$node->start;
	$node->safe_psql('postgres',
		'CREATE EXTENSION pprof' . (defined $o{version} ? " VERSION '$o{version}'" : ''));
	return $node;
}

# Directory of the fixture profiles, absolute: SQL reads them with
# pg_read_binary_file.
sub fixture_dir
{
	my $dir = $ENV{PPROF_DATA} // "$repo/regress/data";
	die "fixture directory $dir not found" unless -f "$dir/cpu.pb.gz";
	return $dir;
}

# Path of a fixture profile.
sub fixture
{
	my ($name) = @_;
	return fixture_dir() . "/$name";
}

# Table $table (name text PRIMARY KEY, p pprof NOT NULL) in database
# postgres of $node, one row per fixture: row <name> holds <name>.pb.gz.
sub fixture_table
{
	my ($node, $table, @names) = @_;
	(my $qdir = fixture_dir()) =~ s/'/''/g;
	$node->safe_psql(
		'postgres', qq{
CREATE TABLE $table (name text PRIMARY KEY, p pprof NOT NULL);
INSERT INTO $table
SELECT f, pg_read_binary_file('$qdir/' || f || '.pb.gz')::pprof
FROM unnest('{@{[join ',', @names]}}'::text[]) AS f;
});
}

1;
