/*
 * linger.h
 *	  Lingering close (linger.c): an early answer arrives although the
 *	  client is still sending.
 */
#ifndef PGW_LINGER_H
#define PGW_LINGER_H

#include <stdbool.h>
#include <stddef.h>

extern bool linger_start(void);
extern void linger_stop(void);

/*
 * Send answer[0..len) on fd at once (len may be 0: it was sent), then keep
 * the socket, shut its sending side, read and discard for a bounded time
 * and byte count, and close it. fd itself stays the caller's (it is
 * duplicated). False when the answer could not be sent whole or no more
 * sockets may linger: the caller's close is then the only one.
 */
extern bool linger_socket(int fd, const char *answer, size_t len);

#endif							/* PGW_LINGER_H */
