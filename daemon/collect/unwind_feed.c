// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file_cache.h"
#include "clock.h"
#include "log.h"
#include "proc_text.h"
#include "procs.h"
#include "safe_open.h"
#include "unwind_feed.h"
#include "unwind_rows.h"
#include "unwind_tables.h"

struct unwind_feed {
	struct unwind_tables *t;
	struct procs *p;
	struct unwind_feed_stats st;
	/* The vDSO's table: every process maps the kernel's one vDSO (ours
	 * too), which is no file: read from our own memory at start. */
	struct cfi_table *vdso;
	struct file_id vdso_key;
	/* the tables converted and written in this period (UNWIND_FEED_BUDGET_NS) */
	struct sec_budget period;
	/* an entry was made without a table the budget put off: made again
	 * when the next period begins, not at its process's next sample (up
	 * to a turn later, a short process's whole life) */
	bool put_off;
	uint64_t in_use_seen; /* the tables' evictions_in_use at the last tick */
};

/* Our vDSO's ELF image, through a memfd (the CFI parser reads fds). */
static struct cfi_table *vdso_table(size_t *size)
{
	const unsigned char *img = (const void *)getauxval(AT_SYSINFO_EHDR);
	FILE *maps = fopen("/proc/self/maps", "re");
	struct cfi_table *t = NULL;
	char line[512];
	int fd;

	*size = 0;
	while (img && maps && fgets(line, sizeof(line), maps)) {
		unsigned long start, end;

		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    start == (unsigned long)img && end > start && end - start <= (1u << 20))
			*size = end - start;
	}
	if (maps)
		fclose(maps);
	if (!*size || (fd = memfd_create("pprofd-vdso", MFD_CLOEXEC)) < 0)
		return NULL;
	if (write(fd, img, *size) == (ssize_t)*size)
		t = cfi_table__load(fd);
	close(fd);
	return t;
}

struct unwind_feed *unwind_feed__new(struct unwind_tables *t, struct procs *p)
{
	struct unwind_feed *f = calloc(1, sizeof(*f));
	size_t size;

	if (!f)
		return NULL;
	f->t = t;
	f->p = p;
	f->vdso = vdso_table(&size);
	if (!f->vdso)
		log_info("unwind: no table of the vDSO: samples in it take the stack-copy path");
	/* no file has this identity: no device, no inode */
	f->vdso_key = (struct file_id){ .size = size, .mtime_nsec = 1 };
	return f;
}

void unwind_feed__free(struct unwind_feed *f)
{
	if (f)
		cfi_table__free(f->vdso);
	free(f);
}

static int start_code_of(uint32_t pid, uint64_t *start_code)
{
	char path[64], *text;
	size_t len;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	err = read_file(path, PROC_STAT_MAX, true, &text, &len);
	if (err < 0)
		return err;
	err = proc_stat_start_code(text, len, start_code);
	free(text);
	return err;
}

/*
 * m's file's table in the pool (added when loaded and time allows) and
 * the entry naming it: 0; -EAGAIN when it may come later (loading, no time
 * or room now); another error when it never will (no .eh_frame).
 */
static int map_entry(struct unwind_feed *f, struct image *img, struct mapping *m,
		     struct unwind_map *um)
{
	const struct cfi_table *ct;
	struct file_id key;
	struct unwind_rows *rows;
	uint64_t bias, t0;
	uint32_t slot, gen;
	int err;

	if (m->path && !strcmp(m->path, "[vdso]") && f->vdso) {
		ct = f->vdso;
		key = f->vdso_key;
	} else {
		ct = procs__mapping_cfi(f->p, img, m, false);
		if (!ct)
			return errno == EAGAIN ? -EAGAIN : -ENOENT;
		if (!m->file)
			return -ENOENT;
		key = *cached_file__id(m->file);
	}
	err = unwind_tables__bias(ct, m->start, m->pgoff, &bias);
	if (err)
		return err;
	um->bias = bias;
	if (!unwind_tables__find(f->t, &key, &slot, &gen))
		goto found;
	t0 = mono_ns();
	if (!sec_budget__left_in(&f->period, UNWIND_FEED_BUDGET_NS, UNWIND_FEED_PERIOD_NS, t0)) {
		f->put_off = true;
		return -EAGAIN;
	}
	rows = unwind_rows__new(ct);
	err = rows ? unwind_tables__add(f->t, &key, rows, &slot, &gen) : -errno;
	unwind_rows__free(rows);
	f->period.spent += mono_ns() - t0;
	if (err) {
		if (err != -EAGAIN)
			f->st.tables_failed++;
		else
			f->put_off = true; /* room held for a grace period: tried then */
		return err;
	}
	f->st.tables_added++;
found:
	um->file = slot;
	um->gen = gen;
	return 0;
}

/* Where pid's vDSO is (its auxv's AT_SYSINFO_EHDR): the side band never
 * says, since no mmap makes it. 0: unknown. */
static uint64_t vdso_base(uint32_t pid)
{
	char path[64], *text;
	uint64_t base = 0;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%u/auxv", pid);
	if (read_file(path, 4096, true, &text, &len) < 0)
		return 0;
	for (size_t i = 0; i + 16 <= len; i += 16) {
		uint64_t type, val;

		memcpy(&type, text + i, 8);
		memcpy(&val, text + i + 8, 8);
		if (type == AT_SYSINFO_EHDR)
			base = val;
	}
	free(text);
	return base;
}

/* img's entry, from its mappings now. */
static void make_entry(struct unwind_feed *f, struct image *img, uint64_t now)
{
	struct unwind_map maps[UNWIND_PROC_MAPS_MAX];
	bool whole = true, vdso = false;
	unsigned n = 0;
	int err;

	img->unwind_ns = now;
	img->unwind_seq = img->maps_seq;
	img->unwind_evictions = unwind_tables__evictions(f->t);
	/* read once an image: an exec makes another */
	if (!img->start_code && start_code_of(img->pid, &img->start_code))
		return; /* gone: its exit drops the entry */
	for (unsigned i = 0; i < img->nr_maps && n < UNWIND_PROC_MAPS_MAX; i++) {
		struct mapping *m = &img->maps[i];
		struct unwind_map *um = &maps[n];

		/* anonymous code (a JIT's) has no file and no table: the walk
		 * ends there and the sample takes the stack-copy path */
		if (!m->path || (m->path[0] != '/' && strcmp(m->path, "[vdso]")))
			continue;
		*um = (struct unwind_map){ .start = m->start, .end = m->end };
		vdso |= m->path[0] == '[';
		err = map_entry(f, img, m, um);
		if (err) {
			um->flags = UNWIND_MAP_F_NO_TABLE;
			if (err == -EAGAIN) {
				whole = false;
				f->st.maps_waiting++;
			}
		}
		n++;
	}
	if (!vdso && f->vdso && n < UNWIND_PROC_MAPS_MAX) {
		/* not among the mappings the side band gave: from auxv */
		struct mapping m = { .path = "[vdso]" };

		if (!img->vdso_base)
			img->vdso_base = vdso_base(img->pid);
		m.start = img->vdso_base;

		m.end = m.start + f->vdso_key.size;
		maps[n] = (struct unwind_map){ .start = m.start, .end = m.end };
		if (m.start && !map_entry(f, img, &m, &maps[n]))
			n++;
	}
	err = unwind_tables__set_proc(f->t, img->pid, img->start_code, maps, n);
	if (err) {
		uint64_t c = ++f->st.entry_errors;

		if (!(c & (c - 1)))
			log_warn("unwind: pid %u: no entry for the table unwinder (%s; %" PRIu64
				 " so far): its stacks are unwound from copies",
				 img->pid, strerror(-err), c);
		return;
	}
	f->st.entries_made++;
	img->unwind_whole = whole;
}

void unwind_feed__due(struct image *img, void *feed)
{
	struct unwind_feed *f = feed;
	uint64_t now;
	bool again;

	/* A whole entry is made again only when its mappings changed or a
	 * table it names may have been evicted since (another process's
	 * made room): a live process gets its tables back. */
	if (img->end_ns ||
	    (img->unwind_ns && img->unwind_whole && img->unwind_seq == img->maps_seq &&
	     img->unwind_evictions == unwind_tables__evictions(f->t)))
		return;
	now = mono_ns();
	again = img->unwind_ns && img->unwind_whole && img->unwind_seq == img->maps_seq;
	/* (when the running processes' tables alone overflow the pool, each
	 * one's getting them back evicts another's: once a second at most) */
	if (img->unwind_ns &&
	    now - img->unwind_ns < (again ? UNWIND_FEED_REMAKE_NS : UNWIND_FEED_RETRY_NS))
		return;
	make_entry(f, img, now);
	if (again)
		f->st.entries_remade++;
}

static void remake_waiting(struct image *img, void *feed)
{
	if (img->unwind_ns && !img->unwind_whole && !img->end_ns)
		make_entry(feed, img, mono_ns());
}

void unwind_feed__tables_loaded(struct unwind_feed *f)
{
	f->put_off = false;
	procs__for_each_current(f->p, remake_waiting, f);
}

uint64_t unwind_feed__next_try(const struct unwind_feed *f)
{
	return f->put_off ? f->period.start + UNWIND_FEED_PERIOD_NS : UINT64_MAX;
}

/* An entry naming a table evicted while it was in use (the pool is too
 * small for what runs) is made again at once: its process's samples would
 * say so only as late as the pipeline brings them, a second on, each
 * unwound from a copy meanwhile. At most every UNWIND_FEED_REMAKE_NS. */
static void remake_stale(struct image *img, void *feed)
{
	struct unwind_feed *f = feed;
	uint64_t now = mono_ns();

	if (!img->unwind_ns || img->end_ns || now - img->unwind_ns < UNWIND_FEED_REMAKE_NS ||
	    !unwind_tables__proc_stale(f->t, img->pid))
		return;
	make_entry(f, img, now);
	f->st.entries_remade++;
}

void unwind_feed__tick(struct unwind_feed *f, uint64_t now)
{
	uint64_t in_use = unwind_tables__evictions_in_use(f->t);

	if (in_use != f->in_use_seen) {
		f->in_use_seen = in_use;
		procs__for_each_current(f->p, remake_stale, f);
	}
	if (now >= unwind_feed__next_try(f))
		unwind_feed__tables_loaded(f);
}

void unwind_feed__exit(uint32_t pid, void *feed)
{
	struct unwind_feed *f = feed;

	unwind_tables__drop_proc(f->t, pid);
}

void unwind_feed__stats(const struct unwind_feed *f, struct unwind_feed_stats *st)
{
	*st = f->st;
}
