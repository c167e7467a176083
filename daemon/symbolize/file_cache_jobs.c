// SPDX-License-Identifier: MIT
/*
 * The file cache's loads in its threads (file_cache.h): a job per load,
 * run by a loader thread (loader.h), its product taken into its entry by
 * the event loop when the thread is done with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi.h"
#include "clock.h"
#include "file_cache.h"
#include "file_cache_int.h"
#include "loader.h"
#include "symtab.h"
#include "symtab_int.h"

/*
 * A load for a thread: it reads fd (and, for symbols, the debug files
 * found from root and path) and writes s or t and err, nothing else: the
 * entry and the cache are the event loop's alone. A lines job loads the
 * DWARF of s.
 */
struct load_job {
	struct loader_job job;
	struct cached_file *f; /* holds a reference; NULL for lines */
	int fd;                /* the job's own */
	char *root, *path;
	struct symtab *s;
	struct cfi_table *t;
	int err;
	enum load_what what;
};

static void job_run(struct loader_job *job)
{
	struct load_job *j = (struct load_job *)job;

	switch (j->what) {
	case JOB_LINES:
		symtab__has_lines(j->s);
		return;
	case JOB_SYMBOLS:
		j->s = symtab__load(j->fd, j->root, j->path);
		j->err = j->s ? 0 : errno;
		break;
	case JOB_TABLE:
		j->t = cfi_table__load(j->fd);
		j->err = j->t ? 0 : errno;
		break;
	}
	close(j->fd);
	j->fd = -1;
}

/* A job done, or left by a stopped thread: what it still holds goes. */
static void job_drop(struct loader_job *job)
{
	struct load_job *j = (struct load_job *)job;

	if (j->fd >= 0)
		close(j->fd);
	if (j->f && j->what == JOB_SYMBOLS && j->f->sym_state == LOAD_RUNNING)
		j->f->sym_state = LOAD_NONE;
	if (j->f && j->what == JOB_TABLE && j->f->cfi_state == LOAD_RUNNING)
		j->f->cfi_state = LOAD_NONE;
	symtab__put(j->s);
	cfi_table__free(j->t);
	cached_file__put(j->f);
	free(j->root);
	free(j->path);
	free(j);
}

int file_cache__start_loaders(struct file_cache *c)
{
	if (c->sym_ld)
		return 0;
	c->sym_ld = loader__new("pprofd-sym", LOADER_QUEUE_MAX);
	c->lines_ld = c->sym_ld ? loader__new("pprofd-dwarf", LOADER_QUEUE_MAX) : NULL;
	c->cfi_ld = c->lines_ld ? loader__new("pprofd-cfi", LOADER_QUEUE_MAX) : NULL;
	if (!c->cfi_ld) {
		int err = errno;

		loader__free(c->lines_ld, job_drop);
		loader__free(c->sym_ld, job_drop);
		c->sym_ld = c->lines_ld = NULL;
		return -err;
	}
	return 0;
}

int file_cache__symbols_fd(const struct file_cache *c)
{
	return c->sym_ld ? loader__fd(c->sym_ld) : -1;
}

int file_cache__tables_fd(const struct file_cache *c)
{
	return c->cfi_ld ? loader__fd(c->cfi_ld) : -1;
}

/* Lines jobs that are done: their symtabs have them now (or never will). */
static unsigned collect_lines(struct file_cache *c)
{
	struct loader_job *list = c->lines_ld ? loader__take(c->lines_ld) : NULL;
	unsigned n = 0;

	while (list) {
		struct loader_job *next = list->next;

		job_drop(list);
		list = next;
		n++;
	}
	return n;
}

/* The loads ld has ended: their products into their entries. */
static unsigned collect(struct file_cache *c, struct loader *ld)
{
	struct loader_job *list = ld ? loader__take(ld) : NULL;
	unsigned n = 0;

	while (list) {
		struct load_job *j = (struct load_job *)list;

		list = list->next;
		if (j->what == JOB_SYMBOLS && j->f->cached && j->f->sym_state == LOAD_RUNNING) {
			file_cache_settle_symbols(c, j->f, j->s, j->err);
			j->s = NULL; /* the entry's now */
			n++;
		} else if (j->what == JOB_TABLE && j->f->cached &&
			   j->f->cfi_state == LOAD_RUNNING) {
			c->table_load.spent += j->job.ns;
			file_cache_settle_table(c, j->f, j->t, j->err);
			j->t = NULL;
			n++;
		}
		job_drop(&j->job);
	}
	return n;
}

unsigned file_cache__collect_symbols(struct file_cache *c)
{
	return collect_lines(c) + collect(c, c->sym_ld);
}

unsigned file_cache__collect_tables(struct file_cache *c)
{
	return collect(c, c->cfi_ld);
}

bool file_cache_load_start(struct loader *ld, struct cached_file *f, enum load_what what,
			   const struct file_src *src)
{
	struct load_job *j;
	int err = ENOMEM;

	if (loader__queued(ld) >= LOADER_QUEUE_MAX) {
		errno = EAGAIN;
		return false;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		goto fail;
	j->job.run = job_run;
	j->what = what;
	j->fd = fcntl(src->fd, F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0)
		err = errno;
	if (src->root)
		j->root = strdup(src->root);
	if (src->path)
		j->path = strdup(src->path);
	if (j->fd < 0 || (src->root && !j->root) || (src->path && !j->path))
		goto fail;
	j->f = cached_file__get(f);
	if (loader__submit(ld, &j->job))
		return true;
	err = EAGAIN;
fail:
	if (j)
		job_drop(&j->job);
	errno = err;
	return false;
}

void file_cache_stop_loaders(struct file_cache *c)
{
	loader__free(c->sym_ld, job_drop);
	loader__free(c->lines_ld, job_drop);
	loader__free(c->cfi_ld, job_drop);
	c->sym_ld = c->lines_ld = c->cfi_ld = NULL;
}

void file_cache__want_lines(struct file_cache *c, struct symtab *s)
{
	struct load_job *j;

	/* queued first: once it is, the thread may be changing dw_fd */
	if (!c->lines_ld || !s || atomic_load_explicit(&s->dw_queued, memory_order_acquire) ||
	    !symtab__lines_pending(s))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->job.run = job_run;
	j->what = JOB_LINES;
	j->fd = -1;
	j->s = symtab__get(s);
	atomic_store_explicit(&s->dw_queued, true, memory_order_release);
	if (loader__submit(c->lines_ld, &j->job))
		return;
	/* the queue is full: asked again at the next frame */
	atomic_store_explicit(&s->dw_queued, false, memory_order_release);
	job_drop(&j->job);
}

bool file_cache__await_lines(struct file_cache *c, struct symtab *s, uint64_t deadline_ns)
{
	if (!s)
		return false;
	if (!c->lines_ld)
		return symtab__has_lines(s); /* no thread: here */
	file_cache__want_lines(c, s);
	if (!atomic_load_explicit(&s->dw_queued, memory_order_acquire)) {
		/* none to load, or the queue is full (asked again next time) */
		errno = symtab__lines_pending(s) ? EAGAIN : 0;
		return symtab__lines_ready(s);
	}
	while (!atomic_load_explicit(&s->dw_tried, memory_order_acquire) && deadline_ns &&
	       mono_ns() < deadline_ns) {
		if (loader__wait(c->lines_ld, deadline_ns))
			collect_lines(c);
	}
	errno = atomic_load_explicit(&s->dw_tried, memory_order_acquire) ? 0 : EAGAIN;
	return symtab__lines_ready(s);
}
