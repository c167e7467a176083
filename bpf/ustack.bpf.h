/* SPDX-License-Identifier: MIT */
/*
 * Capturing a struct ustack (bpf/ustack.h) of the current thread, or of
 * another one (ustack_capture_task), from the user registers it entered the
 * kernel with: the rbp chain and a copy of the top of its stack. Costs one
 * 1 KiB user read more than a plain frame-pointer walk; CPU samples use it
 * with a smaller copy, and only where it is needed (bpf/cpu.bpf.c).
 */
#ifndef PPROFD_USTACK_BPF_H
#define PPROFD_USTACK_BPF_H

#include "ustack.h"
#include "compat.bpf.h"
#include "stack.bpf.h"

/*
 * Reads user memory of the current thread (task NULL) or of another one.
 * Called with a constant task, so each caller keeps one branch: a
 * non-sleepable program never references bpf_copy_from_user_task, which
 * only sleepable ones may call.
 */
static __always_inline long ustack_read(void *dst, __u32 size, __u64 src, struct task_struct *task)
{
	if (task)
		return bpf_copy_from_user_task(dst, size, (void *)src, task, 0);
	return bpf_probe_read_user(dst, size, (void *)src);
}

/*
 * The capture of every variant, from user registers ip/sp/bp: snap is the
 * stack copy to try first (a constant: USTACK_SNAP_BYTES, or less where
 * each byte counts), USTACK_SNAP_SMALL the one to fall back to.
 */
static __always_inline __u32 ustack_capture_regs(__u64 ip, __u64 sp, __u64 bp, struct ustack_hdr *h,
						 void *data, struct task_struct *task, __u32 snap)
{
	struct ustack_fp *fps = data;
	__u64 fp = bp;
	__u32 n = 0, off, len;

	h->ip = ip;
	h->sp = sp;
	h->bp = bp;
	h->flags = 0;
	h->nr_fp = 0;
	h->snap_len = 0;
	if (!h->ip) {
		h->flags |= USTACK_F_NO_REGS;
		return 0;
	}
	/* The same walk and stopping rules as walk_user_fp(). */
	for (int i = 0; i < USTACK_MAX_FP; i++) {
		struct fp_frame f;

		if (fp < sp || (fp & 7) || fp - sp > FP_MAX_FRAME_BYTES)
			break;
		if (ustack_read(&f, sizeof(f), fp, task) || !f.ret)
			break;
		fps[i].addr = fp;
		fps[i].ret = f.ret;
		n = i + 1;
		sp = fp + sizeof(f);
		fp = f.next_fp;
	}
	h->nr_fp = n;
	off = n * sizeof(struct ustack_fp);
	if (off > USTACK_MAX_FP * sizeof(struct ustack_fp))
		return off; /* for the verifier: cannot happen */
	len = snap;
	if (ustack_read(data + off, snap, h->sp, task)) {
		/* near the top of the stack mapping: try less */
		len = USTACK_SNAP_SMALL;
		if (snap <= USTACK_SNAP_SMALL ||
		    ustack_read(data + off, USTACK_SNAP_SMALL, h->sp, task)) {
			h->flags |= USTACK_F_SNAP_ERR;
			len = 0;
		}
	}
	h->snap_len = len;
	return off + len;
}

/*
 * The same for another thread (of any process), from the user registers it
 * saved at its last kernel entry, reading its memory through its mm. Only
 * from sleepable programs (bpf_copy_from_user_task may fault pages in); the
 * thread is neither stopped nor traced. For a thread running on a CPU these
 * registers are from its last kernel entry, not where it is now.
 */
static __always_inline __u32 ustack_capture_task(struct task_struct *task, struct ustack_hdr *h,
						 void *data)
{
	struct pt_regs *ur = (struct pt_regs *)bpf_task_pt_regs(task);

	return ustack_capture_regs(BPF_CORE_READ(ur, ip), BPF_CORE_READ(ur, sp),
				   BPF_CORE_READ(ur, bp), h, data, task, USTACK_SNAP_BYTES);
}

#endif
