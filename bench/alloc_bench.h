/* SPDX-License-Identifier: MIT */
/*
 * What the allocation-heavy workloads (alloc_heavy.c, alloc_tree.c) share:
 * the random source, the size draw and the protocol bench/heap.sh speaks.
 *
 * alloc_bench_main() prints "ready PID", so that a profiler can attach
 * before the timed work starts (heaptrack, which is preloaded, sees the
 * fill too, but it is not timed); then for each line "N [K]" read from
 * stdin it runs N operations, with a bare system call after every K-th
 * where K is given (what entering the kernel alone costs the program: the
 * floor of any probe that fires as often), and prints
 *
 *   <seconds> <ns per operation> <checksum> <CPU ns per operation>
 *
 * the last from the process's CPU time (user and system, the probes' BPF
 * included), which waiting for a CPU does not count. "0" or EOF ends it.
 */
#ifndef PPROFD_BENCH_ALLOC_BENCH_H
#define PPROFD_BENCH_ALLOC_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull, checksum;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* 16 B..4 KiB, log-uniform: as many blocks of 16-32 B as of 2-4 KiB; at
 * least min. */
static uint32_t rand_size(uint32_t min)
{
	uint64_t r = next_rand();
	unsigned shift = 4 + r % 8; /* 16 .. 2048 */
	uint32_t size = (1u << shift) + (uint32_t)((r >> 8) & ((1u << shift) - 1));

	return size < min ? min : size;
}

static void alloc_bench_main(void (*op)(void))
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		long n = 0, every = 0;
		struct timespec a, b, ca, cb;
		double s, cpu;

		if (sscanf(line, "%ld %ld", &n, &every) < 1 || n <= 0)
			break;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++) {
			op();
			if (every > 0 && i % every == 0)
				syscall(SYS_getppid);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
		s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		cpu = (cb.tv_sec - ca.tv_sec) + (cb.tv_nsec - ca.tv_nsec) / 1e9;
		printf("%.4f %.1f %llu %.1f\n", s, s * 1e9 / n, (unsigned long long)checksum,
		       cpu * 1e9 / n);
	}
}

#endif
