// SPDX-License-Identifier: MIT
/*
 * An allocation-heavy workload for the heap profiling benchmark: a chained
 * hash table of nodes whose sizes are drawn log-uniformly from 16 B..4 KiB
 * (fixed seed), with inserts, deletes and reallocs of random nodes.
 *
 * Fills the table to LIVE nodes, then speaks alloc_bench.h's protocol; an
 * operation is an insert (45 %), a delete (45 %) or a realloc to a new size
 * (10 %); every new byte is written. At the end it frees everything.
 */
#include <string.h>

#include "alloc_bench.h"

#define LIVE (64 << 10)     /* nodes in the table in steady state */
#define BUCKETS (128 << 10) /* power of two */

struct node {
	struct node *next;
	uint64_t key;
	uint32_t size; /* of the whole block */
	unsigned char data[];
};

static struct node *table[BUCKETS];
static uint64_t keys[2 * LIVE]; /* live keys, for picking one at random */
static size_t nkeys;

static size_t hash(uint64_t key)
{
	return (key * 0xff51afd7ed558ccdull) >> 47 & (BUCKETS - 1);
}

static void fill(unsigned char *p, size_t n, uint64_t key)
{
	memset(p, (int)key, n);
}

static void insert(void)
{
	uint32_t size = rand_size(sizeof(struct node));
	struct node *n;
	size_t h;

	n = malloc(size);
	if (!n)
		abort();
	n->key = next_rand() | 1;
	n->size = size;
	if (size > sizeof(*n))
		fill(n->data, size - sizeof(*n), n->key);
	h = hash(n->key);
	n->next = table[h];
	table[h] = n;
	keys[nkeys++] = n->key;
}

/* The link that points at a random live node; its key slot in *slot. */
static struct node **pick(size_t *slot)
{
	size_t i = next_rand() % nkeys;
	struct node **pp = &table[hash(keys[i])];

	while ((*pp)->key != keys[i])
		pp = &(*pp)->next;
	*slot = i;
	return pp;
}

static void delete (void)
{
	size_t i;
	struct node **pp = pick(&i), *n = *pp;

	*pp = n->next;
	if (n->size > sizeof(*n))
		checksum += n->data[n->size - sizeof(*n) - 1];
	free(n);
	keys[i] = keys[--nkeys];
}

static void resize(void)
{
	size_t i;
	struct node **pp = pick(&i), *n;
	uint32_t old = (*pp)->size, size = rand_size(sizeof(*n));

	n = realloc(*pp, size);
	if (!n)
		abort();
	n->size = size;
	if (size > old)
		fill((unsigned char *)n + old, size - old, n->key);
	*pp = n;
}

static void op(void)
{
	unsigned r = next_rand() % 100;

	/* Inserts and deletes balance; keep the size within [LIVE/2, 3*LIVE/2]. */
	if ((r < 45 && nkeys < LIVE * 3 / 2) || nkeys < LIVE / 2)
		insert();
	else if (r < 90)
		delete ();
	else
		resize();
}

int main(void)
{
	while (nkeys < LIVE)
		insert();
	alloc_bench_main(op);
	while (nkeys)
		delete ();
	return 0;
}
