/* SPDX-License-Identifier: MIT */
/*
 * How stacks are captured, in one place. Today: the kernel's frame-pointer
 * walk (bpf_get_stack) for user code and the ORC unwinder for the kernel.
 * A DWARF/.eh_frame unwinder for code without frame pointers replaces
 * capture_user_stack() and nothing else.
 */
#ifndef PPROFD_STACK_BPF_H
#define PPROFD_STACK_BPF_H

/* Writes up to max_frames user frames (leaf first) to buf; returns how many,
 * or a negative error. */
static __always_inline long capture_user_stack(void *ctx, __u64 *buf, __u32 max_bytes)
{
	long n = bpf_get_stack(ctx, buf, max_bytes, BPF_F_USER_STACK);

	return n < 0 ? n : (long)((unsigned long)n / 8);
}

static __always_inline long capture_kernel_stack(void *ctx, __u64 *buf, __u32 max_bytes)
{
	long n = bpf_get_stack(ctx, buf, max_bytes, 0);

	return n < 0 ? n : (long)((unsigned long)n / 8);
}

#endif
