# Helpers of the publishing TAP tests (regress/t/30x_publish_*.pl): bare
# git repositories, the forge stand-in (regress/forge/standin.py, a
# contract test of the forges' REST APIs backed by a real repository), and
# one run of a publication at a time by the workers (WorkerTest).
package PublishTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Utils;
use PprofTest;
use GatewayTest qw(spawn);
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(bare_repo git_in start_standin standin run_publication publication
  ingest release_bytes);

my $repo = File::Spec->rel2abs(dirname(__FILE__) . '/../..');
my $main_pid = $$;
my %children;    # pid => 1: stand-ins to stop at exit

END
{
	local $?;    # waitpid must not change the test's exit status
	if ($$ == $main_pid)
	{
		foreach my $pid (keys %children)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
		}
	}
}

# Run git in (bare) repository $dir; its stdout, chomped; dies on failure.
sub git_in
{
	my ($dir, @args) = @_;
	local $ENV{GIT_DIR} = $dir;
	local $ENV{GIT_CONFIG_NOSYSTEM} = 1;
	local $ENV{GIT_CONFIG_GLOBAL} = '/dev/null';
	local $ENV{GIT_AUTHOR_NAME} = 'test';
	local $ENV{GIT_AUTHOR_EMAIL} = 'test@localhost';
	local $ENV{GIT_COMMITTER_NAME} = 'test';
	local $ENV{GIT_COMMITTER_EMAIL} = 'test@localhost';
	my ($out, $err);
	IPC::Run::run([ 'git', @args ], '<', \undef, '>', \$out, '2>', \$err)
	  or die "git @args: $err";
	chomp $out;
	return $out;
}

# A bare repository $dir whose branch main has one commit with a README.
sub bare_repo
{
	my ($dir) = @_;
	make_path($dir);
	git_in($dir, 'init', '--quiet', '--bare', '--initial-branch=main');
	my ($blob, $tree);
	{
		local $ENV{GIT_DIR} = $dir;
		my $in = "a service\n";
		IPC::Run::run([ 'git', 'hash-object', '-w', '--stdin' ], '<', \$in, '>', \$blob)
		  or die 'hash-object';
		chomp $blob;
		my $entry = "100644 blob $blob\tREADME\n";
		IPC::Run::run([ 'git', 'mktree' ], '<', \$entry, '>', \$tree) or die 'mktree';
		chomp $tree;
	}
	my $commit = git_in($dir, 'commit-tree', $tree, '-m', 'initial');
	git_in($dir, 'update-ref', 'refs/heads/main', $commit);
	return $dir;
}

# Start the forge stand-in on a free port. Options: repo (bare repository),
# token, name (owner/name, default acme/service), app_id, app_public_key.
# Returns {pid, port, url}.
sub start_standin
{
	my (%o) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $portfile = "$dir/port";
	my @cmd = (
		'python3', "$repo/regress/forge/standin.py",
		'--repo' => $o{repo},
		'--token' => $o{token},
		'--port-file' => $portfile,
		'--name' => $o{name} // 'acme/service');
	push @cmd, '--app-id' => $o{app_id}, '--app-public-key' => $o{app_public_key}
	  if $o{app_id};
	my $pid = spawn("$dir/standin.log", {}, @cmd);
	$children{$pid} = 1;
	my $deadline = time() + 30;
	sleep 0.05 until -s $portfile || time() > $deadline;
	BAIL_OUT("forge stand-in did not start: " . slurp_file("$dir/standin.log"))
	  unless -s $portfile;
	my $port = slurp_file($portfile);
	return { pid => $pid, port => $port, url => "http://127.0.0.1:$port" };
}

# A control call of the stand-in: GET (no $body) or POST $body (Perl data).
sub standin
{
	my ($s, $path, $body) = @_;
	my $http = HTTP::Tiny->new(timeout => 30);
	my $r =
	  defined $body
	  ? $http->post("$s->{url}/_standin/$path",
		{ content => encode_json($body), headers => { 'Content-Type' => 'application/json' } })
	  : $http->get("$s->{url}/_standin/$path");
	die "stand-in $path: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

# The row of pgo.publication_status of publication $id, as a hash.
sub publication
{
	my ($node, $id) = @_;
	my $json = $node->safe_psql('postgres',
		"SELECT row_to_json(s) FROM pgo.publication_status s WHERE s.id = $id");
	return decode_json($json);
}

# Make publication $id due now and wait until a worker ran it; its status row.
sub run_publication
{
	my ($node, $id) = @_;
	my $before = $node->safe_psql('postgres',
		"SELECT COALESCE(last_run_at, '-infinity') FROM pgo.publications WHERE id = $id");
	$node->safe_psql('postgres', "UPDATE pgo.publications SET next_run_at = now() WHERE id = $id");
	my $done = $node->poll_query_until('postgres',
		"SELECT last_run_at > '$before' AND lease_id IS NULL FROM pgo.publications WHERE id = $id");
	die "publication $id did not run" unless $done;
	return publication($node, $id);
}

# Ingest fixture $file under $tag.
sub ingest
{
	my ($node, $tag, $file) = @_;
	$node->safe_psql('postgres',
		"SELECT pgo.ingest('$tag', pg_read_binary_file('" . fixture($file) . "'))");
}

# The bytes of release $sha256 of $tag.
sub release_bytes
{
	my ($node, $tag, $sha) = @_;
	return pack('H*',
		$node->safe_psql('postgres', "SELECT encode(pgo.release('$tag', '$sha'), 'hex')"));
}

1;
