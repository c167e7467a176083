/* SPDX-License-Identifier: MIT */
/*
 * How stacks are captured, in one place. Today: the kernel's frame-pointer
 * walk (bpf_get_stack) for user code and the ORC unwinder for the kernel.
 * A DWARF/.eh_frame unwinder for code without frame pointers replaces
 * capture_user_stack() and nothing else.
 */
#ifndef PPROFD_STACK_BPF_H
#define PPROFD_STACK_BPF_H

#include "compat.bpf.h"

/* A frame record as the frame-pointer ABI lays it out: saved fp, return
 * address. */
struct fp_frame {
	__u64 next_fp;
	__u64 ret;
};

/* Frames are at most this far apart; a larger jump is a garbage fp. */
#define FP_MAX_FRAME_BYTES (1ull << 20)

/* At most this many user frames per stack (the kernel's perf callchain limit). */
#define USER_MAX_FRAMES 127

/*
 * Walks the user frame-pointer chain from a user ip/fp/sp and writes up to
 * USER_MAX_FRAMES return addresses (ip first) to buf; returns how many, or
 * a negative error.
 *
 * Why not bpf_get_stack(BPF_F_USER_STACK): its walk only stops when a read
 * faults, and code without frame pointers (Debian's libc) leaves a garbage
 * fp at the end of nearly every chain: a page fault and an exception-table
 * search per sample, measured at ~2.5 us here. Requiring each fp to be
 * 8-aligned, above the last and within 1 MiB of it ends the walk without one.
 */
static __always_inline long walk_user_fp(__u64 ip, __u64 fp, __u64 sp, __u64 *buf)
{
	long n;

	if (!ip)
		return -14; /* -EFAULT */
	buf[0] = ip;
	n = 1;
	for (int i = 1; i < USER_MAX_FRAMES; i++) {
		struct fp_frame f;

		if (fp < sp || (fp & 7) || fp - sp > FP_MAX_FRAME_BYTES)
			break;
		if (bpf_probe_read_user(&f, sizeof(f), (void *)fp) || !f.ret)
			break;
		buf[i] = f.ret;
		n = i + 1;
		sp = fp + sizeof(f);
		fp = f.next_fp;
	}
	return n;
}

/* The stack of a perf sample: from the sampled user registers, or from the
 * user registers saved at kernel entry. */
static __always_inline long capture_user_stack(struct bpf_perf_event_data *ctx, __u64 *buf)
{
	__u64 ip, fp, sp;

	if (in_user_mode(&ctx->regs)) {
		ip = PT_REGS_IP(&ctx->regs);
		fp = PT_REGS_FP(&ctx->regs);
		sp = PT_REGS_SP(&ctx->regs);
	} else {
		/* In the kernel: the user registers saved at entry. */
		struct pt_regs *ur = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

		ip = BPF_CORE_READ(ur, ip);
		fp = BPF_CORE_READ(ur, bp);
		sp = BPF_CORE_READ(ur, sp);
	}
	return walk_user_fp(ip, fp, sp, buf);
}

static __always_inline long capture_kernel_stack(void *ctx, __u64 *buf, __u32 max_bytes)
{
	long n = bpf_get_stack(ctx, buf, max_bytes, 0);

	return n < 0 ? n : (long)((unsigned long)n / 8);
}

#endif
