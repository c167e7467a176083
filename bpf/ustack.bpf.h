/* SPDX-License-Identifier: MIT */
/*
 * Capturing a struct ustack (bpf/ustack.h) of the current thread, from the
 * user registers it entered the kernel with: the rbp chain and a copy of
 * the top of its stack. Costs one 1 KiB user read more than a plain
 * frame-pointer walk, which is why CPU samples do not use it (yet).
 */
#ifndef PPROFD_USTACK_BPF_H
#define PPROFD_USTACK_BPF_H

#include "ustack.h"
#include "compat.bpf.h"
#include "stack.bpf.h"

/*
 * Fills h and data (USTACK_DATA_MAX bytes: the frame records, then the
 * stack copy) from user registers ur; returns the bytes of data used.
 */
static __always_inline __u32 ustack_capture(struct pt_regs *ur, struct ustack_hdr *h, void *data)
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
		if (bpf_probe_read_user(&f, sizeof(f), (void *)fp) || !f.ret)
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
	if (bpf_probe_read_user(data + off, USTACK_SNAP_BYTES, (void *)h->sp)) {
		/* near the top of the stack mapping: try less */
		len = USTACK_SNAP_SMALL;
		if (bpf_probe_read_user(data + off, USTACK_SNAP_SMALL, (void *)h->sp)) {
			h->flags |= USTACK_F_SNAP_ERR;
			len = 0;
		}
	}
	h->snap_len = len;
	return off + len;
}

#endif
