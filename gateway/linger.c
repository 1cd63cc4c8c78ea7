/*
 * linger.c
 *	  Lingering close of connections answered early (nginx's
 *	  lingering_close), so that the answer arrives.
 *
 * An upload refused from its headers (413, 401, 415, 400) or in the middle
 * of its body (a chunked body over --max-body) is answered while the
 * client is still sending. Closing the socket then, with unread bytes in
 * its receive queue, makes the kernel send a TCP reset, and a reset that
 * reaches the client before it read the answer destroys the answer: curl
 * prints no status, Go's net/http reports "connection reset by peer" and a
 * client retries what can never succeed (seen 1 time in 8 with a 300 MB
 * body on loopback).
 *
 * So the socket is kept (a dup of libmicrohttpd's descriptor: MHD closing
 * its own does not close the socket), the sending side is shut down after
 * the answer (the client sees the answer, then end of stream), and what
 * the client still sends is read and thrown away until it closes, for at
 * most LINGER_MAX_MS (LINGER_IDLE_MS without a byte) and LINGER_MAX_BYTES;
 * then the socket is closed. One thread polls every lingering socket; at
 * most LINGER_MAX_SOCKETS linger at once (beyond, a socket is closed at
 * once, as before).
 */
#include "linger.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"

struct lingering
{
	int			fd;
	int64_t		until_ns;		/* LINGER_MAX_MS after the hand-over */
	int64_t		idle_until_ns;	/* LINGER_IDLE_MS after the last byte */
	size_t		discarded;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct lingering socks[LINGER_MAX_SOCKETS];
static int	nsocks;
static bool stopping;
static int	wake[2] = {-1, -1};	/* a pipe: a socket was added, or stop */
static pthread_t thread;
static bool started;

/* Close socket i and take it off the list (lock held). */
static void
Drop(int i)
{
	close(socks[i].fd);
	socks[i] = socks[--nsocks];
}

/* Read and discard what socket i has; false when it is done with. */
static bool
Discard(struct lingering *l, int64_t now)
{
	char		scratch[64 * 1024];

	for (;;)
	{
		ssize_t		n = recv(l->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n == 0)
			return false;		/* the client closed: done */
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		l->discarded += (size_t) n;
		l->idle_until_ns = now + (int64_t) LINGER_IDLE_MS * 1000000;
		if (l->discarded > LINGER_MAX_BYTES)
			return false;
	}
}

/* The lingering thread: poll, discard, close what is done or late. */
static void *
LingerMain(void *arg)
{
	struct pollfd p[LINGER_MAX_SOCKETS + 1];

	(void) arg;
	for (;;)
	{
		int64_t		now = now_ns();
		int64_t		next = now + (int64_t) LINGER_IDLE_MS * 1000000;
		int			n;
		int			i;

		pthread_mutex_lock(&mu);
		if (stopping)
		{
			while (nsocks > 0)
				Drop(nsocks - 1);
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		for (i = nsocks - 1; i >= 0; i--)
		{
			if (now >= socks[i].until_ns || now >= socks[i].idle_until_ns)
				Drop(i);
		}
		n = nsocks;
		for (i = 0; i < n; i++)
		{
			p[i].fd = socks[i].fd;
			p[i].events = POLLIN;
			if (socks[i].idle_until_ns < next)
				next = socks[i].idle_until_ns;
			if (socks[i].until_ns < next)
				next = socks[i].until_ns;
		}
		pthread_mutex_unlock(&mu);
		p[n].fd = wake[0];
		p[n].events = POLLIN;

		if (poll(p, (nfds_t) n + 1, (int) ((next - now) / 1000000) + 1) < 0 && errno != EINTR)
		{
			log_event("error", "lingering close: poll failed", strerror(errno));
			return NULL;
		}
		if (p[n].revents & POLLIN)
		{
			char		drain[64];

			while (read(wake[0], drain, sizeof(drain)) > 0)
				;
		}
		/* only this thread removes sockets: the first n are those polled */
		pthread_mutex_lock(&mu);
		now = now_ns();
		for (i = n - 1; i >= 0; i--)
			if (p[i].revents != 0 && !Discard(&socks[i], now))
				Drop(i);
		pthread_mutex_unlock(&mu);
	}
}

/* Start the lingering thread; false on failure (logged). */
bool
linger_start(void)
{
	if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0)
	{
		log_event("fatal", "lingering close: pipe failed", strerror(errno));
		return false;
	}
	if (pthread_create(&thread, NULL, LingerMain, NULL) != 0)
	{
		log_event("fatal", "lingering close: cannot start its thread", NULL);
		return false;
	}
	started = true;
	return true;
}

/* Stop the thread and close every socket still lingering. */
void
linger_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_mutex_unlock(&mu);
	(void) !write(wake[1], "x", 1);
	pthread_join(thread, NULL);
	close(wake[0]);
	close(wake[1]);
	started = false;
}

/* See linger.h. */
bool
linger_socket(int fd, const char *answer, size_t len)
{
	int			own;
	size_t		sent = 0;
	int64_t		now = now_ns();

	/* the answer goes out now, before libmicrohttpd closes its side */
	while (sent < len)
	{
		ssize_t		n = send(fd, answer + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			return false;		/* the send buffer is full, or the peer gone */
		sent += (size_t) n;
	}
	pthread_mutex_lock(&mu);
	if (!started || stopping || nsocks == LINGER_MAX_SOCKETS || (own = dup(fd)) < 0)
	{
		pthread_mutex_unlock(&mu);
		return false;
	}
	(void) shutdown(own, SHUT_WR);
	socks[nsocks].fd = own;
	socks[nsocks].until_ns = now + (int64_t) LINGER_MAX_MS * 1000000;
	socks[nsocks].idle_until_ns = now + (int64_t) LINGER_IDLE_MS * 1000000;
	socks[nsocks].discarded = 0;
	nsocks++;
	pthread_mutex_unlock(&mu);
	(void) !write(wake[1], "x", 1);
	return true;
}
