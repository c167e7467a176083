// SPDX-License-Identifier: MIT
/*
 * A workload that knows its own CPU profile: alpha, beta and gamma_fn burn
 * CPU in a 5:3:2 ratio, each measuring the thread CPU time it really got.
 * Prints "NAME PERCENT" lines at the end, and its pid at the start.
 * Usage: cpu_shares SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static double spent[3];

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spins for `sec` of CPU time; the clock is read rarely so that nearly every
 * sample lands in the spinning function itself. */
#define SPIN_BODY(idx)                                           \
	double t0 = thread_cpu(), t;                             \
	do {                                                     \
		for (int i = 0; i < 200000; i++)                 \
			sink = sink * 6364136223846793005ul + i; \
		t = thread_cpu();                                \
	} while (t - t0 < sec);                                  \
	spent[idx] += t - t0

__attribute__((noinline)) void alpha(double sec)
{
	SPIN_BODY(0);
}
__attribute__((noinline)) void beta(double sec)
{
	SPIN_BODY(1);
}
__attribute__((noinline)) void gamma_fn(double sec)
{
	SPIN_BODY(2);
}

/*
 * sec, scaled by a draw from [0.5, 1.5). A fixed 10 ms cycle beats with a
 * 199 Hz sampler (two samples a cycle, drifting by 0.05 ms): the samples
 * then walk the cycle's phases once a second, and a few milliseconds of
 * preemption skew which phases they see (beta read 25 % against 30 %
 * measured on a busy CI machine). Random lengths make each sample's
 * phase independent of the last; the shares are measured all the same.
 */
static double jitter(double sec)
{
	static unsigned long x = 88172645463325252ul;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return sec * (0.5 + (double)(x >> 11) / 9007199254740992.0);
}

__attribute__((noinline)) void run(double seconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		alpha(jitter(0.005));
		beta(jitter(0.003));
		gamma_fn(jitter(0.002));
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5, total;

	printf("pid %d\n", getpid());
	fflush(stdout);
	run(seconds);
	total = spent[0] + spent[1] + spent[2];
	printf("alpha %.2f\nbeta %.2f\ngamma_fn %.2f\n", 100 * spent[0] / total,
	       100 * spent[1] / total, 100 * spent[2] / total);
	return 0;
}
