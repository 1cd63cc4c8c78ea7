# pprof_top() must list the same functions, with the same flat and cum
# values, in the same order, as `go tool pprof -top` on every CPU, heap and
# goroutine fixture, for every sample type and for the default one.
#
# The fixtures come from $PPROF_DATA, else regress/data next to this file.
# Skipped only when Go is not installed ($GO, `go` on PATH or Go 1.23's
# Debian location).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

skip_all_unless(go_binary(), 'Go not found ($GO, go on PATH or /usr/lib/go-1.23/bin/go)');

my $data = fixture_dir();

my @fixtures = qw(cpu.pb.gz cpu.pb cpu_labels.pb.gz cpu_empty.pb.gz
  cpu_a1.pb.gz cpu_a2.pb.gz cpu_a3.pb.gz cpu_a_long.pb.gz cpu_b1.pb.gz
  heap.pb.gz goroutine.pb.gz);

my $node = new_node('main');
$node->safe_psql('postgres', 'CREATE TABLE fixture (name text PRIMARY KEY, p pprof)');

foreach my $name (@fixtures)
{
	my $file = "$data/$name";
	my $bytes = slurp_file($file);
	my $hex = unpack('H*', $bytes);

	$node->safe_psql('postgres',
		"INSERT INTO fixture VALUES ('$name', decode('$hex', 'hex')::pprof)");

	my @types = split /\n/, $node->safe_psql('postgres',
		"SELECT t.type || '|' || t.unit FROM fixture, pprof_sample_types(p) WITH ORDINALITY t "
		  . "WHERE name = '$name' ORDER BY t.ordinality");
	my $default = $node->safe_psql('postgres',
		"SELECT pprof_default_sample_type(p) FROM fixture WHERE name = '$name'");

	# every sample type by name, then the default (no -sample_index, NULL)
	foreach my $case ((map { [ split /\|/, $_ ] } @types), [ undef, (split m{/}, $default)[-1] ])
	{
		my ($type, $unit) = @$case;
		my $arg = defined $type ? "'$type'" : 'NULL';
		my @ours = split /\n/, $node->safe_psql('postgres',
			"SELECT t.function || '|' || t.flat || '|' || t.cum "
			  . "FROM fixture, pprof_top(p, 1000000, $arg) WITH ORDINALITY t "
			  . "WHERE name = '$name' ORDER BY t.ordinality");
		my $theirs = go_top($file, $type, $unit);

		is_deeply(\@ours, $theirs,
			"$name, sample type " . ($type // "default ($default)")
			  . ": pprof_top matches go tool pprof -top ("
			  . scalar(@$theirs) . " functions)");
	}
}

$node->stop;
done_testing();
