/* SPDX-License-Identifier: MIT */
/*
 * Aggregation of sampled stacks: (thread, kernel frames, user frames) ->
 * values. Raw addresses only; symbolization happens once per window when a
 * profile is built. Bounded in bytes: past the limit new stacks are counted
 * as dropped, existing ones still count.
 */
#ifndef PPROFD_STACKAGG_H
#define PPROFD_STACKAGG_H

#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"

#define STACKAGG_MAX_VALUES 4

struct stack_entry {
	uint64_t hash;
	uint32_t tid;
	uint16_t nr_kframes, nr_uframes;
	char thread[16];
	int64_t values[STACKAGG_MAX_VALUES];
	uint64_t frames[]; /* kernel frames, then user frames; leaf first */
};

struct stackagg {
	struct hashtab ht;
	size_t bytes, max_bytes;
	uint64_t dropped; /* samples not added: the byte limit was reached */
};

void stackagg__init(struct stackagg *a, size_t max_bytes);
/* Adds values to the entry of this stack, creating it if needed.
 * 0, or -ENOSPC (counted in dropped) / -ENOMEM. */
int stackagg__add(struct stackagg *a, uint32_t tid, const char *thread, const uint64_t *kframes,
		  unsigned nr_kframes, const uint64_t *uframes, unsigned nr_uframes,
		  const int64_t *values, unsigned nr_values);
/* The entry of this stack, created with zero values if needed; NULL when
 * the byte limit is reached (counted in dropped) or out of memory. */
struct stack_entry *stackagg__get(struct stackagg *a, uint32_t tid, const char *thread,
				  const uint64_t *kframes, unsigned nr_kframes,
				  const uint64_t *uframes, unsigned nr_uframes);
/* Frees every entry; the aggregation is empty and reusable afterwards. */
void stackagg__reset(struct stackagg *a);
static inline size_t stackagg__len(const struct stackagg *a)
{
	return a->ht.len;
}

#endif
