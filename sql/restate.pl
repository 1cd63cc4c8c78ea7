#!/usr/bin/perl
# Copy an upgrade script's source to stdout, replacing each line
#
#   -- @restate sql/src/<file>.sql <schema.name>
#
# with the definition of that function or type as the source file has it:
# the comment lines right above its CREATE through its COMMENT ON line (the
# catalog's convention: every object ends with its COMMENT ON) and the
# REVOKE lines right after it. Functions
# become CREATE OR REPLACE, so an upgrade changes an existing function in
# place (keeping its privileges) and adds a new one, while its one
# definition stays in its concern file. Used by the Makefile; fails on an
# object it cannot find.
use strict;
use warnings;

my ($upgrade) = @ARGV;
die "usage: $0 UPGRADE_SOURCE\n" unless defined $upgrade;

sub definition
{
	my ($file, $name) = @_;
	open my $fh, '<', $file or die "$upgrade: $file: $!\n";
	my @lines = <$fh>;
	close $fh;
	my ($start) = grep { $lines[$_] =~ /^CREATE (?:FUNCTION|TYPE) \Q$name\E[ (]/ } 0 .. $#lines;
	die "$upgrade: no CREATE FUNCTION or TYPE $name in $file\n" unless defined $start;
	my $end = $start;
	$end++ while $end <= $#lines && $lines[$end] !~ /^COMMENT ON /;
	die "$upgrade: $name in $file has no COMMENT ON after it\n" if $end > $#lines;
	$end++ while $end < $#lines && $lines[ $end + 1 ] =~ /^REVOKE /;
	my $first = $start;
	$first-- while $first > 0 && $lines[ $first - 1 ] =~ /^--./;
	my @block = @lines[ $first .. $end ];
	$block[ $start - $first ] =~ s/^CREATE FUNCTION /CREATE OR REPLACE FUNCTION /;
	return join('', @block);
}

open my $in, '<', $upgrade or die "$upgrade: $!\n";
while (my $line = <$in>)
{
	if ($line =~ /^-- \@restate (\S+) (\S+)\s*$/)
	{
		print definition($1, $2);
	}
	else
	{
		print $line;
	}
}
close $in;
