/* SPDX-License-Identifier: MIT */
/*
 * The processes a BPF program of the on-demand kinds (mutex, block) looks
 * at: one bit per tgid in the program's .bss, set and cleared by the daemon
 * through the skeleton's memory-mapped .bss. Why a bitmap: the programs sit
 * on hooks every process passes through (each context switch, each futex
 * call), and a bit test is a load and a shift where a hash lookup costs
 * ~30 ns, so any other process pays (nearly) nothing.
 */
#ifndef PPROFD_PID_BITMAP_H
#define PPROFD_PID_BITMAP_H

#define PID_BITMAP_MAX_PID (1u << 22) /* the kernel's PID_MAX_LIMIT on 64-bit */
#define PID_BITMAP_WORDS (PID_BITMAP_MAX_PID / 64)

#ifdef __bpf__
/* The mask repeats the bound for the verifier; the empty asm keeps the
 * compiler from dropping it as redundant with the comparison (which the
 * verifier does not connect to the index on every path). */
static __always_inline bool pid_bitmap_test(const __u64 *bits, __u32 tgid)
{
	__u32 idx = tgid / 64;

	if (tgid >= PID_BITMAP_MAX_PID)
		return false;
	asm volatile("" : "+r"(idx));
	return bits[idx & (PID_BITMAP_WORDS - 1)] >> (tgid % 64) & 1;
}
#endif

#endif
