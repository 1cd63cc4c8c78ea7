/*
 * hash.h
 *	  The one string hash of pprof-gateway (response cache, request
 *	  coalescing): 64-bit FNV-1a, cheap and good enough for hash tables keyed
 *	  by selections the gateway built itself.
 */
#ifndef PGW_HASH_H
#define PGW_HASH_H

#include <stddef.h>

/* FNV-1a of key[0..n) */
static inline unsigned long
hash_bytes(const char *key, size_t n)
{
	unsigned long h = 14695981039346656037UL;
	size_t		i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char) key[i]) * 1099511628211UL;
	return h;
}

#endif							/* PGW_HASH_H */
