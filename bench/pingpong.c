// SPDX-License-Identifier: MIT
/*
 * A context-switch-heavy workload: two threads of one process hand a byte
 * back and forth over two pipes; every hand-off is a block and a wake-up of
 * each. Reads a round count from stdin, answers the ns per round trip.
 * Prints "pid N" first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int ab[2], ba[2];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *echo(void *arg)
{
	char c;

	while (read(ab[0], &c, 1) == 1)
		if (write(ba[1], &c, 1) != 1)
			break;
	return NULL;
}

int main(void)
{
	pthread_t t;
	long n;
	char c = 'x';

	if (pipe(ab) || pipe(ba))
		return 1;
	pthread_create(&t, NULL, echo, NULL);
	printf("pid %d\n", getpid());
	fflush(stdout);
	while (scanf("%ld", &n) == 1) {
		double t0 = now();

		for (long i = 0; i < n; i++)
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				return 1;
		printf("%.0f\n", (now() - t0) / n);
		fflush(stdout);
	}
	return 0;
}
