// SPDX-License-Identifier: MIT
/*
 * libpprofd_heap.so's sampler, included whole so that it interposes this
 * test's own malloc family, with its probes counted instead of fired and
 * its semaphores set by hand (as the kernel sets them for an attached
 * pprofd): the sampling is Go's (about one sample per rate bytes, values
 * unbiased within a few percent), frees fire only for sampled blocks,
 * and with nobody attached nothing fires at all.
 */
#include <math.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>

#define MAX_FIRED (1 << 20)
static uint64_t fired_ptr[MAX_FIRED], fired_size[MAX_FIRED], fired_rate;
static unsigned nr_alloc, nr_free;
static uint64_t freed_ptr[MAX_FIRED];

#define FIRE_ALLOC(ptr, size, r)                                                  \
	do {                                                                      \
		unsigned i_ = __atomic_fetch_add(&nr_alloc, 1, __ATOMIC_RELAXED); \
		if (i_ < MAX_FIRED) {                                             \
			fired_ptr[i_] = (ptr);                                    \
			fired_size[i_] = (size);                                  \
		}                                                                 \
		fired_rate = (r);                                                 \
	} while (0)
#define FIRE_FREE(ptr)                                                           \
	do {                                                                     \
		unsigned i_ = __atomic_fetch_add(&nr_free, 1, __ATOMIC_RELAXED); \
		if (i_ < MAX_FIRED)                                              \
			freed_ptr[i_] = (ptr);                                   \
	} while (0)

#include "libpprofd_heap.c"

#include "test.h"

static void attach(bool on)
{
	pprofd_alloc_semaphore = on;
	pprofd_free_semaphore = on;
	nr_alloc = nr_free = 0;
	ts.left = 0; /* a new rate takes effect at once */
}

/* Go's estimate of what the samples stand for: size / (1 - e^(-size/rate)). */
static double unbiased(void)
{
	double sum = 0;

	for (unsigned i = 0; i < nr_alloc && i < MAX_FIRED; i++)
		sum += fired_size[i] / (1 - exp(-(double)fired_size[i] / (double)fired_rate));
	return sum;
}

static void test_nobody_attached(void)
{
	attach(false);
	for (int i = 0; i < 100000; i++)
		free(malloc(4096));
	ASSERT_EQ(nr_alloc, 0);
	ASSERT_EQ(nr_free, 0);
}

/* 2 GiB in 64-byte blocks (about 4096 samples at 512 KiB: one standard
 * deviation is 1.6 %), then 1 GiB in 1 MiB blocks: the estimate within
 * 8 % of the truth (5 deviations: never by chance). */
static void test_rate(void)
{
	static void *keep[1 << 14];
	uint64_t total = 2ull << 30;
	double est;

	attach(true);
	rate = PPROFD_HEAP_DEFAULT_RATE;
	for (uint64_t done = 0; done < total; done += 64)
		free(malloc(64));
	est = unbiased();
	printf("    64-byte blocks: %u samples, %.3f GiB estimated of 2 GiB\n", nr_alloc,
	       est / (1 << 30));
	ASSERT_TRUE(fabs(est - total) < 0.08 * total, "estimate %.0f", est);
	ASSERT_EQ(fired_rate, PPROFD_HEAP_DEFAULT_RATE);
	ASSERT_EQ(nr_free, nr_alloc); /* each sampled block freed once */

	attach(true);
	total = 1ull << 30;
	for (unsigned i = 0; i < 1024; i++)
		keep[i] = malloc(1 << 20);
	est = unbiased();
	printf("    1 MiB blocks: %u samples, %.3f GiB estimated of 1 GiB\n", nr_alloc,
	       est / (1 << 30));
	ASSERT_TRUE(fabs(est - total) < 0.08 * total, "estimate %.0f", est);
	/* the frees fire for exactly the sampled blocks */
	for (unsigned i = 0; i < 1024; i++)
		free(keep[i]);
	ASSERT_EQ(nr_free, nr_alloc);
	for (unsigned i = 0; i < nr_free; i++) {
		bool found = false;

		for (unsigned j = 0; j < nr_alloc && !found; j++)
			found = freed_ptr[i] == fired_ptr[j];
		ASSERT_TRUE(found, "a free of a block never sampled");
	}
}

/* realloc frees the old block's sample; calloc and the aligned forms count;
 * a block sampled while nobody looked at frees fires nothing. */
static void test_family(void)
{
	void *p, *q;

	rate = 1; /* every allocation */
	attach(true);
	p = malloc(100);
	q = realloc(p, 200000);
	ASSERT_EQ(nr_alloc, 2);
	ASSERT_EQ(nr_free, 1);
	ASSERT_EQ(freed_ptr[0], (uint64_t)(uintptr_t)p);
	ASSERT_EQ(fired_size[1], 200000);
	free(q);
	ASSERT_EQ(nr_free, 2);
	free(calloc(10, 10));
	ASSERT_EQ(fired_size[2], 100);
	ASSERT_OK(posix_memalign(&p, 64, 300));
	free(p);
	free(aligned_alloc(4096, 8192));
	free(memalign(128, 50));
	ASSERT_EQ(nr_alloc, 6);
	ASSERT_EQ(nr_free, 6);
	/* calloc's overflow is the allocator's to refuse */
	{
		volatile size_t huge = SIZE_MAX / 2;

		errno = 0;
		ASSERT_TRUE(calloc(huge, 4) == NULL && errno == ENOMEM, "calloc overflow");
	}
	/* detached: its frees fire nothing (pprofd would not know them) */
	p = malloc(10);
	attach(false);
	free(p);
	ASSERT_EQ(nr_free, 0);
	rate = PPROFD_HEAP_DEFAULT_RATE;
}

static void *thread_allocs(void *arg)
{
	for (int i = 0; i < 800000; i++)
		free(malloc(256));
	return arg;
}

/* Threads count down on their own: samples in proportion to their bytes. */
static void test_threads(void)
{
	pthread_t t[4];
	double est;

	attach(true);
	for (int i = 0; i < 4; i++)
		ASSERT_OK(pthread_create(&t[i], NULL, thread_allocs, NULL));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	est = unbiased();
	/* 781 MiB: about 1560 samples, a deviation of 2.5 % */
	printf("    4 threads: %u samples, %.1f MiB estimated of %.1f MiB\n", nr_alloc,
	       est / (1 << 20), 4 * 800000 * 256.0 / (1 << 20));
	ASSERT_TRUE(fabs(est - 4 * 800000 * 256.0) < 0.15 * 4 * 800000 * 256.0, "estimate %.0f",
		    est);
	/* every block freed, but what pthread keeps for its next threads */
	ASSERT_TRUE(nr_free <= nr_alloc && nr_alloc - nr_free <= 4, "%u frees of %u", nr_free,
		    nr_alloc);
}

int main(void)
{
	RUN_TEST(test_nobody_attached);
	RUN_TEST(test_rate);
	RUN_TEST(test_family);
	RUN_TEST(test_threads);
	attach(false);
	return TEST_MAIN_END();
}
