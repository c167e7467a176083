// SPDX-License-Identifier: GPL-2.0
/*
 * A snapshot of every thread of one process: a task iterator, attached
 * with the kernel's per-process filter (bpf_iter_link_info.task.pid, Linux
 * 6.1), so the kernel walks that process's threads only, never the host's.
 * For each thread it writes a struct threads_rec (bpf/threads.h): who, its
 * state, its kernel stack and its user stack in the struct ustack form
 * (the rbp chain and a copy of the stack top), read from the thread's
 * saved user registers and its memory. Nothing is stopped or traced:
 * bpf_copy_from_user_task reads through the process's mm, which is why
 * the program is sleepable (iter.s).
 *
 * A thread that is on a CPU while we look has no saved state of its own
 * for now: the kernel's unwinder gives no kernel stack for it (the stack
 * is in use elsewhere; unless it is the thread reading the iterator), and
 * its user registers are those of its last kernel entry, so its user stack
 * is where it last was in the kernel, not where it is. It is marked
 * THREADS_F_ON_CPU and reported as "running"; the daemon says so in the
 * profile.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "threads.h"
#include "compat.bpf.h"
#include "ustack.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* One record at its largest: the header and kernel frames are written in
 * one piece, the user stack (header and data) in another. */
struct threads_scratch {
	struct threads_rec r;
	__u64 kframes[THREADS_MAX_KFRAMES];
	struct ustack_hdr uh;
	__u8 data[USTACK_DATA_MAX];
};

/* Per CPU: a sleepable program runs with migration disabled, and only the
 * daemon's one thread reads the iterator. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct threads_scratch);
} scratch SEC(".maps");

SEC("iter.s/task")
int dump_thread(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct threads_scratch *sc;
	__u32 zero = 0, ulen = 0;
	long nk;

	if (!task)
		return 0; /* the end of the walk */
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	sc->r.magic = THREADS_REC_MAGIC;
	sc->r.pid = task->tgid;
	sc->r.tid = task->pid;
	sc->r.state = task->__state;
	sc->r.exit_state = task->exit_state;
	sc->r.flags = task_on_cpu(task) ? THREADS_F_ON_CPU : 0;
	bpf_probe_read_kernel_str(sc->r.comm, sizeof(sc->r.comm), task->comm);

	nk = bpf_get_task_stack(task, sc->kframes, sizeof(sc->kframes), 0);
	if (nk < 0) {
		sc->r.flags |= THREADS_F_KSTACK_ERR;
		nk = 0;
	}
	nk /= 8;
	if (nk > THREADS_MAX_KFRAMES)
		nk = THREADS_MAX_KFRAMES;
	sc->r.nr_kframes = nk;

	if (task->flags & 0x00200000 /* PF_KTHREAD */) {
		sc->r.flags |= THREADS_F_KTHREAD;
	} else if (!task->exit_state) {
		/* (an exited thread has no user state left to read) */
		ulen = ustack_capture_task(task, &sc->uh, sc->data);
		if (ulen > USTACK_DATA_MAX)
			ulen = USTACK_DATA_MAX;
		ulen += sizeof(sc->uh);
	}
	sc->r.ustack_len = ulen;
	sc->r.size = sizeof(sc->r) + nk * 8 + ulen;

	/* A record that does not fit the read buffer is taken back whole by
	 * the kernel and shown again at the next read(), so partial records
	 * never reach user space. */
	bpf_seq_write(seq, &sc->r, sizeof(sc->r) + nk * 8);
	if (ulen)
		bpf_seq_write(seq, &sc->uh, ulen);
	return 0;
}
