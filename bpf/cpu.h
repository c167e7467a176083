/* SPDX-License-Identifier: MIT */
/*
 * Shared between bpf/cpu.bpf.c and the daemon: one record per CPU sample,
 * streamed through a ring buffer, and the per-CPU counters of what was
 * sampled and what was dropped (and why).
 */
#ifndef PPROFD_CPU_H
#define PPROFD_CPU_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CPU_MAX_FRAMES 127 /* per stack; the kernel's perf callchain limit */
#define CPU_COMM_LEN 16

/* sample flags */
#define CPU_F_KSTACK_ERR (1u << 0) /* the kernel stack could not be read */
#define CPU_F_USTACK_ERR (1u << 1) /* the user stack could not be read */
#define CPU_F_KTHREAD (1u << 2)    /* a kernel thread: no user stack expected */
#define CPU_F_REQUEST (1u << 3)    /* from a request's own per-thread event */

struct cpu_sample {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 cpu;
	__u16 nr_kframes; /* kernel frames first in frames[] ... */
	__u16 nr_uframes; /* ... then user frames; leaf first in each */
	__u32 flags;
	__u32 weight; /* periods this sample stands for (1 but for requests) */
	char comm[CPU_COMM_LEN]; /* thread name; the process's comes from the side band */
	__u64 frames[];
};

enum cpu_counter {
	CPU_CNT_SAMPLES,      /* samples sent to user space */
	CPU_CNT_IDLE,         /* the CPU was idle (pid 0): not a sample of anyone */
	CPU_CNT_SELF,         /* pprofd's own samples, skipped */
	CPU_CNT_DROP_RINGBUF, /* dropped: the ring buffer was full */
	CPU_CNT_KSTACK_ERR,   /* sent without kernel stack: it could not be read */
	CPU_CNT_USTACK_ERR,   /* sent without user stack: it could not be read */
	CPU_CNT_NR,
};

/* The program's per-CPU state (one PERCPU_ARRAY element): scratch for one
 * record at its largest, and the counters, kept in the value every sample
 * touches anyway rather than in a map of their own (one cold line less). */
struct cpu_percpu {
	struct cpu_sample s;
	__u64 frames[2 * CPU_MAX_FRAMES];
	__u64 seq; /* samples of this CPU, for the ring's wake-up check */
	__u64 counters[CPU_CNT_NR];
};

#endif
