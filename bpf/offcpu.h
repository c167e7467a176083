/* SPDX-License-Identifier: MIT */
/*
 * Shared between bpf/offcpu.bpf.c and the daemon: the off-CPU (block)
 * records. When a thread of a target process leaves the CPU of its own
 * accord (it sleeps, waits for I/O, a futex, a pipe), OFFCPU_EV_OUT carries
 * where it was (kernel stack, then a struct ustack); when it runs again,
 * OFFCPU_EV_IN carries how long it was away, naming the OUT by its time.
 */
#ifndef PPROFD_OFFCPU_H
#define PPROFD_OFFCPU_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ustack.h"

#define OFFCPU_MAX_KFRAMES 64
#define OFFCPU_COMM_LEN 16

enum offcpu_event_type {
	OFFCPU_EV_OUT = 1,
	OFFCPU_EV_IN = 2,
};

struct offcpu_event {
	__u32 type; /* enum offcpu_event_type */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 state;    /* OUT: the task state it left in (TASK_INTERRUPTIBLE, ...) */
	__u64 time_ns;  /* OUT: when it left the CPU; IN: that same time, its key */
	__u64 delay_ns; /* IN: how long it was off CPU */
	/* OUT only from here */
	char comm[OFFCPU_COMM_LEN];
	__u16 ustack_len; /* a struct ustack_hdr and its data, this long, ... */
	__u16 nr_kframes; /* ... then the kernel frames (__u64), leaf first */
	__u32 flags;
	/* struct ustack_hdr; its data; __u64 kframes[nr_kframes] */
};

#define OFFCPU_IN_SIZE (__builtin_offsetof(struct offcpu_event, comm))

#define OFFCPU_F_KSTACK_ERR (1u << 0)

enum offcpu_counter {
	OFFCPU_CNT_SWITCHES,     /* switches of a target thread seen */
	OFFCPU_CNT_OUT,          /* OUT records sent */
	OFFCPU_CNT_IN,           /* IN records sent */
	OFFCPU_CNT_DROP_RINGBUF, /* records lost: the ring buffer was full */
	OFFCPU_CNT_NO_STORAGE,   /* a thread's storage could not be made */
	OFFCPU_CNT_NR,
};

/* Per-CPU scratch: one OUT record at its largest, and the counters. */
struct offcpu_percpu {
	struct offcpu_event e;
	struct ustack_hdr uh;
	__u8 data[USTACK_DATA_MAX + OFFCPU_MAX_KFRAMES * 8];
	__u64 counters[OFFCPU_CNT_NR];
};

#endif
