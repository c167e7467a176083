/* SPDX-License-Identifier: MIT */
/*
 * Shared between bpf/block.bpf.c and the daemon: the off-CPU (block)
 * records. When a thread of a target process leaves the CPU of its own
 * accord (it sleeps, waits for I/O, a futex, a pipe), BLOCK_EV_OUT carries
 * where it was (kernel stack, then a struct ustack); when it runs again,
 * BLOCK_EV_IN carries how long it was away, naming the OUT by its time.
 */
#ifndef PPROFD_BLOCK_H
#define PPROFD_BLOCK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ustack.h"

#define BLOCK_MAX_KFRAMES 64
#define BLOCK_COMM_LEN 16

enum block_event_type {
	BLOCK_EV_OUT = 1,
	BLOCK_EV_IN = 2,
};

struct block_event {
	__u32 type; /* enum block_event_type */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 state;    /* OUT: the task state it left in (TASK_INTERRUPTIBLE, ...) */
	__u64 time_ns;  /* OUT: when it left the CPU; IN: that same time, its key */
	__u64 delay_ns; /* IN: how long it was off CPU */
	/* OUT only from here */
	char comm[BLOCK_COMM_LEN];
	__u16 ustack_len; /* a struct ustack_hdr and its data, this long, ... */
	__u16 nr_kframes; /* ... then the kernel frames (__u64), leaf first */
	__u32 flags;
	/* struct ustack_hdr; its data; __u64 kframes[nr_kframes] */
};

#define BLOCK_IN_SIZE (__builtin_offsetof(struct block_event, comm))

#define BLOCK_F_KSTACK_ERR (1u << 0)

enum block_counter {
	BLOCK_CNT_SWITCHES,     /* switches of a target thread seen */
	BLOCK_CNT_OUT,          /* OUT records sent */
	BLOCK_CNT_IN,           /* IN records sent */
	BLOCK_CNT_DROP_RINGBUF, /* records lost: the ring buffer was full */
	BLOCK_CNT_NO_STORAGE,   /* a thread's storage could not be made */
	BLOCK_CNT_NR,
};

/* Per-CPU scratch: one OUT record at its largest, and the counters. */
struct block_percpu {
	struct block_event e;
	struct ustack_hdr uh;
	__u8 data[USTACK_DATA_MAX + BLOCK_MAX_KFRAMES * 8];
	__u64 counters[BLOCK_CNT_NR];
};

#endif
