/* SPDX-License-Identifier: MIT */
/*
 * Shared between bpf/threads.bpf.c and the daemon: one record per thread of
 * the process a task iterator walks, written with bpf_seq_write and read
 * from the iterator's fd. A record is a struct threads_rec, nr_kframes
 * kernel return addresses, then ustack_len bytes: a struct ustack_hdr and
 * its data (bpf/ustack.h). Records follow each other with no padding.
 */
#ifndef PPROFD_THREADS_H
#define PPROFD_THREADS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ustack.h"

#define THREADS_MAX_KFRAMES 127 /* the kernel's perf callchain limit */
#define THREADS_COMM_LEN 16
#define THREADS_REC_MAGIC 0x74687231u /* "thr1": a record starts here */

/* record flags */
#define THREADS_F_ON_CPU (1u << 0)     /* running on a CPU right now: see threads.bpf.c */
#define THREADS_F_KTHREAD (1u << 1)    /* a kernel thread: no user stack */
#define THREADS_F_KSTACK_ERR (1u << 2) /* the kernel stack could not be read */

struct threads_rec {
	__u32 magic;
	__u32 size; /* of the whole record, this header included */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 state;                 /* task_struct.__state, as the kernel had it */
	__u32 exit_state;            /* task_struct.exit_state */
	__u32 flags;                 /* THREADS_F_* */
	__u16 nr_kframes;            /* __u64 kernel return addresses that follow, leaf first */
	__u16 ustack_len;            /* then a struct ustack_hdr and its data, in bytes */
	char comm[THREADS_COMM_LEN]; /* the thread's name */
	__u64 kframes[];
};

/* The largest record the program writes. */
#define THREADS_REC_MAX                                                                     \
	(sizeof(struct threads_rec) + THREADS_MAX_KFRAMES * 8 + sizeof(struct ustack_hdr) + \
	 USTACK_DATA_MAX)

#endif
