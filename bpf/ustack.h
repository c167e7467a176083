/* SPDX-License-Identifier: MIT */
/*
 * A user stack as captured where the frame-pointer walk alone is not
 * enough: at a kernel entry (futex, sleep, read, a context switch) the
 * thread is inside libc, which Debian builds without frame pointers, so
 * the walk from rbp skips the very frames we want (the program function
 * that called into libc). Besides the frame-pointer chain, BPF copies the
 * top of the stack; user space unwinds the libc frames from that copy with
 * the .eh_frame rules of the module (daemon/process/unwind.c) and joins the chain
 * where the two meet.
 *
 * Shared by every BPF program that captures such stacks and the daemon.
 * In a record, a struct ustack_hdr is followed by nr_fp struct ustack_fp,
 * then snap_len bytes of stack copied from sp; or, where the unwind
 * tables took the stack (USTACK_F_WALKED), by nr_fp return addresses.
 */
#ifndef PPROFD_USTACK_H
#define PPROFD_USTACK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define USTACK_MAX_FP 127      /* frame records walked from rbp */
#define USTACK_SNAP_BYTES 1024 /* stack bytes copied from sp; a power of 2 */
#define USTACK_SNAP_SMALL 256  /* tried when the large copy faults */

/* One frame record of the rbp chain: where it is and the return address
 * it holds ([addr] is the next record's addr, [addr + 8] is ret). */
struct ustack_fp {
	__u64 addr;
	__u64 ret;
};

struct ustack_hdr {
	__u64 ip, sp, bp; /* the user registers (at kernel entry, or probed) */
	__u16 nr_fp;      /* struct ustack_fp that follow */
	__u16 snap_len;   /* bytes of stack from sp that follow them */
	__u32 flags;      /* USTACK_F_* */
};

#define USTACK_F_NO_REGS (1u << 0)  /* no user registers (a kernel thread) */
#define USTACK_F_SNAP_ERR (1u << 1) /* the stack could not be copied */
/* Walked in BPF from the unwind tables (bpf/unwind.bpf.h): the data is
 * nr_fp return addresses (ip first), no records and no copy. */
#define USTACK_F_WALKED (1u << 2)
/* Tables are on but the walker lacked this process or a mapping it
 * reached: a copy, and the daemon's cue to make the process's entry. */
#define USTACK_F_WALK_MISS (1u << 3)

/* The largest variable part after the header. */
#define USTACK_DATA_MAX (USTACK_MAX_FP * sizeof(struct ustack_fp) + USTACK_SNAP_BYTES)

#ifndef __bpf__
/* A ustack that follows a record (input: checked before use): its header
 * and data must fit in len. */
static inline int ustack_fits(const struct ustack_hdr *h, unsigned long len)
{
	if (len < sizeof(*h))
		return 0;
	len -= sizeof(*h);
	if (h->flags & USTACK_F_WALKED)
		return h->nr_fp <= USTACK_MAX_FP && !h->snap_len && h->nr_fp * 8ul <= len;
	return h->nr_fp <= USTACK_MAX_FP && h->snap_len <= USTACK_SNAP_BYTES &&
	       h->nr_fp * sizeof(struct ustack_fp) + h->snap_len <= len;
}
#endif

#endif
