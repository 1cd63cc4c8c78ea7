/*
 * cache.c
 *	  Response cache of pprof-gateway: a hash table plus an LRU list under
 *	  one mutex, capped in bytes.
 *
 * Entries are reference counted: a response being sent keeps its entry's
 * bytes alive after eviction (MHD releases the reference in the response's
 * free callback), so the cache never copies a body per request.
 */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define NBUCKETS 4096			/* power of two */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry *table[NBUCKETS];
static struct cache_entry *lru_head;	/* most recently used */
static struct cache_entry *lru_tail;
static size_t cap_bytes;
static size_t used_bytes;
static size_t nentries;

static uint64_t result_counts[CACHE_RESULT_COUNT];

const char *const cache_result_names[CACHE_RESULT_COUNT] = {"hit", "miss", "shared"};

/* Bytes an entry counts against the cap. */
static size_t
Cost(const struct cache_entry *e)
{
	return e->len + e->keylen + sizeof(*e);
}

/* Set the cap; 0 disables caching. */
void
cache_init(size_t max_bytes)
{
	cap_bytes = max_bytes;
}

/* A new entry owning data; the caller holds one reference. */
struct cache_entry *
cache_entry_new(const char *key, size_t keylen, char *data, size_t len,
				const char *etag)
{
	struct cache_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->key = malloc(keylen + 1);
	if (e->key == NULL)
	{
		free(e);
		return NULL;
	}
	memcpy(e->key, key, keylen);
	e->key[keylen] = '\0';
	e->keylen = keylen;
	e->hash = hash_bytes(key, keylen);
	e->data = data;
	e->len = len;
	strncpy(e->etag, etag, sizeof(e->etag) - 1);
	e->refs = 1;
	return e;
}

/* Take another reference. */
void
cache_ref(struct cache_entry *e)
{
	__atomic_fetch_add(&e->refs, 1, __ATOMIC_RELAXED);
}

/* Drop a reference; the last one frees the entry. */
void
cache_unref(struct cache_entry *e)
{
	if (e == NULL)
		return;
	if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
	{
		free(e->data);
		free(e->key);
		free(e);
	}
}

/* Unlink from the LRU list (lock held). */
static void
LruUnlink(struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		lru_tail = e->prev;
	e->prev = e->next = NULL;
}

/* Link at the front of the LRU list (lock held). */
static void
LruPush(struct cache_entry *e)
{
	e->prev = NULL;
	e->next = lru_head;
	if (lru_head)
		lru_head->prev = e;
	lru_head = e;
	if (lru_tail == NULL)
		lru_tail = e;
}

/* Remove an entry from the cache and drop the cache's reference (lock held). */
static void
Remove(struct cache_entry *e)
{
	struct cache_entry **pp = &table[e->hash & (NBUCKETS - 1)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	e->hnext = NULL;
	LruUnlink(e);
	e->in_cache = false;
	used_bytes -= Cost(e);
	nentries--;
	cache_unref(e);
}

/* Find an entry (lock held). */
static struct cache_entry *
Find(const char *key, size_t keylen, unsigned long h)
{
	struct cache_entry *e;

	for (e = table[h & (NBUCKETS - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
			return e;
	return NULL;
}

/* The entry for key with a new reference, or NULL. */
struct cache_entry *
cache_get(const char *key, size_t keylen)
{
	unsigned long h = hash_bytes(key, keylen);
	struct cache_entry *e;

	pthread_mutex_lock(&lock);
	e = Find(key, keylen, h);
	if (e != NULL)
	{
		LruUnlink(e);
		LruPush(e);
		cache_ref(e);
	}
	pthread_mutex_unlock(&lock);
	return e;
}

/* Insert e, evicting least recently used entries to stay under the cap. */
void
cache_put(struct cache_entry *e)
{
	struct cache_entry *old;

	/* one entry may not take more than half the cache */
	if (e == NULL || Cost(e) > cap_bytes / 2)
		return;
	pthread_mutex_lock(&lock);
	if (e->in_cache)
	{
		pthread_mutex_unlock(&lock);
		return;
	}
	old = Find(e->key, e->keylen, e->hash);
	if (old != NULL)
		Remove(old);
	while (used_bytes + Cost(e) > cap_bytes && lru_tail != NULL)
		Remove(lru_tail);
	cache_ref(e);
	e->in_cache = true;
	e->hnext = table[e->hash & (NBUCKETS - 1)];
	table[e->hash & (NBUCKETS - 1)] = e;
	LruPush(e);
	used_bytes += Cost(e);
	nentries++;
	pthread_mutex_unlock(&lock);
}

/* Current size, for /metrics. */
void
cache_get_stats(struct cache_stats *s)
{
	int			i;

	pthread_mutex_lock(&lock);
	s->bytes = used_bytes;
	s->entries = nentries;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < CACHE_RESULT_COUNT; i++)
		s->results[i] = __atomic_load_n(&result_counts[i], __ATOMIC_RELAXED);
}

/* Count the outcome of one GET that consulted the cache. */
void
cache_count_result(enum cache_result result)
{
	__atomic_fetch_add(&result_counts[result], 1, __ATOMIC_RELAXED);
}

/* Drop every entry (at exit; responses still holding references keep theirs). */
void
cache_shutdown(void)
{
	pthread_mutex_lock(&lock);
	while (lru_tail != NULL)
		Remove(lru_tail);
	pthread_mutex_unlock(&lock);
}
