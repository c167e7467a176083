// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lock.h"
#include "lock.skel.h"
#include "log.h"
#include "offcpu.h"
#include "offcpu.skel.h"
#include "targets.h"
#include "wait_sampler.h"

#define MAX_TARGETS 1024 /* processes profiled for one kind at once */

struct target_ref {
	uint32_t pid;
	unsigned refs;
};

struct wait_sampler {
	enum wait_kind kind;
	struct lock_bpf *lock;
	struct offcpu_bpf *offcpu;
	__u64 *bits; /* the programs' targets[], mapped */
	struct bpf_link *links[3];
	unsigned nr_links;
	struct ring_buffer *rb;
	struct target_ref targets[MAX_TARGETS];
	unsigned nr_targets;
	int ncpus;
	uint64_t malformed, over_limit;
	wait_record_fn fn;
	void *ctx;
};

const char *wait_kind_name(enum wait_kind k)
{
	return k == WAIT_MUTEX ? "mutex" : "block";
}

static int on_lock(struct wait_sampler *s, const void *data, size_t size)
{
	const struct lock_event *e = data;
	struct wait_record r = { .kind = WAIT_MUTEX };
	char comm[LOCK_COMM_LEN + 1];

	if (size < LOCK_WAITED_SIZE)
		return -EINVAL;
	r.pid = e->pid, r.tid = e->tid, r.time_ns = e->time_ns, r.key = e->wake_id;
	if (e->type == LOCK_EV_WAITED) {
		r.type = WAIT_REC_END;
		r.delay_ns = e->delay_ns;
	} else if (e->type == LOCK_EV_WAKE && size >= sizeof(*e) &&
		   e->ustack_len <= size - sizeof(*e) &&
		   ustack_fits((const void *)(e + 1), e->ustack_len)) {
		r.type = WAIT_REC_BEGIN;
		memcpy(comm, e->comm, LOCK_COMM_LEN);
		comm[LOCK_COMM_LEN] = 0;
		r.comm = comm;
		r.ustack = (const void *)(e + 1);
		r.ustack_len = e->ustack_len;
	} else {
		return -EINVAL;
	}
	s->fn(&r, s->ctx);
	return 0;
}

static int on_offcpu(struct wait_sampler *s, const void *data, size_t size)
{
	const struct offcpu_event *e = data;
	struct wait_record r = { .kind = WAIT_BLOCK };
	char comm[OFFCPU_COMM_LEN + 1];
	size_t rest;

	if (size < OFFCPU_IN_SIZE)
		return -EINVAL;
	r.pid = e->pid, r.tid = e->tid, r.time_ns = e->time_ns, r.key = e->time_ns;
	if (e->type == OFFCPU_EV_IN) {
		r.type = WAIT_REC_END;
		r.delay_ns = e->delay_ns;
		s->fn(&r, s->ctx);
		return 0;
	}
	if (e->type != OFFCPU_EV_OUT || size < sizeof(*e))
		return -EINVAL;
	rest = size - sizeof(*e);
	if (e->ustack_len > rest || e->nr_kframes > OFFCPU_MAX_KFRAMES ||
	    e->nr_kframes * 8ul > rest - e->ustack_len ||
	    !ustack_fits((const void *)(e + 1), e->ustack_len))
		return -EINVAL;
	r.type = WAIT_REC_BEGIN;
	memcpy(comm, e->comm, OFFCPU_COMM_LEN);
	comm[OFFCPU_COMM_LEN] = 0;
	r.comm = comm;
	r.ustack = (const void *)(e + 1);
	r.ustack_len = e->ustack_len;
	/* the frames follow the ustack, which is 8-byte sized: copy to align */
	{
		uint64_t kf[OFFCPU_MAX_KFRAMES];

		memcpy(kf, (const char *)(e + 1) + e->ustack_len, e->nr_kframes * 8ul);
		r.kframes = kf;
		r.nr_kframes = e->nr_kframes;
		s->fn(&r, s->ctx);
	}
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct wait_sampler *s = ctx;
	int err = s->kind == WAIT_MUTEX ? on_lock(s, data, size) : on_offcpu(s, data, size);

	if (err)
		s->malformed++;
	return 0;
}

struct wait_sampler *wait_sampler__new(enum wait_kind kind, uint64_t ringbuf_bytes,
				       const struct unwind_fds *unwind, wait_record_fn fn,
				       void *ctx)
{
	struct wait_sampler *s = calloc(1, sizeof(*s));
	uint64_t rb = ringbuf_bytes ? ringbuf_bytes : (kind == WAIT_BLOCK ? 4 << 20 : 1 << 20);
	struct bpf_object *obj = NULL;
	struct bpf_map *events = NULL;
	uint64_t *wakeup_bytes = NULL;
	bool *use_tables = NULL;
	int err;

	if (!s)
		return NULL;
	s->kind = kind;
	s->fn = fn;
	s->ctx = ctx;
	s->ncpus = libbpf_num_possible_cpus();
	/* the two objects differ in their programs only */
	if (kind == WAIT_MUTEX && (s->lock = lock_bpf__open())) {
		obj = s->lock->obj;
		events = s->lock->maps.events;
		wakeup_bytes = (uint64_t *)&s->lock->rodata->wakeup_bytes;
		use_tables = (bool *)&s->lock->rodata->use_tables;
	} else if (kind == WAIT_BLOCK && (s->offcpu = offcpu_bpf__open())) {
		obj = s->offcpu->obj;
		events = s->offcpu->maps.events;
		wakeup_bytes = (uint64_t *)&s->offcpu->rodata->wakeup_bytes;
		use_tables = (bool *)&s->offcpu->rodata->use_tables;
	}
	err = obj ? 0 : errno ? -errno : -EINVAL;
	if (!err) {
		*wakeup_bytes = rb / 8;
		err = unwind_fds__reuse(unwind, obj);
		*use_tables = err > 0;
	}
	if (err >= 0)
		err = bpf_map__set_max_entries(events, rb)
			      ?: (s->lock ? lock_bpf__load(s->lock) : offcpu_bpf__load(s->offcpu));
	if (!err)
		s->bits = s->lock ? s->lock->bss->targets : s->offcpu->bss->targets;
	if (err) {
		log_err("%s: cannot load BPF programs: %s", wait_kind_name(kind), strerror(-err));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(events), on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		goto fail;
	}
	return s;
fail:
	wait_sampler__free(s);
	errno = -err;
	return NULL;
}

static void detach(struct wait_sampler *s)
{
	for (unsigned i = 0; i < s->nr_links; i++)
		bpf_link__destroy(s->links[i]);
	s->nr_links = 0;
}

static int attach(struct wait_sampler *s)
{
	struct bpf_program *progs[3];
	unsigned n = 0;

	if (s->lock) {
		progs[n++] = s->lock->progs.on_sys_enter;
		progs[n++] = s->lock->progs.on_sys_exit;
	} else {
		progs[n++] = s->offcpu->progs.on_switch;
	}
	for (unsigned i = 0; i < n; i++) {
		struct bpf_link *l = bpf_program__attach(progs[i]);

		if (!l) {
			int err = -errno;

			log_err("%s: cannot attach %s: %s", wait_kind_name(s->kind),
				bpf_program__name(progs[i]), strerror(-err));
			detach(s);
			return err;
		}
		s->links[s->nr_links++] = l;
	}
	log_info("%s: probes attached", wait_kind_name(s->kind));
	return 0;
}

void wait_sampler__free(struct wait_sampler *s)
{
	if (!s)
		return;
	detach(s);
	ring_buffer__free(s->rb);
	lock_bpf__destroy(s->lock);
	offcpu_bpf__destroy(s->offcpu);
	free(s);
}

static void set_bit(struct wait_sampler *s, uint32_t pid, bool on)
{
	uint64_t m = 1ull << (pid % 64);

	if (on)
		__atomic_fetch_or(&s->bits[pid / 64], m, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&s->bits[pid / 64], ~m, __ATOMIC_RELAXED);
}

int wait_sampler__add_pid(struct wait_sampler *s, uint32_t pid)
{
	int err;

	if (!pid || pid >= TARGETS_MAX_PID)
		return -EINVAL;
	for (unsigned i = 0; i < s->nr_targets; i++) {
		if (s->targets[i].pid == pid) {
			s->targets[i].refs++;
			return 0;
		}
	}
	if (s->nr_targets == MAX_TARGETS) {
		if (!s->over_limit++)
			log_warn("%s: %u processes profiled already: no more",
				 wait_kind_name(s->kind), MAX_TARGETS);
		return -ENOSPC;
	}
	if (!s->nr_links && (err = attach(s)))
		return err;
	s->targets[s->nr_targets++] = (struct target_ref){ pid, 1 };
	set_bit(s, pid, true);
	return 0;
}

void wait_sampler__remove_pid(struct wait_sampler *s, uint32_t pid)
{
	for (unsigned i = 0; i < s->nr_targets; i++) {
		if (s->targets[i].pid != pid)
			continue;
		if (--s->targets[i].refs)
			return;
		set_bit(s, pid, false);
		s->targets[i] = s->targets[--s->nr_targets];
		if (!s->nr_targets) {
			detach(s);
			log_info("%s: probes detached: no process is profiled",
				 wait_kind_name(s->kind));
		}
		return;
	}
}

int wait_sampler__drain(struct wait_sampler *s)
{
	return ring_buffer__consume(s->rb);
}

int wait_sampler__fd(const struct wait_sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

static const char *const lock_names[LOCK_CNT_NR] = {
	[LOCK_CNT_WAITS] = "waits",
	[LOCK_CNT_WAITED] = "contentions",
	[LOCK_CNT_WAKES] = "releases",
	[LOCK_CNT_DROP_RINGBUF] = "drops_ringbuf",
	[LOCK_CNT_NO_STORAGE] = "drops_no_storage",
};

static const char *const offcpu_names[OFFCPU_CNT_NR] = {
	[OFFCPU_CNT_SWITCHES] = "switches",
	[OFFCPU_CNT_OUT] = "blocks",
	[OFFCPU_CNT_IN] = "wakeups",
	[OFFCPU_CNT_DROP_RINGBUF] = "drops_ringbuf",
	[OFFCPU_CNT_NO_STORAGE] = "drops_no_storage",
};

/* Sums counter c over the CPUs' scratch values. */
static int sum_counters(int fd, size_t value_size, size_t counters_off, int ncpus, int nr,
			uint64_t *out)
{
	char *v = calloc(ncpus, value_size);
	uint32_t zero = 0;

	if (!v)
		return -ENOMEM;
	memset(out, 0, nr * sizeof(*out));
	if (bpf_map_lookup_elem(fd, &zero, v) == 0)
		for (int i = 0; i < ncpus; i++)
			for (int c = 0; c < nr; c++)
				out[c] += ((uint64_t *)(v + i * value_size + counters_off))[c];
	free(v);
	return 0;
}

/* The program's counters (LOCK_CNT_* or OFFCPU_CNT_*), summed over CPUs. */
static int read_counters(const struct wait_sampler *s, uint64_t c[8])
{
	_Static_assert(LOCK_CNT_NR <= 8 && OFFCPU_CNT_NR <= 8, "room for the counters");
	return s->lock ? sum_counters(
				 bpf_map__fd(s->lock->maps.scratch), sizeof(struct lock_percpu),
				 offsetof(struct lock_percpu, counters), s->ncpus, LOCK_CNT_NR, c)
		       : sum_counters(bpf_map__fd(s->offcpu->maps.scratch),
				      sizeof(struct offcpu_percpu),
				      offsetof(struct offcpu_percpu, counters), s->ncpus,
				      OFFCPU_CNT_NR, c);
}

uint64_t wait_sampler__ring_drops(const struct wait_sampler *s)
{
	uint64_t c[8];

	if (!s || read_counters(s, c))
		return 0;
	return c[s->lock ? LOCK_CNT_DROP_RINGBUF : OFFCPU_CNT_DROP_RINGBUF];
}

int wait_sampler__counters(const struct wait_sampler *s, char names[][48], uint64_t *values,
			   int max)
{
	uint64_t c[8];
	const char *const *nm = s->lock ? lock_names : offcpu_names;
	int nr = s->lock ? LOCK_CNT_NR : OFFCPU_CNT_NR, n = 0;
	int err = read_counters(s, c);

	if (err)
		return 0;
	for (int i = 0; i < nr && n < max; i++, n++) {
		snprintf(names[n], 48, "%s_%s", wait_kind_name(s->kind), nm[i]);
		values[n] = c[i];
	}
	if (n < max) {
		snprintf(names[n], 48, "%s_drops_malformed", wait_kind_name(s->kind));
		values[n++] = s->malformed;
	}
	if (n < max) {
		snprintf(names[n], 48, "%s_targets_over_limit", wait_kind_name(s->kind));
		values[n++] = s->over_limit;
	}
	return n;
}
