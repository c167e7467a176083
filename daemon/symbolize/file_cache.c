// SPDX-License-Identifier: MIT
/*
 * The cache of mapped files (file_cache.h): entries by identity in least
 * recently used order (file_lru.h), each with its symbols and its unwind
 * table as products that load (in file_cache_jobs.c's threads), settle
 * and are evicted on their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi.h"
#include "clock.h"
#include "file_cache.h"
#include "file_cache_int.h"
#include "loader.h"
#include "log.h"
#include "symtab.h"
#include "symtab_int.h"

/* Entries a trim of symbols or of entries looks at, at most: files a
 * mapping holds can keep the cache over a bound, and a trim runs at
 * every use. */
#define TRIM_STEPS 64
/* Symbols loaded in the thread and not asked for since are kept this
 * long for the mapping that waits for them: else a file over the bound on
 * its own would be evicted as soon as it is in, and loaded again, for ever. */
#define SETTLED_KEEP_NS (10ull * 1000000000)

struct file_cache *file_cache__new(const struct file_cache_limits *l)
{
	struct file_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->lim = *l;
	if (!c->lim.max_files)
		c->lim.max_files = 1;
	if (!c->lim.symbol_bytes)
		c->lim.symbol_bytes = SIZE_MAX;
	if (!c->lim.table_bytes)
		c->lim.table_bytes = SIZE_MAX;
	file_lru__init(&c->lru, c->lim.max_files, 0);
	return c;
}

struct cached_file *cached_file__get(struct cached_file *f)
{
	if (f)
		f->refs++;
	return f;
}

void cached_file__put(struct cached_file *f)
{
	if (!f || --f->refs)
		return;
	symtab__put(f->s);
	cfi_table__free(f->t);
	free(f->derived);
	free(f);
}

const struct file_id *cached_file__id(const struct cached_file *f)
{
	return &f->node.id;
}

bool cached_file__cached(const struct cached_file *f)
{
	return f->cached;
}

bool cached_file__table_loading(const struct cached_file *f)
{
	return f->cfi_state == LOAD_RUNNING;
}

static void symbols_drop(struct file_cache *c, struct cached_file *f, enum load_state to)
{
	if (f->sym_state == LOAD_READY) {
		c->sym_bytes -= f->sym_bytes;
		c->sym_files--;
	}
	symtab__put(f->s);
	f->s = NULL;
	f->sym_bytes = 0;
	f->sym_state = to;
}

static void table_drop(struct file_cache *c, struct cached_file *f, enum load_state to)
{
	if (f->cfi_state == LOAD_READY) {
		c->cfi_bytes -= f->cfi_bytes;
		c->cfi_files--;
	}
	cfi_table__free(f->t);
	f->t = NULL;
	f->cfi_bytes = 0;
	f->cfi_state = to;
}

/* Counts f's symbols as they are now (demangled names and lines grow). */
static void symbols_recount(struct file_cache *c, struct cached_file *f)
{
	size_t b = f->sym_state == LOAD_READY ? symtab__mem_size(f->s) : 0;

	c->sym_bytes += b - f->sym_bytes;
	f->sym_bytes = b;
}

/* Out of the cache, with what it holds, whoever still holds the entry. */
static void entry_drop(struct file_cache *c, struct cached_file *f)
{
	if (f->sym_state == LOAD_READY)
		c->st.sym.evictions++;
	if (f->cfi_state == LOAD_READY) {
		c->st.cfi.evictions++;
		c->last_table_evict_ns = mono_ns();
	}
	file_lru__remove(&c->lru, &f->node);
	f->cached = false;
	symbols_drop(c, f, LOAD_EVICTED);
	table_drop(c, f, LOAD_EVICTED);
	cached_file__put(f);
}

/* Whether f's symbols are in use: a mapping holds them. */
static bool symbols_held(const struct cached_file *f)
{
	return f->sym_state == LOAD_READY &&
	       atomic_load_explicit(&f->s->refs, memory_order_relaxed) > 1;
}

/* Symbols over their bound go from the cold end, but not keep's nor the
 * most recent file's (about to be used) nor those in use: held, or
 * waited for (settled); those go to the warm end. */
static void trim_symbols(struct file_cache *c, struct cached_file *keep)
{
	struct file_lru_node *n = c->lru.head.prev;
	uint64_t now = 0;

	for (unsigned i = 0; i < TRIM_STEPS && c->sym_bytes > c->lim.symbol_bytes; i++) {
		struct file_lru_node *prev = n->prev;
		struct cached_file *f = (struct cached_file *)n;

		if (n == &c->lru.head || n == c->lru.head.next)
			break;
		if (f != keep && f->sym_state == LOAD_READY) {
			if (!now)
				now = mono_ns();
			if (symbols_held(f) ||
			    (f->settled_ns && now - f->settled_ns < SETTLED_KEEP_NS)) {
				file_lru__touch(&c->lru, n);
			} else {
				symbols_drop(c, f, LOAD_EVICTED);
				c->st.sym.evictions++;
			}
		}
		n = prev;
	}
}

/* Tables over their bound go from the cold end, wherever they are, but
 * not keep's: no table over the whole bound is cached. */
static void trim_tables(struct file_cache *c, struct cached_file *keep)
{
	struct file_lru_node *n = c->lru.head.prev;

	while (c->cfi_bytes > c->lim.table_bytes && n != &c->lru.head) {
		struct cached_file *f = (struct cached_file *)n;

		n = n->prev;
		if (f == keep || f->cfi_state != LOAD_READY)
			continue;
		table_drop(c, f, LOAD_EVICTED);
		c->st.cfi.evictions++;
		c->last_table_evict_ns = mono_ns();
	}
}

/* Entries over the count: those nobody holds (the entry or its symbols)
 * and nothing loads. */
static enum file_lru_verdict entry_judge(struct file_lru_node *n, void *ctx)
{
	const struct cached_file *f = (const struct cached_file *)n;

	(void)ctx;
	if (f->sym_state == LOAD_RUNNING || f->cfi_state == LOAD_RUNNING)
		return FILE_LRU_PASS;
	return f->refs > 1 || symbols_held(f) ? FILE_LRU_WARM : FILE_LRU_DROP;
}

static void entry_trim_drop(struct file_lru_node *n, void *ctx)
{
	entry_drop(ctx, (struct cached_file *)n);
}

static void trim_entries(struct file_cache *c)
{
	file_lru__trim(&c->lru, TRIM_STEPS, entry_judge, entry_trim_drop, c);
}

void file_cache__set_symbol_bytes(struct file_cache *c, size_t bytes)
{
	c->lim.symbol_bytes = bytes ? bytes : SIZE_MAX;
	trim_symbols(c, NULL);
}

void file_cache__recount(struct file_cache *c)
{
	for (struct file_lru_node *n = c->lru.head.next; n != &c->lru.head; n = n->next)
		symbols_recount(c, (struct cached_file *)n);
	trim_symbols(c, NULL);
}

/* Failures that say something about the file, not about us right now. */
static bool symbols_err_permanent(int err)
{
	return err == ENOEXEC || err == EINVAL;
}

static bool table_err_permanent(int err)
{
	return err == ENOEXEC || err == EINVAL || err == ENOENT || err == EFBIG;
}

/* What loading f's symbols gave (s, taken, or errno err) goes into f. */
void file_cache_settle_symbols(struct file_cache *c, struct cached_file *f, struct symtab *s,
			       int err)
{
	f->sym_state = LOAD_NONE;
	if (!s) {
		c->st.sym.failures++;
		if (symbols_err_permanent(err)) {
			f->sym_state = LOAD_FAILED;
			f->sym_err = err;
		}
		return;
	}
	f->s = s;
	f->sym_state = LOAD_READY;
	f->settled_ns = mono_ns();
	c->sym_files++;
	symbols_recount(c, f);
	trim_symbols(c, f);
}

/* The same for its table. */
void file_cache_settle_table(struct file_cache *c, struct cached_file *f, struct cfi_table *t,
			     int err)
{
	f->cfi_state = LOAD_NONE;
	if (t && cfi_table__mem_size(t) > c->lim.table_bytes) {
		/* it would push out every other table, and then itself */
		log_debug("cfi: a table of %zu bytes is over the cache's %zu",
			  cfi_table__mem_size(t), c->lim.table_bytes);
		cfi_table__free(t);
		t = NULL;
		err = EFBIG;
		c->st.cfi.too_big++;
	}
	if (!t) {
		c->st.cfi.failures++;
		if (table_err_permanent(err)) {
			f->cfi_state = LOAD_FAILED;
			f->cfi_err = err;
		}
		return;
	}
	f->t = t;
	f->cfi_state = LOAD_READY;
	f->cfi_bytes = cfi_table__mem_size(t);
	c->cfi_bytes += f->cfi_bytes;
	c->cfi_files++;
	trim_tables(c, f);
}

struct cached_file *file_cache__file(struct file_cache *c, int fd)
{
	struct cached_file *f;
	struct file_id id;
	int err = file_id__of_fd(fd, &id);

	if (err) {
		errno = err;
		return NULL;
	}
	f = (struct cached_file *)file_lru__find(&c->lru, &id);
	if (f) {
		file_lru__touch(&c->lru, &f->node);
		trim_entries(c);
		return cached_file__get(f);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->node = (struct file_lru_node){ .id = id, .bytes = sizeof(*f) };
	if (file_lru__insert(&c->lru, &f->node)) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	f->cached = true;
	f->refs = 2; /* the cache's and the caller's */
	trim_entries(c);
	return f;
}

/* Whether fd is f's file (a file replaced under its path is another). */
static bool same_file(const struct cached_file *f, int fd)
{
	struct file_id id;

	return !file_id__of_fd(fd, &id) && !memcmp(&id, &f->node.id, sizeof(id));
}

struct symtab *file_cache__symbols(struct file_cache *c, struct cached_file *f,
				   const struct file_src *src, uint64_t deadline_ns)
{
	struct symtab *s;
	int err;

	if (!f->cached) {
		errno = ESTALE;
		return NULL;
	}
	for (;;) {
		switch (f->sym_state) {
		case LOAD_READY:
			c->st.sym.hits++;
			f->settled_ns = 0;
			file_lru__touch(&c->lru, &f->node);
			symbols_recount(c, f);
			trim_symbols(c, f);
			return symtab__get(f->s);
		case LOAD_FAILED:
			c->st.sym.hits++;
			file_lru__touch(&c->lru, &f->node);
			errno = f->sym_err;
			return NULL;
		case LOAD_RUNNING:
			if (!deadline_ns || mono_ns() >= deadline_ns) {
				errno = EAGAIN;
				return NULL;
			}
			if (loader__wait(c->sym_ld, deadline_ns))
				file_cache__collect_symbols(c);
			continue;
		case LOAD_NONE:
		case LOAD_EVICTED:
			break;
		}
		break;
	}
	if (!src) {
		errno = ESTALE;
		return NULL;
	}
	if (!same_file(f, src->fd)) {
		errno = ESTALE;
		return NULL;
	}
	c->st.sym.misses++;
	file_lru__touch(&c->lru, &f->node);
	if (c->sym_ld && deadline_ns != UINT64_MAX) {
		if (file_cache_load_start(c->sym_ld, f, JOB_SYMBOLS, src)) {
			f->sym_state = LOAD_RUNNING;
			return file_cache__symbols(c, f, NULL, deadline_ns);
		}
		if (errno == EAGAIN) {
			c->st.sym.deferred++;
			errno = EBUSY;
		}
		return NULL;
	}
	s = symtab__load(src->fd, src->root, src->path);
	err = s ? 0 : errno;
	file_cache_settle_symbols(c, f, s, err);
	if (f->sym_state != LOAD_READY) {
		errno = err;
		return NULL;
	}
	f->settled_ns = 0; /* taken at once: nobody waits for it */
	return symtab__get(f->s);
}

struct symtab *file_cache__load_symbols(struct file_cache *c, int fd, const char *root,
					const char *path)
{
	struct file_src src = { .fd = fd, .root = root ? root : "/", .path = path };
	struct cached_file *f = file_cache__file(c, fd);
	struct symtab *s;
	int err;

	if (!f)
		return NULL;
	s = file_cache__symbols(c, f, &src, UINT64_MAX);
	err = errno;
	cached_file__put(f);
	if (!s)
		errno = err;
	return s;
}

void file_cache__forget_symbols(struct file_cache *c, struct cached_file *f)
{
	if (f->sym_state != LOAD_RUNNING)
		symbols_drop(c, f, LOAD_NONE); /* mappings keep their references */
}

/* Whether a table may be loaded now: a working set larger than the bound
 * would otherwise load tables back to back forever (libLLVM's takes
 * 60 ms). The budget binds only while tables are being evicted: first
 * loads (a host's programs at start) all go through. */
static bool table_load_allowed(struct file_cache *c, uint64_t now)
{
	uint64_t budget = c->lim.table_load_ns_sec;
	uint64_t left = sec_budget__left(&c->table_load, budget, now);

	if (!budget || !c->last_table_evict_ns || now - c->last_table_evict_ns >= 1000000000ull)
		return true;
	return left > 0;
}

static void log_table_deferred(struct file_cache *c)
{
	uint64_t n = ++c->st.cfi.deferred;

	if (!(n & (n - 1)))
		log_warn("cfi: unwind tables evicted and loaded again for over %" PRIu64 " ms of "
			 "this second (unwind_cache_size is smaller than what runs), or %u loads "
			 "waiting: %" PRIu64 " loads put off so far (cfi_deferred; their frames "
			 "are walked by frame pointer)",
			 c->lim.table_load_ns_sec / 1000000, LOADER_QUEUE_MAX, n);
}

/* Starts loading f's table from fd, in the thread or here: 0, or -EAGAIN
 * when it is put off (this second's budget is spent, or the queue full). */
static int table_load(struct file_cache *c, struct cached_file *f, int fd)
{
	struct file_src src = { .fd = fd };
	uint64_t now = mono_ns();
	struct cfi_table *t;

	if (!table_load_allowed(c, now)) {
		log_table_deferred(c);
		return -EAGAIN;
	}
	c->st.cfi.misses++;
	if (c->cfi_ld) {
		if (file_cache_load_start(c->cfi_ld, f, JOB_TABLE, &src)) {
			f->cfi_state = LOAD_RUNNING;
			return 0;
		}
		if (errno == EAGAIN)
			log_table_deferred(c);
		return -errno;
	}
	t = cfi_table__load(fd);
	f->cfi_err = t ? 0 : errno;
	c->table_load.spent += mono_ns() - now;
	file_cache_settle_table(c, f, t, f->cfi_err);
	return 0;
}

const struct cfi_table *file_cache__table(struct file_cache *c, struct cached_file *f, int fd,
					  uint64_t deadline_ns)
{
	if (!f->cached) {
		errno = ESTALE;
		return NULL;
	}
	file_lru__touch(&c->lru, &f->node);
	if ((f->cfi_state == LOAD_NONE || f->cfi_state == LOAD_EVICTED) && fd >= 0) {
		int err = same_file(f, fd) ? table_load(c, f, fd) : -ENOENT;

		if (err) {
			errno = -err;
			return NULL;
		}
		if (f->cfi_state == LOAD_NONE) {
			errno = f->cfi_err; /* loaded here, failed for a passing reason */
			return NULL;
		}
	} else if (f->cfi_state == LOAD_READY && fd >= 0) {
		c->st.cfi.hits++;
	}
	if (f->cfi_state == LOAD_RUNNING && deadline_ns) {
		c->st.cfi.waits++;
		while (f->cfi_state == LOAD_RUNNING && mono_ns() < deadline_ns) {
			if (loader__wait(c->cfi_ld, deadline_ns))
				file_cache__collect_tables(c);
		}
	}
	switch (f->cfi_state) {
	case LOAD_READY:
		return f->t;
	case LOAD_RUNNING:
		errno = EAGAIN;
		break;
	case LOAD_FAILED:
		errno = f->cfi_err;
		break;
	case LOAD_EVICTED:
		errno = ESTALE;
		break;
	case LOAD_NONE:
		errno = ENODATA; /* never asked, or failed for a passing reason */
		break;
	}
	return NULL;
}

void file_cache__free(struct file_cache *c)
{
	if (!c)
		return;
	file_cache_stop_loaders(c);
	while (c->lru.head.next != &c->lru.head)
		entry_drop(c, (struct cached_file *)c->lru.head.next);
	file_lru__free(&c->lru);
	free(c);
}

int file_cache__derived(struct file_cache *c, struct cached_file *f, unsigned key, int fd,
			void *out, size_t size, file_derive_fn read, void *ctx)
{
	void *kept;
	int err;

	if (f->derived_key == key && f->derived_size == size) {
		c->st.derived.hits++;
		if (!f->derived_err)
			memcpy(out, f->derived, size);
		return f->derived_err;
	}
	c->st.derived.misses++;
	err = read(fd, out, ctx);
	if (err == -ENOMEM)
		return err;
	kept = NULL;
	if (!err && !(kept = malloc(size)))
		return 0; /* not kept: read again next time */
	if (kept)
		memcpy(kept, out, size);
	free(f->derived);
	f->derived = kept;
	f->derived_size = size;
	f->derived_key = key;
	f->derived_err = err;
	return err;
}

void file_cache__stats(const struct file_cache *c, struct file_cache_stats *st)
{
	*st = c->st;
	st->files = c->lru.files;
	st->sym.files = c->sym_files;
	st->sym.bytes = c->sym_bytes;
	st->sym.queued = c->sym_ld ? loader__queued(c->sym_ld) : 0;
	st->cfi.files = c->cfi_files;
	st->cfi.bytes = c->cfi_bytes;
	st->cfi.queued = c->cfi_ld ? loader__queued(c->cfi_ld) : 0;
}
