#!/usr/bin/env perl
# string-table.pl FILE: print the string table of the gzip pprof profile in
# FILE, which holds the profile as hex text (what
# COPY (SELECT encode(p::bytea, 'hex')) TO FILE writes), one string per line
# as hex, in order. The SQL tests read it with COPY ... FROM PROGRAM to show
# the exact bytes of a profile's output, which no SQL function returns.
use strict;
use warnings;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

open my $in, '<', $ARGV[0] or die "$ARGV[0]: $!\n";
my $hex = do { local $/; <$in> };
$hex =~ s/\s+//g;
my $gz = pack('H*', $hex);
gunzip(\$gz => \my $pb) or die "gunzip: $GunzipError\n";

# a base-128 varint at $$pos
sub varint
{
	my ($pos) = @_;
	my ($v, $shift) = (0, 0);
	while (1)
	{
		die "truncated varint\n" if $$pos >= length $pb;
		my $b = ord substr($pb, $$pos++, 1);
		$v |= ($b & 0x7f) << $shift;
		return $v unless $b & 0x80;
		$shift += 7;
	}
}

my $pos = 0;
while ($pos < length $pb)
{
	my $key = varint(\$pos);
	my ($field, $wt) = ($key >> 3, $key & 7);
	if ($wt == 0) { varint(\$pos) }
	elsif ($wt == 1) { $pos += 8 }
	elsif ($wt == 5) { $pos += 4 }
	elsif ($wt == 2)
	{
		my $len = varint(\$pos);
		print unpack('H*', substr($pb, $pos, $len)), "\n" if $field == 6;
		$pos += $len;
	}
	else { die "wire type $wt at byte $pos\n" }
}
