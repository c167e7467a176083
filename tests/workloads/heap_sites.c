// SPDX-License-Identifier: MIT
/*
 * Allocation sites of known byte totals, for the heap profiling tests.
 * Waits for a line on stdin (so the profiler can attach first), runs every
 * site once, prints each site's true totals and exits:
 *
 *   total <site> alloc_bytes=N inuse_bytes=N calls=N
 *
 * Every site is its own function, so the caller of malloc in a sampled
 * stack names it; main calls each one, so the next frame is main.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;
static unsigned long calls;

static void total(const char *site, unsigned long alloc, unsigned long inuse)
{
	printf("total %s alloc_bytes=%lu inuse_bytes=%lu\n", site, alloc, inuse);
}

/* 64-byte objects, all kept: 128 MiB. */
NOINLINE static void site_small(void)
{
	enum { N = 2 << 20 };
	static void *keep[N];

	for (int i = 0; i < N; i++)
		keep[i] = malloc(64);
	calls += N;
	sink = keep; /* escapes: gcc may not elide the mallocs */
	total("site_small", (unsigned long)N * 64, (unsigned long)N * 64);
}

/* 4 KiB blocks, each freed at once: 256 MiB, none in use. */
NOINLINE static void site_4k(void)
{
	enum { N = 64 << 10 };

	for (int i = 0; i < N; i++) {
		sink = malloc(4096);
		free(sink);
	}
	calls += N;
	total("site_4k", (unsigned long)N * 4096, 0);
}

/* 1 MiB blocks, half of them freed: 256 MiB, 128 MiB in use. */
NOINLINE static void site_1m(void)
{
	enum { N = 256 };
	static void *keep[N];

	for (int i = 0; i < N; i++)
		keep[i] = malloc(1 << 20);
	for (int i = 0; i < N; i += 2)
		free(keep[i]);
	calls += N;
	total("site_1m", (unsigned long)N << 20, (unsigned long)N / 2 << 20);
}

/* calloc of 64 KiB, freed: 64 MiB. */
NOINLINE static void site_calloc(void)
{
	enum { N = 1024 };

	for (int i = 0; i < N; i++) {
		sink = calloc(16, 4096);
		free(sink);
	}
	calls += N;
	total("site_calloc", (unsigned long)N * 16 * 4096, 0);
}

/* realloc growing 4 KiB -> 4 MiB and shrinking back to 4 KiB, 32 rounds;
 * each call counts as an allocation of its new size (the first is
 * realloc(NULL, ...), i.e. malloc). */
NOINLINE static void site_realloc(void)
{
	unsigned long sum = 0;

	for (int r = 0; r < 32; r++) {
		void *p = NULL;
		size_t s;

		for (s = 4096; s <= 4 << 20; s *= 2, calls++) {
			p = realloc(p, s);
			sum += s;
		}
		for (s = 2 << 20; s >= 4096; s /= 2, calls++) {
			p = realloc(p, s);
			sum += s;
		}
		free(p);
	}
	total("site_realloc", sum, 0);
}

/* posix_memalign, 64-byte aligned 8 KiB blocks, freed: 64 MiB. */
NOINLINE static void site_posix_memalign(void)
{
	enum { N = 8192 };
	void *p;

	for (int i = 0; i < N; i++) {
		if (posix_memalign(&p, 64, 8192))
			abort();
		free(p);
	}
	calls += N;
	total("site_posix_memalign", (unsigned long)N * 8192, 0);
}

/* posix_memalign with an alignment malloc gives anyway (glibc relays it
 * to malloc inside): 1 KiB blocks, freed: 64 MiB. */
NOINLINE static void site_pm16(void)
{
	enum { N = 64 << 10 };
	void *p;

	for (int i = 0; i < N; i++) {
		if (posix_memalign(&p, 16, 1024))
			abort();
		free(p);
	}
	calls += N;
	total("site_pm16", (unsigned long)N * 1024, 0);
}

/* aligned_alloc of 16 KiB at 4 KiB alignment, kept: 32 MiB in use. */
NOINLINE static void site_aligned(void)
{
	enum { N = 2048 };

	for (int i = 0; i < N; i++)
		sink = aligned_alloc(4096, 16384);
	calls += N;
	total("site_aligned", (unsigned long)N * 16384, (unsigned long)N * 16384);
}

int main(void)
{
	char line[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	site_small();
	site_4k();
	site_1m();
	site_calloc();
	site_realloc();
	site_posix_memalign();
	site_pm16();
	site_aligned();
	printf("calls %lu\n", calls);
	return 0;
}
