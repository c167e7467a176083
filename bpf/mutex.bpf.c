// SPDX-License-Identifier: GPL-2.0
/*
 * Lock contention (the `mutex` kind) of the target processes, at their
 * futex(2) calls, from the BTF-enabled raw syscall tracepoints (no tracefs
 * needed; fentry on futex_wait/futex_wake would fire on futex calls only,
 * but BPF trampolines are not available on every kernel, this one among
 * them). Every syscall of the host passes here while a mutex profile runs,
 * so the syscall number and the target bitmap are tested first; the
 * programs are attached only while some process is profiled.
 *
 * Why futexes and not pthread_mutex_lock/unlock: a lock that is not
 * contended never enters the kernel, so it costs nothing at all here,
 * where a uprobe on the lock's fast path would cost every call 0.4-14 us.
 * And anything that waits on a futex (mutexes, rwlocks, semaphores,
 * glibc's internal locks, hand-rolled ones) is seen the same way.
 *
 * Go's meaning: the stack is the releaser's (the thread that woke the
 * waiters) and the delay is the time its waiters waited. A wait that is
 * woken is matched to the last wake of its futex; a wait that times out,
 * is interrupted or finds the value changed is not contention.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "mutex.h"
#include "pid_bitmap.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 wakeup_bytes = 0;

__u64 pids[PID_BITMAP_WORDS]; /* written by the daemon */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* set before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mutex_percpu);
} scratch SEC(".maps");

/* The futex a thread is waiting on, and since when. */
struct mutex_wait {
	__u64 uaddr;
	__u64 since;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mutex_wait);
} waiting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MUTEX_MAX_FUTEXES);
	__type(key, struct mutex_key);
	__type(value, struct mutex_state);
} futexes SEC(".maps");

static __always_inline struct mutex_percpu *percpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline bool is_target(__u32 *tgid)
{
	*tgid = bpf_get_current_pid_tgid() >> 32;
	return pid_bitmap_test(pids, *tgid);
}

static __always_inline long send(struct mutex_percpu *sc, __u64 size)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, &sc->e, size, flags)) {
		sc->counters[MUTEX_CNT_DROP_RINGBUF]++;
		return -1;
	}
	return 0;
}

#define NR_FUTEX 202        /* x86-64 */
#define FUTEX_CMD_MASK 0x7f /* without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10

static __always_inline void wait_begins(__u32 tgid, __u64 uaddr)
{
	struct mutex_key key = { .tgid = tgid, .uaddr = uaddr };
	struct mutex_state *st, init = { .waiters = 1 };
	struct mutex_percpu *sc = percpu();
	struct mutex_wait *w;

	if (!sc)
		return;
	sc->counters[MUTEX_CNT_WAITS]++;
	w = bpf_task_storage_get(&waiting, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w) {
		sc->counters[MUTEX_CNT_NO_STORAGE]++;
		return;
	}
	w->uaddr = uaddr;
	w->since = bpf_ktime_get_ns();
	st = bpf_map_lookup_elem(&futexes, &key);
	if (st)
		__sync_fetch_and_add(&st->waiters, 1);
	else if (bpf_map_update_elem(&futexes, &key, &init, BPF_NOEXIST))
		sc->counters[MUTEX_CNT_NO_STORAGE]++;
}

static __always_inline void wake_begins(__u32 tgid, __u64 uaddr)
{
	struct mutex_key key = { .tgid = tgid, .uaddr = uaddr };
	struct task_struct *task;
	struct mutex_percpu *sc;
	struct mutex_state *st;
	__u32 ulen;

	st = bpf_map_lookup_elem(&futexes, &key);
	if (!st || !st->waiters)
		return; /* nobody waits: not a contended release */
	sc = percpu();
	if (!sc)
		return;
	task = bpf_get_current_task_btf();
	sc->e.type = MUTEX_EV_WAKE;
	sc->e.pid = tgid;
	sc->e.tid = task->pid;
	sc->e.time_ns = bpf_ktime_get_ns();
	sc->e.uaddr = uaddr;
	sc->e.wake_id = (++sc->next_id & ((1ull << 48) - 1)) |
			(__u64)(bpf_get_smp_processor_id() + 1) << 48;
	sc->e.delay_ns = 0;
	__builtin_memcpy(sc->e.comm, task->comm, sizeof(sc->e.comm));
	ulen = ustack_capture_task_regs(task, &sc->uh, sc->data);
	if (ulen > USTACK_DATA_MAX)
		return; /* for the verifier: cannot happen */
	sc->e.ustack_len = sizeof(sc->uh) + ulen;
	st->last_wake = sc->e.wake_id;
	if (send(sc, sizeof(sc->e) + sizeof(sc->uh) + ulen) == 0)
		sc->counters[MUTEX_CNT_WAKES]++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u32 tgid, cmd;
	__u64 uaddr;

	if (id != NR_FUTEX || !is_target(&tgid))
		return 0;
	uaddr = BPF_CORE_READ(regs, di);
	cmd = BPF_CORE_READ(regs, si) & FUTEX_CMD_MASK;
	if (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET)
		wait_begins(tgid, uaddr);
	else if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET)
		wake_begins(tgid, uaddr);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct mutex_key key = {};
	struct mutex_percpu *sc;
	struct mutex_state *st;
	struct mutex_wait *w;
	__u64 since;

	if (BPF_CORE_READ(regs, orig_ax) != NR_FUTEX || !is_target(&key.tgid))
		return 0;
	w = bpf_task_storage_get(&waiting, bpf_get_current_task_btf(), 0, 0);
	if (!w || !w->since)
		return 0; /* not a wait, or it began before we looked */
	key.uaddr = w->uaddr;
	since = w->since;
	w->since = 0;
	st = bpf_map_lookup_elem(&futexes, &key);
	if (st && st->waiters)
		__sync_fetch_and_add(&st->waiters, -1);
	if (ret != 0 || !(sc = percpu()))
		return 0; /* timed out, interrupted, or the value had changed */
	sc->e.type = MUTEX_EV_WAITED;
	sc->e.pid = key.tgid;
	sc->e.tid = (__u32)bpf_get_current_pid_tgid();
	sc->e.time_ns = bpf_ktime_get_ns();
	sc->e.uaddr = key.uaddr;
	sc->e.wake_id = st ? st->last_wake : 0;
	sc->e.delay_ns = sc->e.time_ns - since;
	if (send(sc, MUTEX_WAITED_SIZE) == 0)
		sc->counters[MUTEX_CNT_WAITED]++;
	return 0;
}
