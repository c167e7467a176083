// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfi_cache.h"
#include "hashtab.h"
#include "log.h"

struct cfi_key {
	uint64_t dev, ino, size, mtime_sec, mtime_nsec;
};

struct cfi_ref {
	struct cfi_key key;
	struct cfi_table *t; /* NULL: none (err), or evicted */
	int err;
	bool cached;
	unsigned refs; /* the cache's, while cached, and the mappings' */
	size_t bytes;
	struct cfi_ref *prev, *next; /* LRU list, most recent first */
};

struct cfi_cache {
	struct hashtab ht;
	struct cfi_ref lru; /* sentinel */
	size_t max_files, max_bytes, bytes;
	struct cfi_cache_stats st;
};

static bool key_eq(const void *item, const void *key)
{
	return !memcmp(&((const struct cfi_ref *)item)->key, key, sizeof(struct cfi_key));
}

static uint64_t key_hash(const struct cfi_key *k)
{
	return hash_bytes(k, sizeof(*k), 0);
}

struct cfi_cache *cfi_cache__new(size_t max_files, size_t max_bytes)
{
	struct cfi_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->lru.prev = c->lru.next = &c->lru;
	c->max_files = max_files ? max_files : 1;
	c->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
	return c;
}

static void lru_unlink(struct cfi_ref *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push_front(struct cfi_cache *c, struct cfi_ref *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

struct cfi_ref *cfi_ref__get(struct cfi_ref *r)
{
	if (r)
		r->refs++;
	return r;
}

void cfi_ref__put(struct cfi_ref *r)
{
	if (!r || --r->refs)
		return;
	cfi_table__free(r->t);
	free(r);
}

bool cfi_ref__cached(const struct cfi_ref *r)
{
	return r->cached;
}

/* Out of the cache: its table goes now, whoever still holds the entry. */
static void cache_drop(struct cfi_cache *c, struct cfi_ref *e)
{
	hashtab__remove(&c->ht, key_hash(&e->key), key_eq, &e->key);
	lru_unlink(e);
	c->bytes -= e->bytes;
	c->st.files--;
	e->cached = false;
	cfi_table__free(e->t);
	e->t = NULL;
	cfi_ref__put(e);
}

/* Evicts from the cold end; the most recent entry stays (it is what the
 * caller is about to use, and no table over the budget is cached). */
static void cache_trim(struct cfi_cache *c)
{
	while (c->st.files > c->max_files || c->bytes > c->max_bytes) {
		struct cfi_ref *e = c->lru.prev;

		if (e == &c->lru || e == c->lru.next)
			break;
		cache_drop(c, e);
		c->st.evictions++;
	}
}

void cfi_cache__free(struct cfi_cache *c)
{
	if (!c)
		return;
	while (c->lru.next != &c->lru)
		cache_drop(c, c->lru.next);
	hashtab__free(&c->ht);
	free(c);
}

/* Failures that say something about the file, not about us right now. */
static bool err_is_permanent(int err)
{
	return err == ENOEXEC || err == EINVAL || err == ENOENT || err == EFBIG;
}

struct cfi_ref *cfi_cache__get(struct cfi_cache *c, int fd)
{
	struct cfi_table *t;
	struct cfi_ref *e;
	struct cfi_key key;
	struct stat st;
	int err = 0;

	if (fstat(fd, &st)) {
		c->st.failures++;
		return NULL;
	}
	key = (struct cfi_key){ st.st_dev, st.st_ino, (uint64_t)st.st_size,
				(uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec };
	e = hashtab__find(&c->ht, key_hash(&key), key_eq, &key);
	if (e) {
		c->st.hits++;
		lru_unlink(e);
		lru_push_front(c, e);
		return cfi_ref__get(e);
	}
	c->st.misses++;
	t = cfi_table__load(fd);
	if (!t) {
		err = errno;
	} else if (cfi_table__mem_size(t) > c->max_bytes) {
		/* it would push out everything else, and then itself */
		log_debug("cfi: a table of %zu bytes is over the cache's %zu", cfi_table__mem_size(t),
			  c->max_bytes);
		cfi_table__free(t);
		t = NULL;
		err = EFBIG;
		c->st.too_big++;
	}
	if (!t) {
		c->st.failures++;
		if (!err_is_permanent(err)) {
			errno = err;
			return NULL;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e || hashtab__insert(&c->ht, key_hash(&key), e)) {
		free(e);
		cfi_table__free(t);
		errno = ENOMEM;
		return NULL;
	}
	e->key = key;
	e->t = t;
	e->err = err;
	e->cached = true;
	e->refs = 1; /* the cache's */
	e->bytes = sizeof(*e) + cfi_table__mem_size(t);
	c->bytes += e->bytes;
	c->st.files++;
	lru_push_front(c, e);
	cache_trim(c);
	return cfi_ref__get(e);
}

const struct cfi_table *cfi_cache__table(struct cfi_cache *c, struct cfi_ref *r)
{
	if (!r->cached)
		return NULL;
	if (c->lru.next != r) {
		lru_unlink(r);
		lru_push_front(c, r);
	}
	return r->t;
}

void cfi_cache__stats(const struct cfi_cache *c, struct cfi_cache_stats *st)
{
	*st = c->st;
	st->bytes = c->bytes;
}
