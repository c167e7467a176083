// SPDX-License-Identifier: MIT
/*
 * A deep stack in code without frame pointers (the Makefile builds this
 * one -O2 -fomit-frame-pointer): main -> descend x DEPTH -> spin. Each
 * frame keeps locals on the stack, so the stack from the leaf to main is
 * a few KiB: more than any stack copy BPF sends (512 bytes); only an
 * unwinder that walks the stack itself reaches main.
 *
 * Usage: cpu_deep SECONDS [DEPTH]; prints "pid N" at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void spin(double seconds)
{
	double t0 = cpu_now();

	do
		for (int i = 0; i < 100000; i++)
			sink = sink * 6364136223846793005ul + i;
	while (cpu_now() - t0 < seconds);
}

__attribute__((noinline)) static unsigned long descend(int n, double seconds)
{
	volatile unsigned long a[6] = {(unsigned long)n};

	if (n > 0)
		a[1] = descend(n - 1, seconds);
	else
		spin(seconds);
	return a[0] + a[1];
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	int depth = argc > 2 ? atoi(argv[2]) : 60;

	printf("pid %d\n", getpid());
	fflush(stdout);
	sink += descend(depth, seconds);
	return 0;
}
