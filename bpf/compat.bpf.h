/* SPDX-License-Identifier: MIT */
/* Architecture and kernel differences, in one place. */
#ifndef PPROFD_COMPAT_BPF_H
#define PPROFD_COMPAT_BPF_H

/* Whether the sampled registers are user-mode ones (the perf event
 * interrupted user code), so the kernel stack is empty. */
static __always_inline bool in_user_mode(const bpf_user_pt_regs_t *regs)
{
#if defined(__TARGET_ARCH_x86)
	/* The verifier allows only 8-byte loads from the perf context; newer
	 * kernels split cs into a 16-bit field, so load the whole word. */
	__u64 cs = *(volatile __u64 *)((void *)regs + __builtin_offsetof(struct pt_regs, cs));

	return (cs & 3) == 3;
#elif defined(__TARGET_ARCH_arm64)
	__u64 pstate = *(volatile __u64 *)&regs->pstate;

	return (pstate & 0xf) == 0; /* PSR_MODE_EL0t */
#else
	return false; /* unknown: always ask for the kernel stack */
#endif
}

/* Whether task is on a CPU right now. task_struct.on_cpu exists only on
 * SMP kernels; a uniprocessor one runs nobody but us while we look. */
static __always_inline bool task_on_cpu(struct task_struct *task)
{
	if (bpf_core_field_exists(task->on_cpu))
		return BPF_CORE_READ(task, on_cpu);
	return false;
}

#endif
