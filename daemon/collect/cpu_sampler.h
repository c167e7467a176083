/* SPDX-License-Identifier: MIT */
/*
 * The CPU sampler: loads bpf/cpu.bpf.c, opens one cpu-clock perf event per
 * online CPU at the configured frequency, attaches the program to each, and
 * hands every record from the ring buffer to a callback.
 */
#ifndef PPROFD_CPU_SAMPLER_H
#define PPROFD_CPU_SAMPLER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "unwind_fds.h"

struct cpu_sampler;

/* The bytes of a record, from its counts (checked by the sampler). */
static inline size_t cpu_sample__size(const struct cpu_sample *s)
{
	return sizeof(*s) + (s->nr_kframes + s->nr_uframes) * 8ul +
	       (s->flags & CPU_F_USTACK ? s->ustack_len : 0);
}

typedef void (*cpu_sample_fn)(const struct cpu_sample *s, size_t size, void *ctx);

struct cpu_sampler_opts {
	unsigned frequency_hz;
	uint64_t ringbuf_bytes;
	uint32_t self_tgid; /* 0: profile pprofd too */
	/* The table unwinder (bpf/unwind.bpf.h): on, and its maps' sizes. */
	bool use_tables;
	uint32_t unwind_pool_slots, unwind_files, unwind_procs;
	bool time_samples; /* bpf_sample_timing: each sample's BPF time, in sample_times */
	cpu_sample_fn fn;
	void *ctx;
};

/* NULL + errno on failure (logged). */
struct cpu_sampler *cpu_sampler__new(const struct cpu_sampler_opts *o);
void cpu_sampler__free(struct cpu_sampler *s);
/* Reads the pending records until none is left or CLOCK_MONOTONIC passes
 * deadline_ns (0: none), so that a slow consumer still lets the loop turn.
 * Returns 1 when records were left, 0 when none, or -errno. */
int cpu_sampler__drain(struct cpu_sampler *s, uint64_t deadline_ns);
/* Polls readable when the ring is past its wake-up threshold. */
int cpu_sampler__fd(const struct cpu_sampler *s);
/* Sums of the per-CPU counters (enum cpu_counter). */
int cpu_sampler__counters(const struct cpu_sampler *s, uint64_t out[CPU_CNT_NR]);
/* Records user space rejected as malformed (should stay 0). */
uint64_t cpu_sampler__malformed(const struct cpu_sampler *s);
/* The table unwinder's maps (pool, files, procs); -1 each when off. */
struct unwind_fds cpu_sampler__unwind_fds(const struct cpu_sampler *s);
/* Whether pid's samples carry a stack copy to unwind by CFI: its
 * executable has no frame pointers (bpf/cpu.h). */
void cpu_sampler__set_nofp(struct cpu_sampler *s, uint32_t pid, bool on);

/*
 * A request's own sampling of one process at hz: a cpu-clock event on every
 * thread of pid, inherited by the threads and children they create, with
 * the request program attached (its records carry CPU_F_REQUEST). Other
 * processes pay nothing. NULL + errno (ESRCH: no such process).
 */
struct cpu_pid_events;
struct cpu_pid_events *cpu_sampler__attach_pid(struct cpu_sampler *s, uint32_t pid, unsigned hz,
					       unsigned max_threads);
void cpu_pid_events__free(struct cpu_pid_events *e);

#endif
