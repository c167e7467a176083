// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdlib.h>

#include "heap_profile.h"
#include "test.h"

/* Go's scaleHeapSample: 1/p with p = 1 - e^(-size/rate). */
static void test_unbias(void)
{
	int64_t o, b;

	heap_unbias(64, 1, &o, &b);
	ASSERT_EQ(o, 1);
	ASSERT_EQ(b, 64);
	heap_unbias(524288, 524288, &o, &b); /* p = 1 - 1/e = 0.632 */
	ASSERT_EQ(o, 2);                     /* 1.582 */
	ASSERT_EQ(b, 829411);                /* 524288 / 0.63212 */
	heap_unbias(64, 524288, &o, &b);     /* p ~ 64/524288 */
	ASSERT_TRUE(o > 8190 && o < 8195, "objects %lld", (long long)o);
	heap_unbias(1 << 30, 524288, &o, &b); /* large blocks: always sampled */
	ASSERT_EQ(o, 1);
	ASSERT_EQ(b, 1 << 30);
}

static struct heap_event *alloc_ev(uint64_t id, uint64_t size, uint64_t ret)
{
	struct heap_event *e = calloc(1, sizeof(*e) + 2 * 8);

	e->type = HEAP_EV_ALLOC;
	e->pid = e->tid = 42;
	e->id = id;
	e->size = size;
	e->rate = 1;
	e->nr_frames = 2;
	e->frames[0] = ret;
	e->frames[1] = 0x1000;
	return e;
}

/* alloc, alloc, free one: alloc_* keep both, inuse_* only the live one;
 * an unknown free is counted, not applied. */
static void test_alloc_free(void)
{
	struct heap_agg h;
	struct heap_event *a = alloc_ev(1, 100, 0x2000), *b = alloc_ev(2, 300, 0x2000);
	struct heap_event f = { .type = HEAP_EV_FREE, .pid = 42, .tid = 43, .id = 1 };
	struct heap_event u = { .type = HEAP_EV_FREE, .pid = 42, .tid = 43, .id = 99 };
	struct stack_entry *e;
	int n = 0;

	heap_agg__init(&h, 1 << 20, 100);
	heap_agg__apply(&h, a);
	heap_agg__apply(&h, b);
	heap_agg__apply(&h, &f);
	heap_agg__apply(&h, &u);
	hashtab__for_each(&h.agg.ht, e)
	{
		n++;
		ASSERT_EQ(e->values[HEAP_V_ALLOC_OBJECTS], 2);
		ASSERT_EQ(e->values[HEAP_V_ALLOC_SPACE], 400);
		ASSERT_EQ(e->values[HEAP_V_INUSE_OBJECTS], 1);
		ASSERT_EQ(e->values[HEAP_V_INUSE_SPACE], 300);
	}
	ASSERT_EQ(n, 1);
	ASSERT_EQ(h.frees_unmatched, 1);
	ASSERT_EQ(h.live.len, 1);
	heap_agg__reset(&h);
	free(a);
	free(b);
}

/* The live table's limit holds and is counted. */
static void test_live_limit(void)
{
	struct heap_agg h;

	heap_agg__init(&h, 1 << 20, 2);
	for (uint64_t i = 1; i <= 5; i++) {
		struct heap_event *a = alloc_ev(i, 10, 0x3000);

		heap_agg__apply(&h, a);
		free(a);
	}
	ASSERT_EQ(h.live.len, 2);
	ASSERT_EQ(h.dropped_live, 3);
	heap_agg__reset(&h);
}

/* Backpressure and losses (heap.h): the rate shift by ring fill, the
 * size/rate bucket of a lost allocation, and its unbiased count. */
static void test_losses(void)
{
	struct heap_lost l = { 0 };
	struct heap_agg h;
	int64_t o, b;

	ASSERT_EQ(heap_rate_shift(0, 1 << 21), 0);
	ASSERT_EQ(heap_rate_shift((1 << 20) - 1, 1 << 21), 0);
	ASSERT_EQ(heap_rate_shift(1 << 20, 1 << 21), 2);
	ASSERT_EQ(heap_rate_shift(3 << 19, 1 << 21), 4);
	ASSERT_EQ(HEAP_RING_ALLOC_MAX(1 << 21), 7 << 18);
	ASSERT_EQ(heap_lost_bucket(64, 32768), 0);   /* 2^-9: clamped */
	ASSERT_EQ(heap_lost_bucket(4096, 32768), 5); /* 2^-3 */
	ASSERT_EQ(heap_lost_bucket(32768, 32768), 8);
	ASSERT_EQ(heap_lost_bucket(1 << 30, 32768), 15); /* clamped */

	/* 1000 allocations of 64 B and 10 of 1 MiB at 32 KiB: each bucket
	 * unbiased on its own (a mean over both would be 10 % off) */
	l.b[0] = (struct heap_lost_bucket){ 1000, 1000 * 64, 1000 * 32768 };
	l.b[13] = (struct heap_lost_bucket){ 10, 10 << 20, 10 * 32768 };
	l.nr_free_ids = HEAP_LOST_FREE_IDS + 3;
	heap_agg__init(&h, 1 << 20, 16);
	heap_agg__lost(&h, &l);
	ASSERT_EQ(h.lost_records, 1010);
	ASSERT_EQ(h.frees_lost, 3);
	heap_unbias(64, 32768, &o, &b);
	ASSERT_EQ(h.lost_bytes, 1000 * b + 10 * (1 << 20));
	heap_agg__reset(&h);
}

int main(void)
{
	RUN_TEST(test_unbias);
	RUN_TEST(test_alloc_free);
	RUN_TEST(test_live_limit);
	RUN_TEST(test_losses);
	return TEST_MAIN_END();
}
