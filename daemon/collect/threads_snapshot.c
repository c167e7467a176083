// SPDX-License-Identifier: MIT
/*
 * The threads profile: run the task iterator of bpf/threads.bpf.c over one
 * process, parse what it writes (records are input: every length is
 * checked), unwind each user stack and add one sample per thread.
 *
 * One sample per thread, value 1, rather than one per distinct stack with
 * the number of threads on it (the shape of Go's goroutine profile): the
 * thread's name, tid and state are labels, and a label belongs to a sample,
 * so aggregating would lose them. pprof adds the samples of equal stacks
 * up itself (-top, -traces, the graph), so the counts per stack are the
 * same either way.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "log.h"
#include "pprof.h"
#include "proc_text.h"
#include "procs.h"
#include "safe_open.h"
#include "stack_profile.h"
#include "threads.h"
#include "threads.skel.h"
#include "threads_snapshot.h"
#include "unwind.h"

#define THREADS_MAX_UFRAMES 127 /* user frames kept per thread */
#define READ_BUF_BYTES (64u << 10)

_Static_assert(READ_BUF_BYTES >= 2 * THREADS_REC_MAX, "a record fits the read buffer twice");

enum ts_counter {
	TS_CNT_SNAPSHOTS,  /* profiles made */
	TS_CNT_THREADS,    /* threads in them */
	TS_CNT_OVER_LIMIT, /* threads left out: THREADS_SNAPSHOT_MAX reached */
	TS_CNT_MALFORMED,  /* records rejected (should stay 0) */
	TS_CNT_USTACK_BAD, /* user stacks the unwinder rejected (should stay 0) */
	TS_CNT_ERRORS,     /* snapshots that failed or stopped early */
	TS_CNT_NR,
};

static const char *const counter_names[TS_CNT_NR] = {
	[TS_CNT_SNAPSHOTS] = "threads_snapshots",
	[TS_CNT_THREADS] = "threads_snapshot_threads",
	[TS_CNT_OVER_LIMIT] = "threads_snapshot_over_limit",
	[TS_CNT_MALFORMED] = "threads_snapshot_malformed",
	[TS_CNT_USTACK_BAD] = "threads_snapshot_unwind_err",
	[TS_CNT_ERRORS] = "threads_snapshot_errors",
};

struct threads_snapshot {
	struct procs *procs;
	struct kallsyms *const *ksyms;
	struct threads_bpf *skel; /* NULL until the first snapshot */
	uint64_t cnt[TS_CNT_NR];
};

/* One snapshot in progress. */
struct run {
	struct threads_snapshot *t;
	struct pprof *p;
	struct image *img;
	uint32_t pid;
	char comm[16];       /* the process's name */
	unsigned threads;    /* in the profile */
	unsigned on_cpu;     /* of them, running on a CPU as we looked */
	unsigned malformed;  /* records skipped */
	unsigned ustack_bad; /* user stacks the unwinder refused */
	bool out_of_sync;    /* a record header made no sense: the rest is lost */
	int err;             /* the profile builder's */
	uint64_t rec[(THREADS_REC_MAX + 7) / 8]; /* one record, aligned */
};

struct threads_snapshot *threads_snapshot__new(struct procs *procs, struct kallsyms *const *ksyms)
{
	struct threads_snapshot *t = calloc(1, sizeof(*t));

	if (t) {
		t->procs = procs;
		t->ksyms = ksyms;
	}
	return t;
}

void threads_snapshot__free(struct threads_snapshot *t)
{
	if (!t)
		return;
	threads_bpf__destroy(t->skel);
	free(t);
}

/* Loaded at the first snapshot (a daemon that is never asked pays nothing);
 * a failure is tried again at the next one. */
static int load(struct threads_snapshot *t)
{
	int err;

	if (t->skel)
		return 0;
	t->skel = threads_bpf__open_and_load();
	if (!t->skel) {
		err = -errno;
		log_err("threads: cannot load the BPF task iterator: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* What ps calls the state, from __state and exit_state as the kernel
 * reports them in /proc/PID/stat (task_state_index()). */
static const char *state_name(uint32_t state, uint32_t exit_state, bool on_cpu)
{
	static const char *const names[] = {
		"sleeping", "disk", "stopped", "traced", "dead", "zombie", "parked",
	};
	uint32_t s = (state | exit_state) & 0x7f; /* TASK_REPORT */

	if (state == 0x402) /* TASK_IDLE: uninterruptible, not counted in the load */
		return "idle";
	if (state & 0x8000) /* TASK_FROZEN */
		return "frozen";
	if (!s)
		return on_cpu ? "running" : "runnable";
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s & (1u << i) && !(s >> (i + 1)))
			return names[i];
	return "unknown";
}

/* One record, size bytes at r->rec, whose header was found sane. */
static void add_thread(struct run *r, uint32_t size)
{
	const struct threads_rec *h = (const void *)r->rec;
	uint64_t frames[THREADS_MAX_KFRAMES + THREADS_MAX_UFRAMES];
	unsigned nk = h->nr_kframes, nu = 0;
	char thread[THREADS_COMM_LEN];
	const char *state;
	int64_t one = 1;
	int n;

	if (nk > THREADS_MAX_KFRAMES ||
	    h->ustack_len > sizeof(struct ustack_hdr) + USTACK_DATA_MAX ||
	    size != sizeof(*h) + nk * 8ul + h->ustack_len || h->pid != r->pid) {
		r->malformed++;
		return;
	}
	memcpy(frames, h->kframes, nk * 8ul);
	if (h->ustack_len) {
		n = procs__unwind_user(r->t->procs, r->img,
				       (const void *)((const uint8_t *)h->kframes + nk * 8ul),
				       h->ustack_len, frames + nk, THREADS_MAX_UFRAMES, true);
		if (n < 0)
			r->ustack_bad++;
		else
			nu = n;
	}
	memcpy(thread, h->comm, sizeof(thread));
	thread[sizeof(thread) - 1] = 0;
	if (h->tid == r->pid && !r->comm[0])
		memcpy(r->comm, thread, sizeof(r->comm));
	state = state_name(h->state, h->exit_state, h->flags & THREADS_F_ON_CPU);
	if (h->flags & THREADS_F_ON_CPU)
		r->on_cpu++;
	{
		struct pprof_label labels[5 + IMAGE_LABELS_MAX] = {
			{ .key = "pid", .num = r->pid },   { .key = "tid", .num = h->tid },
			{ .key = "comm", .str = r->comm }, { .key = "thread", .str = thread },
			{ .key = "state", .str = state },
		};
		size_t nl = 5 + (r->img ? image_labels(r->img, labels + 5) : 0);

		/* The first user frame is where the thread is (its saved ip):
		 * under kernel frames stack_profile treats it as the address
		 * after the syscall instruction, which it is. */
		if (!r->err)
			r->err = stack_profile__add_stack(r->p, r->t->procs, *r->t->ksyms, r->img,
							  frames, nk, nu, true, &one, labels, nl);
	}
	r->threads++;
}

/* Takes the whole records at the front of buf; returns the bytes taken. */
static size_t parse(struct run *r, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (!r->out_of_sync && r->threads < THREADS_SNAPSHOT_MAX &&
	       len - off >= sizeof(struct threads_rec)) {
		struct threads_rec h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.magic != THREADS_REC_MAGIC || h.size < sizeof(h) ||
		    h.size > THREADS_REC_MAX) {
			/* nothing says where the next record starts */
			r->malformed++;
			r->out_of_sync = true;
			break;
		}
		if (len - off < h.size)
			break; /* the rest comes with the next read */
		memcpy(r->rec, buf + off, h.size);
		off += h.size;
		add_thread(r, h.size);
	}
	return off;
}

/* Runs the iterator over pid's threads into r. 0 or -errno (the walk could
 * not start, or stopped: what was read is in r). */
static int walk(struct run *r, uint8_t *buf)
{
	union bpf_iter_link_info li = { .task.pid = r->pid };
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &li, .link_info_len = sizeof(li));
	struct bpf_link *link;
	size_t have = 0;
	int fd, err = 0;

	/* The kernel walks this process's threads only (Linux 6.1). */
	link = bpf_program__attach_iter(r->t->skel->progs.dump_thread, &o);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while (!r->out_of_sync && r->threads < THREADS_SNAPSHOT_MAX) {
		ssize_t n = read(fd, buf + have, READ_BUF_BYTES - have);
		size_t used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0) {
			if (have) /* a record cut short */
				r->malformed++;
			break;
		}
		have += n;
		used = parse(r, buf, have);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

/* The thread count and tgid of pid from /proc/PID/status; -ESRCH if gone. */
static int proc_threads(uint32_t pid, unsigned *threads, uint32_t *tgid)
{
	char *text;
	size_t len;
	int err;

	if (read_proc(pid, "status", PROC_STATUS_MAX, false, &text, &len) < 0)
		return -ESRCH;
	err = proc_status_threads(text, len, tgid, threads) ? -ESRCH : 0;
	free(text);
	return err;
}

static const struct pprof_value_type threads_type = { "threads", "count" };

int threads_snapshot__profile(struct threads_snapshot *t, uint32_t pid, uint8_t **out,
			      size_t *out_len, char *errmsg, size_t errlen)
{
	struct timespec real;
	uint64_t t0 = mono_ns();
	uint8_t *buf = NULL;
	struct run *r;
	unsigned total = 0;
	uint32_t tgid = 0;
	int err, werr;

	r = calloc(1, sizeof(*r));
	buf = malloc(READ_BUF_BYTES);
	if (!r || !buf) {
		err = -ENOMEM;
		snprintf(errmsg, errlen, "out of memory");
		goto out;
	}
	r->t = t;
	r->pid = pid;
	err = load(t);
	if (err) {
		snprintf(errmsg, errlen,
			 "threads profiles are not available: cannot load the BPF "
			 "task iterator (%s)",
			 strerror(-err));
		goto out;
	}
	r->img = procs__image_at(t->procs, pid, t0);
	if (!r->img) {
		err = -ENOSPC;
		snprintf(errmsg, errlen, "pid %u cannot be tracked: the process table is full",
			 pid);
		goto out;
	}
	memcpy(r->comm, r->img->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = 0;
	clock_gettime(CLOCK_REALTIME, &real);
	r->p = pprof__new(&(struct pprof_params){
		.sample_types = &threads_type,
		.nr_sample_types = 1,
		.period_type = threads_type,
		.period = 1,
		.time_nanos = real.tv_sec * 1000000000ll + real.tv_nsec,
	});
	if (!r->p) {
		err = -ENOMEM;
		snprintf(errmsg, errlen, "out of memory");
		goto out;
	}
	pprof__commentf(r->p, "pprofd %s: threads of pid %u", PPROFD_VERSION, pid);
	pprof__commentf(r->p,
			"one sample per thread (value 1) with its tid, name and state as labels; "
			"threads with the same stack add up");
	stack_profile__begin_image(r->p, t->procs, r->img);

	werr = walk(r, buf);
	if (!r->threads && !r->malformed) {
		/* The kernel found no such thread group: gone, or a thread id. */
		err = werr ? werr : -ESRCH;
		if (werr)
			snprintf(errmsg, errlen, "cannot walk the threads of pid %u: %s", pid,
				 strerror(-werr));
		else if (!proc_threads(pid, &total, &tgid) && tgid != pid)
			snprintf(errmsg, errlen,
				 "%u is a thread of process %u: ask for the process", pid, tgid);
		else
			snprintf(errmsg, errlen, "no such process: %u", pid);
		goto out;
	}
	if (r->err) {
		err = r->err;
		snprintf(errmsg, errlen, "cannot build the profile: %s", strerror(-err));
		goto out;
	}

	if (r->on_cpu)
		pprof__commentf(
			r->p,
			"%u of the threads (state \"running\") were on a CPU as we looked: "
			"their user stacks are where they last entered the kernel, not where they "
			"are now",
			r->on_cpu);
	if (r->threads >= THREADS_SNAPSHOT_MAX) {
		/* the walk stopped there: how many were left, /proc says */
		if (proc_threads(pid, &total, &tgid) || total <= r->threads)
			total = r->threads + 1; /* at least one: we did not look */
		t->cnt[TS_CNT_OVER_LIMIT] += total - r->threads;
		pprof__commentf(r->p,
				"only the first %u threads of about %u are here: the limit per "
				"snapshot",
				r->threads, total);
		log_warn("threads: pid %u has about %u threads, only %u are in its snapshot "
			 "(the limit)",
			 pid, total, r->threads);
	}
	if (r->malformed || r->out_of_sync) {
		t->cnt[TS_CNT_MALFORMED] += r->malformed;
		pprof__commentf(r->p, "%u thread record%s malformed and skipped%s", r->malformed,
				r->malformed > 1 ? "s were" : " was",
				r->out_of_sync
					? "; the walk's output could not be followed after that"
					: "");
		log_warn("threads: pid %u: %u malformed records from the task iterator", pid,
			 r->malformed);
	}
	if (r->ustack_bad) {
		t->cnt[TS_CNT_USTACK_BAD] += r->ustack_bad;
		pprof__commentf(r->p, "%u user stack%s could not be unwound", r->ustack_bad,
				r->ustack_bad > 1 ? "s" : "");
	}
	if (werr) {
		t->cnt[TS_CNT_ERRORS]++;
		pprof__commentf(
			r->p, "the walk of the threads stopped after %u: %s; the rest are missing",
			r->threads, strerror(-werr));
		log_warn("threads: pid %u: the walk stopped after %u threads: %s", pid, r->threads,
			 strerror(-werr));
	}
	t->cnt[TS_CNT_SNAPSHOTS]++;
	t->cnt[TS_CNT_THREADS] += r->threads;
	log_debug("threads: pid %u: %u threads in %.1f ms", pid, r->threads,
		  (mono_ns() - t0) / 1e6);
	err = pprof__encode_gz(r->p, out, out_len);
	if (err)
		snprintf(errmsg, errlen, "cannot build the profile: %s", strerror(-err));
out:
	if (err && err != -ESRCH)
		t->cnt[TS_CNT_ERRORS]++;
	if (r)
		pprof__free(r->p);
	free(r);
	free(buf);
	return err;
}

int threads_snapshot__counters(const struct threads_snapshot *t, char names[][48], uint64_t *values,
			       int max)
{
	int n = 0;

	for (int i = 0; i < TS_CNT_NR && n < max; i++, n++) {
		snprintf(names[n], 48, "%s", counter_names[i]);
		values[n] = t ? t->cnt[i] : 0;
	}
	return n;
}
