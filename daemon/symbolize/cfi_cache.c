// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cfi_cache.h"
#include "file_lru.h"
#include "loader.h"
#include "log.h"

/* Loads waiting for the loader thread at most; more are put off (EAGAIN). */
#define LOADER_QUEUE_MAX 64

struct cfi_ref {
	struct file_lru_node node; /* first: its file's identity, bytes, place */
	struct cfi_table *t;       /* NULL: none (err), not loaded yet, or evicted */
	int err;
	bool cached;
	bool loading;  /* the loader thread is building its table */
	unsigned refs; /* the cache's, while cached, the mappings' and a load's */
};

/*
 * A table for the loader thread to build. The thread reads fd and writes
 * t and err, and nothing else: the entry, its references and the cache
 * are the event loop's alone.
 */
struct load_job {
	struct loader_job job;
	struct cfi_ref *e; /* holds a reference */
	int fd;            /* the job's own */
	struct cfi_table *t;
	int err;
};

struct cfi_cache {
	struct file_lru lru;
	uint64_t load_budget_ns; /* of loading a second; 0: no bound */
	struct sec_budget load;  /* the current second's loading */
	uint64_t last_evict_ns;  /* when a table last had to make room */
	struct loader *ld;       /* NULL: loads run in cfi_cache__get */
	struct cfi_cache_stats st;
};

void cfi_cache__set_load_budget(struct cfi_cache *c, uint64_t ns_per_sec)
{
	c->load_budget_ns = ns_per_sec;
}

/* Whether a table may be loaded now: a working set larger than the cache
 * would otherwise load tables back to back forever (libLLVM's takes 60 ms).
 * The budget binds only while tables are being evicted: first loads (a
 * host's programs at start) all go through. */
static bool load_allowed(struct cfi_cache *c, uint64_t now)
{
	uint64_t left = sec_budget__left(&c->load, c->load_budget_ns, now);

	if (!c->load_budget_ns || !c->last_evict_ns || now - c->last_evict_ns >= 1000000000ull)
		return true;
	return left > 0;
}

struct cfi_cache *cfi_cache__new(size_t max_files, size_t max_bytes)
{
	struct cfi_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	file_lru__init(&c->lru, max_files ? max_files : 1, max_bytes);
	return c;
}

struct cfi_ref *cfi_ref__get(struct cfi_ref *r)
{
	if (r)
		r->refs++;
	return r;
}

void cfi_ref__put(struct cfi_ref *r)
{
	if (!r || --r->refs)
		return;
	cfi_table__free(r->t);
	free(r);
}

bool cfi_ref__cached(const struct cfi_ref *r)
{
	return r->cached;
}

const struct file_id *cfi_ref__file(const struct cfi_ref *r)
{
	return &r->node.id;
}

bool cfi_ref__loading(const struct cfi_ref *r)
{
	return r->loading;
}

/* Out of the cache: its table goes now, whoever still holds the entry. */
static void cache_drop(struct cfi_cache *c, struct cfi_ref *e)
{
	file_lru__remove(&c->lru, &e->node);
	e->cached = false;
	cfi_table__free(e->t);
	e->t = NULL;
	cfi_ref__put(e);
}

/* Every entry may go but the most recent (no table over the budget is
 * cached): its table goes now, whoever holds the entry. */
static enum file_lru_verdict trim_judge(struct file_lru_node *n, void *ctx)
{
	(void)n;
	(void)ctx;
	return FILE_LRU_DROP;
}

static void trim_drop(struct file_lru_node *n, void *ctx)
{
	struct cfi_cache *c = ctx;

	cache_drop(c, (struct cfi_ref *)n);
	c->st.evictions++;
	c->last_evict_ns = mono_ns();
}

static void cache_trim(struct cfi_cache *c)
{
	file_lru__trim(&c->lru, 0, trim_judge, trim_drop, c);
}

/* ---- the loader thread --------------------------------------------------- */

static void load_run(struct loader_job *job)
{
	struct load_job *j = (struct load_job *)job;

	j->t = cfi_table__load(j->fd);
	j->err = j->t ? 0 : errno;
	close(j->fd);
	j->fd = -1;
}

int cfi_cache__start_loader(struct cfi_cache *c)
{
	if (c->ld)
		return 0;
	c->ld = loader__new("pprofd-cfi", LOADER_QUEUE_MAX);
	return c->ld ? 0 : -errno;
}

int cfi_cache__fd(const struct cfi_cache *c)
{
	return c->ld ? loader__fd(c->ld) : -1;
}

/* Failures that say something about the file, not about us right now. */
static bool err_is_permanent(int err)
{
	return err == ENOEXEC || err == EINVAL || err == ENOENT || err == EFBIG;
}

/* A new entry for key, at the front, without a table yet; NULL: ENOMEM. */
static struct cfi_ref *entry_new(struct cfi_cache *c, const struct file_id *id)
{
	struct cfi_ref *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->node = (struct file_lru_node){ .id = *id, .bytes = sizeof(*e) };
	if (file_lru__insert(&c->lru, &e->node)) {
		free(e);
		return NULL;
	}
	e->cached = true;
	e->refs = 1; /* the cache's */
	return e;
}

/* What loading e's file gave (t, or errno err) goes into e; a passing
 * failure drops e, so that the file is tried again. */
static void entry_settle(struct cfi_cache *c, struct cfi_ref *e, struct cfi_table *t, int err)
{
	e->loading = false;
	if (t && cfi_table__mem_size(t) > c->lru.max_bytes) {
		/* it would push out everything else, and then itself */
		log_debug("cfi: a table of %zu bytes is over the cache's %zu",
			  cfi_table__mem_size(t), c->lru.max_bytes);
		cfi_table__free(t);
		t = NULL;
		err = EFBIG;
		c->st.too_big++;
	}
	if (!t) {
		c->st.failures++;
		e->err = err;
		if (!err_is_permanent(err))
			cache_drop(c, e);
		return;
	}
	e->t = t;
	file_lru__set_bytes(&c->lru, &e->node, e->node.bytes + cfi_table__mem_size(t));
	cache_trim(c);
}

unsigned cfi_cache__collect(struct cfi_cache *c)
{
	struct loader_job *list;
	unsigned n = 0;

	if (!c->ld)
		return 0;
	list = loader__take(c->ld);
	while (list) {
		struct load_job *j = (struct load_job *)list;

		list = list->next;
		c->load.spent += j->job.ns;
		if (j->e->cached) {
			entry_settle(c, j->e, j->t, j->err);
			n++;
		} else {
			/* evicted while it loaded */
			j->e->loading = false;
			cfi_table__free(j->t);
		}
		cfi_ref__put(j->e);
		free(j);
	}
	return n;
}

/* Until e's load has ended or deadline (CLOCK_MONOTONIC ns) has passed. */
static void wait_loaded(struct cfi_cache *c, struct cfi_ref *e, uint64_t deadline_ns)
{
	c->st.waits++;
	while (e->loading && mono_ns() < deadline_ns) {
		if (loader__wait(c->ld, deadline_ns))
			cfi_cache__collect(c);
	}
}

/* Hands e's load to the loader thread; false (errno) when it cannot. */
static bool load_start(struct cfi_cache *c, struct cfi_ref *e, int fd)
{
	struct load_job *j;
	int err;

	if (loader__queued(c->ld) >= LOADER_QUEUE_MAX) {
		errno = EAGAIN;
		return false;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return false;
	j->job.run = load_run;
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	j->e = e;
	if (j->fd < 0 || !loader__submit(c->ld, &j->job)) {
		err = errno;
		if (j->fd >= 0)
			close(j->fd);
		free(j);
		errno = err;
		return false;
	}
	e->loading = true;
	cfi_ref__get(e);
	return true;
}

static void log_deferred(struct cfi_cache *c)
{
	uint64_t n = ++c->st.deferred;

	if (!(n & (n - 1)))
		log_warn("cfi: unwind tables evicted and loaded again for over %" PRIu64 " ms of "
			 "this second (unwind_cache_size is smaller than what runs), or %u loads "
			 "waiting: %" PRIu64 " loads put off so far (cfi_deferred; their frames "
			 "are walked by frame pointer)",
			 c->load_budget_ns / 1000000, LOADER_QUEUE_MAX, n);
}

struct cfi_ref *cfi_cache__get(struct cfi_cache *c, int fd, uint64_t deadline_ns)
{
	struct cfi_ref *e, *r;
	struct cfi_table *t;
	struct file_id id;
	uint64_t now;
	int err;

	err = file_id__of_fd(fd, &id);
	if (err) {
		c->st.failures++;
		errno = err;
		return NULL;
	}
	e = (struct cfi_ref *)file_lru__find(&c->lru, &id);
	if (e) {
		c->st.hits++;
		file_lru__touch(&c->lru, &e->node);
		r = cfi_ref__get(e); /* before waiting: the wait may evict it */
		if (e->loading && deadline_ns)
			wait_loaded(c, e, deadline_ns);
		return r;
	}
	now = mono_ns();
	if (!load_allowed(c, now)) {
		log_deferred(c);
		errno = EAGAIN;
		return NULL;
	}
	e = entry_new(c, &id);
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	c->st.misses++;
	r = cfi_ref__get(e);
	if (c->ld) {
		if (load_start(c, e, fd)) {
			if (deadline_ns)
				wait_loaded(c, e, deadline_ns);
			return r;
		}
		err = errno;
		if (err == EAGAIN)
			log_deferred(c);
		cfi_ref__put(r); /* then the cache's, the last */
		cache_drop(c, e);
		errno = err;
		return NULL;
	}
	t = cfi_table__load(fd);
	err = t ? 0 : errno;
	c->load.spent += mono_ns() - now;
	entry_settle(c, e, t, err);
	if (!e->cached) {
		cfi_ref__put(r);
		errno = err;
		return NULL;
	}
	return r;
}

const struct cfi_table *cfi_cache__table(struct cfi_cache *c, struct cfi_ref *r,
					 uint64_t deadline_ns)
{
	if (!r->cached)
		return NULL;
	file_lru__touch(&c->lru, &r->node);
	if (r->loading) {
		if (deadline_ns)
			wait_loaded(c, r, deadline_ns);
		if (r->loading || !r->cached)
			return NULL;
	}
	return r->t;
}

/* A job the stopped thread left: what it holds goes. */
static void load_drop(struct loader_job *job)
{
	struct load_job *j = (struct load_job *)job;

	if (j->fd >= 0)
		close(j->fd);
	cfi_table__free(j->t);
	j->e->loading = false;
	cfi_ref__put(j->e);
	free(j);
}

void cfi_cache__free(struct cfi_cache *c)
{
	if (!c)
		return;
	loader__free(c->ld, load_drop);
	c->ld = NULL;
	while (c->lru.head.next != &c->lru.head)
		cache_drop(c, (struct cfi_ref *)c->lru.head.next);
	file_lru__free(&c->lru);
	free(c);
}

void cfi_cache__stats(const struct cfi_cache *c, struct cfi_cache_stats *st)
{
	*st = c->st;
	st->files = c->lru.files;
	st->bytes = c->lru.bytes;
	st->queued = c->ld ? loader__queued(c->ld) : 0;
}
