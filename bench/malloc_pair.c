// SPDX-License-Identifier: MIT
/*
 * malloc(64)+free in a tight loop, one pair an operation of alloc_bench.h's
 * protocol, so that a profiler can be attached and detached between runs
 * of one process.
 */
#include "alloc_bench.h"

static void *volatile sink; /* keeps gcc from eliding the pair */

static void pair(void)
{
	sink = malloc(64);
	free(sink);
}

int main(void)
{
	alloc_bench_main(pair);
	return 0;
}
