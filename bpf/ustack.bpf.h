/* SPDX-License-Identifier: MIT */
/*
 * Capturing a struct ustack (bpf/ustack.h) of the current thread, or of
 * another one (ustack_capture_task), from the user registers it entered the
 * kernel with: the rbp chain and a copy of the top of its stack. Costs one
 * 1 KiB user read more than a plain frame-pointer walk, which is why CPU
 * samples do not use it (yet).
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

/* The capture of ustack_capture() and ustack_capture_task(). */
static __always_inline __u32 __ustack_capture(struct pt_regs *ur, struct ustack_hdr *h, void *data,
					      struct task_struct *task)
{
	struct ustack_fp *fps = data;
	__u64 fp, sp;
	__u32 n = 0, off, len;

	h->ip = BPF_CORE_READ(ur, ip);
	h->sp = sp = BPF_CORE_READ(ur, sp);
	h->bp = fp = BPF_CORE_READ(ur, bp);
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
	len = USTACK_SNAP_BYTES;
	if (ustack_read(data + off, USTACK_SNAP_BYTES, h->sp, task)) {
		/* near the top of the stack mapping: try less */
		len = USTACK_SNAP_SMALL;
		if (ustack_read(data + off, USTACK_SNAP_SMALL, h->sp, task)) {
			h->flags |= USTACK_F_SNAP_ERR;
			len = 0;
		}
	}
	h->snap_len = len;
	return off + len;
}

/*
 * Fills h and data (USTACK_DATA_MAX bytes: the frame records, then the
 * stack copy) from user registers ur of the current thread; returns the
 * bytes of data used.
 */
static __always_inline __u32 ustack_capture(struct pt_regs *ur, struct ustack_hdr *h, void *data)
{
	return __ustack_capture(ur, h, data, NULL);
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
	return __ustack_capture((struct pt_regs *)bpf_task_pt_regs(task), h, data, task);
}

#endif
