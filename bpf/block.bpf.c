// SPDX-License-Identifier: GPL-2.0
/*
 * Off-CPU time (the `block` kind) of the target processes only, from the
 * scheduler's switch tracepoint (BTF-enabled: no tracefs needed).
 *
 * A thread of a target that leaves the CPU of its own accord (its state is
 * not TASK_RUNNING: it sleeps, waits on a futex, a pipe, the disk) gets an
 * OUT record with its kernel stack and its user stack (struct ustack, so
 * user space can unwind through libc); when it is switched back in, an IN
 * record with the time it was away. Being preempted is not blocking: a
 * runnable thread waiting for a CPU is not recorded.
 *
 * Every switch on the host passes here, so the filter comes first and is
 * two bit tests (bpf/pid_bitmap.h); a thread's OUT time is kept in task
 * storage, so an IN is sent only for an OUT we sent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "block.h"
#include "pid_bitmap.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 wakeup_bytes = 0; /* wake user space past this much data */

__u64 pids[PID_BITMAP_WORDS]; /* written by the daemon */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* set before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct block_percpu);
} scratch SEC(".maps");

/* When the thread left the CPU (0: it did not block, or not while we looked). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} off_since SEC(".maps");

static __always_inline long send(struct block_percpu *sc, void *rec, __u64 size)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, rec, size, flags)) {
		sc->counters[BLOCK_CNT_DROP_RINGBUF]++;
		return -1;
	}
	return 0;
}

static __always_inline void switched_out(void *ctx, struct block_percpu *sc,
					 struct task_struct *prev, unsigned int state)
{
	__u64 now = bpf_ktime_get_ns(), *since;
	__u32 ulen, off;
	long nk;

	since = bpf_task_storage_get(&off_since, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!since) {
		sc->counters[BLOCK_CNT_NO_STORAGE]++;
		return;
	}
	*since = 0;
	sc->e.type = BLOCK_EV_OUT;
	sc->e.pid = prev->tgid;
	sc->e.tid = prev->pid;
	sc->e.state = state;
	sc->e.time_ns = now;
	sc->e.delay_ns = 0;
	sc->e.flags = 0;
	__builtin_memcpy(sc->e.comm, prev->comm, sizeof(sc->e.comm));
	/* prev is the current task: its user registers are those it entered
	 * the kernel with */
	ulen = ustack_capture_task_regs(prev, &sc->uh, sc->data);
	off = ulen;
	if (off > USTACK_DATA_MAX)
		return; /* for the verifier: cannot happen */
	/* skip this program and bpf_trace_run4: start at __schedule */
	nk = bpf_get_stack(ctx, sc->data + off, BLOCK_MAX_KFRAMES * 8, 2);
	if (nk < 0) {
		sc->e.flags |= BLOCK_F_KSTACK_ERR;
		nk = 0;
	}
	nk /= 8;
	sc->e.ustack_len = sizeof(sc->uh) + ulen;
	sc->e.nr_kframes = nk;
	if (send(sc, &sc->e, sizeof(sc->e) + sizeof(sc->uh) + off + nk * 8) == 0) {
		sc->counters[BLOCK_CNT_OUT]++;
		*since = now;
	}
}

static __always_inline void switched_in(struct block_percpu *sc, struct task_struct *next)
{
	__u64 *since = bpf_task_storage_get(&off_since, next, 0, 0), now;

	if (!since || !*since)
		return;
	now = bpf_ktime_get_ns();
	sc->e.type = BLOCK_EV_IN;
	sc->e.pid = next->tgid;
	sc->e.tid = next->pid;
	sc->e.state = 0;
	sc->e.time_ns = *since;
	sc->e.delay_ns = now - *since;
	*since = 0;
	if (send(sc, &sc->e, BLOCK_IN_SIZE) == 0)
		sc->counters[BLOCK_CNT_IN]++;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 ptgid = prev->tgid, ntgid = next->tgid, zero = 0;
	bool out = pid_bitmap_test(pids, ptgid), in = pid_bitmap_test(pids, ntgid);
	struct block_percpu *sc;

	if (!out && !in)
		return 0;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	sc->counters[BLOCK_CNT_SWITCHES]++;
	/* of its own accord: not preempted and not runnable */
	if (out && !preempt && (prev_state & 0xff) && prev->mm)
		switched_out(ctx, sc, prev, prev_state);
	if (in)
		switched_in(sc, next);
	return 0;
}
