// SPDX-License-Identifier: MIT
/*
 * A workload whose hot code is an inlined function: mix_hot() is inlined
 * into spin_outer() (built -O2 -g), so nearly every sample is at a line of
 * mix_hot that only DWARF inline frames can name. Prints its pid first.
 * Usage: cpu_inline SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static inline __attribute__((always_inline)) unsigned long mix_hot(unsigned long x)
{
	for (int i = 0; i < 1000; i++)
		x = (x ^ (x >> 13)) * 6364136223846793005ul + i; /* HOT LINE */
	return x;
}

__attribute__((noinline)) static void spin_outer(double seconds)
{
	struct timespec a, b;
	unsigned long acc = 1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int j = 0; j < 1000; j++)
			acc = mix_hot(acc + sink); /* CALL LINE */
		sink = acc;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv)
{
	printf("pid %d\n", getpid());
	fflush(stdout);
	spin_outer(argc > 1 ? atof(argv[1]) : 5);
	return 0;
}
