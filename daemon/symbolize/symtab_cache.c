// SPDX-License-Identifier: MIT
/*
 * The cache of loaded symtabs (symtab.h): files by identity, bounded in
 * files and bytes, least recently used evicted; loads and DWARF in loader
 * threads, collected by the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "file_lru.h"
#include "loader.h"
#include "log.h"
#include "symtab.h"
#include "symtab_int.h"

/* Loads waiting for the loader thread at most; more are put off (EBUSY). */
#define SYM_QUEUE_MAX 64

struct centry {
	struct file_lru_node node; /* first: its file's identity, bytes, place */
	struct symtab *s;          /* NULL: the file failed to load with err, or loads */
	int err;
	bool loading; /* in the loader thread: neither counted nor evicted */
	/* Loaded in the thread, and not yet asked for since: kept for the
	 * mapping that waits for it (SETTLED_KEEP_NS at most), or a file
	 * over the budget on its own would be evicted as soon as it is in,
	 * and loaded again, for ever. */
	uint64_t settled_ns;
};

struct symtab_cache {
	pthread_mutex_t lock;
	struct file_lru lru;
	struct loader *ld; /* NULL: loads run in symtab_cache__get */
	/* DWARF in a thread of its own: libc6-dbg's takes a second under
	 * ASan, and symbols must not queue behind it. */
	struct loader *lines_ld;
	struct symtab_cache_stats st;
};

/*
 * A file for the loader thread to load: it reads fd (and the debug files
 * found from root and path) and writes s and err, nothing else.
 */
struct sym_job {
	struct loader_job job;
	struct file_id id; /* its entry's, found again when it is done */
	int fd;
	char *root, *path;
	struct symtab *s; /* loaded; or, for a lines job, the symtab whose DWARF it loads */
	int err;
	bool lines;
};

struct symtab_cache *symtab_cache__new(size_t max_files)
{
	struct symtab_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	file_lru__init(&c->lru, max_files ? max_files : 1, 0);
	return c;
}

static void cache_drop(struct symtab_cache *c, struct centry *e)
{
	file_lru__remove(&c->lru, &e->node);
	symtab__put(e->s);
	free(e);
}

/* Another reference than the cache's: a mapping still uses the file. */
static bool entry_held(const struct centry *e)
{
	return e->s && atomic_load_explicit(&e->s->refs, memory_order_relaxed) > 1;
}

/* Evicts from the cold end, but keeps the most recent file even when it
 * alone is over budget: reloading it on every use would be worse. Files
 * being loaded stay: their loads would only start again. Files a mapping
 * holds stay too: dropping them frees nothing, and the next process that
 * maps one would load a second copy (whose DWARF the total limit refuses);
 * they go to the warm end, being in use, and a pass looks at TRIM_STEPS
 * entries at most, since held files can keep the cache over its budget. */
#define TRIM_STEPS 64
#define SETTLED_KEEP_NS (10ull * 1000000000)

static enum file_lru_verdict trim_judge(struct file_lru_node *n, void *ctx)
{
	const struct centry *e = (const struct centry *)n;

	(void)ctx;
	if (entry_held(e) || (e->settled_ns && mono_ns() - e->settled_ns < SETTLED_KEEP_NS))
		return FILE_LRU_WARM;
	return e->loading ? FILE_LRU_PASS : FILE_LRU_DROP;
}

static void trim_drop(struct file_lru_node *n, void *ctx)
{
	struct symtab_cache *c = ctx;

	cache_drop(c, (struct centry *)n);
	c->st.evictions++;
}

static void cache_trim(struct symtab_cache *c)
{
	file_lru__trim(&c->lru, TRIM_STEPS, trim_judge, trim_drop, c);
}

static void job_drop(struct loader_job *job)
{
	struct sym_job *j = (struct sym_job *)job;

	if (j->fd >= 0)
		close(j->fd);
	symtab__put(j->s);
	free(j->root);
	free(j->path);
	free(j);
}

void symtab_cache__free(struct symtab_cache *c)
{
	if (!c)
		return;
	loader__free(c->ld, job_drop);
	loader__free(c->lines_ld, job_drop);
	while (c->lru.head.next != &c->lru.head)
		cache_drop(c, (struct centry *)c->lru.head.next);
	file_lru__free(&c->lru);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void symtab_cache__set_max_bytes(struct symtab_cache *c, size_t max_bytes)
{
	pthread_mutex_lock(&c->lock);
	c->lru.max_bytes = max_bytes ? max_bytes : SIZE_MAX;
	cache_trim(c);
	pthread_mutex_unlock(&c->lock);
}

/* Failures that say something about the file, not about us right now. */
static bool err_is_permanent(int err)
{
	return err == ENOEXEC || err == EINVAL;
}

static struct centry *entry_find(struct symtab_cache *c, const struct file_id *id)
{
	return (struct centry *)file_lru__find(&c->lru, id);
}

/* Counts e as it is now (demangled names and DWARF grow after the load). */
static void entry_recount(struct symtab_cache *c, struct centry *e)
{
	file_lru__set_bytes(&c->lru, &e->node, sizeof(*e) + (e->s ? symtab__mem_size(e->s) : 0));
}

/* A hit: e's symtab (a new reference), or NULL + errno its error. */
static struct symtab *entry_use(struct symtab_cache *c, struct centry *e)
{
	c->st.hits++;
	e->settled_ns = 0;
	file_lru__touch(&c->lru, &e->node);
	entry_recount(c, e);
	cache_trim(c); /* e is the most recent: it stays */
	if (!e->s) {
		errno = e->err ? e->err : ENOENT;
		return NULL;
	}
	return symtab__get(e->s);
}

/* A new entry for key at the front, holding s (taken) or err. */
static struct centry *entry_add(struct symtab_cache *c, const struct file_id *id, struct symtab *s,
				int err)
{
	struct centry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->node = (struct file_lru_node){ .id = *id, .bytes = sizeof(*e) };
	if (file_lru__insert(&c->lru, &e->node)) {
		free(e);
		return NULL;
	}
	e->s = s;
	e->err = err;
	return e;
}

/* ---- the loader thread ---- */

static void job_run(struct loader_job *job)
{
	struct sym_job *j = (struct sym_job *)job;

	if (j->lines) {
		symtab__has_lines(j->s);
		return;
	}
	j->s = symtab__load(j->fd, j->root, j->path);
	j->err = j->s ? 0 : errno;
	close(j->fd);
	j->fd = -1;
}

int symtab_cache__start_loader(struct symtab_cache *c)
{
	if (c->ld)
		return 0;
	c->ld = loader__new("pprofd-sym", SYM_QUEUE_MAX);
	if (c->ld)
		c->lines_ld = loader__new("pprofd-dwarf", SYM_QUEUE_MAX);
	if (c->ld && !c->lines_ld) {
		int err = errno;

		loader__free(c->ld, job_drop);
		c->ld = NULL;
		errno = err;
	}
	return c->ld ? 0 : -errno;
}

int symtab_cache__fd(const struct symtab_cache *c)
{
	return c->ld ? loader__fd(c->ld) : -1;
}

/* What loading e's file gave goes into e (under the lock); a passing
 * failure drops e, so that the file is tried again. */
static void entry_settle(struct symtab_cache *c, struct centry *e, struct symtab *s, int err)
{
	e->loading = false;
	if (!s) {
		c->st.failures++;
		if (!err_is_permanent(err)) {
			cache_drop(c, e);
			return;
		}
	}
	e->s = s;
	e->err = err;
	e->settled_ns = mono_ns();
	entry_recount(c, e);
	cache_trim(c);
}

/* Lines jobs that are done: their symtabs have them now (or never will). */
static unsigned collect_lines(struct symtab_cache *c)
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

unsigned symtab_cache__collect(struct symtab_cache *c)
{
	struct loader_job *list;
	unsigned n = collect_lines(c);

	if (!c->ld || !(list = loader__take(c->ld)))
		return n;
	pthread_mutex_lock(&c->lock);
	for (struct loader_job *l = list; l; l = l->next) {
		struct sym_job *j = (struct sym_job *)l;
		struct centry *e = entry_find(c, &j->id);

		if (e && e->loading) {
			entry_settle(c, e, j->s, j->err);
			j->s = NULL; /* the entry's now */
			n++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	while (list) {
		struct loader_job *next = list->next;

		job_drop(list);
		list = next;
	}
	return n;
}

/* Hands the load of key's file to the thread, under the lock: its entry
 * (loading), or NULL + errno (EBUSY: SYM_QUEUE_MAX loads wait). */
static struct centry *load_start(struct symtab_cache *c, const struct file_id *key, int fd,
				 const char *root, const char *path)
{
	struct sym_job *j = calloc(1, sizeof(*j));
	struct centry *e = NULL;
	int err = ENOMEM;

	if (!j)
		goto fail;
	j->job.run = job_run;
	j->id = *key;
	j->root = strdup(root ? root : "/");
	j->path = path ? strdup(path) : NULL;
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0)
		err = errno;
	if (!j->root || (path && !j->path) || j->fd < 0 || !(e = entry_add(c, key, NULL, 0)))
		goto fail;
	e->loading = true;
	if (loader__submit(c->ld, &j->job))
		return e;
	err = EBUSY;
	c->st.deferred++;
	cache_drop(c, e);
fail:
	if (j)
		job_drop(&j->job);
	errno = err;
	return NULL;
}

/* The file's symtab, waiting for its load until deadline (0: not at all);
 * the lock is held at the call and at the return. */
static struct symtab *find_locked(struct symtab_cache *c, const struct file_id *key,
				  uint64_t deadline_ns)
{
	for (;;) {
		struct centry *e = entry_find(c, key);

		if (!e) {
			errno = ESTALE;
			return NULL;
		}
		if (!e->loading)
			return entry_use(c, e);
		if (!c->ld || !deadline_ns || mono_ns() >= deadline_ns) {
			errno = EAGAIN;
			return NULL;
		}
		pthread_mutex_unlock(&c->lock);
		if (loader__wait(c->ld, deadline_ns))
			symtab_cache__collect(c);
		pthread_mutex_lock(&c->lock);
	}
}

void symtab_cache__forget(struct symtab_cache *c, const struct file_id *key)
{
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = entry_find(c, key);
	if (e && !e->loading)
		cache_drop(c, e); /* its mappings keep their references */
	pthread_mutex_unlock(&c->lock);
}

struct symtab *symtab_cache__find(struct symtab_cache *c, const struct file_id *key,
				  uint64_t deadline_ns)
{
	struct symtab *s;
	int err;

	pthread_mutex_lock(&c->lock);
	s = find_locked(c, key, deadline_ns);
	err = errno;
	pthread_mutex_unlock(&c->lock);
	if (!s)
		errno = err;
	return s;
}

static struct symtab *cache_get(struct symtab_cache *c, int fd, const char *root, const char *path,
				struct file_id *key, bool wait)
{
	struct symtab *s = NULL;
	int err;

	err = file_id__of_fd(fd, key);
	if (err) {
		pthread_mutex_lock(&c->lock);
		c->st.failures++;
		pthread_mutex_unlock(&c->lock);
		errno = err;
		return NULL;
	}
	/* Loading under the lock keeps two threads from loading one file twice. */
	pthread_mutex_lock(&c->lock);
	if (entry_find(c, key)) {
		s = find_locked(c, key, wait ? UINT64_MAX : 0);
		goto out;
	}
	c->st.misses++;
	if (c->ld && !wait) {
		if (load_start(c, key, fd, root, path))
			errno = EAGAIN;
		goto out;
	}
	s = symtab__load(fd, root, path);
	err = s ? 0 : errno;
	if (!s) {
		c->st.failures++;
		if (!err_is_permanent(err))
			goto out;
	}
	if (entry_add(c, key, symtab__get(s), err))
		cache_trim(c);
	else
		symtab__put(s); /* the entry's reference */
out:
	err = errno;
	pthread_mutex_unlock(&c->lock);
	if (!s)
		errno = err ? err : ENOENT;
	return s;
}

struct symtab *symtab_cache__get(struct symtab_cache *c, int fd, const char *root, const char *path)
{
	struct file_id key;

	return cache_get(c, fd, root, path, &key, true);
}

struct symtab *symtab_cache__get_nowait(struct symtab_cache *c, int fd, const char *root,
					const char *path, struct file_id *key)
{
	return cache_get(c, fd, root, path, key, false);
}

void symtab_cache__want_lines(struct symtab_cache *c, struct symtab *s)
{
	struct sym_job *j;

	/* queued first: once it is, the thread may be changing dw_fd */
	if (!c->lines_ld || !s || atomic_load_explicit(&s->dw_queued, memory_order_acquire) ||
	    !symtab__lines_pending(s))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->job.run = job_run;
	j->lines = true;
	j->fd = -1;
	j->s = symtab__get(s);
	atomic_store_explicit(&s->dw_queued, true, memory_order_release);
	if (loader__submit(c->lines_ld, &j->job))
		return;
	/* the queue is full: asked again at the next frame */
	atomic_store_explicit(&s->dw_queued, false, memory_order_release);
	job_drop(&j->job);
}

bool symtab_cache__await_lines(struct symtab_cache *c, struct symtab *s, uint64_t deadline_ns)
{
	if (!s)
		return false;
	if (!c->lines_ld)
		return symtab__has_lines(s); /* no thread: here */
	symtab_cache__want_lines(c, s);
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

void symtab_cache__recount(struct symtab_cache *c)
{
	pthread_mutex_lock(&c->lock);
	for (struct file_lru_node *n = c->lru.head.next; n != &c->lru.head; n = n->next)
		entry_recount(c, (struct centry *)n);
	cache_trim(c);
	pthread_mutex_unlock(&c->lock);
}

void symtab_cache__stats(const struct symtab_cache *c, struct symtab_cache_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*st = c->st;
	st->files = c->lru.files;
	st->bytes = c->lru.bytes;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
	st->queued = c->ld ? loader__queued(c->ld) : 0;
}
