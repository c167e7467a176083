// SPDX-License-Identifier: MIT
/*
 * An allocation-heavy workload for the heap profiling benchmark: a chained
 * hash table of nodes whose sizes are drawn log-uniformly from 16 B..4 KiB
 * (fixed seed), with inserts, deletes and reallocs of random nodes.
 *
 * Fills the table to LIVE nodes, prints "ready PID", then for each line "N"
 * read from stdin runs N operations (45 % insert, 45 % delete, 10 % realloc
 * to a new size; every new byte is written) and prints
 *
 *   <seconds> <ns per operation> <checksum>
 *
 * so that a profiler can attach before the timed work starts (heaptrack,
 * which is preloaded, sees the fill too, but it is not timed). "0" or EOF
 * frees everything and exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIVE (64 << 10)      /* nodes in the table in steady state */
#define BUCKETS (128 << 10)  /* power of two */

struct node {
	struct node *next;
	uint64_t key;
	uint32_t size; /* of the whole block */
	unsigned char data[];
};

static struct node *table[BUCKETS];
static uint64_t keys[2 * LIVE]; /* live keys, for picking one at random */
static size_t nkeys;
static uint64_t rng = 0x9e3779b97f4a7c15ull, checksum;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t hash(uint64_t key)
{
	return (key * 0xff51afd7ed558ccdull) >> 47 & (BUCKETS - 1);
}

/* 16 B..4 KiB, log-uniform: as many blocks of 16-32 B as of 2-4 KiB. */
static uint32_t rand_size(void)
{
	uint64_t r = next_rand();
	unsigned shift = 4 + r % 8; /* 16 .. 2048 */

	return (1u << shift) + (uint32_t)((r >> 8) & ((1u << shift) - 1));
}

static void fill(unsigned char *p, size_t n, uint64_t key)
{
	memset(p, (int)key, n);
}

static void insert(void)
{
	uint32_t size = rand_size();
	struct node *n;
	size_t h;

	if (size < sizeof(*n))
		size = sizeof(*n);
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

static void delete(void)
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
	uint32_t old = (*pp)->size, size = rand_size();

	if (size < sizeof(*n))
		size = sizeof(*n);
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
		delete();
	else
		resize();
}

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (nkeys < LIVE)
		insert();
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		long n = atol(line);
		struct timespec a, b;
		double s;

		if (n <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++)
			op();
		clock_gettime(CLOCK_MONOTONIC, &b);
		s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		printf("%.4f %.1f %llu\n", s, s * 1e9 / n, (unsigned long long)checksum);
	}
	while (nkeys)
		delete();
	return 0;
}
