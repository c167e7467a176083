// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stackagg.h"

struct stack_key {
	uint32_t tid;
	const char *thread;
	const uint64_t *kframes, *uframes;
	unsigned nk, nu;
};

static bool entry_eq(const void *item, const void *key)
{
	const struct stack_entry *e = item;
	const struct stack_key *k = key;

	return e->tid == k->tid && e->nr_kframes == k->nk && e->nr_uframes == k->nu &&
	       !strncmp(e->thread, k->thread, sizeof(e->thread)) &&
	       (!k->nk || !memcmp(e->frames, k->kframes, k->nk * 8)) &&
	       (!k->nu || !memcmp(e->frames + k->nk, k->uframes, k->nu * 8));
}

void stackagg__init(struct stackagg *a, size_t max_bytes)
{
	memset(a, 0, sizeof(*a));
	a->max_bytes = max_bytes;
}

struct stack_entry *stackagg__get(struct stackagg *a, uint32_t tid, const char *thread,
				  const uint64_t *kframes, unsigned nk, const uint64_t *uframes,
				  unsigned nu)
{
	struct stack_key k = { tid, thread, kframes, uframes, nk, nu };
	uint64_t h = hash_bytes(kframes, nk * 8ul, tid);
	struct stack_entry *e;
	size_t sz;

	h = hash_bytes(uframes, nu * 8ul, h);
	e = hashtab__find(&a->ht, h, entry_eq, &k);
	if (e)
		return e;
	sz = sizeof(*e) + (nk + nu) * 8ul;
	if (a->bytes + sz > a->max_bytes) {
		a->dropped++;
		return NULL;
	}
	e = calloc(1, sz);
	if (!e)
		return NULL;
	e->hash = h;
	e->tid = tid;
	e->nr_kframes = nk;
	e->nr_uframes = nu;
	strncpy(e->thread, thread, sizeof(e->thread) - 1);
	if (nk) /* (memcpy from NULL is undefined even for 0 bytes) */
		memcpy(e->frames, kframes, nk * 8ul);
	if (nu)
		memcpy(e->frames + nk, uframes, nu * 8ul);
	if (hashtab__insert(&a->ht, h, e)) {
		free(e);
		return NULL;
	}
	a->bytes += sz;
	return e;
}

int stackagg__add(struct stackagg *a, uint32_t tid, const char *thread, const uint64_t *kframes,
		  unsigned nk, const uint64_t *uframes, unsigned nu, const int64_t *values,
		  unsigned nr_values)
{
	struct stack_entry *e = stackagg__get(a, tid, thread, kframes, nk, uframes, nu);

	if (!e)
		return -ENOSPC;
	for (unsigned i = 0; i < nr_values && i < STACKAGG_MAX_VALUES; i++)
		e->values[i] += values[i];
	return 0;
}

void stackagg__reset(struct stackagg *a)
{
	struct stack_entry *e;

	hashtab__for_each(&a->ht, e) free(e);
	hashtab__free(&a->ht);
	a->bytes = 0;
	a->dropped = 0;
}
