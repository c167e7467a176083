// SPDX-License-Identifier: MIT
/*
 * CPU time in an executable built the way most C is (gcc -O2, no frame
 * pointers; the Makefile builds this one with -fomit-frame-pointer): a
 * chain main -> run -> stage_one -> stage_two -> {heavy, light}, the two
 * leaves sharing the CPU ~75/25. A frame-pointer walk stops at the leaf;
 * unwinding by .eh_frame reaches main.
 *
 * Usage: cpu_nofp SECONDS; prints "pid N" at start and, at exit, the time
 * each leaf took: "total heavy ns=N", "total light ns=N".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static unsigned long long heavy_ns, light_ns;

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* Locals the compiler keeps on the stack, so frames are not empty. */
__attribute__((noinline)) void heavy(unsigned n)
{
	volatile unsigned long a[8] = { 0 };

	for (unsigned i = 0; i < n; i++)
		a[i & 7] += i * 2654435761u;
	sink += a[3];
}

__attribute__((noinline)) void light(unsigned n)
{
	volatile unsigned long a[4] = { 0 };

	for (unsigned i = 0; i < n; i++)
		a[i & 3] ^= i * 40503u;
	sink += a[1];
}

__attribute__((noinline)) void stage_two(unsigned n)
{
	volatile char pad[64];
	unsigned long long t0 = now_ns(), t1, t2;

	pad[n & 63] = 1;
	heavy(3 * n);
	t1 = now_ns();
	light(n);
	t2 = now_ns();
	heavy_ns += t1 - t0;
	light_ns += t2 - t1;
	sink += pad[0];
}

__attribute__((noinline)) void stage_one(unsigned n)
{
	volatile char pad[96];

	pad[n % 96] = 2;
	stage_two(n);
	sink += pad[1];
}

__attribute__((noinline)) void run(double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		stage_one(100000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv)
{
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	run(argc > 1 ? atof(argv[1]) : 5);
	printf("total heavy ns=%llu\ntotal light ns=%llu\n", heavy_ns, light_ns);
	return 0;
}
