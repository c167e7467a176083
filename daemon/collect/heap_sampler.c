// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "heap.skel.h"
#include "cpus.h"
#include "heap_sampler.h"
#include "file_cache.h"
#include "heap_sites.h"
#include "heap_usdt.h"
#include "log.h"
#include "safe_open.h"

/*
 * libbpf 1.1 knows neither uprobe_multi nor uprobe sessions: the programs
 * are loaded as kprobe programs with the expected attach type set by hand,
 * and the links made with BPF_LINK_CREATE directly, with the kernel's uapi
 * layout of link_create.uprobe_multi (6.6+; sessions 6.13+) spelled here.
 */
#define ATTACH_UPROBE_MULTI 48   /* BPF_TRACE_UPROBE_MULTI */
#define ATTACH_UPROBE_SESSION 57 /* BPF_TRACE_UPROBE_SESSION */

struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
};

struct heap_sampler {
	struct heap_bpf *skel;
	struct ring_buffer *rb;
	heap_event_fn fn;
	heap_lost_fn lost_fn;
	void *ctx;
	uint64_t malformed;
	int ncpus;
	bool retiring; /* lost_gen flipped: generation `retired` to be read */
	uint32_t retired;
	struct heap_lost_key *keys; /* drain_lost's, max_entries of `lost` */
	struct file_cache *files;
};

struct heap_probes {
	struct heap_sampler *s;
	uint32_t pid;
	int alloc_link, free_link;
	unsigned slow;
	bool usdt; /* through an in-process sampler's probes */
	char libc[4096];
};

static const char *const counter_names[HEAP_CNT_NR] = {
	[HEAP_CNT_ALLOC_CALLS] = "alloc_calls",   [HEAP_CNT_FREE_CALLS] = "free_calls",
	[HEAP_CNT_SAMPLED] = "sampled",           [HEAP_CNT_RETURNS] = "returns",
	[HEAP_CNT_ALLOC_EVENTS] = "alloc_events", [HEAP_CNT_FREE_EVENTS] = "free_events",
	[HEAP_CNT_ALLOC_FAILED] = "alloc_failed", [HEAP_CNT_NESTED] = "nested_skipped",
	[HEAP_CNT_DROP_RINGBUF] = "drop_ringbuf", [HEAP_CNT_INUSE_FULL] = "inuse_table_full",
	[HEAP_CNT_NO_THREAD] = "no_thread_state", [HEAP_CNT_USTACK_ERR] = "ustack_err",
	[HEAP_CNT_RATE_RAISED] = "rate_raised",   [HEAP_CNT_FREE_DEFERRED] = "free_deferred",
	[HEAP_CNT_FREE_LOST] = "free_lost",       [HEAP_CNT_LOST_NO_ENTRY] = "lost_no_entry",
};

const char *heap_counter_name(enum heap_counter c)
{
	return c < HEAP_CNT_NR ? counter_names[c] : "?";
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct heap_sampler *s = ctx;
	const struct heap_event *e = data;

	/* Trust nothing, even our own kernel half: sizes must agree. */
	if (size < HEAP_FREE_EVENT_SIZE ||
	    (e->type == HEAP_EV_ALLOC &&
	     (size < sizeof(*e) || e->nr_frames > HEAP_MAX_FRAMES ||
	      size < sizeof(*e) + e->nr_frames * 8ul ||
	      ((e->flags & HEAP_F_USTACK) &&
	       (e->nr_frames || e->ustack_len > size - sizeof(*e) ||
		!ustack_fits((const struct ustack_hdr *)e->frames, e->ustack_len))))) ||
	    (e->type != HEAP_EV_ALLOC && e->type != HEAP_EV_FREE)) {
		s->malformed++;
		return 0;
	}
	s->fn(e, size, s->ctx);
	return 0;
}

struct heap_sampler *heap_sampler__new(const struct heap_sampler_opts *o)
{
	struct heap_sampler *s = calloc(1, sizeof(*s));
	uint64_t rb = o->ringbuf_bytes ? o->ringbuf_bytes : 2 << 20;
	int err;

	if (!s)
		return NULL;
	s->fn = o->fn;
	s->lost_fn = o->lost_fn;
	s->ctx = o->ctx;
	s->files = o->files;
	s->ncpus = libbpf_num_possible_cpus();
	s->skel = heap_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_err("heap: cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->rate = o->rate ? o->rate : HEAP_DEFAULT_RATE;
	s->skel->rodata->wakeup_bytes = rb / 4;
	s->skel->rodata->ring_bytes = rb;
	if ((err = bpf_map__set_max_entries(s->skel->maps.events, rb)) ||
	    (err = bpf_map__set_max_entries(s->skel->maps.live, o->max_live ? o->max_live : 32768)))
		goto fail;
	err = unwind_fds__reuse(o->unwind, s->skel->obj);
	if (err < 0)
		goto fail;
	s->skel->rodata->use_tables = err;
	bpf_program__set_type(s->skel->progs.heap_alloc, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_alloc, ATTACH_UPROBE_SESSION);
	bpf_program__set_type(s->skel->progs.heap_free, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_free, ATTACH_UPROBE_MULTI);
	bpf_program__set_type(s->skel->progs.heap_usdt, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_usdt, ATTACH_UPROBE_MULTI);
	err = heap_bpf__load(s->skel);
	if (err) {
		log_err("heap: cannot load BPF programs (uprobe sessions need Linux 6.13+): %s",
			strerror(-err));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	s->keys = calloc(bpf_map__max_entries(s->skel->maps.lost), sizeof(*s->keys));
	if (!s->rb || !s->keys) {
		err = s->rb ? -ENOMEM : -errno;
		goto fail;
	}
	return s;
fail:
	heap_sampler__free(s);
	errno = -err;
	return NULL;
}

void heap_sampler__free(struct heap_sampler *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	heap_bpf__destroy(s->skel);
	free(s->keys);
	free(s);
}

/* Flips lost_gen, so that BPF counts new losses in fresh entries, and hands
 * on the retired generation's entries, each read and deleted, once no
 * program is inside it (else at the next drain; heap.h, heap_lost_key). */
static void drain_lost(struct heap_sampler *s)
{
	int fd = bpf_map__fd(s->skel->maps.lost);
	unsigned max = bpf_map__max_entries(s->skel->maps.lost), n = 0;
	struct heap_lost l;

	if (!s->retiring) {
		s->retired = s->skel->bss->lost_gen & 1;
		__atomic_store_n(&s->skel->bss->lost_gen, s->retired ^ 1, __ATOMIC_SEQ_CST);
		s->retiring = true;
	}
	if (__atomic_load_n(&s->skel->bss->lost_busy[s->retired], __ATOMIC_SEQ_CST))
		return; /* a program is still writing in it: at the next drain */
	/* every key first: a deleted key would restart the walk */
	while (n < max && !bpf_map_get_next_key(fd, n ? &s->keys[n - 1] : NULL, &s->keys[n]))
		n++;
	for (unsigned i = 0; i < n; i++)
		if (s->keys[i].gen == s->retired &&
		    !bpf_map_lookup_and_delete_elem(fd, &s->keys[i], &l) && s->lost_fn)
			s->lost_fn(s->keys[i].tgid, &l, s->ctx);
	s->retiring = false;
}

int heap_sampler__drain(struct heap_sampler *s)
{
	int n = ring_buffer__consume(s->rb);

	drain_lost(s);
	return n;
}

int heap_sampler__fd(const struct heap_sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

uint64_t heap_sampler__malformed(const struct heap_sampler *s)
{
	return s->malformed;
}

int heap_sampler__counters(const struct heap_sampler *s, uint64_t out[HEAP_CNT_NR])
{
	return percpu_counters_sum(bpf_map__fd(s->skel->maps.scratch), sizeof(struct heap_percpu),
				   offsetof(struct heap_percpu, counters), HEAP_CNT_NR, s->ncpus,
				   out);
}

/* Opens a file mapped by pid: through its root (containers), or, when that
 * fails or the file was replaced, through map_files. Never blocks, and
 * only regular files (issue 12: a FIFO named libc.so.6 in the process's
 * mount namespace held the daemon in open()). */
static int open_mapped(uint32_t pid, const char *path, const char *range, unsigned long ino,
		       char *out, size_t outlen)
{
	char root[64];
	struct stat st;
	int fd;

	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	snprintf(out, outlen, "%s%s", root, path);
	fd = safe_open(root, path);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino)
		return fd;
	if (fd >= 0)
		close(fd);
	snprintf(out, outlen, "/proc/%u/map_files/%s", pid, range);
	return safe_open_proc(out);
}

/* The file cache's keys of what read_sites() and read_usdt() read. */
enum { SITES_LIBC = 1, SITES_ALT, SITES_USDT };

struct sites_read {
	const char *lib;
	uint32_t pid;
	bool alt;
};

static int read_sites(int fd, void *out, void *ctx)
{
	const struct sites_read *r = ctx;

	return r->alt ? heap_probe_sites_alt(fd, r->lib, r->pid, out)
		      : heap_probe_sites_libc(fd, r->lib, r->pid, out);
}

/* The probe sites of the allocator open as fd (glibc's, or jemalloc's or
 * tcmalloc's: alt), read once for every process that maps its file. */
static int probe_sites(struct heap_sampler *s, int fd, bool alt, const char *lib, uint32_t pid,
		       struct heap_probe_sites *ps)
{
	struct sites_read r = { .lib = lib, .pid = pid, .alt = alt };
	struct cached_file *f = s->files ? file_cache__file(s->files, fd) : NULL;
	int err;

	if (!f)
		return read_sites(fd, ps, &r);
	err = file_cache__derived(s->files, f, alt ? SITES_ALT : SITES_LIBC, fd, ps, sizeof(*ps),
				  read_sites, &r);
	cached_file__put(f);
	return err;
}

static int link_create(int prog_fd, unsigned attach_type, const char *path, const uint64_t *offs,
		       const uint64_t *ref_ctrs, const uint64_t *cookies, unsigned cnt,
		       uint32_t pid)
{
	struct link_create_uprobe_multi a;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = attach_type;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offs;
	a.ref_ctr_offsets = (uint64_t)(uintptr_t)ref_ctrs;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = cnt;
	a.pid = pid;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}

/* What heap_usdt_sites() says of a file, kept with it in the cache. */
struct usdt_read {
	int err;
	char msg[200];
	struct heap_usdt_sites sites;
};

static int read_usdt(int fd, void *out, void *ctx)
{
	struct usdt_read *r = out;

	r->err = heap_usdt_sites(fd, &r->sites, r->msg, sizeof(r->msg));
	return 0; /* the error is the result, kept */
}

/* The pprofd probes of an in-process sampler open as fd (heap_usdt.h),
 * read once for every process that maps its file. */
static void usdt_sites(struct heap_sampler *s, int fd, struct usdt_read *r)
{
	struct cached_file *f = s->files ? file_cache__file(s->files, fd) : NULL;

	if (!f || file_cache__derived(s->files, f, SITES_USDT, fd, r, sizeof(*r), read_usdt, NULL))
		read_usdt(fd, r, NULL);
	cached_file__put(f);
}

/* Attaches the USDT program at every site of an in-process sampler in
 * t->libc, for t->pid: the kernel raises each site's semaphore while the
 * link lives, and the sampler starts firing. 0, or -errno with err set. */
static int attach_usdt(struct heap_probes *t, const struct heap_usdt_sites *us, char *err,
		       size_t errlen)
{
	int e;

	t->usdt = true;
	t->alloc_link = link_create(bpf_program__fd(t->s->skel->progs.heap_usdt),
				    ATTACH_UPROBE_MULTI, t->libc, us->offs, us->ref_ctrs,
				    us->cookies, us->n, t->pid);
	if (t->alloc_link < 0) {
		e = errno;
		snprintf(err, errlen, "process %u: cannot attach to the USDT probes of %s: %s",
			 t->pid, t->libc, strerror(e));
		return -e;
	}
	return 0;
}

/* Attaches the session program at ps's allocation functions and the free
 * program at its frees, in t->libc for t->pid. 0, or -errno with err set. */
static int attach_sites(struct heap_probes *t, const struct heap_probe_sites *ps, char *err,
			size_t errlen)
{
	int e;

	t->slow = ps->slow;
	t->alloc_link = link_create(bpf_program__fd(t->s->skel->progs.heap_alloc),
				    ATTACH_UPROBE_SESSION, t->libc, ps->alloc_offs, NULL,
				    ps->alloc_cookies, ps->nr_alloc, t->pid);
	if (t->alloc_link < 0) {
		e = errno;
		snprintf(err, errlen, "process %u: cannot attach uprobes to %s: %s", t->pid,
			 t->libc, strerror(e));
		return -e;
	}
	t->free_link = link_create(bpf_program__fd(t->s->skel->progs.heap_free),
				   ATTACH_UPROBE_MULTI, t->libc, ps->free_offs, NULL,
				   ps->free_cookies, ps->nr_free, t->pid);
	if (t->free_link < 0) {
		e = errno;
		snprintf(err, errlen, "process %u: cannot attach %s to %s: %s", t->pid,
			 ps->nr_free == 1 ? "a uprobe" : "uprobes", t->libc, strerror(e));
		return -e;
	}
	return 0;
}

struct heap_probes *heap_sampler__attach_pid(struct heap_sampler *s, uint32_t pid, char *err,
					     size_t errlen)
{
	struct heap_probes *t = calloc(1, sizeof(*t));
	struct heap_maps m;
	struct heap_probe_sites ps;
	int e = 0, fd = -1;

	if (!t)
		return NULL;
	t->s = s;
	t->pid = pid;
	t->alloc_link = t->free_link = -1;
	if (heap_maps__read(pid, &m)) {
		e = ESRCH;
		snprintf(err, errlen, "no process %u", pid);
		goto fail;
	}
	/* An in-process sampler (preload/): its probes, whatever the allocator
	 * under it. */
	if (m.usdt_ino) {
		struct usdt_read *r = malloc(sizeof(*r));

		fd = open_mapped(pid, m.usdt_path, m.usdt_range, m.usdt_ino, t->libc,
				 sizeof(t->libc));
		if (fd >= 0 && r) {
			usdt_sites(s, fd, r);
			if (!r->err) {
				e = -attach_usdt(t, &r->sites, err, errlen);
				free(r);
				if (e)
					goto fail;
				close(fd);
				log_info("heap: profiling pid %u through the probes of %s", pid,
					 t->libc);
				return t;
			}
			log_warn("heap: pid %u maps %s: %s: probing its allocator", pid,
				 m.usdt_path, r->msg);
		}
		free(r);
		if (fd >= 0)
			close(fd);
		fd = -1;
		t->libc[0] = 0;
	}
	if (m.other) {
		e = EOPNOTSUPP;
		snprintf(err, errlen, "process %u uses %s (%s), not glibc's malloc: not supported",
			 pid, m.other, m.other_path);
		goto fail;
	}
	if (!m.libc_ino) {
		e = ENOENT;
		snprintf(err, errlen,
			 "process %u does not use glibc's malloc (no libc.so.6 mapped: a static "
			 "binary, or another C library)",
			 pid);
		goto fail;
	}
	/* An executable that defines malloc itself (a linked-in allocator)
	 * takes precedence over libc's. */
	if (m.exe[0] && strcmp(m.exe, m.libc_path)) {
		char p[4200];
		struct stat st;

		snprintf(p, sizeof(p), "/proc/%u/exe", pid);
		fd = safe_open_proc(p);
		if (fd >= 0 && fstat(fd, &st) == 0 && heap_sites_defines_malloc(fd)) {
			e = EOPNOTSUPP;
			snprintf(
				err, errlen,
				"process %u defines its own malloc in %s, not glibc's: not supported",
				pid, m.exe);
			goto fail;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
	}

	/*
	 * jemalloc or tcmalloc, linked or LD_PRELOADed: the dynamic linker
	 * binds malloc to the first definition in the executable (refused
	 * above), the preloaded objects, then DT_NEEDED breadth-first, where
	 * libc comes late; so when one of them is mapped and exports malloc,
	 * it is the process's malloc (a dlopen()ed one with RTLD_LOCAL would
	 * not be: not told apart here). One mapped without malloc (a
	 * prefixed build: je_malloc) leaves glibc's in place.
	 */
	if (m.alt_ino) {
		fd = open_mapped(pid, m.alt_path, m.alt_range, m.alt_ino, t->libc, sizeof(t->libc));
		if (fd >= 0 && !probe_sites(s, fd, true, t->libc, pid, &ps)) {
			int r = attach_sites(t, &ps, err, errlen);

			if (r) {
				e = -r;
				goto fail;
			}
			close(fd);
			log_info("heap: profiling pid %u through %s (%u probes single-stepped)",
				 pid, t->libc, t->slow);
			return t;
		}
		log_info("heap: pid %u maps %s, which does not export malloc and free: probing "
			 "glibc's",
			 pid, m.alt_path);
		if (fd >= 0)
			close(fd);
		fd = -1;
		t->libc[0] = 0;
	}

	fd = open_mapped(pid, m.libc_path, m.libc_range, m.libc_ino, t->libc, sizeof(t->libc));
	if (fd < 0 || probe_sites(s, fd, false, t->libc, pid, &ps)) {
		e = fd < 0 ? -fd : ENOENT;
		snprintf(err, errlen, "process %u: cannot read malloc/free from %s%s%s", pid,
			 m.libc_path, fd < 0 ? ": " : "", fd < 0 ? strerror(-fd) : "");
		goto fail;
	}
	e = -attach_sites(t, &ps, err, errlen);
	if (e)
		goto fail;
	close(fd);
	log_info("heap: profiling pid %u through %s (%u probes single-stepped)", pid, t->libc,
		 t->slow);
	return t;
fail:
	if (fd >= 0)
		close(fd);
	heap_probes__free(t);
	errno = e ? e : EINVAL;
	return NULL;
}

/* The process's entries in the live table, so that a reused pid does not
 * find blocks that are not its own. */
static void forget_live(struct heap_sampler *s, uint32_t pid)
{
	struct lk {
		uint64_t ptr;
		uint32_t tgid, pad;
	} k, *prev = NULL, *del = NULL;
	int fd = bpf_map__fd(s->skel->maps.live);
	size_t n = 0, cap = 0;

	/* Collect first: deleting the cursor would restart the walk. */
	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		if (k.tgid == pid) {
			if (n == cap) {
				struct lk *d =
					realloc(del, (cap = cap ? 2 * cap : 256) * sizeof(*d));

				if (!d)
					break;
				del = d;
			}
			del[n++] = k;
		}
		prev = &k;
	}
	for (size_t i = 0; i < n; i++)
		if (!bpf_map_delete_elem(fd, &del[i]))
			__atomic_fetch_sub(
				&s->skel->bss->live_hint[heap_hint_slot(del[i].ptr, pid)], 1,
				__ATOMIC_RELAXED);
	free(del);
}

void heap_probes__free(struct heap_probes *t)
{
	if (!t)
		return;
	if (t->alloc_link >= 0)
		close(t->alloc_link);
	if (t->free_link >= 0)
		close(t->free_link);
	if (t->alloc_link >= 0 || t->free_link >= 0)
		forget_live(t->s, t->pid);
	free(t);
}

const char *heap_probes__libc(const struct heap_probes *t)
{
	return t->libc;
}

unsigned heap_probes__slow_probes(const struct heap_probes *t)
{
	return t->slow;
}
