/* SPDX-License-Identifier: MIT */
/*
 * The host's processes by their CPU samples in the last window and the
 * one before (cpu_ranks.c), kept at each window's end for the page that
 * shows people which processes to look at (the HTTP index).
 */
#ifndef PPROFD_CPU_RANKS_H
#define PPROFD_CPU_RANKS_H

#include <stdint.h>

struct collection;

struct cpu_rank {
	uint32_t pid;
	uint64_t samples; /* in the window */
};

struct cpu_window_ranks {
	struct cpu_rank *r; /* by pid, each once */
	unsigned n;
	int64_t duration_ns; /* the window's */
};

struct cpu_ranks {
	struct cpu_window_ranks last, prev;
};

/* The window's collection c (cpu, every process) ranked into last; last
 * becomes prev. Out of memory: last is empty. */
void cpu_ranks__window_end(struct cpu_ranks *r, const struct collection *c, int64_t duration_ns);
/* pid's samples in w (0: none). */
uint64_t cpu_ranks__samples(const struct cpu_window_ranks *w, uint32_t pid);
void cpu_ranks__free(struct cpu_ranks *r);

#endif
