// SPDX-License-Identifier: MIT
/*
 * A fixed amount of CPU-bound work on every CPU (one thread per CPU), with
 * a call tree a few frames deep; prints the wall time it took in seconds.
 * Usage: cpu_burn [MILLIONS_OF_ITERATIONS_PER_THREAD]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long iters;

__attribute__((noinline)) static unsigned long mix(unsigned long x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ul;
	return x ^ (x >> 27);
}

__attribute__((noinline)) static unsigned long level2(unsigned long x, long n)
{
	for (long i = 0; i < n; i++)
		x = mix(x + i);
	return x;
}

__attribute__((noinline)) static unsigned long level1(unsigned long x, long n)
{
	for (long i = 0; i < n / 1000; i++)
		x = level2(x, 1000);
	return x;
}

static void *worker(void *arg)
{
	unsigned long x = (unsigned long)arg;

	x = level1(x, iters);
	return (void *)x;
}

int main(int argc, char **argv)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t[256];
	struct timespec a, b;

	iters = (argc > 1 ? atol(argv[1]) : 200) * 1000000l;
	if (n > 256)
		n = 256;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.4f\n", b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
