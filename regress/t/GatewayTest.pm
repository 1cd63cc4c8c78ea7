# Helpers of the pprof-gateway TAP tests (regress/t/1xx_gateway_*.pl):
# the real gateway binary on a free loopback port, and real curl to talk to
# it. The cluster and the fixtures come from PprofTest.
#
# The binary comes from $PPROF_GATEWAY (set by scripts/run-tests; the
# ASan/UBSan build from $PPROF_GATEWAY_ASAN), else gateway/ of this checkout.
package GatewayTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use IO::Socket::INET;
use IPC::Run;
use POSIX qw(WNOHANG);
use PostgreSQL::Test::Utils;
use PprofTest;
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(gateway_binary start_gateway stop_gateway
  wait_gateway kill_gateway spawn wait_for_log wait_or_kill http raw_http
  gateway_log metric sha256_hex);

my $repo = File::Spec->rel2abs(dirname(__FILE__) . '/../..');
my $tmp_dir;    # created on first use: tempdir() needs Utils' INIT (TESTDIR)
my $seq = 0;
my $main_pid = $$;
my %started;    # pid => 1 of gateways not yet reaped (spawn() leaves others)

# a test that dies must not leave its gateways running
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

# This module's own temporary directory.
sub _tmp
{
	$tmp_dir //= tmpdir();
	return $tmp_dir;
}

# Path of the gateway binary; asan => 1 for the sanitized build.
sub gateway_binary
{
	my (%o) = @_;
	my $bin =
	  $o{asan}
	  ? ($ENV{PPROF_GATEWAY_ASAN} // "$repo/gateway/pprof-gateway-asan")
	  : ($ENV{PPROF_GATEWAY} // "$repo/gateway/pprof-gateway");
	BAIL_OUT("gateway binary $bin not found (make -C gateway"
		  . ($o{asan} ? ' asan' : '') . ')')
	  unless -x $bin;
	return $bin;
}

# Start the gateway on 127.0.0.1 with a port picked by the kernel.
# Options: node (its database), args => [...], env => {...}, asan => 1.
# Returns a hash: pid, port, url, log (file), asan.
sub start_gateway
{
	my (%o) = @_;
	my $bin = gateway_binary(asan => $o{asan});
	my $log = _tmp() . "/gateway-" . (++$seq) . '.log';
	my %env = (
		PGO_DATABASE_URL => $o{node} ? $o{node}->connstr('postgres') : '',
		%{ $o{env} // {} });
	# the sanitizers must fail the test, not print and go on
	$env{ASAN_OPTIONS} //= 'abort_on_error=1:detect_leaks=1';
	$env{UBSAN_OPTIONS} //= 'halt_on_error=1:print_stacktrace=1';

	my $pid = spawn($log, \%env, $bin, '--listen', '127.0.0.1:0', @{ $o{args} // [] });
	$started{$pid} = 1;
	my $port = wait_for_log($pid, $log, qr/"listening".*addr=127\.0\.0\.1:(\d+)/, 20, 'gateway');
	return {
		pid => $pid,
		port => $port,
		url => "http://127.0.0.1:$port",
		log => $log,
		asan => $o{asan}
	};
}

# SIGTERM, wait; returns the exit status (as $?), -1 if it had to be killed.
sub stop_gateway
{
	my ($gw, $timeout) = @_;
	kill 'TERM', $gw->{pid};
	return wait_or_kill($gw->{pid}, $timeout // 60);
}

# Wait for the gateway to exit; its status (as $?), or undef after timeout.
sub wait_gateway
{
	my ($gw, $timeout) = @_;
	return _wait_pid($gw->{pid}, $timeout);
}

# SIGKILL, wait.
sub kill_gateway
{
	my ($gw) = @_;
	_kill_pid($gw->{pid});
}

# Start @cmd in the background, with %$env added to its environment, stdin
# from /dev/null and stdout and stderr appended to $log; returns its pid.
sub spawn
{
	my ($log, $env, @cmd) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log);
		open(STDERR, '>>', $log);
		$ENV{$_} = $env->{$_} for keys %$env;
		exec(@cmd) or die "exec $cmd[0]: $!";
	}
	return $pid;
}

# Wait at most $timeout seconds for process $pid to write a line matching
# $re (one group) into its log; returns what the group matched. Bails out,
# naming the process $what, if it exits or the time runs out first.
sub wait_for_log
{
	my ($pid, $log, $re, $timeout, $what) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my $text = -f $log ? slurp_file($log) : '';
		return $1 if $text =~ $re;
		if (waitpid($pid, WNOHANG) == $pid)
		{
			delete $started{$pid};
			diag("$what log:\n$text");
			BAIL_OUT("$what exited at start (status $?)");
		}
		sleep(0.05);
	}
	kill 'KILL', $pid;
	BAIL_OUT("$what did not start:\n" . slurp_file($log));
}

# Wait at most $timeout seconds for $pid to exit, else SIGKILL it; returns
# the exit status (as $?), -1 if it had to be killed.
sub wait_or_kill
{
	my ($pid, $timeout) = @_;
	my $status = _wait_pid($pid, $timeout);
	return $status if defined $status;
	_kill_pid($pid);
	return -1;
}

# Wait for $pid to exit; its status (as $?), or undef after timeout.
sub _wait_pid
{
	my ($pid, $timeout) = @_;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		if (waitpid($pid, WNOHANG) == $pid)
		{
			delete $started{$pid};
			return $?;
		}
		sleep(0.05);
	}
	return undef;
}

# SIGKILL, wait.
sub _kill_pid
{
	my ($pid) = @_;
	kill 'KILL', $pid;
	waitpid($pid, 0);
	delete $started{$pid};
}

# The gateway's stderr so far.
sub gateway_log
{
	my ($gw) = @_;
	return slurp_file($gw->{log});
}

# One request with curl. Options: headers => [...], file => path (body,
# --data-binary), data => string, form => 'cpu_profile=@path', chunked => 1,
# out => path (where curl writes the body; a temp file otherwise),
# timeout => seconds, extra => [curl args].
# Returns a hash: status (0: no answer), headers (lower-case names), body,
# seconds, out.
sub http
{
	my ($method, $url, %o) = @_;
	my $n = ++$seq;
	my $out = $o{out} // _tmp() . "/body-$$-$n";    # forked callers too
	my $hdr = _tmp() . "/headers-$$-$n";
	my @cmd = (
		'curl', '-sS', '--path-as-is', '-o', $out, '-D', $hdr,
		'-w', '%{http_code}', '--max-time', $o{timeout} // 30);
	if ($method eq 'HEAD')
	{
		push @cmd, '-I';
	}
	else
	{
		push @cmd, '-X', $method;
	}
	push @cmd, map { ('-H', $_) } @{ $o{headers} // [] };
	push @cmd, '-H', 'Transfer-Encoding: chunked' if $o{chunked};
	push @cmd, '--data-binary', "\@$o{file}" if defined $o{file};
	push @cmd, '--data-binary', $o{data} if defined $o{data};
	push @cmd, '-F', $o{form} if defined $o{form};
	push @cmd, @{ $o{extra} // [] };
	push @cmd, $url;

	my ($stdout, $stderr) = ('', '');
	my $t0 = time();
	IPC::Run::run(\@cmd, '<', \undef, '>', \$stdout, '2>', \$stderr);
	my $seconds = time() - $t0;
	my %headers;
	if (-f $hdr)
	{
		# the last response's headers (after a 100 Continue)
		my @blocks = split /\r\n\r\n/, slurp_file($hdr);
		my $last = $blocks[-1] // '';
		foreach my $line (split /\r\n/, $last)
		{
			$headers{ lc $1 } = $2 if $line =~ /^([^:]+):\s*(.*)$/;
		}
	}
	# curl -I writes the headers where the body would go: check HEAD
	# bodies with raw_http
	return {
		status => ($stdout =~ /^(\d{3})$/ ? $1 + 0 : 0),
		headers => \%headers,
		body => ((-f $out && $method ne 'HEAD') ? slurp_file($out) : ''),
		out => $out,
		seconds => $seconds,
		stderr => $stderr,
	};
}

# Send raw bytes on a new connection; read the answer until the server
# closes or `timeout` seconds pass. Returns (answer, seconds).
sub raw_http
{
	my ($gw, $bytes, %o) = @_;
	my $sock = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $gw->{port},
		Proto => 'tcp',
		Timeout => 5) or die "connect: $!";
	binmode $sock;
	my $t0 = time();
	print $sock $bytes;
	my $answer = '';
	my $deadline = $t0 + ($o{timeout} // 5);
	$sock->blocking(0);
	while (time() < $deadline)
	{
		my $buf;
		my $n = sysread($sock, $buf, 65536);
		if (defined $n && $n == 0)
		{
			last;    # closed
		}
		elsif (defined $n)
		{
			$answer .= $buf;
			last if $o{until} && $answer =~ $o{until};
		}
		else
		{
			sleep(0.01);
		}
	}
	my $seconds = time() - $t0;
	close $sock;
	return ($answer, $seconds);
}

# Lowercase hex SHA-256 of a string.
sub sha256_hex
{
	require Digest::SHA;
	return Digest::SHA::sha256_hex($_[0]);
}

# Value of one Prometheus sample (0 if absent), e.g.
# metric($gw, 'pgo_gateway_merge_seconds_count').
sub metric
{
	my ($gw, $sample) = @_;
	my $r = http('GET', "$gw->{url}/metrics");
	foreach my $line (split /\n/, $r->{body})
	{
		my ($name, $value) = $line =~ /^(\S+) (\S+)$/ or next;
		return $value + 0 if $name eq $sample;
	}
	return 0;
}

1;
