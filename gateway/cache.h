/*
 * cache.h
 *	  Size-capped LRU cache of GET responses (merged profiles, releases).
 */
#ifndef PGW_CACHE_H
#define PGW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* an immutable response body; reference counted */
struct cache_entry
{
	char	   *key;
	size_t		keylen;
	unsigned long hash;
	char	   *data;
	size_t		len;
	char		etag[65];		/* lowercase hex SHA-256 of data */
	int			refs;			/* atomic */
	bool		in_cache;		/* protected by the cache lock */
	struct cache_entry *hnext;	/* hash chain */
	struct cache_entry *prev;	/* LRU list, most recent first */
	struct cache_entry *next;
};

/* outcome of GET /profile, the `result` label of pgo_gateway_cache_requests_total */
enum cache_result
{
	CACHE_HIT,					/* key checked, bytes from the cache */
	CACHE_MISS,					/* key checked, merged */
	CACHE_SHARED,				/* answered by a coalesced request's check */
	CACHE_RESULT_COUNT
};

struct cache_stats
{
	size_t		bytes;
	size_t		entries;
	uint64_t	results[CACHE_RESULT_COUNT];	/* since start */
};

/* "hit", "miss", "shared" */
extern const char *const cache_result_names[CACHE_RESULT_COUNT];

extern void cache_init(size_t max_bytes);
extern void cache_shutdown(void);

/* a new entry owning data (malloc'd), one reference held by the caller */
extern struct cache_entry *cache_entry_new(const char *key, size_t keylen,
										   char *data, size_t len,
										   const char *etag);
/* the entry for key with a new reference, or NULL */
extern struct cache_entry *cache_get(const char *key, size_t keylen);
/* insert (replacing an entry of the same key); the caller keeps its reference */
extern void cache_put(struct cache_entry *e);
extern void cache_ref(struct cache_entry *e);
extern void cache_unref(struct cache_entry *e);
extern void cache_get_stats(struct cache_stats *s);
extern void cache_count_result(enum cache_result result);

#endif							/* PGW_CACHE_H */
