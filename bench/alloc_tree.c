// SPDX-License-Identifier: MIT
/*
 * An allocation-heavy workload shaped like a program's data structures: a
 * balanced search tree (a treap) of nodes whose sizes are drawn log-uniformly from
 * 16 B..4 KiB (fixed seed), with inserts, deletes and reallocs of random
 * nodes, each done by recursive descent, so the allocator is called from
 * ~20 frames deep as in a parser or a compiler (alloc_heavy.c is the
 * shallow, faster extreme: a hash table, the allocator called from main's
 * callee).
 *
 * Fills the tree to LIVE nodes, then speaks alloc_bench.h's protocol with
 * alloc_heavy.c's operations: an insert (45 %), a delete (45 %) or a
 * realloc to a new size (10 %); every new byte is written.
 */
#include <string.h>

#include "alloc_bench.h"

#define LIVE (64 << 10) /* nodes in the tree in steady state */

struct node {
	struct node *l, *r;
	uint64_t key;
	uint32_t size; /* of the whole block */
	uint32_t prio;
	unsigned char data[];
};

static struct node *root;
static uint64_t keys[2 * LIVE]; /* live keys, for picking one at random */
static size_t nkeys;

static struct node *new_node(uint64_t key)
{
	uint32_t size = rand_size(sizeof(struct node));
	struct node *n = malloc(size);

	if (!n)
		abort();
	n->l = n->r = NULL;
	n->key = key;
	n->size = size;
	n->prio = (uint32_t)next_rand();
	memset(n->data, (int)key, size - sizeof(*n));
	return n;
}

/* The child link a descent for key follows. */
static struct node **child(struct node *t, uint64_t key)
{
	return key < t->key ? &t->l : &t->r;
}

/*
 * A treap: a search tree by key, a heap by random priority, so its depth
 * stays ~2 ln n under any sequence of inserts and deletes (a plain search
 * tree with Hibbard deletion drifts to ~sqrt(n)). Each function returns
 * the new root of the subtree it was given and has one recursive call
 * site, so a stack is its depth's, not its path's: ~50 distinct stacks, as
 * in a program, not 2^depth.
 */
static struct node *insert(struct node *t, uint64_t key)
{
	struct node **c, *k;

	if (!t)
		return new_node(key);
	c = child(t, key);
	*c = insert(*c, key);
	k = *c;
	if (k->prio <= t->prio)
		return t;
	/* Rotate the child up. */
	if (c == &t->l) {
		t->l = k->r;
		k->r = t;
	} else {
		t->r = k->l;
		k->l = t;
	}
	return k;
}

/* The treap of the keys of a (all below b's) and of b. */
static struct node *merge(struct node *a, struct node *b)
{
	if (!a || !b)
		return a ? a : b;
	if (a->prio > b->prio) {
		a->r = merge(a->r, b);
		return a;
	}
	b->l = merge(a, b->l);
	return b;
}

static struct node *delete (struct node *t, uint64_t key)
{
	struct node *m, **c;

	if (key != t->key) {
		c = child(t, key);
		*c = delete (*c, key);
		return t;
	}
	m = merge(t->l, t->r);
	if (t->size > sizeof(*t))
		checksum += t->data[t->size - sizeof(*t) - 1];
	free(t);
	return m;
}

static struct node *resize(struct node *t, uint64_t key)
{
	uint32_t old, size;
	struct node **c;

	if (key != t->key) {
		c = child(t, key);
		*c = resize(*c, key);
		return t;
	}
	old = t->size;
	size = rand_size(sizeof(struct node));
	t = realloc(t, size);
	if (!t)
		abort();
	t->size = size;
	if (size > old)
		memset((unsigned char *)t + old, (int)key, size - old);
	return t;
}

static void op(void)
{
	unsigned r = next_rand() % 100;
	size_t i;

	/* Inserts and deletes balance; keep the size within [LIVE/2, 3*LIVE/2]. */
	if ((r < 45 && nkeys < LIVE * 3 / 2) || nkeys < LIVE / 2) {
		keys[nkeys] = next_rand() | 1;
		root = insert(root, keys[nkeys++]);
		return;
	}
	i = next_rand() % nkeys;
	if (r < 90) {
		root = delete (root, keys[i]);
		keys[i] = keys[--nkeys];
	} else {
		root = resize(root, keys[i]);
	}
}

int main(void)
{
	while (nkeys < LIVE) {
		keys[nkeys] = next_rand() | 1;
		root = insert(root, keys[nkeys++]);
	}
	alloc_bench_main(op);
	while (root)
		root = delete (root, root->key);
	return 0;
}
