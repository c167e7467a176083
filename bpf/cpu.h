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

#include "ustack.h"

#define CPU_MAX_FRAMES 127 /* per stack; the kernel's perf callchain limit */
#define CPU_COMM_LEN 16

/* sample flags */
#define CPU_F_KSTACK_ERR (1u << 0) /* the kernel stack could not be read */
#define CPU_F_USTACK_ERR (1u << 1) /* the user stack could not be read */
#define CPU_F_KTHREAD (1u << 2)    /* a kernel thread: no user stack expected */
#define CPU_F_REQUEST (1u << 3)    /* from a request's own per-thread event */
#define CPU_F_USTACK (1u << 4)     /* the user stack is a struct ustack, not frames */
#define CPU_F_TABLES (1u << 5)     /* the user frames are the table unwinder's */

/*
 * A sample whose user pc is outside the executable's text (in libc or
 * another shared library, which may have no frame pointers) carries its
 * user stack as a struct ustack (bpf/ustack.h) with a stack copy of this
 * many bytes, so the daemon can unwind it through the library's .eh_frame;
 * one in the executable carries the frame-pointer walk's frames. The copy
 * costs ~0.2 us of BPF time, paid only by the samples that need it.
 */
#define CPU_SNAP_BYTES 256
/* A process whose executable has no frame pointers (-O2 C: the daemon
 * finds out from its .eh_frame and sets its bit in the program's nofp[])
 * gets the copy on every sample, and a larger one: the frame-pointer walk
 * would stop at the first frame. 512 bytes costs what the walk costs
 * (~1.9 us a sample here); 1 KiB cost ~0.4 us more, and most of a Debian
 * host's executables are built without frame pointers. */
#define CPU_SNAP_BYTES_NOFP 512

/*
 * bpf_sample_timing (a benchmark's aid, off by default: two clock reads a
 * sample): each sample's BPF time counted in the sample_times map, bucket
 * b holding [b, b + 1) * CPU_TIME_BUCKET_NS, the last everything longer;
 * the continuous program's buckets first, then the requests'.
 */
#define CPU_TIME_BUCKETS 128
#define CPU_TIME_BUCKET_NS 250

struct cpu_sample {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 cpu;
	__u16 nr_kframes; /* kernel frames first in frames[] ... */
	__u16 nr_uframes; /* ... then user frames; leaf first in each */
	__u32 flags;
	__u32 weight;            /* periods this sample stands for (1 but for requests) */
	__u32 ustack_len;        /* CPU_F_USTACK: a struct ustack_hdr and its data, this long,
			   * after the kernel frames (nr_uframes is 0) */
	char comm[CPU_COMM_LEN]; /* thread name; the process's comes from the side band */
	__u64 frames[];
};

#define CPU_USTACK_MAX \
	(sizeof(struct ustack_hdr) + USTACK_MAX_FP * sizeof(struct ustack_fp) + CPU_SNAP_BYTES_NOFP)

enum cpu_counter {
	CPU_CNT_SAMPLES,      /* samples sent to user space */
	CPU_CNT_IDLE,         /* the CPU was idle (pid 0): not a sample of anyone */
	CPU_CNT_SELF,         /* pprofd's own samples, skipped */
	CPU_CNT_DROP_RINGBUF, /* dropped: the ring buffer was full */
	CPU_CNT_KSTACK_ERR,   /* sent without kernel stack: it could not be read */
	CPU_CNT_USTACK_ERR,   /* sent without user stack: it could not be read */
	/* The table unwinder (bpf/unwind.bpf.h): walks by how they ended. */
	CPU_CNT_WALK_WHOLE,    /* reached the stack's start (or a STOP row there) */
	CPU_CNT_WALK_NO_MAP,   /* a pc in no known mapping: the stack-copy path took it */
	CPU_CNT_WALK_NO_TABLE, /* a mapping whose table is not loaded: the stack-copy path */
	CPU_CNT_WALK_CUT,      /* a read failed or a bad CFA: what it had */
	CPU_CNT_WALK_NO_PROC,  /* a process without entry: the stack-copy path */
	CPU_CNT_WALK_DEPTH,    /* cut at 127 frames (the walk's bound) */
	CPU_CNT_NR,
};

/* The program's per-CPU state (one PERCPU_ARRAY element): scratch for one
 * record at its largest, and the counters, kept in the value every sample
 * touches anyway rather than in a map of their own (one cold line less). */
struct cpu_percpu {
	struct cpu_sample s;
	__u64 frames[CPU_MAX_FRAMES + CPU_USTACK_MAX / 8];
	__u64 seq;                /* samples of this CPU, for the ring's wake-up check */
	__u64 no_entry_wakeup_ns; /* when a sample without a walker's entry last woke user space */
	__u64 counters[CPU_CNT_NR];
};

#endif
