// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "file_cache.h"
#include "log.h"
#include "image_maps.h"
#include "mapping_files.h"
#include "perf_map.h"
#include "proc_text.h"
#include "procs.h"
#include "safe_open.h"
#include "unwind.h"
#include "symtab.h"
#include "upper_bound.h"

/* Of /proc/PID/maps read, on the event loop: the kernel takes ~8 ms a MiB
 * to write it (60,000 mappings of long names: 17 MiB); 4 MiB is ~30,000
 * lines, past what real processes map (a browser: a few thousand). */
#define MAX_PROC_MAPS_BYTES (4 << 20)
/* An image that ended is kept this long for samples still in the ring. */
#define GC_GRACE_NS (2ull * 1000000000)

struct procs {
	struct hashtab by_pid; /* pid -> newest image */
	unsigned max_images;
	struct mapping_files files; /* what the mappings' files hold */
	struct procs_stats st;
	uint64_t last_ns; /* newest time seen */
	void (*on_exit)(uint32_t pid, void *ctx);
	void *on_exit_ctx;
	void (*on_unwind_due)(struct image *img, void *ctx);
	void *on_unwind_due_ctx;
};

void procs__on_exit(struct procs *p, void (*fn)(uint32_t pid, void *ctx), void *ctx)
{
	p->on_exit = fn;
	p->on_exit_ctx = ctx;
}

void procs__on_unwind_due(struct procs *p, void (*fn)(struct image *img, void *ctx), void *ctx)
{
	p->on_unwind_due = fn;
	p->on_unwind_due_ctx = ctx;
}

static bool pid_eq(const void *item, const void *key)
{
	return ((const struct image *)item)->pid == *(const uint32_t *)key;
}

struct procs *procs__new(unsigned max_images, struct file_cache *cache)
{
	struct procs *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->max_images = max_images;
	mapping_files__init(&p->files, cache);
	return p;
}

void procs__set_wait_budget(struct procs *p, uint64_t ns_per_sec)
{
	p->files.wait_budget = ns_per_sec;
}

static void image_free(struct procs *p, struct image *img)
{
	image_maps__free(img->maps, img->nr_maps);
	perf_map__free(img->jit);
	free(img);
	p->st.images--;
	p->st.images_freed++;
}

void procs__free(struct procs *p)
{
	struct image *img;

	if (!p)
		return;
	hashtab__for_each(&p->by_pid, img)
	{
		while (img) {
			struct image *older = img->older;

			image_free(p, img);
			img = older;
		}
	}
	hashtab__free(&p->by_pid);
	free(p);
}

static struct image *newest(struct procs *p, uint32_t pid)
{
	return hashtab__find(&p->by_pid, hash_u64(pid), pid_eq, &pid);
}

void procs__walker_due(struct procs *p, uint32_t pid)
{
	struct image *img = newest(p, pid);

	if (img && p->on_unwind_due)
		p->on_unwind_due(img, p->on_unwind_due_ctx);
}

/* A new current image for pid, starting at begin_ns; the previous one ends. */
static struct image *image_new(struct procs *p, uint32_t pid, uint64_t begin_ns)
{
	struct image *prev, *img;

	if (p->st.images >= p->max_images) {
		p->st.over_limit++;
		if (p->st.over_limit == 1 || !(p->st.over_limit & (p->st.over_limit - 1)))
			log_warn("process table full (max_processes=%u): %" PRIu64
				 " images not tracked",
				 p->max_images, p->st.over_limit);
		return NULL;
	}
	img = calloc(1, sizeof(*img));
	if (!img)
		return NULL;
	img->pid = pid;
	img->begin_ns = begin_ns;
	prev = hashtab__remove(&p->by_pid, hash_u64(pid), pid_eq, &pid);
	if (prev && !prev->end_ns)
		prev->end_ns = begin_ns ? begin_ns : 1;
	img->older = prev;
	if (hashtab__insert(&p->by_pid, hash_u64(pid), img)) {
		/* put the old chain back; lose only the new image */
		if (prev)
			hashtab__insert(&p->by_pid, hash_u64(pid), prev);
		free(img);
		return NULL;
	}
	p->st.images++;
	p->st.images_created++;
	return img;
}

/* ---- mappings ------------------------------------------------------------ */

static void load_proc_maps(struct procs *p, struct image *img)
{
	char path[64], *text;
	struct mapping *maps;
	size_t len;
	int n;

	img->maps_from_proc = false;
	snprintf(path, sizeof(path), "/proc/%u/maps", img->pid);
	if (read_file(path, MAX_PROC_MAPS_BYTES, true, &text, &len) < 0)
		return;
	p->st.maps_read_proc++;
	n = parse_proc_maps(text, len, &maps, MAX_MAPS_PER_IMAGE);
	free(text);
	if (n < 0)
		return;
	if (n > 0 && image_maps__merge(img, maps, n) < 0) {
		uint64_t c = ++p->st.maps_merge_failed;

		if (!(c & (c - 1)))
			log_warn("pid %u: its /proc mappings could not be taken in (%" PRIu64
				 " times so "
				 "far): its frames there stay unknown",
				 img->pid, c);
	}
	free(maps);
	if (!img->comm[0])
		read_proc_comm(img->pid, img->comm, sizeof(img->comm));
}

/* ---- side-band events ---------------------------------------------------- */

static struct image *image_at(struct procs *p, uint32_t pid, uint64_t t)
{
	for (struct image *i = newest(p, pid); i; i = i->older)
		if (i->begin_ns <= t)
			return i;
	return NULL;
}

static bool proc_exists(uint32_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", pid);
	return access(path, F_OK) == 0;
}

/* Whether pid runs: in /proc, and neither a zombie nor dead. */
static bool proc_runs(uint32_t pid)
{
	char *text, state;
	size_t len;
	int err = read_proc(pid, "stat", PROC_STAT_MAX, true, &text, &len);

	if (err) /* gone, or unreadable (then taken to run) */
		return err != -ENOENT && err != -ESRCH;
	err = proc_stat_state(text, len, &state);
	free(text);
	return err || (state != 'Z' && state != 'X');
}

enum proc_liveness procs__liveness(struct procs *p, uint32_t pid)
{
	struct image *img = newest(p, pid);

	if (img && img->exited)
		return PROC_EXITED;
	if (proc_runs(pid))
		return PROC_RUNNING;
	/* untracked (never sampled, or gone at the last gc): nothing pending */
	return img ? PROC_GONE : PROC_EXITED;
}

void procs__apply(struct procs *p, const struct sb_event *ev)
{
	struct image *img, *parent;

	if (ev->time_ns > p->last_ns)
		p->last_ns = ev->time_ns;
	switch (ev->type) {
	case SB_FORK:
		if (ev->pid == ev->fork.ppid)
			return; /* a new thread */
		parent = image_at(p, ev->fork.ppid, ev->time_ns);
		if (!parent && proc_exists(ev->fork.ppid))
			/* running before pprofd: /proc knows it (it forks, so it lives) */
			parent = procs__image_at(p, ev->fork.ppid, ev->time_ns);
		img = image_new(p, ev->pid, ev->time_ns);
		if (!img)
			return;
		if (!parent || parent->maps_from_proc) {
			img->maps_from_proc = true; /* unknown: the child's /proc tells */
			return;
		}
		memcpy(img->comm, parent->comm, sizeof(img->comm));
		if (image_maps__reserve(img, parent->nr_maps) < 0) {
			img->maps_from_proc = true;
			return;
		}
		for (unsigned i = 0; i < parent->nr_maps; i++) {
			struct mapping m = parent->maps[i];

			m.path = strdup(m.path ? m.path : "");
			m.symtab = m.symtab ? symtab__get(m.symtab) : NULL;
			m.file = cached_file__get(m.file);
			img->maps[img->nr_maps++] = m;
		}
		return;
	case SB_COMM:
		if (ev->comm.exec) {
			img = image_new(p, ev->pid, ev->time_ns);
			if (img)
				memcpy(img->comm, ev->comm.comm, sizeof(img->comm));
		} else if (ev->pid == ev->tid && (img = newest(p, ev->pid))) {
			memcpy(img->comm, ev->comm.comm, sizeof(img->comm));
		}
		return;
	case SB_MMAP: {
		struct mapping m = {
			.start = ev->mmap.addr,
			.end = ev->mmap.addr + ev->mmap.len,
			.pgoff = ev->mmap.pgoff,
			.maj = ev->mmap.maj,
			.min = ev->mmap.min,
			.ino = ev->mmap.ino,
		};

		img = image_at(p, ev->pid, ev->time_ns);
		if (!img || img->maps_from_proc || m.end <= m.start)
			return; /* unknown processes are read from /proc when sampled */
		m.path = strdup(ev->mmap.filename);
		if (!m.path || image_maps__insert(img, &m) < 0) {
			free(m.path);
			return;
		}
		/* code mapped into a process the walker knows (a dlopen):
		 * its table starts loading now, not at its first stack */
		if ((ev->mmap.prot & PROT_EXEC) && img->unwind_ns && p->on_unwind_due)
			p->on_unwind_due(img, p->on_unwind_due_ctx);
		return;
	}
	case SB_EXIT:
		if (ev->pid != ev->tid)
			return;
		img = image_at(p, ev->pid, ev->time_ns);
		if (img && !img->end_ns) {
			img->end_ns = ev->time_ns;
			img->exited = true;
			if (p->on_exit && img == newest(p, ev->pid))
				p->on_exit(ev->pid, p->on_exit_ctx);
		}
		return;
	}
}

/*
 * The labels of the process's current image, from its cgroup, once: at
 * its first sample, not at fork (a service manager's child moves to its
 * unit's cgroup, or is cloned into it) nor copied over an exec. A process
 * gone by then has none.
 */
static void read_labels(struct image *img)
{
	size_t len;
	char *text;

	img->labels_read = true;
	if (read_proc(img->pid, "cgroup", PROC_CGROUP_MAX, true, &text, &len))
		return;
	proc_cgroup_labels(text, len, img->service, sizeof(img->service), img->container_id,
			   sizeof(img->container_id));
	free(text);
}

struct image *procs__image_at(struct procs *p, uint32_t pid, uint64_t t)
{
	struct image *img = image_at(p, pid, t), *cur = newest(p, pid);

	if (t > p->last_ns)
		p->last_ns = t;
	if (!img && !cur) {
		/* Running before pprofd started: /proc knows it. */
		img = image_new(p, pid, 0);
		if (!img)
			return NULL;
		img->maps_from_proc = true;
	} else if (!img) {
		/* Older than every image we know: it ran before pprofd and has
		 * exec'd since; its mappings are gone with it. */
		struct image *last = cur;

		while (last->older)
			last = last->older;
		if (p->st.images >= p->max_images)
			return NULL;
		img = calloc(1, sizeof(*img));
		if (!img)
			return NULL;
		img->pid = pid;
		img->end_ns = last->begin_ns;
		last->older = img;
		p->st.images++;
		p->st.images_created++;
	}
	if (img->maps_from_proc && img == newest(p, pid) && !img->end_ns)
		load_proc_maps(p, img);
	if (!img->labels_read && img == newest(p, pid) && !img->end_ns)
		read_labels(img);
	return img;
}

static struct mapping *find_mapping(struct image *img, uint64_t addr)
{
	size_t lo = UPPER_BOUND(img->maps, img->nr_maps, .start, addr);

	if (lo && addr < img->maps[lo - 1].end)
		return &img->maps[lo - 1];
	return NULL;
}

/* A frame in anonymous code: its JIT's perf map read, or read on from
 * where it was, while the process runs (its /proc/PID/root goes with it). */
static void jit_refresh(struct procs *p, struct image *img)
{
	uint64_t now = mono_ns();
	struct perf_map_stats st;
	int fd, err;

	if (img->end_ns || (img->jit_ns && now - img->jit_ns < JIT_REREAD_NS))
		return;
	img->jit_ns = now;
	if (!img->jit && !(img->jit = perf_map__new()))
		return;
	fd = perf_map__open(img->jit, img->pid);
	if (fd < 0) {
		if (fd != -ENOENT && fd != -ESRCH && !p->st.perf_maps_refused++)
			log_info(
				"jit: pid %u's perf map is not its own (%s): not read (logged once)",
				img->pid, strerror(-fd));
		return;
	}
	err = perf_map__update(img->jit, fd);
	close(fd);
	if (err)
		return;
	p->st.perf_maps_read++;
	perf_map__stats(img->jit, &st);
	if (st.dropped > img->jit_dropped) {
		if (!img->jit_dropped)
			log_warn("jit: pid %u's perf map is over %u entries or %u MiB: the rest of "
				 "its JIT code goes unnamed",
				 img->pid, PERF_MAP_MAX_ENTRIES, PERF_MAP_MAX_BYTES >> 20);
		p->st.perf_map_lines_dropped += st.dropped - img->jit_dropped;
		img->jit_dropped = st.dropped;
	}
}

struct mapping *procs__find_mapping(struct procs *p, struct image *img, uint64_t addr)
{
	struct mapping *m = find_mapping(img, addr);

	if (!m && !img->end_ns && !img->proc_reread) {
		/* A mapping we did not see made (a lost record, the vDSO):
		 * read /proc once for this image. */
		img->proc_reread = true;
		load_proc_maps(p, img);
		m = find_mapping(img, addr);
	}
	if (!m) {
		p->st.maps_unknown++;
		return NULL;
	}
	if (!m->resolved)
		mapping_files__resolve(&p->files, img, m);
	else if (m->sym_pending)
		mapping_files__attach(&p->files, m);
	if (mapping_is_anon(m))
		jit_refresh(p, img);
	return m;
}

void procs__use_tables(struct procs *p, bool on)
{
	p->files.tables = on;
}

void procs__await_symbols(struct procs *p, struct image *img, struct mapping *m)
{
	mapping_files__await_symbols(&p->files, img, m);
}

bool procs__await_lines(struct procs *p, struct image *img, struct mapping *m)
{
	return mapping_files__await_lines(&p->files, img, m);
}

const struct cfi_table *procs__mapping_cfi(struct procs *p, struct image *img, struct mapping *m,
					   bool wait)
{
	return mapping_files__cfi(&p->files, img, m, wait);
}

struct find_ctx {
	struct procs *p;
	struct image *img;
	bool wait;
};

static const struct cfi_table *find_cfi(void *ctx, uint64_t pc, uint64_t *file_offset)
{
	struct find_ctx *f = ctx;

	return procs__cfi_for(f->p, f->img, pc, file_offset, f->wait);
}

int procs__unwind_user(struct procs *p, struct image *img, const struct ustack_hdr *h, size_t len,
		       uint64_t *out, unsigned max, bool wait)
{
	struct find_ctx f = { p, img, wait };

	if (h && len >= sizeof(*h)) {
		if (h->flags & USTACK_F_WALKED)
			p->st.ustacks_walked++;
		if (h->flags & USTACK_F_WALK_MISS) {
			p->st.ustacks_missed++;
			if (p->on_unwind_due && img)
				p->on_unwind_due(img, p->on_unwind_due_ctx);
		}
	}
	return unwind_user(h, len, find_cfi, &f, out, max);
}

const struct cfi_table *procs__cfi_for(struct procs *p, struct image *img, uint64_t pc,
				       uint64_t *file_offset, bool wait)
{
	struct mapping *m;

	if (!p->files.tables || !img || !(m = procs__find_mapping(p, img, pc))) {
		errno = ENOENT;
		return NULL;
	}
	*file_offset = m->pgoff + (pc - m->start);
	return procs__mapping_cfi(p, img, m, wait);
}

void procs__set_want_debug(struct procs *p, void (*fn)(const char *build_id, void *ctx), void *ctx)
{
	p->files.want_debug = fn;
	p->files.want_debug_ctx = ctx;
}

void procs__debug_arrived(struct procs *p, const char *build_id)
{
	struct image *img;

	hashtab__for_each(&p->by_pid, img)
	{
		for (unsigned i = 0; i < img->nr_maps; i++)
			mapping_files__debug_arrived(&p->files, &img->maps[i], build_id);
	}
}

void procs__for_each_current(struct procs *p, void (*fn)(struct image *img, void *ctx), void *ctx)
{
	struct image *img;

	hashtab__for_each(&p->by_pid, img) fn(img, ctx);
}

unsigned procs__reconcile(struct procs *p, uint64_t now_ns)
{
	struct image *img;
	unsigned n = 0;

	hashtab__for_each(&p->by_pid, img)
	{ /* the newest image of each pid */
		if (img->end_ns)
			continue;
		if (proc_exists(img->pid)) {
			/* its mmap records may be among those lost: an address
			 * in no known mapping reads /proc again */
			img->proc_reread = false;
			continue;
		}
		img->end_ns = now_ns;
		img->exited = true;
		if (p->on_exit)
			p->on_exit(img->pid, p->on_exit_ctx);
		n++;
	}
	return n;
}

void procs__gc(struct procs *p)
{
	uint64_t cutoff = p->last_ns > GC_GRACE_NS ? p->last_ns - GC_GRACE_NS : 0;
	struct image *img;
	uint32_t *dead = NULL;
	size_t nr_dead = 0, cap = 0;

	hashtab__for_each(&p->by_pid, img)
	{
		struct image **link = &img->older;

		/* older images first: they are never current */
		while (*link) {
			struct image *o = *link;

			if (!o->refs && o->end_ns < cutoff) {
				*link = o->older;
				image_free(p, o);
			} else {
				link = &o->older;
			}
		}
		if (img->end_ns && img->end_ns < cutoff && !img->older && !img->refs) {
			if (nr_dead == cap) {
				uint32_t *nd;

				cap = cap ? cap * 2 : 64;
				nd = realloc(dead, cap * sizeof(*dead));
				if (!nd)
					break;
				dead = nd;
			}
			dead[nr_dead++] = img->pid;
		}
	}
	for (size_t i = 0; i < nr_dead; i++) {
		img = hashtab__remove(&p->by_pid, hash_u64(dead[i]), pid_eq, &dead[i]);
		if (img)
			image_free(p, img);
	}
	free(dead);
}

void procs__stats(const struct procs *p, struct procs_stats *st)
{
	*st = p->st;
	st->files = p->files.st;
}
