/* SPDX-License-Identifier: MIT */
/*
 * A small open-addressing hash table of pointers, keyed by a 64-bit hash the
 * caller computes; equality is the caller's callback, so one table type
 * serves strings, stacks, processes and symbol files alike.
 */
#ifndef PPROFD_HASHTAB_H
#define PPROFD_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ht_slot {
	uint64_t hash;
	void *item; /* NULL: empty */
};

struct hashtab {
	struct ht_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t len;
};

typedef bool (*ht_eq_fn)(const void *item, const void *key);

/* The item equal to key, or NULL. */
void *hashtab__find(const struct hashtab *h, uint64_t hash, ht_eq_fn eq, const void *key);
/* Adds item (no duplicate check). 0, or -ENOMEM. */
int hashtab__insert(struct hashtab *h, uint64_t hash, void *item);
/* Removes and returns the item equal to key, or NULL. */
void *hashtab__remove(struct hashtab *h, uint64_t hash, ht_eq_fn eq, const void *key);
/* Empties the table, keeping nothing; items are the caller's to free. */
void hashtab__free(struct hashtab *h);

#define hashtab__for_each(h, it)                    \
	for (size_t __i = 0; __i < (h)->cap; __i++) \
		if (((it) = (h)->slots[__i].item) != NULL)

/* Fast non-cryptographic hashes (keys from hostile processes are fine:
 * worst case is a slower probe, bounded by the table's load factor). */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}
static inline uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 0);
}

#endif
