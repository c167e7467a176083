// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);

	while (n >= 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		h = hash_u64(h ^ w) + 0x9e3779b97f4a7c15ULL;
		b += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;

		memcpy(&w, b, n);
		h = hash_u64(h ^ w ^ ((uint64_t)n << 56));
	}
	return hash_u64(h);
}

void *hashtab__find(const struct hashtab *h, uint64_t hash, ht_eq_fn eq, const void *key)
{
	if (!h->cap)
		return NULL;
	for (size_t i = hash & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		const struct ht_slot *s = &h->slots[i];

		if (!s->item)
			return NULL;
		if (s->hash == hash && eq(s->item, key))
			return s->item;
	}
}

static void place(struct ht_slot *slots, size_t cap, uint64_t hash, void *item)
{
	size_t i = hash & (cap - 1);

	while (slots[i].item)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].item = item;
}

int hashtab__insert(struct hashtab *h, uint64_t hash, void *item)
{
	/* Keep the load factor at or below 1/2 so probes stay short. */
	if ((h->len + 1) * 2 > h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 16;
		struct ht_slot *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < h->cap; i++)
			if (h->slots[i].item)
				place(ns, ncap, h->slots[i].hash, h->slots[i].item);
		free(h->slots);
		h->slots = ns;
		h->cap = ncap;
	}
	place(h->slots, h->cap, hash, item);
	h->len++;
	return 0;
}

void *hashtab__remove(struct hashtab *h, uint64_t hash, ht_eq_fn eq, const void *key)
{
	size_t mask = h->cap - 1, i;
	void *item;

	if (!h->cap)
		return NULL;
	for (i = hash & mask;; i = (i + 1) & mask) {
		if (!h->slots[i].item)
			return NULL;
		if (h->slots[i].hash == hash && eq(h->slots[i].item, key))
			break;
	}
	item = h->slots[i].item;
	h->slots[i].item = NULL;
	h->len--;
	/* Backward-shift deletion: re-place the rest of the cluster, no tombstones. */
	for (size_t j = (i + 1) & mask; h->slots[j].item; j = (j + 1) & mask) {
		struct ht_slot s = h->slots[j];

		h->slots[j].item = NULL;
		place(h->slots, h->cap, s.hash, s.item);
	}
	return item;
}

void hashtab__free(struct hashtab *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->len = 0;
}
