// SPDX-License-Identifier: GPL-2.0
/*
 * The table unwinder on the caller's own stack: a syscall program, run by
 * BPF_PROG_TEST_RUN in the calling thread, so that bpf_probe_read_user
 * reads that thread's memory. tests/unit/test_bpf_unwind.c hands it the
 * registers of a point of its own and compares the frames with the
 * daemon's unwinder on a copy of the same stack.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "compat.bpf.h"

#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct unwind_test_args {
	__u64 ip, sp, bp, start_code;
	__u32 tgid;
	__s32 n;   /* out: frames, or -1 */
	__u32 end; /* out: UNWIND_END_* */
};

__u64 frames[USER_MAX_FRAMES];

SEC("syscall")
int unwind_test(struct unwind_test_args *a)
{
	__u32 end = 0;

	a->n = unwind_user_stack(a->tgid, a->start_code, a->ip, a->sp, a->bp, frames, &end);
	a->end = end;
	return 0;
}
