# pprof_flamegraph() draws what go tool pprof computes: for every sample
# type of the fixtures, the SVG parses as XML (xmllint), the root frame is
# the total, and for every function go tool pprof -top lists, the frames of
# that name give its flat value (their own value less their children's) and
# its cum value (frames with no ancestor of the same name, so recursion
# counts once). Drawn with min_width 0, so no frame is left out.
#
# Needs Go and xmllint (Debian libxml2-utils); skipped without them, except
# under CI=true, where a missing tool is a failure.
use strict;
use warnings;

use File::Spec;
use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

my $xmllint = (grep { -x } map { "$_/xmllint" } File::Spec->path)[0];
my $missing = !go_binary() ? 'Go' : !$xmllint ? 'xmllint (libxml2-utils)' : undef;
if ($missing)
{
	if (($ENV{CI} // '') eq 'true')
	{
		fail("$missing is required under CI");
		done_testing();
		exit;
	}
	plan skip_all => "$missing not found";
}

my $data = fixture_dir();
my $tmp = tmpdir();
my @fixtures = qw(cpu cpu_labels cpu_a_long cpu_b1 cpu_badutf8 heap goroutine);

my $node = new_node('main');
fixture_table($node, 'fixture', @fixtures);

# The text of XML character data as written by the SVG writer.
sub xml_text
{
	my ($s) = @_;
	$s =~ s/&#x([0-9A-Fa-f]+);/chr(hex $1)/ge;
	$s =~ s/&#(\d+);/chr($1)/ge;
	$s =~ s/&lt;/</g;
	$s =~ s/&gt;/>/g;
	$s =~ s/&quot;/"/g;
	$s =~ s/&amp;/&/g;
	return $s;
}

# ("function|flat|cum") per function name, from the frames of an SVG, in
# go tool pprof's order (|flat| desc, name); and the root frame's value.
sub svg_top
{
	my ($svg) = @_;
	my (@frames, %flat, %cum);
	my $root_y;
	while ($svg =~ m{<g><title>([^<]*) \((-?\d+) [^<]*\)</title><rect x="[^"]*" y="(\d+)"}g)
	{
		my ($name, $value, $y) = (xml_text($1), $2, $3);
		$root_y //= $y;
		push @frames, [ $name, $value, ($root_y - $y) / 16 ];
	}
	my @path;    # [name, index into @frames] of the ancestors, by depth
	my @self = map { $_->[1] } @frames;
	for my $i (0 .. $#frames)
	{
		my ($name, $value, $depth) = @{ $frames[$i] };
		splice @path, $depth;
		if ($depth > 0)
		{
			$self[ $path[-1][1] ] -= $value;
			$cum{$name} += $value unless grep { $_->[0] eq $name } @path[ 1 .. $#path ];
		}
		push @path, [ $name, $i ];
	}
	for my $i (1 .. $#frames)
	{
		$flat{ $frames[$i][0] } += $self[$i];
	}
	my @rows = map { "$_|$flat{$_}|$cum{$_}" }
	  sort { abs($flat{$b}) <=> abs($flat{$a}) || $a cmp $b } keys %cum;
	return (\@rows, @frames ? $frames[0][1] : undef);
}

foreach my $name (@fixtures)
{
	my @types = split /\n/, $node->safe_psql('postgres',
		"SELECT t.type || '|' || t.unit FROM fixture, pprof_sample_types(p) t WHERE name = '$name'");
	foreach my $t (@types)
	{
		my ($type, $unit) = split /\|/, $t;
		my $svg = $node->safe_psql('postgres',
			"SELECT pprof_flamegraph(p, '$type', min_width => 0) FROM fixture WHERE name = '$name'");
		my $total = $node->safe_psql('postgres',
			"SELECT pprof_total(p, '$type') FROM fixture WHERE name = '$name'");
		my $file = "$tmp/$name-$type.svg";
		write_file($file, $svg);
		my ($out, $err) = run_command([ $xmllint, '--noout', $file ]);
		is($err, '', "$name $type: the SVG parses as XML");

		my ($ours, $root) = svg_top($svg);
		is($root, $total, "$name $type: the root frame is the total ($total)");

		# go tool pprof -top lists functions sorted by |flat| then name: so
		# do we, ties broken the same way
		my $theirs = go_top("$data/$name.pb.gz", $type, $unit);
		my @theirs = sort {
			my ($an, $af) = split /\|/, $a;
			my ($bn, $bf) = split /\|/, $b;
			abs($bf) <=> abs($af) || $an cmp $bn
		} @$theirs;
		is_deeply($ours, \@theirs,
			"$name $type: flat and cum of every frame name match go tool pprof -top ("
			  . scalar(@theirs) . " functions)");
	}
}

$node->stop;
done_testing();
