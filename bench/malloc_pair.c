// SPDX-License-Identifier: MIT
/*
 * malloc(64)+free in a tight loop. Prints "ready PID", then for each line
 * "N" read from stdin runs N pairs and prints the ns per pair, so that a
 * profiler can be attached and detached between runs of one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink; /* keeps gcc from eliding the pair */

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		long n = atol(line);
		struct timespec a, b;

		if (n <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++) {
			sink = malloc(64);
			free(sink);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	}
	return 0;
}
