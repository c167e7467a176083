// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mutex.h"
#include "mutex.skel.h"
#include "log.h"
#include "block.h"
#include "block.skel.h"
#include "pid_bitmap.h"
#include "wait_sampler.h"

#define MAX_PIDS 1024 /* processes profiled for one kind at once */

struct pid_ref {
	uint32_t pid;
	unsigned refs;
};

struct wait_sampler {
	enum wait_kind kind;
	struct mutex_bpf *mutex;
	struct block_bpf *block;
	__u64 *bits; /* the program's pids[] bitmap, mapped */
	struct bpf_link *links[3];
	unsigned nr_links;
	struct ring_buffer *rb;
	struct pid_ref pids[MAX_PIDS]; /* those profiled, each by how many holders */
	unsigned nr_pids;
	int ncpus;
	uint64_t malformed, over_limit;
	wait_record_fn fn;
	void *ctx;
};

const char *wait_kind_name(enum wait_kind k)
{
	return k == WAIT_MUTEX ? "mutex" : "block";
}

static int on_mutex(struct wait_sampler *s, const void *data, size_t size)
{
	const struct mutex_event *e = data;
	struct wait_record r = { .kind = WAIT_MUTEX };
	char comm[MUTEX_COMM_LEN + 1];

	if (size < MUTEX_WAITED_SIZE)
		return -EINVAL;
	r.pid = e->pid, r.tid = e->tid, r.time_ns = e->time_ns, r.key = e->wake_id;
	if (e->type == MUTEX_EV_WAITED) {
		r.type = WAIT_REC_END;
		r.delay_ns = e->delay_ns;
	} else if (e->type == MUTEX_EV_WAKE && size >= sizeof(*e) &&
		   e->ustack_len <= size - sizeof(*e) &&
		   ustack_fits((const void *)(e + 1), e->ustack_len)) {
		r.type = WAIT_REC_BEGIN;
		memcpy(comm, e->comm, MUTEX_COMM_LEN);
		comm[MUTEX_COMM_LEN] = 0;
		r.comm = comm;
		r.ustack = (const void *)(e + 1);
		r.ustack_len = e->ustack_len;
	} else {
		return -EINVAL;
	}
	s->fn(&r, s->ctx);
	return 0;
}

static int on_block(struct wait_sampler *s, const void *data, size_t size)
{
	const struct block_event *e = data;
	struct wait_record r = { .kind = WAIT_BLOCK };
	char comm[BLOCK_COMM_LEN + 1];
	size_t rest;

	if (size < BLOCK_IN_SIZE)
		return -EINVAL;
	r.pid = e->pid, r.tid = e->tid, r.time_ns = e->time_ns, r.key = e->time_ns;
	if (e->type == BLOCK_EV_IN) {
		r.type = WAIT_REC_END;
		r.delay_ns = e->delay_ns;
		s->fn(&r, s->ctx);
		return 0;
	}
	if (e->type != BLOCK_EV_OUT || size < sizeof(*e))
		return -EINVAL;
	rest = size - sizeof(*e);
	if (e->ustack_len > rest || e->nr_kframes > BLOCK_MAX_KFRAMES ||
	    e->nr_kframes * 8ul > rest - e->ustack_len ||
	    !ustack_fits((const void *)(e + 1), e->ustack_len))
		return -EINVAL;
	r.type = WAIT_REC_BEGIN;
	memcpy(comm, e->comm, BLOCK_COMM_LEN);
	comm[BLOCK_COMM_LEN] = 0;
	r.comm = comm;
	r.ustack = (const void *)(e + 1);
	r.ustack_len = e->ustack_len;
	/* the frames follow the ustack, which is 8-byte sized: copy to align */
	{
		uint64_t kf[BLOCK_MAX_KFRAMES];

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
	int err = s->kind == WAIT_MUTEX ? on_mutex(s, data, size) : on_block(s, data, size);

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
	if (kind == WAIT_MUTEX && (s->mutex = mutex_bpf__open())) {
		obj = s->mutex->obj;
		events = s->mutex->maps.events;
		wakeup_bytes = (uint64_t *)&s->mutex->rodata->wakeup_bytes;
		use_tables = (bool *)&s->mutex->rodata->use_tables;
	} else if (kind == WAIT_BLOCK && (s->block = block_bpf__open())) {
		obj = s->block->obj;
		events = s->block->maps.events;
		wakeup_bytes = (uint64_t *)&s->block->rodata->wakeup_bytes;
		use_tables = (bool *)&s->block->rodata->use_tables;
	}
	err = obj ? 0 : errno ? -errno : -EINVAL;
	if (!err) {
		*wakeup_bytes = rb / 8;
		err = unwind_fds__reuse(unwind, obj);
		*use_tables = err > 0;
	}
	if (err >= 0)
		err = bpf_map__set_max_entries(events, rb)
			      ?: (s->mutex ? mutex_bpf__load(s->mutex) : block_bpf__load(s->block));
	if (!err)
		s->bits = s->mutex ? s->mutex->bss->pids : s->block->bss->pids;
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

	if (s->mutex) {
		progs[n++] = s->mutex->progs.on_sys_enter;
		progs[n++] = s->mutex->progs.on_sys_exit;
	} else {
		progs[n++] = s->block->progs.on_switch;
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
	mutex_bpf__destroy(s->mutex);
	block_bpf__destroy(s->block);
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

	if (!pid || pid >= PID_BITMAP_MAX_PID)
		return -EINVAL;
	for (unsigned i = 0; i < s->nr_pids; i++) {
		if (s->pids[i].pid == pid) {
			s->pids[i].refs++;
			return 0;
		}
	}
	if (s->nr_pids == MAX_PIDS) {
		if (!s->over_limit++)
			log_warn("%s: %u processes profiled already: no more",
				 wait_kind_name(s->kind), MAX_PIDS);
		return -ENOSPC;
	}
	if (!s->nr_links && (err = attach(s)))
		return err;
	s->pids[s->nr_pids++] = (struct pid_ref){ pid, 1 };
	set_bit(s, pid, true);
	return 0;
}

void wait_sampler__remove_pid(struct wait_sampler *s, uint32_t pid)
{
	for (unsigned i = 0; i < s->nr_pids; i++) {
		if (s->pids[i].pid != pid)
			continue;
		if (--s->pids[i].refs)
			return;
		set_bit(s, pid, false);
		s->pids[i] = s->pids[--s->nr_pids];
		if (!s->nr_pids) {
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

static const char *const mutex_names[MUTEX_CNT_NR] = {
	[MUTEX_CNT_WAITS] = "waits",
	[MUTEX_CNT_WAITED] = "contentions",
	[MUTEX_CNT_WAKES] = "releases",
	[MUTEX_CNT_DROP_RINGBUF] = "drops_ringbuf",
	[MUTEX_CNT_NO_STORAGE] = "drops_no_storage",
};

static const char *const block_names[BLOCK_CNT_NR] = {
	[BLOCK_CNT_SWITCHES] = "switches",
	[BLOCK_CNT_OUT] = "blocks",
	[BLOCK_CNT_IN] = "wakeups",
	[BLOCK_CNT_DROP_RINGBUF] = "drops_ringbuf",
	[BLOCK_CNT_NO_STORAGE] = "drops_no_storage",
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

/* The program's counters (MUTEX_CNT_* or BLOCK_CNT_*), summed over CPUs. */
static int read_counters(const struct wait_sampler *s, uint64_t c[8])
{
	_Static_assert(MUTEX_CNT_NR <= 8 && BLOCK_CNT_NR <= 8, "room for the counters");
	return s->mutex ? sum_counters(bpf_map__fd(s->mutex->maps.scratch),
				       sizeof(struct mutex_percpu),
				       offsetof(struct mutex_percpu, counters), s->ncpus,
				       MUTEX_CNT_NR, c)
			: sum_counters(bpf_map__fd(s->block->maps.scratch),
				       sizeof(struct block_percpu),
				       offsetof(struct block_percpu, counters), s->ncpus,
				       BLOCK_CNT_NR, c);
}

uint64_t wait_sampler__ring_drops(const struct wait_sampler *s)
{
	uint64_t c[8];

	if (!s || read_counters(s, c))
		return 0;
	return c[s->mutex ? MUTEX_CNT_DROP_RINGBUF : BLOCK_CNT_DROP_RINGBUF];
}

int wait_sampler__counters(const struct wait_sampler *s, char names[][48], uint64_t *values,
			   int max)
{
	uint64_t c[8];
	const char *const *nm = s->mutex ? mutex_names : block_names;
	int nr = s->mutex ? MUTEX_CNT_NR : BLOCK_CNT_NR, n = 0;
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
