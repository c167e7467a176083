// SPDX-License-Identifier: MIT
/*
 * The unwinder's BPF maps, filled (unwind_tables.h).
 *
 * Every file slot has a record, in one of three states: free (its slot
 * may be given out), live (a table in the pool, in the key table and on
 * the LRU list) or held (evicted, waiting out the grace period with its
 * pool range). Two sets of pool ranges: those free now, and those free
 * once every held range is released ("eventual"); eviction goes on until
 * the eventual set has room, and an add that the free set cannot take
 * yet says EAGAIN. Both sets have room for one range more than there are
 * file slots, so that freeing never fails.
 *
 * A held record whose gen-0 rewrite failed still names its rows in the
 * map: it keeps them until a rewrite succeeds, and its grace starts then.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "clock.h"
#include "hashtab.h"
#include "log.h"
#include "range_set.h"
#include "unwind_tables.h"

#define FILE_SLOTS_MAX (1u << 20)
#define PROCS_MAX (1u << 22)
#define PAGES_MAX ((1ull << 32) >> UNWIND_PAGE_SHIFT) /* offsets are u32 */

_Static_assert(sizeof(union unwind_slot) == 8, "a pool slot is 8 bytes");

struct tfile {
	struct file_id key;
	struct unwind_file ent; /* as written: where its table is, its generation */
	uint32_t slot;
	unsigned users;            /* live: process entries naming it (evicted last) */
	bool cleared;              /* held: the entry says gen 0 */
	uint64_t release_ns;       /* held: reusable from then (not cleared: tried again then) */
	struct tfile *prev, *next; /* live: LRU list, most recent first; held: held list */
};

/* A file an entry names, as it named it: the slot may hold another since. */
struct tuse {
	uint32_t slot, gen;
};

struct tproc {
	uint32_t tgid;
	unsigned nuses;
	struct tuse *uses; /* the files its entry names: their users */
};

struct unwind_tables {
	struct unwind_fds fds;
	uint32_t pool_slots, file_slots, max_procs;
	const struct unwind_tables_ops *ops;
	void *ops_ctx;
	uint64_t (*clock)(void *ctx);
	void *ctx;
	uint64_t grace_ns;

	struct tfile *files;  /* by slot */
	uint32_t *free_slots; /* a stack */
	uint32_t nfree_slots, nheld;
	struct tfile lru, held; /* list heads */
	struct hashtab by_key;
	struct range_set free, eventual;
	uint32_t next_gen;

	struct hashtab procs;    /* tgid -> struct tproc: the entries written */
	struct unwind_proc proc; /* the entry being made */

	union unwind_slot *chunk; /* the slots being written */
	uint32_t *keys;           /* the default write_pool's keys */
	bool pool_mmapable;       /* the pool map is written through a mapping */
	struct unwind_tables_stats st;
};

/* ---- the default writes: libbpf on the maps' fds ---- */

/*
 * Through a mapping of the pages written only, unmapped at once: a BPF
 * array's mapping has every page present from the start, and the whole
 * pool mapped would count in pprofd's RSS (64 MiB by default), though the
 * memory is the kernel's either way (memlock, reported apart).
 */
static int write_pool_mapped(struct unwind_tables *t, uint32_t first, const union unwind_slot *s,
			     uint32_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off = (size_t)first * sizeof(*s);
	size_t end = off + (size_t)n * sizeof(*s), moff = off & ~(page - 1);
	size_t mlen = ((end + page - 1) & ~(page - 1)) - moff;
	uint8_t *p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, t->fds.pool, (off_t)moff);

	if (p == MAP_FAILED)
		return -errno;
	memcpy(p + (off - moff), s, (size_t)n * sizeof(*s));
	/* the rows before the entry that names them (x86 keeps stores in order) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	munmap(p, mlen);
	return 0;
}

static int bpf_write_pool(void *ctx, uint32_t first, const union unwind_slot *s, uint32_t n)
{
	struct unwind_tables *t = ctx;
	uint32_t count = n;
	int err;

	/* first + n is within pool_slots, within the map (check_pool) */
	if (t->pool_mmapable && !write_pool_mapped(t, first, s, n))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		t->keys[i] = first + i;
	err = bpf_map_update_batch(t->fds.pool, t->keys, s, &count, NULL);
	if (err)
		return err < 0 ? err : -EIO;
	return count == n ? 0 : -EIO;
}

static int bpf_write_file(void *ctx, uint32_t slot, const struct unwind_file *f)
{
	struct unwind_tables *t = ctx;

	return bpf_map_update_elem(t->fds.files, &slot, f, BPF_ANY) ? -errno : 0;
}

static int bpf_write_proc(void *ctx, uint32_t tgid, const struct unwind_proc *p)
{
	struct unwind_tables *t = ctx;

	return bpf_map_update_elem(t->fds.procs, &tgid, p, BPF_ANY) ? -errno : 0;
}

static int bpf_delete_proc(void *ctx, uint32_t tgid)
{
	struct unwind_tables *t = ctx;

	return bpf_map_delete_elem(t->fds.procs, &tgid) ? -errno : 0;
}

static const struct unwind_tables_ops bpf_ops = {
	.write_pool = bpf_write_pool,
	.write_file = bpf_write_file,
	.write_proc = bpf_write_proc,
	.delete_proc = bpf_delete_proc,
};

/*
 * A pool map made with BPF_F_MMAPABLE is written by memcpy: libLLVM's
 * 7.6 MiB table in 13-22 ms over slots never written before, 1.3-1.6 ms
 * over slots written before, where bpf_map_update_batch, which copies and
 * updates slot by slot, takes 50-110 ms. The map must hold pool_slots:
 * -EINVAL otherwise, either way.
 */
static int check_pool(struct unwind_tables *t)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (t->fds.pool < 0 || bpf_obj_get_info_by_fd(t->fds.pool, &info, &len))
		return 0; /* the writes will say */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(uint32_t) ||
	    info.value_size != sizeof(union unwind_slot) || info.max_entries < t->pool_slots)
		return -EINVAL;
	t->pool_mmapable = info.map_flags & BPF_F_MMAPABLE;
	return 0;
}

/* ---- life ---- */

static uint64_t now_ns(const struct unwind_tables *t)
{
	return t->clock ? t->clock(t->ctx) : mono_ns();
}

struct unwind_tables *unwind_tables__new(const struct unwind_tables_conf *c)
{
	struct unwind_tables *t;

	if (!c->pool_slots || !c->file_slots || c->file_slots > FILE_SLOTS_MAX || !c->max_procs ||
	    c->max_procs > PROCS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->fds = c->fds;
	t->pool_slots = c->pool_slots;
	t->file_slots = c->file_slots;
	t->max_procs = c->max_procs;
	t->ops = c->ops ? c->ops : &bpf_ops;
	t->ops_ctx = c->ops ? c->ctx : t;
	t->clock = c->clock;
	t->ctx = c->ctx;
	t->grace_ns = c->grace_ns ? c->grace_ns : UNWIND_TABLES_GRACE_NS;
	t->lru.prev = t->lru.next = &t->lru;
	t->held.prev = t->held.next = &t->held;
	t->next_gen = 1;
	t->st.file_slots = c->file_slots;
	t->st.slots_total = c->pool_slots;
	t->files = calloc(c->file_slots, sizeof(*t->files));
	t->free_slots = calloc(c->file_slots, sizeof(*t->free_slots));
	t->chunk = calloc(UNWIND_TABLES_CHUNK, sizeof(*t->chunk));
	t->keys = c->ops ? NULL : calloc(UNWIND_TABLES_CHUNK, sizeof(*t->keys));
	if (!t->files || !t->free_slots || !t->chunk || (!c->ops && !t->keys) ||
	    range_set__init(&t->free, c->file_slots + 1) ||
	    range_set__init(&t->eventual, c->file_slots + 1) ||
	    range_set__add(&t->free, 0, c->pool_slots) ||
	    range_set__add(&t->eventual, 0, c->pool_slots))
		goto nomem;
	/* slot 0 given out first: tests and dumps read better */
	for (uint32_t i = 0; i < c->file_slots; i++) {
		t->files[i].slot = i;
		t->free_slots[i] = c->file_slots - 1 - i;
	}
	t->nfree_slots = c->file_slots;
	if (!c->ops && check_pool(t)) {
		unwind_tables__free(t);
		errno = EINVAL;
		return NULL;
	}
	return t;
nomem:
	unwind_tables__free(t);
	errno = ENOMEM;
	return NULL;
}

void unwind_tables__free(struct unwind_tables *t)
{
	struct tproc *p;

	if (!t)
		return;
	hashtab__for_each(&t->procs, p)
	{
		free(p->uses);
		free(p);
	}
	hashtab__free(&t->procs);
	hashtab__free(&t->by_key);
	range_set__fini(&t->free);
	range_set__fini(&t->eventual);
	free(t->files);
	free(t->free_slots);
	free(t->chunk);
	free(t->keys);
	free(t);
}

/* ---- lists and keys ---- */

static void list_unlink(struct tfile *f)
{
	f->prev->next = f->next;
	f->next->prev = f->prev;
	f->prev = f->next = NULL;
}

static void list_push_front(struct tfile *head, struct tfile *f)
{
	f->next = head->next;
	f->prev = head;
	head->next->prev = f;
	head->next = f;
}

static void list_push_back(struct tfile *head, struct tfile *f)
{
	list_push_front(head->prev, f);
}

static bool key_eq(const void *item, const void *key)
{
	return !memcmp(&((const struct tfile *)item)->key, key, sizeof(struct file_id));
}

static uint64_t key_hash(const struct file_id *k)
{
	return hash_bytes(k, sizeof(*k), 0);
}

static uint32_t table_slots(const struct tfile *f)
{
	return f->ent.npages + f->ent.nrows; /* checked at add: within the pool */
}

/* ---- eviction and release ---- */

static void count_write_error(struct unwind_tables *t, const char *what, int err)
{
	uint64_t n = ++t->st.write_errors;

	if (!(n & (n - 1)))
		log_warn("unwind tables: writing %s: %s (%" PRIu64 " write errors so far, "
			 "unwind_write_errors)",
			 what, strerror(-err), n);
}

/* Rewrites f's entry with gen 0, keeping where its rows are, so that a
 * walk reading it now reads the same rows or sees it stale. The grace
 * starts when that is done; a failed rewrite is tried again as late. */
static void clear_entry(struct unwind_tables *t, struct tfile *f, uint64_t now)
{
	struct unwind_file e = f->ent;
	int err;

	e.gen = 0;
	err = t->ops->write_file(t->ops_ctx, f->slot, &e);
	if (err)
		count_write_error(t, "an evicted table's file entry", err);
	f->cleared = !err;
	f->release_ns = now + t->grace_ns;
}

static void evict(struct unwind_tables *t, struct tfile *f, uint64_t now)
{
	uint64_t n = ++t->st.evictions;

	if (f->users)
		t->st.evictions_in_use++;
	hashtab__remove(&t->by_key, key_hash(&f->key), key_eq, &f->key);
	list_unlink(f);
	f->cleared = false;
	clear_entry(t, f, now);
	list_push_back(&t->held, f);
	t->nheld++;
	/* cannot fail: eventual's ranges are separated by live tables, one fewer now */
	range_set__add(&t->eventual, f->ent.pool, table_slots(f));
	t->st.files--;
	t->st.slots_used -= table_slots(f);
	t->st.slots_held += table_slots(f);
	t->st.bytes = (uint64_t)t->st.slots_used * sizeof(union unwind_slot);
	if (!(n & (n - 1)))
		log_warn("unwind tables: the pool (%u slots, %" PRIu64 " MiB) or its %u file slots "
			 "are full: %" PRIu64 " tables evicted so far (unwind_evictions; raise "
			 "unwind_table_size)",
			 t->pool_slots, ((uint64_t)t->pool_slots * sizeof(union unwind_slot)) >> 20,
			 t->file_slots, n);
}

/* The slot and range of a record not live and not named by any entry
 * (its grace is over, or it was never published) become free. */
static void give_back(struct unwind_tables *t, struct tfile *f, bool in_eventual)
{
	range_set__add(&t->free, f->ent.pool, table_slots(f));
	if (!in_eventual)
		range_set__add(&t->eventual, f->ent.pool, table_slots(f));
	t->free_slots[t->nfree_slots++] = f->slot;
	f->users = 0;
	memset(&f->key, 0, sizeof(f->key));
	f->ent = (struct unwind_file){ 0 };
}

/* Releases held records whose grace is over; retries failed rewrites. */
static void release(struct unwind_tables *t, uint64_t now)
{
	struct tfile *f = t->held.next, *next;

	for (; f != &t->held; f = next) {
		next = f->next;
		if (now < f->release_ns)
			continue;
		if (!f->cleared) {
			clear_entry(t, f, now);
			continue;
		}
		list_unlink(f);
		t->nheld--;
		t->st.slots_held -= table_slots(f);
		give_back(t, f, true);
	}
}

uint64_t unwind_tables__release_ns(const struct unwind_tables *t)
{
	uint64_t first = 0;

	for (const struct tfile *f = t->held.next; f != &t->held; f = f->next)
		if (!first || f->release_ns < first)
			first = f->release_ns;
	return first;
}

/* The table to evict: the least recently used that no process entry
 * names (an exited process's), else the least recently used: a running
 * process loses its tables only when the running ones alone overflow. */
static struct tfile *victim(struct unwind_tables *t)
{
	for (struct tfile *f = t->lru.prev; f != &t->lru; f = f->prev)
		if (!f->users)
			return f;
	return t->lru.prev;
}

/* Room for n slots and a file slot: 0 now, -EAGAIN after the grace of
 * what is held (evicting until then there is). */
static int make_room(struct unwind_tables *t, uint32_t n, uint64_t now)
{
	uint32_t at;

	for (;;) {
		if (t->nfree_slots && range_set__first_fit(&t->free, n, &at))
			return 0;
		if ((t->nfree_slots || t->nheld) && range_set__first_fit(&t->eventual, n, &at))
			return -EAGAIN;
		if (t->lru.prev == &t->lru)
			return -EAGAIN; /* never: with nothing live, all is eventually free */
		evict(t, victim(t), now);
	}
}

/* ---- adding a table ---- */

/* r's sizes, once it is seen to hold together: the pages strictly
 * increasing and below 2^20, each naming 1 to UNWIND_PAGE_ROWS_MAX of
 * r's rows. */
static int check_rows(const struct unwind_rows *r, uint32_t *npages, uint32_t *nrows)
{
	const struct unwind_page *pages;
	const uint32_t *nrs;
	uint32_t npg;

	pages = unwind_rows__pages(r, &nrs, &npg);
	unwind_rows__rows(r, nrows);
	if (!npg || !*nrows)
		return -ENOENT;
	for (uint32_t i = 0; i < npg; i++) {
		const struct unwind_page *p = &pages[i];

		if (nrs[i] >= PAGES_MAX || (i && nrs[i] <= nrs[i - 1]) || !p->count ||
		    p->count > UNWIND_PAGE_ROWS_MAX || p->first > *nrows ||
		    p->count > *nrows - p->first)
			return -EINVAL;
	}
	*npages = nrs[npg - 1] + 1;
	return 0;
}

/* r's dense pages then its rows, at pool slot first on, in chunks. */
static int write_table(struct unwind_tables *t, uint32_t first, const struct unwind_rows *r,
		       uint32_t npages)
{
	const struct unwind_page *pages;
	const struct unwind_row *rows;
	const uint32_t *nrs;
	uint32_t npg, nrows, k = 0, total, at = 0;
	int err;

	pages = unwind_rows__pages(r, &nrs, &npg);
	rows = unwind_rows__rows(r, &nrows);
	total = npages + nrows;
	while (at < total) {
		uint32_t m = total - at < UNWIND_TABLES_CHUNK ? total - at : UNWIND_TABLES_CHUNK;

		for (uint32_t i = 0; i < m; i++, at++) {
			union unwind_slot *s = &t->chunk[i];

			s->raw = 0;
			if (at >= npages)
				s->row = rows[at - npages];
			else if (k < npg && nrs[k] == at)
				s->page = pages[k++];
			/* else a page without code: count 0 */
		}
		err = t->ops->write_pool(t->ops_ctx, first + at - m, t->chunk, m);
		if (err)
			return err;
	}
	return 0;
}

static uint32_t new_gen(struct unwind_tables *t)
{
	uint32_t g = t->next_gen++;

	if (!t->next_gen)
		t->next_gen = 1;
	return g;
}

static void touch(struct unwind_tables *t, struct tfile *f)
{
	list_unlink(f);
	list_push_front(&t->lru, f);
}

int unwind_tables__add(struct unwind_tables *t, const struct file_id *key,
		       const struct unwind_rows *r, uint32_t *slot, uint32_t *gen)
{
	uint32_t npages, nrows, n, at;
	struct tfile *f;
	uint64_t now, c;
	int err;

	if (!unwind_tables__find(t, key, slot, gen))
		return 0;
	err = check_rows(r, &npages, &nrows);
	if (err)
		return err;
	/* More than half the pool: each add of it would evict every other
	 * table, and the small ones re-added during its grace period would
	 * take the room it waits for, again and again. */
	if ((uint64_t)npages + nrows > t->pool_slots / 2) {
		c = ++t->st.too_big;
		if (!(c & (c - 1)))
			log_warn("unwind tables: a table of %" PRIu64
				 " KiB is larger than half the "
				 "pool (%" PRIu64 " KiB): %" PRIu64
				 " refused so far (unwind_too_big; "
				 "raise unwind_table_size)",
				 (((uint64_t)npages + nrows) * sizeof(union unwind_slot)) >> 10,
				 ((uint64_t)t->pool_slots * sizeof(union unwind_slot)) >> 10, c);
		return -E2BIG;
	}
	n = npages + nrows;
	now = now_ns(t);
	release(t, now);
	err = make_room(t, n, now);
	if (err) {
		c = ++t->st.deferred;
		if (!(c & (c - 1)))
			log_info(
				"unwind tables: a table waits for evicted ones' grace period: %" PRIu64
				" adds put off so far (unwind_deferred)",
				c);
		return err;
	}
	/* Never fails: [at, at + n) is a free range's start, within a range
	 * of eventual, and each set has room for one range more than there
	 * are file slots (unwind_tables__new). */
	range_set__first_fit(&t->free, n, &at);
	err = range_set__take(&t->free, at, n);
	if (!err && (err = range_set__take(&t->eventual, at, n)))
		range_set__add(&t->free, at, n);
	if (err)
		return err;
	f = &t->files[t->free_slots[--t->nfree_slots]];
	f->key = *key;
	f->ent = (struct unwind_file){ .pool = at, .npages = npages, .nrows = nrows };
	err = hashtab__insert(&t->by_key, key_hash(key), f);
	if (err)
		goto fail;
	err = write_table(t, at, r, npages);
	if (err) {
		count_write_error(t, "a table's rows", err);
		goto fail;
	}
	f->ent.gen = new_gen(t);
	err = t->ops->write_file(t->ops_ctx, f->slot, &f->ent);
	if (err) {
		count_write_error(t, "a table's file entry", err);
		goto fail;
	}
	list_push_front(&t->lru, f);
	t->st.files++;
	t->st.adds++;
	t->st.slots_used += n;
	t->st.bytes = (uint64_t)t->st.slots_used * sizeof(union unwind_slot);
	*slot = f->slot;
	*gen = f->ent.gen;
	return 0;
fail:
	/* no entry names the range: the slot's stays gen 0 (as it was when
	 * it was free), and what was written is nobody's */
	hashtab__remove(&t->by_key, key_hash(key), key_eq, key);
	give_back(t, f, false);
	return err;
}

int unwind_tables__find(struct unwind_tables *t, const struct file_id *key, uint32_t *slot,
			uint32_t *gen)
{
	struct tfile *f = hashtab__find(&t->by_key, key_hash(key), key_eq, key);

	if (!f)
		return -ENOENT;
	touch(t, f);
	*slot = f->slot;
	*gen = f->ent.gen;
	return 0;
}

int unwind_tables__bias(const struct cfi_table *t, uint64_t map_start, uint64_t pgoff,
			uint64_t *bias)
{
	uint64_t load_bias;
	int err = cfi_table__load_bias(t, map_start, pgoff, &load_bias);

	if (err)
		return err;
	/* pc - load_bias is the vaddr; the rows count from the table's base */
	*bias = load_bias + cfi_table__base(t);
	return 0;
}

/* ---- processes ---- */

static bool tgid_eq(const void *item, const void *key)
{
	return ((const struct tproc *)item)->tgid == *(const uint32_t *)key;
}

/* Whether a counter going from before to after passed a power of two:
 * when to log a count that grows by more than one. */
static bool passes_pow2(uint64_t before, uint64_t after)
{
	int bits_before = before ? 64 - __builtin_clzll(before) : 0;
	int bits_after = after ? 64 - __builtin_clzll(after) : 0;

	return bits_before != bits_after;
}

static int map_cmp(const void *a, const void *b)
{
	const struct unwind_map *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* t->proc from maps: sorted, without overlaps or empty ranges, the lowest
 * UNWIND_PROC_MAPS_MAX. How many were dropped. */
static unsigned make_proc(struct unwind_tables *t, uint64_t start_code, struct unwind_map *v,
			  unsigned n)
{
	struct unwind_proc *p = &t->proc;
	unsigned dropped = 0;

	if (n)
		qsort(v, n, sizeof(*v), map_cmp);
	memset(p, 0, sizeof(*p));
	p->start_code = start_code;
	for (unsigned i = 0; i < n; i++) {
		const struct unwind_map *m = &v[i];

		if (m->start >= m->end || p->nr == UNWIND_PROC_MAPS_MAX ||
		    (p->nr && m->start < p->maps[p->nr - 1].end)) {
			dropped++;
			continue;
		}
		p->maps[p->nr] = *m;
		p->maps[p->nr++].pad = 0;
	}
	return dropped;
}

/* The live file at slot, if it still has generation gen. */
static struct tfile *live_file(struct unwind_tables *t, uint32_t slot, uint32_t gen)
{
	struct tfile *f = slot < t->file_slots ? &t->files[slot] : NULL;

	return f && gen && f->ent.gen == gen &&
			       hashtab__find(&t->by_key, key_hash(&f->key), key_eq, &f->key) == f
		       ? f
		       : NULL;
}

bool unwind_tables__proc_stale(struct unwind_tables *t, uint32_t tgid)
{
	const struct tproc *p = hashtab__find(&t->procs, hash_u64(tgid), tgid_eq, &tgid);

	for (unsigned i = 0; p && i < p->nuses; i++)
		if (!live_file(t, p->uses[i].slot, p->uses[i].gen))
			return true;
	return false;
}

/* p's entry no longer names its files. */
static void unuse(struct unwind_tables *t, struct tproc *p)
{
	for (unsigned i = 0; i < p->nuses; i++) {
		struct tfile *f = live_file(t, p->uses[i].slot, p->uses[i].gen);

		if (f && f->users)
			f->users--;
	}
	free(p->uses);
	p->uses = NULL;
	p->nuses = 0;
}

/* p's entry (t->proc, written) names these files now. */
static void use(struct unwind_tables *t, struct tproc *p)
{
	const struct unwind_proc *e = &t->proc;

	p->uses = e->nr ? malloc(e->nr * sizeof(*p->uses)) : NULL;
	if (!p->uses)
		return; /* its files are merely evicted sooner */
	for (unsigned i = 0; i < e->nr; i++) {
		struct tfile *f = live_file(t, e->maps[i].file, e->maps[i].gen);

		if (!f || (e->maps[i].flags & UNWIND_MAP_F_NO_TABLE))
			continue;
		f->users++;
		p->uses[p->nuses++] = (struct tuse){ f->slot, f->ent.gen };
	}
}

int unwind_tables__set_proc(struct unwind_tables *t, uint32_t tgid, uint64_t start_code,
			    const struct unwind_map *maps, unsigned n)
{
	uint64_t h = hash_u64(tgid), c;
	struct tproc *p = hashtab__find(&t->procs, h, tgid_eq, &tgid);
	struct unwind_map *v = NULL;
	unsigned dropped;
	bool added = false;
	int err;

	if (!p && t->st.procs >= t->max_procs) {
		c = ++t->st.procs_refused;
		if (!(c & (c - 1)))
			log_warn("unwind tables: %u processes have entries: %" PRIu64
				 " more refused "
				 "so far (unwind_procs_refused; their stacks take the copy path)",
				 t->max_procs, c);
		return -ENOSPC;
	}
	if (n) {
		v = malloc((size_t)n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, maps, (size_t)n * sizeof(*v));
	}
	dropped = make_proc(t, start_code, v, n);
	free(v);
	if (dropped) {
		uint64_t before = t->st.proc_maps_dropped;

		t->st.proc_maps_dropped += dropped;
		if (passes_pow2(before, t->st.proc_maps_dropped))
			log_warn(
				"unwind tables: pid %u: %u executable mappings overlapping, empty or "
				"over %u dropped (%" PRIu64 " so far, unwind_proc_maps_dropped)",
				tgid, dropped, UNWIND_PROC_MAPS_MAX, t->st.proc_maps_dropped);
	}
	if (!p) {
		p = malloc(sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->tgid = tgid;
		p->nuses = 0;
		p->uses = NULL;
		if (hashtab__insert(&t->procs, h, p)) {
			free(p);
			return -ENOMEM;
		}
		added = true;
	}
	err = t->ops->write_proc(t->ops_ctx, tgid, &t->proc);
	if (err) {
		count_write_error(t, "a process entry", err);
		if (added) {
			hashtab__remove(&t->procs, h, tgid_eq, &tgid);
			free(p);
		}
		return err;
	}
	if (added)
		t->st.procs++;
	unuse(t, p);
	use(t, p);
	return 0;
}

int unwind_tables__drop_proc(struct unwind_tables *t, uint32_t tgid)
{
	uint64_t h = hash_u64(tgid);
	struct tproc *p = hashtab__find(&t->procs, h, tgid_eq, &tgid);
	int err;

	if (!p)
		return -ENOENT;
	err = t->ops->delete_proc(t->ops_ctx, tgid);
	if (err && err != -ENOENT) {
		count_write_error(t, "a process entry's deletion", err);
		return err; /* still there: still counted */
	}
	hashtab__remove(&t->procs, h, tgid_eq, &tgid);
	unuse(t, p);
	free(p);
	t->st.procs--;
	return 0;
}

uint64_t unwind_tables__evictions(const struct unwind_tables *t)
{
	return t->st.evictions;
}

uint64_t unwind_tables__evictions_in_use(const struct unwind_tables *t)
{
	return t->st.evictions_in_use;
}

void unwind_tables__stats(const struct unwind_tables *t, struct unwind_tables_stats *st)
{
	*st = t->st;
}
