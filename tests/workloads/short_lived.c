// SPDX-License-Identifier: MIT
/* Spins for MS milliseconds of CPU (default 25) in shortlived_spin, then
 * exits: a process that is gone long before a profile window ends. */
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) void shortlived_spin(double ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		for (int i = 0; i < 20000; i++)
			sink = sink * 6364136223846793005ul + i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6 < ms);
}

int main(int argc, char **argv)
{
	shortlived_spin(argc > 1 ? atof(argv[1]) : 25);
	return 0;
}
