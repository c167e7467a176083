/* SPDX-License-Identifier: MIT */
/*
 * Shared between bpf/mutex.bpf.c and the daemon: lock contention (the
 * `mutex` kind) seen at the futex calls of the target processes.
 *
 * MUTEX_EV_WAKE: a thread woke waiters of a futex (it released a contended
 * lock); it carries the waker's user stack and an id. MUTEX_EV_WAITED: a
 * waiter was woken after waiting delay_ns; it names the id of the last
 * wake of its futex, so user space adds the delay to the waker's stack,
 * as Go's mutex profile does.
 */
#ifndef PPROFD_MUTEX_H
#define PPROFD_MUTEX_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ustack.h"

#define MUTEX_COMM_LEN 16
#define MUTEX_MAX_FUTEXES 16384 /* contended futexes tracked at once (LRU) */

enum mutex_event_type {
	MUTEX_EV_WAKE = 1,
	MUTEX_EV_WAITED = 2,
};

struct mutex_event {
	__u32 type; /* enum mutex_event_type */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 pad;
	__u64 time_ns;
	__u64 uaddr;    /* the futex */
	__u64 wake_id;  /* WAKE: its id; WAITED: the wake that ended the wait (0: unknown) */
	__u64 delay_ns; /* WAITED: how long the waiter waited */
	/* WAKE only from here */
	char comm[MUTEX_COMM_LEN];
	__u32 ustack_len; /* a struct ustack_hdr and its data follow, this long */
	__u32 pad2;
};

#define MUTEX_WAITED_SIZE (__builtin_offsetof(struct mutex_event, comm))

/* The futexes of the targets that have waiters: key and value. */
struct mutex_key {
	__u32 tgid;
	__u32 pad;
	__u64 uaddr;
};

struct mutex_state {
	__u32 waiters;
	__u32 pad;
	__u64 last_wake;
};

enum mutex_counter {
	MUTEX_CNT_WAITS,        /* futex waits of target threads */
	MUTEX_CNT_WAITED,       /* WAITED records sent (woken waits) */
	MUTEX_CNT_WAKES,        /* WAKE records sent (wakes with waiters) */
	MUTEX_CNT_DROP_RINGBUF, /* records lost: the ring buffer was full */
	MUTEX_CNT_NO_STORAGE,   /* a thread's or futex's state could not be made */
	MUTEX_CNT_NR,
};

struct mutex_percpu {
	struct mutex_event e;
	struct ustack_hdr uh;
	__u8 data[USTACK_DATA_MAX];
	__u64 next_id; /* wake ids: this counter, and the CPU in the top bits */
	__u64 counters[MUTEX_CNT_NR];
};

#endif
