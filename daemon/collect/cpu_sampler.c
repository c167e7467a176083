// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.skel.h"
#include "cpu_sampler.h"
#include "pid_bitmap.h"
#include "cpus.h"
#include "log.h"

struct cpu_sampler {
	struct cpu_bpf *skel;
	struct bpf_link **links;
	int *pfds;
	int nr_cpus;
	struct ring_buffer *rb;
	cpu_sample_fn fn;
	void *ctx;
	uint64_t malformed;
	uint64_t deadline_ns; /* of this drain; 0: none */
	unsigned since_check; /* records since the clock was last read */
	int ncpus_possible;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct cpu_sampler *s = ctx;
	const struct cpu_sample *cs = data;

	/* Trust nothing, even our own kernel half: sizes must agree. */
	if (size < sizeof(*cs) || cs->nr_kframes > CPU_MAX_FRAMES ||
	    cs->nr_uframes > CPU_MAX_FRAMES ||
	    ((cs->flags & CPU_F_USTACK) && (cs->nr_uframes || cs->ustack_len > CPU_USTACK_MAX)) ||
	    size < cpu_sample__size(cs)) {
		s->malformed++;
		return 0;
	}
	s->fn(cs, size, s->ctx);
	/* The record is consumed either way; a negative return stops libbpf
	 * after it. The clock is read every 16 records. */
	if (s->deadline_ns && !(++s->since_check & 15)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1000000000ull + ts.tv_nsec >= s->deadline_ns)
			return -EAGAIN;
	}
	return 0;
}

/* cpu >= 0, pid -1: one CPU, every task. cpu -1, pid: one thread (and,
 * inherited, what it creates) on any CPU. */
static int open_cpu_clock(int cpu, int pid, unsigned hz)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = hz,
		.freq = 1,
		.inherit = pid > 0,
	};

	return syscall(__NR_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

struct cpu_sampler *cpu_sampler__new(const struct cpu_sampler_opts *o)
{
	struct cpu_sampler *s = calloc(1, sizeof(*s));
	bool *online = NULL;
	int err, n;

	if (!s)
		return NULL;
	s->fn = o->fn;
	s->ctx = o->ctx;
	s->skel = cpu_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_err("cpu: cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->self_tgid = o->self_tgid;
	/* Wake user space when a quarter is full; otherwise it drains on its
	 * own schedule, so a quiet host costs no wake-ups per sample. */
	s->skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	err = bpf_map__set_max_entries(s->skel->maps.samples, o->ringbuf_bytes);
	if (err)
		goto fail;
	s->skel->rodata->use_tables = o->use_tables;
	s->skel->rodata->time_samples = o->time_samples;
	/* the pool mmapable: a table is written by memcpy (libLLVM's in
	 * 13-22 ms; bpf_map_update_batch took 50-110) */
	if (o->use_tables &&
	    ((err = bpf_map__set_map_flags(s->skel->maps.unwind_pool, BPF_F_MMAPABLE)) ||
	     (err = bpf_map__set_max_entries(s->skel->maps.unwind_pool, o->unwind_pool_slots)) ||
	     (err = bpf_map__set_max_entries(s->skel->maps.unwind_files, o->unwind_files)) ||
	     (err = bpf_map__set_max_entries(s->skel->maps.unwind_procs, o->unwind_procs))))
		goto fail;
	err = cpu_bpf__load(s->skel);
	if (err) {
		log_err("cpu: cannot load BPF program: %s", strerror(-err));
		goto fail;
	}
	n = online_cpus(&online);
	if (n < 0) {
		err = n;
		goto fail;
	}
	s->ncpus_possible = n;
	s->links = calloc(n, sizeof(*s->links));
	s->pfds = calloc(n, sizeof(*s->pfds));
	if (!s->links || !s->pfds) {
		err = -ENOMEM;
		goto fail;
	}
	for (int cpu = 0; cpu < n; cpu++) {
		int fd;

		if (!online[cpu])
			continue;
		fd = open_cpu_clock(cpu, -1, o->frequency_hz);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* went offline meanwhile */
			err = -errno;
			log_err("cpu: perf_event_open(cpu-clock, CPU %d, %u Hz): %s", cpu,
				o->frequency_hz, strerror(errno));
			goto fail;
		}
		s->pfds[s->nr_cpus] = fd;
		s->links[s->nr_cpus] =
			bpf_program__attach_perf_event(s->skel->progs.on_cpu_sample, fd);
		if (!s->links[s->nr_cpus]) {
			err = -errno;
			close(fd);
			log_err("cpu: cannot attach to CPU %d: %s", cpu, strerror(errno));
			goto fail;
		}
		s->nr_cpus++;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.samples), on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		goto fail;
	}
	free(online);
	log_info("cpu: sampling %d CPUs at %u Hz", s->nr_cpus, o->frequency_hz);
	return s;
fail:
	free(online);
	cpu_sampler__free(s);
	errno = -err;
	return NULL;
}

void cpu_sampler__free(struct cpu_sampler *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	for (int i = 0; i < s->nr_cpus; i++) {
		bpf_link__destroy(s->links[i]);
		close(s->pfds[i]);
	}
	free(s->links);
	free(s->pfds);
	cpu_bpf__destroy(s->skel);
	free(s);
}

int cpu_sampler__drain(struct cpu_sampler *s, uint64_t deadline_ns)
{
	int n;

	s->deadline_ns = deadline_ns;
	n = ring_buffer__consume(s->rb);
	s->deadline_ns = 0;
	if (n == -EAGAIN)
		return 1;
	return n < 0 ? n : 0;
}

int cpu_sampler__fd(const struct cpu_sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

struct unwind_fds cpu_sampler__unwind_fds(const struct cpu_sampler *s)
{
	if (!s->skel->rodata->use_tables)
		return (struct unwind_fds){ -1, -1, -1, -1 };
	return unwind_fds__of(s->skel->obj);
}

void cpu_sampler__set_nofp(struct cpu_sampler *s, uint32_t pid, bool on)
{
	uint64_t bit = 1ull << (pid % 64);

	if (pid >= PID_BITMAP_MAX_PID || !s->skel->bss)
		return;
	if (on)
		__atomic_fetch_or(&s->skel->bss->nofp[pid / 64], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&s->skel->bss->nofp[pid / 64], ~bit, __ATOMIC_RELAXED);
}

uint64_t cpu_sampler__malformed(const struct cpu_sampler *s)
{
	return s->malformed;
}

int cpu_sampler__counters(const struct cpu_sampler *s, uint64_t out[CPU_CNT_NR])
{
	return percpu_counters_sum(bpf_map__fd(s->skel->maps.scratch), sizeof(struct cpu_percpu),
				   offsetof(struct cpu_percpu, counters), CPU_CNT_NR,
				   s->ncpus_possible, out);
}

struct cpu_pid_events {
	int *fds;
	struct bpf_link **links;
	unsigned n;
};

void cpu_pid_events__free(struct cpu_pid_events *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < e->n; i++) {
		bpf_link__destroy(e->links[i]);
		close(e->fds[i]);
	}
	free(e->fds);
	free(e->links);
	free(e);
}

struct cpu_pid_events *cpu_sampler__attach_pid(struct cpu_sampler *s, uint32_t pid, unsigned hz,
					       unsigned max_threads)
{
	struct cpu_pid_events *e = calloc(1, sizeof(*e));
	char path[64];
	struct dirent *de;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	dir = opendir(path);
	if (!e || !dir) {
		/* ESRCH only when the process is gone: EMFILE is not that */
		err = !e ? -ENOMEM : errno == ENOENT ? -ESRCH : -errno;
		goto fail;
	}
	e->fds = calloc(max_threads, sizeof(*e->fds));
	e->links = calloc(max_threads, sizeof(*e->links));
	if (!e->fds || !e->links) {
		err = -ENOMEM;
		goto fail;
	}
	while ((de = readdir(dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		int fd;

		if (*end || tid <= 0)
			continue;
		if (e->n == max_threads) {
			log_warn("request: pid %u has over %u threads; sampling the first %u", pid,
				 max_threads, max_threads);
			break;
		}
		fd = open_cpu_clock(-1, tid, hz);
		if (fd < 0 && errno == ESRCH)
			continue; /* the thread exited meanwhile */
		if (fd < 0) {
			err = -errno; /* EMFILE: out of fds, said as such */
			goto fail;
		}
		e->links[e->n] =
			bpf_program__attach_perf_event(s->skel->progs.on_request_sample, fd);
		if (!e->links[e->n]) {
			err = -errno;
			close(fd);
			goto fail;
		}
		e->fds[e->n++] = fd;
	}
	if (!e->n) {
		err = -ESRCH;
		goto fail;
	}
	closedir(dir);
	return e;
fail:
	if (dir)
		closedir(dir);
	cpu_pid_events__free(e);
	errno = -err;
	return NULL;
}
