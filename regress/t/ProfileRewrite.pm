# Profiles as other writers make them, derived from the real runtime/pprof
# fixtures: the same samples, with the header fields or sample types that
# converters, eBPF agents and older tools write. Only top-level fields and
# the samples' values are rewritten; everything else stays byte for byte.
package ProfileRewrite;

use strict;
use warnings;

use Exporter 'import';
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);

our @EXPORT = qw(read_profile write_profile set_header keep_sample_types);

# protobuf field numbers of Profile (profile.proto)
my %F = (sample_type => 1, sample => 2, string_table => 6, time_nanos => 9,
	duration_nanos => 10, period_type => 11, period => 12,
	default_sample_type => 14);

# A base-128 varint; negative numbers as the 64-bit two's complement,
# as Go writes an int64 (Perl's >> works on the unsigned value).
sub _varint
{
	my ($v) = @_;
	my $out = '';
	while (1)
	{
		my $b = $v & 0x7f;
		$v >>= 7;
		if ($v == 0) { $out .= chr($b); last }
		$out .= chr($b | 0x80);
	}
	return $out;
}

sub _read_varint
{
	my ($buf, $pos) = @_;
	my ($v, $shift) = (0, 0);
	while (1)
	{
		die 'truncated varint' if $$pos >= length $$buf;
		my $b = ord(substr($$buf, $$pos++, 1));
		$v |= ($b & 0x7f) << $shift;
		return $v unless $b & 0x80;
		$shift += 7;
	}
}

# The fields of a message: [number, wire type, value (varint) or bytes].
sub _fields
{
	my ($buf) = @_;
	my ($pos, @f) = (0);
	while ($pos < length $buf)
	{
		my $key = _read_varint(\$buf, \$pos);
		my ($n, $wt) = ($key >> 3, $key & 7);
		if ($wt == 0) { push @f, [ $n, 0, _read_varint(\$buf, \$pos) ] }
		elsif ($wt == 2)
		{
			my $len = _read_varint(\$buf, \$pos);
			push @f, [ $n, 2, substr($buf, $pos, $len) ];
			$pos += $len;
		}
		else { die "wire type $wt not expected in a pprof profile" }
	}
	return @f;
}

sub _encode
{
	return join '', map {
		_varint(($_->[0] << 3) | $_->[1])
		  . ($_->[1] == 0 ? _varint($_->[2]) : _varint(length $_->[2]) . $_->[2])
	} @_;
}

# The profile in $file (gzip or not) as a list of top-level fields.
sub read_profile
{
	my ($file) = @_;
	my $buf;
	gunzip($file => \$buf) or die "gunzip $file: $GunzipError";
	return [ _fields($buf) ];
}

# Write the fields of $p to $file, gzipped.
sub write_profile
{
	my ($file, $p) = @_;
	my $raw = _encode(@$p);
	gzip(\$raw => $file) or die "gzip $file: $GzipError";
}

# Set header fields (time_nanos, duration_nanos, period => int64; undef
# removes the field, i.e. 0) of $p.
sub set_header
{
	my ($p, %h) = @_;
	my %num = map { $F{$_} => $h{$_} } keys %h;
	@$p = grep { !exists $num{ $_->[0] } } @$p;
	push @$p, map { [ $_, 0, $num{$_} ] } grep { defined $num{$_} } sort keys %num;
	return $p;
}

# Keep only the sample types at @keep (indexes, in the new order), in the
# types and in every sample's values.
sub keep_sample_types
{
	my ($p, @keep) = @_;
	my @types = grep { $_->[0] == $F{sample_type} } @$p;
	my @out;
	foreach my $f (@$p)
	{
		next if $f->[0] == $F{sample_type};
		if ($f->[0] == $F{sample})
		{
			my (@values, @rest);
			foreach my $sf (_fields($f->[2]))
			{
				if ($sf->[0] != 2) { push @rest, $sf }
				elsif ($sf->[1] == 0) { push @values, $sf->[2] }
				else
				{
					my ($buf, $pos) = ($sf->[2], 0);
					push @values, _read_varint(\$buf, \$pos) while $pos < length $buf;
				}
			}
			my $packed = join '', map { _varint($values[$_]) } @keep;
			$f = [ $F{sample}, 2, _encode([ 2, 2, $packed ], @rest) ];
		}
		push @out, $f;
	}
	# sample types first, as runtime/pprof writes them
	@$p = ((map { $types[$_] } @keep), @out);
	return $p;
}

1;
