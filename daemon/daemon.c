// SPDX-License-Identifier: MIT
/*
 * The daemon's parts put together (daemon.h): started in the order their
 * records flow (side band before samples, so no process starts unseen),
 * each loop turn's work (drain the rings, finish requests, end a window),
 * and stopped, writing what was collected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "caps.h"
#include "clock.h"
#include "control.h"
#include "cpu_sampler.h"
#include "cpu_stream.h"
#include "daemon.h"
#include "debuginfod.h"
#include "file_cache.h"
#include "heap_sampler.h"
#include "heap_watch.h"
#include "http.h"
#include "kind.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "procs.h"
#include "requests.h"
#include "sideband.h"
#include "symtab.h"
#include "unwind_feed.h"
#include "unwind_tables.h"
#include "wait_watch.h"

#define DRAIN_PERIOD_MS 1000
#define SYMCACHE_BYTES (12u << 20) /* RSS target is 32 MiB in all */
#define UNWIND_FILES 4096          /* files with a table in the unwinder's pool at once */
/* Loading unwind tables may take this much of each second; more waits
 * (a working set over unwind_cache_size would reload tables forever). */
#define CFI_LOAD_NS_PER_SEC 200000000ull
#define SIDEBAND_PAGES 64 /* 256 KiB a CPU: a burst of ~4k mmaps */

/* libbpf's messages; of a long one (a verifier log) the end, where the
 * verifier says what it refused, rather than its start. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum { KEEP = 900 };
	char *buf = NULL;
	size_t n;

	if (level == LIBBPF_DEBUG && log_max_level < LOG_LVL_DEBUG)
		return 0;
	if (vasprintf(&buf, fmt, ap) < 0) {
		log_msg(LOG_LVL_WARN, "libbpf: a message lost: out of memory");
		return 0;
	}
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	log_msg(level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG, "libbpf: %s%s",
		n > KEEP ? "[...] " : "", n > KEEP ? buf + n - KEEP : buf);
	free(buf);
	return 0;
}

/* About a second of the worst case (~1 KiB records on every CPU at the
 * frequency), as a power of two in 256 KiB..16 MiB: the ring is mapped twice
 * by the kernel, so every byte of it counts twice in our RSS. */
static uint64_t auto_ringbuf_bytes(unsigned hz)
{
	uint64_t want = (uint64_t)libbpf_num_possible_cpus() * hz * 1024, sz = 256 << 10;

	while (sz < want && sz < (16 << 20))
		sz <<= 1;
	return sz;
}

static void on_sideband(const struct sb_event *ev, void *ctx)
{
	struct daemon *d = ctx;

	procs__apply(d->procs, ev);
	/* A program the config names for heap profiling has just started. */
	if (ev->type == SB_COMM && ev->comm.exec && d->heapw)
		heap_watch__consider(d->heapw, ev->pid, ev->comm.comm);
	/* ... or has just mapped an in-process heap sampler (heap_target =
	 * preloaded). */
	if (ev->type == SB_MMAP && d->heapw)
		heap_watch__mapped(d->heapw, ev->pid, ev->mmap.addr, ev->mmap.len, ev->mmap.prot,
				   makedev(ev->mmap.maj, ev->mmap.min), ev->mmap.ino);
	if (ev->type == SB_COMM && ev->comm.exec && d->waitw)
		wait_watch__consider(d->waitw, ev->pid, ev->comm.comm);
}

/* A server's debug file for build_id is in the cache: its mappings load
 * their symbols again, with it, at their next use. */
static void debug_arrived(const char *build_id, void *ctx)
{
	procs__debug_arrived(((struct daemon *)ctx)->procs, build_id);
}

static void want_debug(const char *build_id, void *ctx)
{
	debuginfod__want(((struct daemon *)ctx)->dbgi, build_id);
}

/*
 * Side-band first, then samples up to the time the side-band was read
 * (cpu_stream.h); a backlog makes the next turn come at once.
 */
static void drain(struct daemon *d, bool all)
{
	cpu_stream__begin_drain(d->cpu, all);
	/* tables loaded since: the processes and samples that waited use them */
	if (file_cache__collect_tables(d->files)) {
		cpu_stream__tables_loaded(d->cpu);
		if (d->ufeed)
			unwind_feed__tables_loaded(d->ufeed);
	}
	if (d->ufeed)
		unwind_feed__tick(d->ufeed, mono_ns());
	file_cache__collect_symbols(d->files); /* mappings take them at their next use */
	if (d->dbgi)
		debuginfod__collect(d->dbgi, debug_arrived, d);
	sideband__drain(d->sb, on_sideband, d);
	if (sideband__maybe_lost(d->sb)) {
		/* An exit may be among them: /proc says who is gone. */
		uint64_t now = mono_ns();
		unsigned ended = procs__reconcile(d->procs, now);

		if (!d->sb_lost_logged_ns || now - d->sb_lost_logged_ns >= 60000000000ull) {
			log_warn("side-band: a ring was full, records may be lost (%" PRIu64
				 " known so far; logged at most once a minute): "
				 "%u processes found gone in /proc",
				 sideband__lost(d->sb), ended);
			d->sb_lost_logged_ns = now;
		}
	}
	d->backlog = cpu_stream__drain(d->cpu, all);
	heap_watch__drain(d->heapw);
	wait_watch__drain(d->waitw);
}

/* Retention by age and total size: at start and after each window's writes. */
static void retention(struct daemon *d)
{
	struct retention_result rr;

	if (output__retention(d->cfg.output_dir, d->cfg.retention_max_age_sec,
			      d->cfg.retention_max_bytes, &rr) < 0)
		return;
	if (rr.files_removed)
		log_info("retention: removed %u files (%" PRIu64 " bytes), %" PRIu64 " bytes kept",
			 rr.files_removed, rr.bytes_removed, rr.bytes_kept);
	/* entries someone planted: left alone, counted and logged once */
	for (unsigned i = 0; i < rr.refused; i++)
		output_health__result(&d->out, d->cfg.output_dir, -EPERM);
}

/* last: pprofd is stopping: every sample is taken in, none left pending. */
static void end_window(struct daemon *d, bool last)
{
	uint64_t now = mono_ns();
	int64_t duration;

	drain(d, last);
	duration = now - d->window_start_mono;
	cpu_stream__write_window(d->cpu, d->window_start_real, duration);
	heap_watch__write(d->heapw, d->cfg.output_dir, d->window_start_real, duration);
	wait_watch__write(d->waitw, d->cfg.output_dir, d->window_start_real, duration);
	output_health__window_end(&d->out, d->cfg.output_dir);
	procs__gc(d->procs);
	/* writing may have loaded DWARF: its memory counts against the budget */
	file_cache__recount(d->files);
	retention(d);
	daemon__notify_status(d);
	d->window_start_mono = now;
	clock_gettime(CLOCK_REALTIME, &d->window_start_real);
}

static void on_http(struct loop_fd *w, uint32_t events)
{
	http__run(loop_fd_owner(w, struct daemon, http_w)->http);
}

/* The rings are drained once per loop turn, whatever woke us. */
static void on_ring(struct loop_fd *w, uint32_t events)
{
}

/* A cache's loader thread (started: err 0) and its fd on the loop, whose
 * wake-ups are collected with the rings'. */
static void add_loader_fd(struct daemon *d, struct loop_fd *w, int err, int fd, const char *what)
{
	if (err < 0)
		log_warn("%s load in the event loop: no loader thread (%s)", what, strerror(-err));
	*w = (struct loop_fd){ .fd = fd, .fn = on_ring };
	if (w->fd >= 0)
		loop_fd_add(d->epfd, w, EPOLLIN);
}

/* Debug files by build ID from the configured servers (or DEBUGINFOD_URLS),
 * into OUTPUT_DIR/.debuginfod; before any other thread runs, since
 * libdebuginfod reads its settings from the environment. */
static void start_debuginfod(struct daemon *d)
{
	const char *urls = d->cfg.debuginfod_urls[0] ? d->cfg.debuginfod_urls
						     : getenv("DEBUGINFOD_URLS");
	char cwd[2048];
	int n;

	if (!urls || !urls[0])
		return;
	if (d->cfg.output_dir[0] == '/')
		n = snprintf(d->dbgi_dir, sizeof(d->dbgi_dir), "%s/.debuginfod", d->cfg.output_dir);
	else
		n = snprintf(d->dbgi_dir, sizeof(d->dbgi_dir), "%s/%s/.debuginfod",
			     getcwd(cwd, sizeof(cwd)) ? cwd : "", d->cfg.output_dir);
	if (n < 0 || (size_t)n >= sizeof(d->dbgi_dir) || d->dbgi_dir[0] != '/') {
		log_warn("debuginfod: off: no absolute path for its cache under %s",
			 d->cfg.output_dir);
		return;
	}
	/* (the output module makes it so too, at the first write) */
	if (mkdir(d->cfg.output_dir, 0700) && errno != EEXIST)
		log_warn("debuginfod: %s: %s", d->cfg.output_dir, strerror(errno));
	d->dbgi = debuginfod__new(&(struct debuginfod_conf){
		.urls = urls,
		.cache_dir = d->dbgi_dir,
		.max_bytes = d->cfg.debuginfod_cache_bytes,
		.max_age_sec = d->cfg.debuginfod_max_age_sec,
		.timeout_sec = d->cfg.debuginfod_timeout_sec,
	});
	if (!d->dbgi) {
		log_warn("debuginfod: off: %s: %s", d->dbgi_dir, strerror(errno));
		return;
	}
	symtab__set_debug_cache(d->dbgi_dir);
	procs__set_want_debug(d->procs, want_debug, d);
	d->dbgi_w = (struct loop_fd){ .fd = debuginfod__fd(d->dbgi), .fn = on_ring };
	loop_fd_add(d->epfd, &d->dbgi_w, EPOLLIN);
	log_info("debuginfod: files without symbols or DWARF here are asked of %s; cache %s "
		 "(at most %" PRIu64 " MiB)",
		 urls, d->dbgi_dir, d->cfg.debuginfod_cache_bytes >> 20);
}

/* The table unwinder's maps, filled as processes are sampled. */
static int start_tables(struct daemon *d)
{
	struct unwind_tables_conf c = {
		.pool_slots = d->cfg.unwind_table_bytes / sizeof(union unwind_slot),
		.file_slots = UNWIND_FILES,
		.max_procs = d->cfg.max_processes,
	};

	c.fds = cpu_sampler__unwind_fds(d->sampler);
	d->utables = unwind_tables__new(&c);
	d->ufeed = d->utables ? unwind_feed__new(d->utables, d->procs) : NULL;
	if (!d->ufeed) {
		log_err("unwind: cannot set up the table unwinder: %s", strerror(errno));
		return -1;
	}
	procs__on_exit(d->procs, unwind_feed__exit, d->ufeed);
	procs__on_unwind_due(d->procs, unwind_feed__due, d->ufeed);
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int daemon__start(struct daemon *d)
{
	struct shares_limits conn_limits;
	struct watch_opts watch;

	libbpf_set_print(libbpf_print);
	/* unwind tables (libc's is 170 KiB; libLLVM's 5.7 MB): unwind_cache_size */
	d->files = file_cache__new(&(struct file_cache_limits){
		.max_files = d->cfg.max_symbol_files,
		.symbol_bytes = SYMCACHE_BYTES,
		.table_bytes = d->cfg.unwind_cache_bytes,
		.table_load_ns_sec = CFI_LOAD_NS_PER_SEC,
	});
	d->ksyms = kallsyms__load("/proc/kallsyms");
	if (!d->ksyms)
		log_warn(
			"no kernel symbols (/proc/kallsyms unreadable or hidden): kernel frames stay addresses");
	d->procs = procs__new(d->cfg.max_processes, d->files);
	if (d->procs)
		procs__use_tables(d->procs, true);
	if (!d->files || !d->procs)
		return -1;
	start_debuginfod(d);
	/* Side-band first, so no process starts unseen between the two. */
	d->sb = sideband__new(SIDEBAND_PAGES);
	if (!d->sb) {
		log_err("cannot open perf side-band events: %s (are you root?)", strerror(errno));
		return -1;
	}
	d->cpu = cpu_stream__new(&(struct cpu_stream_opts){
		.cfg = &d->cfg,
		.procs = d->procs,
		.ksyms = &d->ksyms,
		.collector = &d->collector,
		.ufeed = &d->ufeed,
		.health = &d->out,
	});
	if (!d->cpu)
		return -1;
	d->sampler = cpu_sampler__new(&(struct cpu_sampler_opts){
		.frequency_hz = d->cfg.frequency_hz,
		.ringbuf_bytes = d->cfg.ringbuf_bytes ? d->cfg.ringbuf_bytes
						      : auto_ringbuf_bytes(d->cfg.frequency_hz),
		.self_tgid = d->cfg.profile_self ? 0 : getpid(),
		.use_tables = d->cfg.unwind_tables,
		.unwind_pool_slots = d->cfg.unwind_table_bytes / sizeof(union unwind_slot),
		.unwind_files = UNWIND_FILES,
		.unwind_procs = d->cfg.max_processes,
		.time_samples = d->cfg.bpf_sample_timing,
		.fn = cpu_stream__on_sample,
		.ctx = d->cpu,
	});
	if (!d->sampler)
		return -1;
	cpu_stream__start(d->cpu, d->sampler);
	if (d->cfg.unwind_tables && start_tables(d))
		return -1;
	d->samples_w = (struct loop_fd){ .fd = cpu_sampler__fd(d->sampler), .fn = on_ring };
	d->sideband_w = (struct loop_fd){ .fd = sideband__fd(d->sb), .fn = on_ring };
	loop_fd_add(d->epfd, &d->samples_w, EPOLLIN);
	loop_fd_add(d->epfd, &d->sideband_w, EPOLLIN);

	watch = (struct watch_opts){
		.cfg = &d->cfg,
		.procs = d->procs,
		.ksyms = &d->ksyms,
		.epfd = d->epfd,
		.health = &d->out,
		.collector = &d->collector,
		.unwind = cpu_sampler__unwind_fds(d->sampler),
		.files = d->files,
	};
	d->heapw = heap_watch__new(&watch);
	d->waitw = wait_watch__new(&watch);
	if (!d->heapw || !d->waitw)
		return -1;
	heap_watch__scan(d->heapw);
	wait_watch__scan(d->waitw);
	d->kinds[KIND_CPU] = cpu_stream__kind(d->cpu);
	d->kinds[KIND_HEAP] = heap_watch__kind(d->heapw);
	d->kinds[KIND_MUTEX] = wait_watch__kind(d->waitw, WAIT_MUTEX);
	d->kinds[KIND_BLOCK] = wait_watch__kind(d->waitw, WAIT_BLOCK);
	d->kinds[KIND_THREADS] = d->threads_kind = threads_kind__new(d->procs, &d->ksyms);
	if (!d->threads_kind)
		return -1;
	d->requests = requests__new(&(struct requests_opts){
		.procs = d->procs,
		.ksyms = &d->ksyms,
		.kinds = d->kinds,
		.collector = &d->collector,
		.max_seconds = d->cfg.max_request_seconds,
		.max_concurrent = d->cfg.max_concurrent_requests,
		.max_per_user = d->cfg.max_requests_per_user,
		.reserved = d->cfg.reserved_requests,
		.status = daemon__status_counters,
		.status_ctx = d,
	});
	if (!d->requests)
		return -1;
	conn_limits = (struct shares_limits){ d->cfg.max_connections, d->cfg.reserved_connections,
					      d->cfg.max_connections_per_user };
	d->control = control__new(d->cfg.socket_path, d->epfd, d->requests, &conn_limits);
	if (!d->control) {
		log_err("cannot listen on %s: %s", d->cfg.socket_path, strerror(errno));
		return -1;
	}

	if (d->cfg.http_enabled) {
		d->http = http__new(
			&(struct http_opts){
				.addr = d->cfg.http_addr,
				.token = d->cfg.http_token,
				.max_seconds = d->cfg.max_request_seconds,
				.conns = conn_limits,
				.timeout_sec = 10,
				.ranks = cpu_stream__ranks(d->cpu),
				.hz = d->cfg.frequency_hz,
				.output_dir = d->cfg.output_dir,
			},
			d->requests);
		if (!d->http) {
			log_err("cannot serve HTTP on %s: %s", d->cfg.http_addr,
				errno == EPERM
					? "a listener beyond loopback needs http_token in the config"
					: strerror(errno));
			return -1;
		}
		d->http_w = (struct loop_fd){ .fd = http__fd(d->http), .fn = on_http };
		loop_fd_add(d->epfd, &d->http_w, EPOLLIN);
	}

	/* Kernel symbols are read, BPF is loaded, the sockets listen: what
	 * only start-up needed can go. */
	caps__drop_unneeded();
	/* after the drop: capabilities are a thread's, and the loaders need none */
	{
		/* started before their fds are asked for */
		int err = file_cache__start_loaders(d->files);

		add_loader_fd(d, &d->cfi_w, err, file_cache__tables_fd(d->files),
			      "cfi: unwind tables");
		add_loader_fd(d, &d->sym_w, err, file_cache__symbols_fd(d->files),
			      "symtab: symbols");
	}
	retention(d);

	d->start_mono = d->window_start_mono = mono_ns();
	clock_gettime(CLOCK_REALTIME, &d->window_start_real);
	log_info("pprofd %s: profiling every process at %u Hz, writing to %s every %us; "
		 "control socket %s; HTTP %s",
		 PPROFD_VERSION, d->cfg.frequency_hz, d->cfg.output_dir, d->cfg.interval_sec,
		 d->cfg.socket_path, d->http ? d->cfg.http_addr : "off");
	return 0;
}

uint64_t daemon__next_wake(struct daemon *d)
{
	uint64_t now = mono_ns();
	uint64_t next = min_u64(daemon__window_end(d), now + DRAIN_PERIOD_MS * 1000000ull);

	next = min_u64(next, requests__next_deadline(d->requests));
	next = min_u64(next, control__next_deadline(d->control));
	if (d->ufeed)
		next = min_u64(next, unwind_feed__next_try(d->ufeed));
	if (d->http && http__timeout_ms(d->http) >= 0)
		next = min_u64(next, now + http__timeout_ms(d->http) * 1000000ull);
	return d->backlog ? now : next;
}

uint64_t daemon__window_end(const struct daemon *d)
{
	return d->window_start_mono + d->cfg.interval_sec * 1000000000ull;
}

void daemon__turn(struct daemon *d)
{
	drain(d, false);
	/* Ended processes without samples go now, not at the window's end:
	 * a build host forks thousands a minute. */
	procs__gc(d->procs);
	requests__tick(d->requests);
	control__tick(d->control);
	if (d->http)
		http__run(d->http); /* resumed connections, timeouts */
	if (mono_ns() >= daemon__window_end(d))
		end_window(d, false);
}

void daemon__stop(struct daemon *d)
{
	log_info("stopping: writing the last window");
	end_window(d, true);
	daemon__log_health(d);
	/* Requests in progress get what they have, with a comment saying so;
	 * the replies get a moment to go out. */
	requests__stop(d->requests);
	control__flush(d->control, 2000);
}

void daemon__free(struct daemon *d)
{
	control__free(d->control);
	requests__free(d->requests); /* answers what HTTP still waits for */
	kind_free(d->threads_kind);
	wait_watch__free(d->waitw);
	heap_watch__free(d->heapw);
	if (d->http)
		http__run(d->http);
	http__free(d->http);
	cpu_sampler__free(d->sampler);
	cpu_stream__free(d->cpu);
	sideband__free(d->sb);
	procs__on_exit(d->procs, NULL, NULL);
	debuginfod__free(d->dbgi);
	unwind_feed__free(d->ufeed);
	unwind_tables__free(d->utables);
	procs__free(d->procs);
	file_cache__free(d->files);
	kallsyms__free(d->ksyms);
	if (d->epfd > 0)
		close(d->epfd);
}
