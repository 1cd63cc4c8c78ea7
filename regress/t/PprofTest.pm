# Helpers of every pg_pprof TAP test (regress/t/*.pl): a cluster with the
# extension, the fixture profiles, and Go run offline.
#
# The fixtures come from $PPROF_DATA (set by scripts/run-tests), else
# regress/data of this checkout; Go from $GO, else go on PATH, else Go 1.23's
# Debian location.
package PprofTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More ();

our @EXPORT = qw(tmpdir write_file new_node fixture_dir fixture fixture_table
  pb_fields go_binary go_toolchains run_with_go run_go go_ok go_top skip_all_unless skip_unless);

my $repo = File::Spec->rel2abs(dirname(__FILE__) . '/../..');
my $tmp_dir;    # created on first use: tempdir() needs Utils' INIT (TESTDIR)

# Cluster->init runs pg_regress --config-auth; PGXS's prove_installcheck
# sets PG_REGRESS, a bare prove does not: find it next to pg_config's PGXS.
if (!defined $ENV{PG_REGRESS})
{
	my ($pgxs) = run_command([ 'pg_config', '--pgxs' ]);
	$ENV{PG_REGRESS} = dirname(dirname($pgxs)) . '/test/regress/pg_regress';
}

# A test that needs a tool this machine lacks skips, except in CI
# (CI=true): there scripts/install-deps has installed every tool, so a
# missing one is a broken setup, and a skip would hide it: the test fails.
sub _ci
{
	return ($ENV{CI} // '') =~ /^(?:true|1|yes)$/i;
}

# The whole test file needs $have: skip it, or fail in CI.
sub skip_all_unless
{
	my ($have, $why) = @_;
	return if $have;
	Test::More::plan(skip_all => $why) unless _ci();
	Test::More::plan(tests => 1);
	Test::More::fail("$why (CI=true: required)");
	exit 1;
}

# Inside a SKIP: block, the next $count tests need $have: skip them, or
# fail in CI.
sub skip_unless
{
	my ($have, $why, $count) = @_;
	return if $have;
	Test::More::fail("$why (CI=true: required)") if _ci();
	Test::More::skip($why, $count);
}

# A new temporary directory, absolute (the server, go and curl run elsewhere).
sub tmpdir
{
	return File::Spec->rel2abs(PostgreSQL::Test::Utils::tempdir);
}

# This module's own temporary directory.
sub _tmp
{
	$tmp_dir //= tmpdir();
	return $tmp_dir;
}

# Write $bytes, as they are, to $file (replacing it).
sub write_file
{
	my ($file, $bytes) = @_;
	open my $fh, '>:raw', $file or die "$file: $!";
	print $fh $bytes;
	close $fh or die "$file: $!";
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

# The top-level fields of a gzip pprof file, in file order, as [field
# number, value] pairs: the value of a varint field, undef for the other
# wire types (skipped). Reads the file itself, not what go tool pprof
# makes of it.
sub pb_fields
{
	my ($file) = @_;
	my $buf;
	gunzip($file => \$buf) or die "gunzip $file: $GunzipError";
	my $pos = 0;
	my $varint = sub {
		my ($v, $shift) = (0, 0);
		while (1)
		{
			die "truncated varint in $file" if $pos >= length $buf;
			my $b = ord(substr($buf, $pos++, 1));
			$v |= ($b & 0x7f) << $shift;
			return $v unless $b & 0x80;
			$shift += 7;
		}
	};
	my @fields;
	while ($pos < length $buf)
	{
		my $key = $varint->();
		my ($field, $wt) = ($key >> 3, $key & 7);
		my $value;
		if ($wt == 0) { $value = $varint->() }
		elsif ($wt == 2) { $pos += $varint->() }
		elsif ($wt == 1) { $pos += 8 }
		elsif ($wt == 5) { $pos += 4 }
		else { die "bad wire type $wt in $file" }
		push @fields, [ $field, $value ];
	}
	return @fields;
}

# The Go toolchain ($GO, go on PATH, Go 1.23's Debian location) or undef.
sub go_binary
{
	foreach my $candidate (grep { defined } $ENV{GO},
		(map { "$_/go" } File::Spec->path), '/usr/lib/go-1.23/bin/go')
	{
		return $candidate if -f $candidate && -x _;
	}
	return undef;
}

# The toolchains the compiler-facing tests run on: Go 1.23 (bookworm-
# backports) and the current release, Go 1.27 (sid), both installed by
# scripts/install-deps; as { name => 'go1.NN', go => path } in that order.
# Outside CI a missing one is left out (with a note); under CI=true it dies.
sub go_toolchains
{
	my @found;
	foreach my $minor (23, 27)
	{
		my $go = "/usr/lib/go-1.$minor/bin/go";
		if (-f $go && -x _)
		{
			push @found, { name => "go1.$minor", go => $go };
			next;
		}
		die "$go not found (scripts/install-deps installs it)"
		  if ($ENV{CI} // '') eq 'true';
		Test::More::note("$go not found: not tested with Go 1.$minor");
	}
	return @found;
}

# Run @cmd in $dir (undef: a temporary directory) with Go offline: no
# module or toolchain download, HOME and GOPATH in a temporary directory,
# and one build cache for all the tests of a run, so the standard library
# is compiled once, not per test; then %$env on top.
# Returns (exit code, stdout, stderr).
sub run_with_go
{
	my ($dir, $env, @cmd) = @_;
	$dir //= _tmp();
	my %e = (
		GOTOOLCHAIN => 'local',
		GOPROXY => 'off',
		GOFLAGS => '-mod=mod',
		GOCACHE => defined $ENV{TESTDIR}
		? File::Spec->rel2abs("$ENV{TESTDIR}/tmp_check/gocache")
		: _tmp() . '/gocache',
		GOPATH => _tmp() . '/gopath',
		PPROF_TMPDIR => _tmp(),
		HOME => _tmp(),
		%{ $env // {} });
	local @ENV{ keys %e } = values %e;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err,
		init => sub { chdir $dir or die "chdir $dir: $!" });
	return ($? >> 8, $out, $err);
}

# go @args as run_with_go runs commands; returns (exit code, stdout, stderr).
sub run_go
{
	my ($dir, $env, @args) = @_;
	my $go = go_binary() or die 'no Go';
	return run_with_go($dir, $env, $go, @args);
}

# go @args in a temporary directory; dies unless it exits 0; returns stdout.
sub go_ok
{
	my ($rc, $out, $err) = run_go(undef, {}, @_);
	die "go @_ failed ($rc): $err" if $rc != 0;
	return $out;
}

# -unit that makes go tool pprof print raw integers for a sample unit
my %unit_flag = (nanoseconds => '-unit=ns', bytes => '-unit=B');

# ("function|flat|cum") rows of go tool pprof -top on $file, in its order,
# for sample type $type (undef: the default) whose unit is $unit; inlined
# functions without their "(inline)" mark.
sub go_top
{
	my ($file, $type, $unit) = @_;
	my @args = ('tool', 'pprof', '-top', '-nodecount=1000000',
		'-nodefraction=0', '-edgefraction=0', '-symbolize=none');
	push @args, "-sample_index=$type" if defined $type;
	push @args, $unit_flag{$unit} if defined $unit && exists $unit_flag{$unit};
	push @args, $file;

	my ($rc, $out, $err) = run_go(undef, {}, @args);
	die "go @args failed: $err" if $rc != 0;

	my @rows;
	my $in_table = 0;
	foreach my $line (split /\n/, $out)
	{
		if ($line =~ /^\s+flat\s+flat%\s+sum%\s+cum\s+cum%$/)
		{
			$in_table = 1;
			next;
		}
		next unless $in_table;
		$line =~ /^\s*(-?\d+)[A-Za-z]*\s+\S+%\s+\S+%\s+(-?\d+)[A-Za-z]*\s+\S+%\s\s(.+?)(?: \((?:partial-)?inline\))?$/
		  or die "unexpected go tool pprof line: $line";
		push @rows, "$3|$1|$2";
	}
	die "no table in go tool pprof output:\n$out" unless $in_table;
	return \@rows;
}

1;
