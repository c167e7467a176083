// SPDX-License-Identifier: MIT
/*
 * malloc(64)+free pairs from THREADS threads at once, for
 * bench/heap_preload.sh: whether an allocation sampler shares a cache line
 * between threads on its fast path (they would slow each other down).
 *   malloc_threads THREADS PAIRS [wait]   prints "<seconds> <ns per pair per
 *   thread>"; with wait, first "ready PID" and waits for a line on stdin (a
 *   profiler attaches meanwhile)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long pairs;

static void *work(void *arg)
{
	for (long i = 0; i < pairs; i++) {
		void *volatile p = malloc(64);

		free(p);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	struct timespec a, b;
	pthread_t t[256];
	double s;

	pairs = argc > 2 ? atol(argv[2]) : 10000000;
	if (n < 1 || n > 256 || pairs < 1)
		return 2;
	if (argc > 3 && !strcmp(argv[3], "wait")) {
		char line[16];

		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, work, NULL))
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.4f %.2f\n", s, s * 1e9 / pairs);
	return 0;
}
