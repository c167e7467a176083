// SPDX-License-Identifier: MIT
/*
 * C++ allocation sites of known byte totals, for the heap tests on
 * jemalloc and tcmalloc, whose operator new/delete do not go through their
 * malloc/free. As heap_sites: waits for a line on stdin, runs every site
 * once, prints each site's true totals and the number of allocation calls:
 *
 *   total <site> alloc_bytes=N inuse_bytes=N
 *   calls N
 *
 * Every site is its own function called from main, so the caller of
 * operator new in a sampled stack names the site and the next frame is main
 * (extern "C": the same names as heap_sites', unmangled).
 */
#include <cstdio>
#include <new>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;
static unsigned long calls;

static void total(const char *site, unsigned long alloc, unsigned long inuse)
{
	std::printf("total %s alloc_bytes=%lu inuse_bytes=%lu\n", site, alloc, inuse);
}

struct Obj {
	long v[8]; /* 64 bytes */
};

struct alignas(64) Aligned {
	char b[4096];
};

extern "C" {

/* new char[4096] (operator new[]), every other one deleted: 256 MiB, 128
 * MiB in use. */
NOINLINE static void site_arrays(void)
{
	enum { N = 64 << 10 };
	static char *keep[N];

	for (int i = 0; i < N; i++)
		keep[i] = new char[4096];
	for (int i = 0; i < N; i += 2)
		delete[] keep[i];
	calls += N;
	sink = keep; /* escapes: g++ may not elide the allocations */
	total("site_arrays", (unsigned long)N * 4096, (unsigned long)N / 2 * 4096);
}

/* new Obj, 64 bytes, half of them nothrow; every fourth deleted (a sized
 * delete): 128 MiB, 96 MiB in use. */
NOINLINE static void site_objs(void)
{
	enum { N = 2 << 20 };
	static Obj *keep[N];

	for (int i = 0; i < N; i++)
		keep[i] = i & 1 ? new (std::nothrow) Obj : new Obj;
	for (int i = 0; i < N; i += 4)
		delete keep[i];
	calls += N;
	sink = keep;
	total("site_objs", (unsigned long)N * 64, (unsigned long)N / 4 * 3 * 64);
}

/* new of an over-aligned type (operator new(size_t, align_val_t)), each
 * deleted at once (the aligned sized delete): 64 MiB, none in use. */
NOINLINE static void site_aligned(void)
{
	enum { N = 16 << 10 };

	for (int i = 0; i < N; i++) {
		Aligned *a = new Aligned;

		sink = a;
		delete a;
	}
	calls += N;
	total("site_aligned", (unsigned long)N * sizeof(Aligned), 0);
}

} /* extern "C" */

int main(void)
{
	char line[16];

	std::setvbuf(stdout, NULL, _IOLBF, 0);
	std::printf("ready %d\n", (int)getpid());
	if (!std::fgets(line, sizeof(line), stdin))
		return 1;
	site_arrays();
	site_objs();
	site_aligned();
	std::printf("calls %lu\n", calls);
	return 0;
}
