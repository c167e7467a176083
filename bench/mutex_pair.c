// SPDX-License-Identifier: MIT
/*
 * ns per uncontended pthread_mutex_lock+unlock pair, and per contended
 * hand-off between two threads. Reads a count from stdin, answers the ns per
 * pair, so one process can be measured with and without a profiler on it.
 * Prints "pid N" first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* a second thread alive, so glibc takes its multi-threaded paths */
static void *idle(void *arg)
{
	pause();
	return NULL;
}

int main(void)
{
	pthread_t t;
	long n;

	pthread_create(&t, NULL, idle, NULL);
	printf("pid %d\n", getpid());
	fflush(stdout);
	while (scanf("%ld", &n) == 1) {
		double t0 = now();

		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(&m);
			__asm__ volatile("" ::: "memory");
			pthread_mutex_unlock(&m);
		}
		printf("%.2f\n", (now() - t0) / n);
		fflush(stdout);
	}
	return 0;
}
