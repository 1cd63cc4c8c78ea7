# Helpers of the pprof-worker TAP tests (regress/t/3xx_*.pl): the real
# worker binary against a test cluster, its log and its /metrics.
# Processes are started and reaped with GatewayTest's spawn/wait helpers.
#
# The binary comes from $PPROF_WORKER (set by scripts/run-tests; the
# ASan/UBSan build from $PPROF_WORKER_ASAN), else worker/ of this checkout.
package WorkerTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use GatewayTest;
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;

our @EXPORT = qw(worker_binary start_worker stop_worker kill_worker
  worker_log worker_metric);

my $repo = File::Spec->rel2abs(dirname(__FILE__) . '/../..');
my $tmp_dir;
my $seq = 0;
my $main_pid = $$;
my %started;

END
{
	if ($$ == $main_pid)
	{
		foreach my $pid (keys %started)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
		}
	}
}

# Path of the worker binary; asan => 1 for the sanitized build.
sub worker_binary
{
	my (%o) = @_;
	my $bin =
	  $o{asan}
	  ? ($ENV{PPROF_WORKER_ASAN} // "$repo/worker/pprof-worker-asan")
	  : ($ENV{PPROF_WORKER} // "$repo/worker/pprof-worker");
	BAIL_OUT("worker binary $bin not found (make -C worker"
		  . ($o{asan} ? ' asan' : '') . ')')
	  unless -x $bin;
	return $bin;
}

# Start a worker against $o{node}'s database postgres, /metrics on a port
# the kernel picks. Options: node, args => [...], env => {...}, asan => 1,
# id => worker id. Returns a hash: pid, log, metrics (URL), id.
sub start_worker
{
	my (%o) = @_;
	my $bin = worker_binary(asan => $o{asan});
	$tmp_dir //= tmpdir();
	my $n = ++$seq;
	my $log = "$tmp_dir/worker-$n.log";
	my $id = $o{id} // "w$n";
	my %env = (
		PGO_DATABASE_URL => $o{node}->connstr('postgres'),
		PGO_WORKER_ID => $id,
		%{ $o{env} // {} });
	$env{ASAN_OPTIONS} //= 'abort_on_error=1:detect_leaks=1';
	$env{UBSAN_OPTIONS} //= 'halt_on_error=1:print_stacktrace=1';
	my $pid = spawn($log, \%env, $bin, '--metrics-listen', '127.0.0.1:0',
		@{ $o{args} // [] });
	$started{$pid} = 1;
	my $port = wait_for_log($pid, $log, qr/"metrics listening".*addr=127\.0\.0\.1:(\d+)/,
		20, 'worker');
	wait_for_log($pid, $log, qr/"(started)"/, 20, 'worker');
	return {
		pid => $pid,
		log => $log,
		id => $id,
		metrics => "http://127.0.0.1:$port/metrics",
		url => "http://127.0.0.1:$port",
	};
}

# SIGTERM, wait; the exit status (as $?), -1 if it had to be killed.
sub stop_worker
{
	my ($w, $timeout) = @_;
	kill 'TERM', $w->{pid};
	my $status = wait_or_kill($w->{pid}, $timeout // 60);
	delete $started{ $w->{pid} };
	return $status;
}

# SIGKILL, wait.
sub kill_worker
{
	my ($w) = @_;
	kill 'KILL', $w->{pid};
	waitpid($w->{pid}, 0);
	delete $started{ $w->{pid} };
}

# The worker's stderr so far.
sub worker_log
{
	my ($w) = @_;
	return slurp_file($w->{log});
}

# Value of one sample of the worker's /metrics (0 if absent).
sub worker_metric
{
	my ($w, $sample) = @_;
	return metric($w, $sample);
}

1;
