// SPDX-License-Identifier: GPL-2.0
/*
 * CPU sampling: runs on every cpu-clock tick of every CPU and streams one
 * record (who, when, kernel and user stack) to user space.
 *
 * Why a ring buffer and not in-kernel aggregation: a stack-trace map loses
 * or (with BPF_F_REUSE_STACKID) mis-attributes stacks on hash collisions and
 * cannot carry the sample's time, which user space needs to pick the right
 * process image across exec and PID reuse. At 128 CPUs x 99 Hz a record of
 * ~0.3 KiB is ~4 MB/s, cheap to drain; a full ring is counted, never silent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu.h"
#include "compat.bpf.h"
#include "ustack.bpf.h"
#include "unwind.bpf.h"
#include "pid_bitmap.h"

_Static_assert(USER_MAX_FRAMES <= CPU_MAX_FRAMES, "user walk fits the record");

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 self_tgid = 0;       /* pprofd itself: not profiled */
const volatile __u64 wakeup_bytes = 0;    /* wake user space past this much data */
const volatile bool time_samples = false; /* bpf_sample_timing */
/*
 * A sample of a process the table walker has no entry for (new, or after
 * an exec) wakes user space at once, at most this often a CPU: otherwise
 * the daemon reads it at its next turn, up to a second later, and a
 * process's first second (a compiler's whole life) is unwound from stack
 * copies. (A mapping without its table does not: its table loads in
 * user space's time, and a JIT's code never has one.)
 */
#define NO_ENTRY_WAKEUP_NS (50ull * 1000 * 1000)
__u64 nofp[PID_BITMAP_WORDS]; /* processes whose executable has no frame pointers (the daemon's) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* set from the config before load */
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_percpu);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * CPU_TIME_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} sample_times SEC(".maps");

/*
 * The user registers of the sample, and whether its pc is outside the
 * executable's text: in a shared library, which may have no frame
 * pointers (Debian's libc has none), so the sample needs a stack copy.
 * *start: the text's start (the image the walker's entry is for).
 */
static __always_inline bool user_pc_in_library(struct bpf_perf_event_data *ctx,
					       struct task_struct *task, __u64 *ip, __u64 *sp,
					       __u64 *bp, __u64 *start)
{
	__u64 end;

	if (in_user_mode(&ctx->regs)) {
		*ip = PT_REGS_IP(&ctx->regs);
		*sp = PT_REGS_SP(&ctx->regs);
		*bp = PT_REGS_FP(&ctx->regs);
	} else {
		struct pt_regs *ur = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

		*ip = BPF_CORE_READ(ur, ip);
		*sp = BPF_CORE_READ(ur, sp);
		*bp = BPF_CORE_READ(ur, bp);
	}
	*start = BPF_CORE_READ(task, mm, start_code);
	end = BPF_CORE_READ(task, mm, end_code);
	return *ip && (*ip < *start || *ip >= end);
}

/*
 * The user stack from the unwind tables, into frames (the walk's counter
 * bumped); false when the stack-copy path must take the sample: the
 * process (*no_entry) or a mapping it reached has no table yet.
 */
static __always_inline bool walk_tables(struct cpu_percpu *sc, __u32 pid, __u64 start_code,
					__u64 ip, __u64 sp, __u64 bp, __u64 *frames, long *nu,
					bool *no_entry)
{
	__u32 end = 0;
	long n = unwind_user_stack(pid, start_code, ip, sp, bp, frames, &end);

	if (n < 0) {
		sc->counters[CPU_CNT_WALK_NO_PROC]++;
		*no_entry = true;
		return false;
	}
	switch (end) {
	case UNWIND_END_START:
	case UNWIND_END_STOP:
		sc->counters[CPU_CNT_WALK_WHOLE]++;
		break;
	case UNWIND_END_NO_MAP:
		sc->counters[CPU_CNT_WALK_NO_MAP]++;
		return false;
	case UNWIND_END_NO_TABLE:
		sc->counters[CPU_CNT_WALK_NO_TABLE]++;
		return false;
	case UNWIND_END_DEPTH:
		sc->counters[CPU_CNT_WALK_DEPTH]++;
		break;
	default:
		sc->counters[CPU_CNT_WALK_CUT]++;
	}
	*nu = n;
	return true;
}

static __always_inline int sample(struct bpf_perf_event_data *ctx, __u32 sflags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, zero = 0;
	struct task_struct *task;
	struct cpu_percpu *sc;
	long nk, nu;
	bool no_entry = false;
	__u64 size, flags, ip, sp, bp, start_code;
	bool in_library;
	/* Whether rbp may not be a frame pointer: the executable has none,
	 * or the daemon has not looked at this process yet (no entry), and a
	 * walk through rbp where it is not one is a wrong stack, not a short
	 * one: a stack copy then, unwound by CFI. */
	bool unsure = false;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	if (tid == 0) {
		sc->counters[CPU_CNT_IDLE]++;
		return 0;
	}
	if (pid == self_tgid) {
		sc->counters[CPU_CNT_SELF]++;
		return 0;
	}

	sc->s.time_ns = bpf_ktime_get_ns();
	sc->s.pid = pid;
	sc->s.tid = tid;
	sc->s.cpu = bpf_get_smp_processor_id();
	sc->s.flags = sflags;
	sc->s.weight = 1;
	sc->s.ustack_len = 0;
	bpf_get_current_comm(sc->s.comm, sizeof(sc->s.comm));
	task = (struct task_struct *)bpf_get_current_task();

	/* Interrupted in user mode: there is no kernel stack to walk. */
	nk = in_user_mode(&ctx->regs) ? 0
				      : capture_kernel_stack(ctx, sc->frames, CPU_MAX_FRAMES * 8);
	if (nk < 0) {
		sc->s.flags |= CPU_F_KSTACK_ERR;
		sc->counters[CPU_CNT_KSTACK_ERR]++;
		nk = 0;
	}
	if (nk > CPU_MAX_FRAMES)
		nk = CPU_MAX_FRAMES;

	if (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD */) {
		sc->s.flags |= CPU_F_KTHREAD;
		nu = 0;
		goto user_done;
	}
	in_library = user_pc_in_library(ctx, task, &ip, &sp, &bp, &start_code);
	if (use_tables &&
	    walk_tables(sc, pid, start_code, ip, sp, bp, sc->frames + nk, &nu, &no_entry)) {
		sc->s.flags |= CPU_F_TABLES;
	} else if (in_library || (unsure = no_entry || pid_bitmap_test(nofp, pid))) {
		__u32 off = nk * 8, ulen;

		if (off > CPU_MAX_FRAMES * 8)
			return 0; /* for the verifier: cannot happen */
		ulen = ustack_capture_regs(ip, sp, bp, (void *)sc->frames + off,
					   (void *)sc->frames + off + sizeof(struct ustack_hdr),
					   NULL, unsure ? CPU_SNAP_BYTES_NOFP : CPU_SNAP_BYTES);
		if (ulen > CPU_USTACK_MAX - sizeof(struct ustack_hdr))
			return 0; /* for the verifier: cannot happen */
		sc->s.flags |= CPU_F_USTACK;
		sc->s.ustack_len = sizeof(struct ustack_hdr) + ulen;
		nu = 0;
	} else {
		nu = capture_user_stack(ctx, sc->frames + nk);
		if (nu <= 0) {
			sc->s.flags |= CPU_F_USTACK_ERR;
			sc->counters[CPU_CNT_USTACK_ERR]++;
			nu = 0;
		}
		if (nu > CPU_MAX_FRAMES)
			nu = CPU_MAX_FRAMES;
	}
user_done:
	sc->s.nr_kframes = nk;
	sc->s.nr_uframes = nu;

	size = sizeof(sc->s) + (nk + nu) * 8 + sc->s.ustack_len;
	if (size > sizeof(sc->s) + sizeof(sc->frames))
		size = sizeof(sc->s) + sizeof(sc->frames);
	/* Looking at the ring's fill touches its (cold) producer page: do it
	 * every 16th sample of a CPU only. */
	flags = BPF_RB_NO_WAKEUP;
	if (!(++sc->seq & 15) && bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (no_entry && sc->s.time_ns - sc->no_entry_wakeup_ns >= NO_ENTRY_WAKEUP_NS) {
		flags = BPF_RB_FORCE_WAKEUP;
		sc->no_entry_wakeup_ns = sc->s.time_ns;
	}
	if (bpf_ringbuf_output(&samples, sc, size, flags)) {
		sc->counters[CPU_CNT_DROP_RINGBUF]++;
		return 0;
	}
	sc->counters[CPU_CNT_SAMPLES]++;
	return 0;
}

/* sample(), and its time in sample_times when time_samples is set (the
 * median the benchmarks report: the kernel's run_time_ns is a mean). */
static __always_inline int timed_sample(struct bpf_perf_event_data *ctx, __u32 sflags)
{
	__u64 t0 = time_samples ? bpf_ktime_get_ns() : 0, b, *count;
	__u32 key;

	sample(ctx, sflags);
	if (!time_samples)
		return 0;
	b = (bpf_ktime_get_ns() - t0) / CPU_TIME_BUCKET_NS;
	key = (sflags & CPU_F_REQUEST ? CPU_TIME_BUCKETS : 0) +
	      (b < CPU_TIME_BUCKETS - 1 ? b : CPU_TIME_BUCKETS - 1);
	count = bpf_map_lookup_elem(&sample_times, &key);
	if (count)
		(*count)++;
	return 0;
}

/* The continuous, host-wide sampling: one cpu-clock event per CPU. */
SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	return timed_sample(ctx, 0);
}

/* A request's own faster sampling of one process: per-thread events. */
SEC("perf_event")
int on_request_sample(struct bpf_perf_event_data *ctx)
{
	return timed_sample(ctx, CPU_F_REQUEST);
}
