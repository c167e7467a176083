// SPDX-License-Identifier: MIT
/*
 * unwind_tables: the daemon's side of the BPF unwinder's maps.
 *  - With recording writes and a clock of our own: a table's layout in the
 *    pool (dense pages from page 0, holes zero, rows after, each page's
 *    first right: a lookup done as the walker does it gives what
 *    unwind_rows__lookup gives); first fit and coalescing; LRU eviction
 *    when full, the evicted entry rewritten gen 0 before its slots are
 *    written again, and only after the grace; a table larger than the pool;
 *    a new generation on reuse; failed writes leave the file absent (and an
 *    eviction whose rewrite failed keeps its rows); process entries sorted,
 *    overlaps and the cap, the bound on processes.
 *  - With real BPF maps: libc's and python3's tables read back; the time
 *    to write libLLVM's (when there is one).
 *  - The bias of libc as this process maps it: pc - bias finds the row
 *    cfi_table__lookup gives at the pc's file offset.
 * The synthetic libraries are assembled with gcc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cfi.h"
#include "log.h"
#include "range_set.h"
#include "test.h"
#include "unwind_maps.h"
#include "unwind_rows.h"
#include "unwind_tables.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define PYTHON "/usr/bin/python3"
#define GRACE UNWIND_TABLES_GRACE_NS
#define PAGE (1u << UNWIND_PAGE_SHIFT)

static char tmp[64];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- tables to add ---- */

struct table {
	struct cfi_table *cfi;
	struct unwind_rows *rows;
	uint32_t npages, nrows; /* npages dense: the last page with code + 1 */
};

static bool table_load(struct table *t, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const uint32_t *nrs;
	uint32_t npg;

	memset(t, 0, sizeof(*t));
	if (fd < 0)
		return false;
	t->cfi = cfi_table__load(fd);
	close(fd);
	t->rows = t->cfi ? unwind_rows__new(t->cfi) : NULL;
	if (!t->rows)
		return false;
	unwind_rows__pages(t->rows, &nrs, &npg);
	unwind_rows__rows(t->rows, &t->nrows);
	t->npages = npg ? nrs[npg - 1] + 1 : 0;
	return true;
}

static void table_free(struct table *t)
{
	unwind_rows__free(t->rows);
	cfi_table__free(t->cfi);
	memset(t, 0, sizeof(*t));
}

static uint32_t table_slots(const struct table *t)
{
	return t->npages + t->nrows;
}

/* A library of nfuncs small functions with CFI (push rbp, rbp-based, pop:
 * five rows each with the gap after), 32 bytes apart, page-aligned; with
 * hole_pages whole pages without code after the first function. */
static bool synth(struct table *t, const char *name, unsigned nfuncs, unsigned hole_pages)
{
	char src[128], lib[128];
	FILE *f;

	snprintf(src, sizeof(src), "%s/%s.s", tmp, name);
	snprintf(lib, sizeof(lib), "%s/%s.so", tmp, name);
	f = fopen(src, "w");
	if (!f)
		return false;
	fprintf(f, "\t.text\n\t.balign 4096\n");
	for (unsigned i = 0; i < nfuncs; i++) {
		fprintf(f,
			"\t.globl f%u\nf%u:\n\t.cfi_startproc\n\tpush %%rbp\n"
			"\t.cfi_def_cfa_offset 16\n\t.cfi_offset %%rbp, -16\n\tmov %%rsp, %%rbp\n"
			"\t.cfi_def_cfa_register %%rbp\n\tnop\n\tpop %%rbp\n"
			"\t.cfi_def_cfa %%rsp, 8\n\tret\n\t.cfi_endproc\n\t.skip 32, 0xcc\n",
			i, i);
		if (!i && hole_pages)
			fprintf(f, "\t.skip %u, 0xcc\n", hole_pages * PAGE);
	}
	fclose(f);
	if (sh("gcc -shared -nostdlib -Wl,--build-id=none -o '%s' '%s'", lib, src))
		return false;
	return table_load(t, lib);
}

static struct file_id key_of(uint64_t n)
{
	return (struct file_id){ .dev = 1, .ino = n, .size = 4096 * n, .mtime_sec = n };
}

/* ---- recording writes ---- */

#define FAKE_POOL_MAX (1u << 20)
#define FAKE_FILES 64
#define FAKE_PROCS 8
#define EVENTS_MAX 4096
#define UNWRITTEN 0xa5a5a5a5a5a5a5a5ull

struct event {
	char kind;     /* 'S' slots, 'F' file entry, 'P' process entry, 'D' its deletion */
	uint32_t at;   /* first slot, file slot or tgid */
	uint32_t n;    /* slots */
	uint32_t gen;  /* a file entry's */
	uint32_t pool; /* a file entry's */
};

struct fake {
	union unwind_slot *pool;
	struct unwind_file files[FAKE_FILES];
	struct {
		uint32_t tgid;
		bool used;
		struct unwind_proc p;
	} procs[FAKE_PROCS];
	struct event ev[EVENTS_MAX];
	unsigned nev;
	int fail_pool, fail_file, fail_proc; /* returned by every such write while set */
	uint64_t now;
};

static struct fake fk;

static void record(char kind, uint32_t at, uint32_t n, uint32_t gen, uint32_t pool)
{
	if (fk.nev < EVENTS_MAX)
		fk.ev[fk.nev++] = (struct event){ kind, at, n, gen, pool };
}

static int fake_write_pool(void *ctx, uint32_t first, const union unwind_slot *s, uint32_t n)
{
	if (fk.fail_pool)
		return fk.fail_pool;
	if (n > UNWIND_TABLES_CHUNK || first >= FAKE_POOL_MAX || n > FAKE_POOL_MAX - first)
		return -ERANGE;
	memcpy(&fk.pool[first], s, n * sizeof(*s));
	record('S', first, n, 0, 0);
	return 0;
}

static int fake_write_file(void *ctx, uint32_t slot, const struct unwind_file *f)
{
	if (fk.fail_file)
		return fk.fail_file;
	if (slot >= FAKE_FILES)
		return -E2BIG;
	fk.files[slot] = *f;
	record('F', slot, 0, f->gen, f->pool);
	return 0;
}

static int fake_write_proc(void *ctx, uint32_t tgid, const struct unwind_proc *p)
{
	int free_at = -1;

	if (fk.fail_proc)
		return fk.fail_proc;
	for (int i = 0; i < FAKE_PROCS; i++) {
		if (fk.procs[i].used && fk.procs[i].tgid == tgid) {
			fk.procs[i].p = *p;
			record('P', tgid, p->nr, 0, 0);
			return 0;
		}
		if (!fk.procs[i].used && free_at < 0)
			free_at = i;
	}
	if (free_at < 0)
		return -E2BIG;
	fk.procs[free_at].used = true;
	fk.procs[free_at].tgid = tgid;
	fk.procs[free_at].p = *p;
	record('P', tgid, p->nr, 0, 0);
	return 0;
}

static int fake_delete_proc(void *ctx, uint32_t tgid)
{
	for (int i = 0; i < FAKE_PROCS; i++)
		if (fk.procs[i].used && fk.procs[i].tgid == tgid) {
			fk.procs[i].used = false;
			record('D', tgid, 0, 0, 0);
			return 0;
		}
	return -ENOENT;
}

static const struct unwind_proc *fake_proc(uint32_t tgid)
{
	for (int i = 0; i < FAKE_PROCS; i++)
		if (fk.procs[i].used && fk.procs[i].tgid == tgid)
			return &fk.procs[i].p;
	return NULL;
}

static uint64_t fake_clock(void *ctx)
{
	return fk.now;
}

static const struct unwind_tables_ops fake_ops = {
	.write_pool = fake_write_pool,
	.write_file = fake_write_file,
	.write_proc = fake_write_proc,
	.delete_proc = fake_delete_proc,
};

/* Tables over the recording writes, everything unwritten. */
static struct unwind_tables *fake_new(uint32_t pool_slots, uint32_t file_slots, uint32_t max_procs)
{
	struct unwind_tables_conf c = { .fds = { -1, -1, -1 },
					.pool_slots = pool_slots,
					.file_slots = file_slots,
					.max_procs = max_procs,
					.ops = &fake_ops,
					.clock = fake_clock };

	if (!fk.pool)
		fk.pool = malloc(FAKE_POOL_MAX * sizeof(*fk.pool));
	for (uint32_t i = 0; i < FAKE_POOL_MAX; i++)
		fk.pool[i].raw = UNWRITTEN;
	memset(fk.files, 0, sizeof(fk.files));
	memset(fk.procs, 0, sizeof(fk.procs));
	fk.nev = 0;
	fk.fail_pool = fk.fail_file = fk.fail_proc = 0;
	fk.now = 1000 * GRACE;
	return unwind_tables__new(&c);
}

/* ---- the walker's lookup, over a pool ---- */

typedef bool (*slot_reader)(uint32_t idx, union unwind_slot *s);

static bool fake_slot(uint32_t idx, union unwind_slot *s)
{
	if (idx >= FAKE_POOL_MAX)
		return false;
	*s = fk.pool[idx];
	return true;
}

/* What bpf/unwind.bpf.h's unwind_find_row does: 1 and the row, 0 for a
 * gap, -1 when the tables do not hold together. */
static int pool_lookup(slot_reader rd, const struct unwind_file *f, uint64_t off,
		       struct unwind_row *row)
{
	uint64_t page = off >> UNWIND_PAGE_SHIFT;
	union unwind_slot s;
	uint32_t lo = 0, hi, base;

	if (page >= f->npages)
		return 0;
	if (!rd(f->pool + (uint32_t)page, &s))
		return -1;
	if (!s.page.count)
		return 0;
	hi = s.page.count;
	base = f->pool + f->npages + s.page.first;
	for (unsigned step = 0; step < UNWIND_PAGE_SEARCH_STEPS && lo < hi; step++) {
		uint32_t mid = (lo + hi) / 2;

		if (!rd(base + mid, &s))
			return -1;
		if (s.row.pc <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || lo < hi || !rd(base + lo - 1, &s))
		return -1;
	*row = s.row;
	return 1;
}

static bool same_row(const struct unwind_row *a, const struct unwind_row *b)
{
	return a->pc == b->pc && a->cfa_off == b->cfa_off && a->bp_off8 == b->bp_off8 &&
	       a->flags == b->flags;
}

/*
 * The pool holds t as file entry f says: dense pages (holes zero), then
 * the rows; and at offsets every step apart (and each page's first and
 * last byte) the walker's lookup agrees with unwind_rows__lookup. The
 * holes found in *holes.
 */
static bool pool_holds(slot_reader rd, const struct unwind_file *f, const struct table *t,
		       uint32_t step, uint32_t *holes)
{
	const struct unwind_page *pages;
	const struct unwind_row *rows;
	const uint32_t *nrs;
	uint32_t npg, nrows, k = 0;
	union unwind_slot s;
	int bad = 0;

	pages = unwind_rows__pages(t->rows, &nrs, &npg);
	rows = unwind_rows__rows(t->rows, &nrows);
	*holes = 0;
	if (!ASSERT_EQ(f->npages, t->npages) || !ASSERT_EQ(f->nrows, t->nrows) ||
	    !ASSERT_TRUE(f->gen != 0))
		return false;
	for (uint32_t p = 0; p < f->npages && bad < 5; p++) {
		if (!ASSERT_TRUE(rd(f->pool + p, &s), "slot %u", f->pool + p))
			return false;
		if (k < npg && nrs[k] == p) {
			bad += !ASSERT_TRUE(
				s.page.first == pages[k].first && s.page.count == pages[k].count &&
					s.page.flags == pages[k].flags,
				"page %u: first %u count %u, want %u %u", p, s.page.first,
				s.page.count, pages[k].first, pages[k].count);
			k++;
		} else {
			bad += !ASSERT_TRUE(s.raw == 0, "hole page %u: %#llx", p,
					    (unsigned long long)s.raw);
			++*holes;
		}
	}
	for (uint64_t j = 0; j <= nrows / step + 1 && bad < 5; j++) {
		uint32_t i = j * step < nrows ? (uint32_t)(j * step) : nrows - 1; /* the last too */

		if (!ASSERT_TRUE(rd(f->pool + f->npages + i, &s)))
			return false;
		bad += !ASSERT_TRUE(same_row(&s.row, &rows[i]), "row %u", i);
	}
	for (uint64_t off = 0; off < (uint64_t)f->npages * PAGE + PAGE && bad < 5;) {
		struct unwind_row want, got;
		int w = unwind_rows__lookup(t->rows, off, &want), g = pool_lookup(rd, f, off, &got);

		if (w == -ENOENT)
			bad += !ASSERT_TRUE(
				g == 0 || (g == 1 && UNWIND_ROW_CFA(got.flags) == UNWIND_CFA_GAP),
				"offset %#llx: a gap, got %d", (unsigned long long)off, g);
		else
			bad += !ASSERT_TRUE(g == 1 && same_row(&got, &want),
					    "offset %#llx: got %d pc %#x, want pc %#x",
					    (unsigned long long)off, g, g == 1 ? got.pc : 0,
					    want.pc);
		/* each page's first and last byte, and step apart between */
		if ((off & (PAGE - 1)) == PAGE - 1)
			off++;
		else if ((off & (PAGE - 1)) + step >= PAGE)
			off = (off | (PAGE - 1));
		else
			off += step;
	}
	return !bad;
}

/* ---- with recording writes ---- */

static struct table small, big, holed;

/* A small table, then one with holes right after it (first fit): dense
 * pages from its page 0, holes zero (not what the last write left), rows
 * after them, each page naming its rows; slots written before the entry;
 * an add of a file already there writes nothing. */
static void test_layout(void)
{
	struct unwind_tables *t = fake_new(1 << 16, 8, 4);
	struct unwind_tables_stats st;
	uint32_t slot, gen, slot2, gen2, holes = 0, a = table_slots(&small);
	struct file_id k1 = key_of(1), k2 = key_of(2);
	unsigned nev;

	if (!ASSERT_TRUE(t))
		return;
	ASSERT_OK(unwind_tables__add(t, &k1, small.rows, &slot, &gen));
	ASSERT_EQ(slot, 0);
	ASSERT_TRUE(gen != 0);
	ASSERT_EQ(fk.files[0].pool, 0);
	ASSERT_EQ(fk.files[0].gen, gen);
	ASSERT_TRUE(pool_holds(fake_slot, &fk.files[0], &small, 1, &holes));
	ASSERT_TRUE(fk.nev == 2 && fk.ev[0].kind == 'S' && fk.ev[0].at == 0 && fk.ev[0].n == a &&
		    fk.ev[1].kind == 'F' && fk.ev[1].gen == gen);

	ASSERT_TRUE(holed.npages >= 4, "npages %u", holed.npages);
	ASSERT_OK(unwind_tables__add(t, &k2, holed.rows, &slot2, &gen2));
	ASSERT_EQ(slot2, 1);
	ASSERT_TRUE(gen2 != 0 && gen2 != gen);
	ASSERT_EQ(fk.files[1].pool, a);
	ASSERT_TRUE(pool_holds(fake_slot, &fk.files[1], &holed, 1, &holes));
	ASSERT_TRUE(holes >= 3, "%u holes", holes);
	ASSERT_TRUE(fk.nev == 4 && fk.ev[2].kind == 'S' && fk.ev[2].at == a &&
		    fk.ev[2].n == table_slots(&holed) && fk.ev[3].kind == 'F' &&
		    fk.ev[3].gen == gen2);
	ASSERT_EQ(fk.pool[a + table_slots(&holed)].raw, UNWRITTEN);

	nev = fk.nev;
	ASSERT_OK(unwind_tables__add(t, &k1, holed.rows, &slot, &gen2));
	ASSERT_TRUE(slot == 0 && gen2 == gen);
	ASSERT_OK(unwind_tables__find(t, &k2, &slot2, &gen2));
	ASSERT_EQ(slot2, 1);
	ASSERT_EQ(fk.nev, nev);
	ASSERT_EQ(unwind_tables__find(t, &(struct file_id){ 0 }, &slot2, &gen2), -ENOENT);

	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.files, 2);
	ASSERT_EQ(st.adds, 2);
	ASSERT_EQ(st.slots_used, a + table_slots(&holed));
	ASSERT_EQ(st.bytes, 8ull * st.slots_used);
	ASSERT_EQ(st.slots_total, 1 << 16);
	ASSERT_EQ(st.file_slots, 8);
	unwind_tables__free(t);
}

/* libc through the recording writes: every page, a sample of rows, and
 * offsets 7 bytes apart. */
static void test_layout_libc(void)
{
	struct unwind_tables *t = fake_new(1 << 20, 8, 4);
	struct table libc;
	struct file_id k = key_of(7);
	uint32_t slot, gen, holes;

	if (!ASSERT_TRUE(t) || !ASSERT_TRUE(table_load(&libc, LIBC)))
		goto out;
	ASSERT_OK(unwind_tables__add(t, &k, libc.rows, &slot, &gen));
	ASSERT_TRUE(pool_holds(fake_slot, &fk.files[slot], &libc, 7, &holes));
out:
	table_free(&libc);
	unwind_tables__free(t);
}

/* Whether an 'F' event with gen 0 for slot comes before any 'S' event
 * overlapping [pool, pool + n) after event from. */
static bool cleared_before_reuse(unsigned from, uint32_t slot, uint32_t pool, uint32_t n)
{
	for (unsigned i = from; i < fk.nev; i++) {
		const struct event *e = &fk.ev[i];

		if (e->kind == 'F' && e->at == slot && e->gen == 0)
			return true;
		if (e->kind == 'S' && e->at < pool + n && pool < e->at + e->n)
			return false;
	}
	return false;
}

/*
 * Four small tables fill the pool. With 1, 3 and 4 used since, a big one
 * (more than one small, at most two) evicts 2 then 1, whose ranges
 * coalesce: EAGAIN within the grace (nothing more evicted), then it goes
 * at slot 0 of the pool, first fit, after both entries said gen 0; its
 * file slot was one of theirs, with a new generation.
 */
static void test_evict_coalesce_grace(void)
{
	uint32_t a = table_slots(&small), b = table_slots(&big);
	struct unwind_tables *t = fake_new(4 * a, 8, 4);
	struct file_id k[6];
	uint32_t slot[6], gen[6], s, g;
	struct unwind_tables_stats st;
	unsigned mark;

	if (!ASSERT_TRUE(t) || !ASSERT_TRUE(b > a && b <= 2 * a, "small %u, big %u", a, b))
		goto out;
	for (int i = 1; i <= 5; i++)
		k[i] = key_of(100 + i);
	for (int i = 1; i <= 4; i++) {
		ASSERT_OK(unwind_tables__add(t, &k[i], small.rows, &slot[i], &gen[i]));
		ASSERT_EQ(fk.files[slot[i]].pool, (i - 1) * a);
	}
	ASSERT_OK(unwind_tables__find(t, &k[1], &s, &g));
	ASSERT_OK(unwind_tables__find(t, &k[3], &s, &g));
	ASSERT_OK(unwind_tables__find(t, &k[4], &s, &g));
	ASSERT_EQ(unwind_tables__release_ns(t), 0);

	mark = fk.nev;
	ASSERT_EQ(unwind_tables__add(t, &k[5], big.rows, &slot[5], &gen[5]), -EAGAIN);
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.evictions, 2);
	ASSERT_EQ(st.files, 2);
	ASSERT_EQ(st.slots_held, 2 * a);
	ASSERT_EQ(st.deferred, 1);
	ASSERT_EQ(unwind_tables__find(t, &k[2], &s, &g), -ENOENT);
	ASSERT_EQ(unwind_tables__find(t, &k[1], &s, &g), -ENOENT);
	/* their entries say gen 0 and still name their rows */
	ASSERT_TRUE(fk.files[slot[2]].gen == 0 && fk.files[slot[2]].pool == a &&
		    fk.files[slot[2]].npages == small.npages);
	ASSERT_TRUE(fk.files[slot[1]].gen == 0 && fk.files[slot[1]].pool == 0);
	ASSERT_EQ(unwind_tables__release_ns(t), fk.now + GRACE);

	fk.now += GRACE - 1;
	ASSERT_EQ(unwind_tables__add(t, &k[5], big.rows, &slot[5], &gen[5]), -EAGAIN);
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.evictions, 2);
	for (unsigned i = mark; i < fk.nev; i++)
		ASSERT_TRUE(fk.ev[i].kind != 'S', "slots written within the grace");

	fk.now += 1;
	ASSERT_OK(unwind_tables__add(t, &k[5], big.rows, &slot[5], &gen[5]));
	ASSERT_EQ(fk.files[slot[5]].pool, 0);
	ASSERT_TRUE(slot[5] == slot[1] || slot[5] == slot[2], "slot %u", slot[5]);
	ASSERT_TRUE(gen[5] != 0 && gen[5] != gen[1] && gen[5] != gen[2]);
	ASSERT_TRUE(cleared_before_reuse(mark, slot[1], 0, b));
	ASSERT_TRUE(cleared_before_reuse(mark, slot[2], 0, b));
	ASSERT_EQ(unwind_tables__release_ns(t), 0);
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.files, 3);
	ASSERT_EQ(st.slots_used, 2 * a + b);
	ASSERT_EQ(st.slots_held, 0);

	/* what is left of [0, 2a) is too small: 3, now least recently used, goes */
	ASSERT_EQ(unwind_tables__add(t, &k[1], small.rows, &s, &g), -EAGAIN);
	ASSERT_EQ(unwind_tables__find(t, &k[3], &s, &g), -ENOENT);
	ASSERT_OK(unwind_tables__find(t, &k[4], &s, &g));
	fk.now += GRACE;
	ASSERT_OK(unwind_tables__add(t, &k[1], small.rows, &s, &g));
	ASSERT_EQ(fk.files[s].pool, b); /* the rest of [0, 2a) and 3's range, joined */
out:
	unwind_tables__free(t);
}

/* File slots run out before the pool: the LRU table gives its slot. */
static void test_file_slots_full(void)
{
	struct unwind_tables *t = fake_new(1 << 16, 2, 4);
	struct file_id k1 = key_of(1), k2 = key_of(2), k3 = key_of(3);
	uint32_t s1, g1, s2, g2, s3, g3;

	if (!ASSERT_TRUE(t))
		return;
	ASSERT_OK(unwind_tables__add(t, &k1, small.rows, &s1, &g1));
	ASSERT_OK(unwind_tables__add(t, &k2, small.rows, &s2, &g2));
	ASSERT_EQ(unwind_tables__add(t, &k3, small.rows, &s3, &g3), -EAGAIN);
	ASSERT_EQ(fk.files[s1].gen, 0);
	ASSERT_EQ(fk.files[s2].gen, g2);
	fk.now += GRACE;
	ASSERT_OK(unwind_tables__add(t, &k3, small.rows, &s3, &g3));
	ASSERT_EQ(s3, s1);
	ASSERT_TRUE(g3 != g1 && g3 != 0);
	ASSERT_EQ(fk.files[s3].gen, g3);
	unwind_tables__free(t);
}

/* A table a process entry names is evicted after every table none names,
 * however recently used: a running process keeps its stacks while
 * exited processes' tables make room; once its entry is gone (or names
 * other files), its tables go by age again. */
static void test_used_evicted_last(void)
{
	struct unwind_tables *t = fake_new(1 << 16, 2, 4);
	struct file_id k1 = key_of(1), k2 = key_of(2), k3 = key_of(3);
	uint32_t s1, g1, s2, g2, s3, g3;
	struct unwind_tables_stats st;
	struct unwind_map m;

	if (!ASSERT_TRUE(t))
		return;
	ASSERT_OK(unwind_tables__add(t, &k1, small.rows, &s1, &g1));
	ASSERT_OK(unwind_tables__add(t, &k2, small.rows, &s2, &g2));
	m = (struct unwind_map){ .start = 0x400000, .end = 0x500000, .file = s1, .gen = g1 };
	ASSERT_OK(unwind_tables__set_proc(t, 42, 0x400000, &m, 1));
	/* k1 is the least recent, but named: k2 goes */
	ASSERT_EQ(unwind_tables__add(t, &k3, small.rows, &s3, &g3), -EAGAIN);
	ASSERT_EQ(fk.files[s1].gen, g1);
	ASSERT_EQ(fk.files[s2].gen, 0);
	ASSERT_TRUE(!unwind_tables__proc_stale(t, 42));
	fk.now += GRACE;
	ASSERT_OK(unwind_tables__add(t, &k3, small.rows, &s3, &g3));
	ASSERT_EQ(s3, s2);
	/* its entry gone: k1, the least recent, goes first again */
	ASSERT_OK(unwind_tables__drop_proc(t, 42));
	ASSERT_EQ(unwind_tables__add(t, &k2, small.rows, &s2, &g2), -EAGAIN);
	ASSERT_EQ(fk.files[s1].gen, 0);
	ASSERT_EQ(fk.files[s3].gen, g3);
	/* every table named: the least recent goes all the same */
	fk.now += GRACE;
	ASSERT_OK(unwind_tables__add(t, &k2, small.rows, &s2, &g2));
	m.file = s3;
	m.gen = g3;
	ASSERT_OK(unwind_tables__set_proc(t, 42, 0x400000, &m, 1));
	m.file = s2;
	m.gen = g2;
	ASSERT_OK(unwind_tables__set_proc(t, 43, 0x400000, &m, 1));
	ASSERT_EQ(unwind_tables__add(t, &k1, small.rows, &s1, &g1), -EAGAIN);
	ASSERT_EQ(fk.files[s3].gen, 0);
	ASSERT_EQ(fk.files[s2].gen, g2);
	/* counted apart, and the entry that named it says so */
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.evictions, 3);
	ASSERT_EQ(st.evictions_in_use, 1);
	ASSERT_TRUE(unwind_tables__proc_stale(t, 42));
	ASSERT_TRUE(!unwind_tables__proc_stale(t, 43));
	ASSERT_TRUE(!unwind_tables__proc_stale(t, 44)); /* no entry */
	unwind_tables__free(t);
}

/* Larger than half the pool (it would evict every other table): refused,
 * counted, nothing written; one of exactly half is taken. */
static void test_too_big(void)
{
	struct unwind_tables *t = fake_new(2 * table_slots(&big) - 1, 4, 4);
	struct file_id k = key_of(1);
	struct unwind_tables_stats st;
	uint32_t s, g;

	if (!ASSERT_TRUE(t))
		return;
	ASSERT_EQ(unwind_tables__add(t, &k, big.rows, &s, &g), -E2BIG);
	ASSERT_EQ(unwind_tables__add(t, &k, big.rows, &s, &g), -E2BIG);
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.too_big, 2);
	ASSERT_EQ(st.files, 0);
	ASSERT_EQ(fk.nev, 0);
	unwind_tables__free(t);

	t = fake_new(2 * table_slots(&big), 4, 4);
	ASSERT_OK(unwind_tables__add(t, &k, big.rows, &s, &g));
	/* no rows at all: nothing to add */
	k = key_of(2);
	ASSERT_EQ(unwind_tables__add(t, &k, NULL, &s, &g), -ENOENT);
	unwind_tables__free(t);
}

/*
 * A failed write of the rows or of the entry leaves the file absent (no
 * entry with a generation names it) and its room free at once; an
 * eviction whose gen-0 rewrite fails keeps its rows until a rewrite
 * succeeds, and a grace after that.
 */
static void test_write_errors(void)
{
	struct unwind_tables *t = fake_new(2 * table_slots(&small), 4, 4);
	struct file_id k1 = key_of(1), k2 = key_of(2), k3 = key_of(3);
	struct unwind_tables_stats st;
	uint32_t s, g, s2, g2;

	if (!ASSERT_TRUE(t))
		return;
	fk.fail_pool = -EIO;
	ASSERT_EQ(unwind_tables__add(t, &k1, small.rows, &s, &g), -EIO);
	ASSERT_EQ(unwind_tables__find(t, &k1, &s, &g), -ENOENT);
	fk.fail_pool = 0;
	fk.fail_file = -ENOMEM;
	ASSERT_EQ(unwind_tables__add(t, &k1, small.rows, &s, &g), -ENOMEM);
	ASSERT_EQ(unwind_tables__find(t, &k1, &s, &g), -ENOENT);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(fk.files[i].gen, 0);
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.write_errors, 2);
	ASSERT_EQ(st.files, 0);
	ASSERT_EQ(st.slots_used, 0);
	fk.fail_file = 0;
	/* the room and the slot at once, no grace */
	ASSERT_OK(unwind_tables__add(t, &k1, small.rows, &s, &g));
	ASSERT_EQ(s, 0);
	ASSERT_EQ(fk.files[0].pool, 0);
	ASSERT_OK(unwind_tables__add(t, &k2, small.rows, &s2, &g2));

	/* k1 evicted, its rewrite failing: held past the grace */
	fk.fail_file = -EIO;
	ASSERT_EQ(unwind_tables__add(t, &k3, small.rows, &s, &g), -EAGAIN);
	ASSERT_EQ(fk.files[0].gen, g); /* still names its rows: they stay */
	fk.now += GRACE;
	ASSERT_EQ(unwind_tables__add(t, &k3, small.rows, &s, &g), -EAGAIN);
	fk.fail_file = 0;
	ASSERT_EQ(unwind_tables__add(t, &k3, small.rows, &s, &g), -EAGAIN); /* too early to retry */
	fk.now += GRACE;
	ASSERT_EQ(unwind_tables__add(t, &k3, small.rows, &s, &g), -EAGAIN); /* cleared now */
	ASSERT_EQ(fk.files[0].gen, 0);
	ASSERT_EQ(unwind_tables__release_ns(t), fk.now + GRACE);
	fk.now += GRACE;
	ASSERT_OK(unwind_tables__add(t, &k3, small.rows, &s, &g));
	ASSERT_EQ(fk.files[s].pool, 0);
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.write_errors, 4);
	ASSERT_EQ(st.evictions, 1);
	unwind_tables__free(t);
}

/* A table that does not hold together, or has no code, is refused. */
static void test_bad_input(void)
{
	struct unwind_tables_conf c = { .pool_slots = 0, .file_slots = 1, .max_procs = 1 };

	errno = 0;
	ASSERT_TRUE(!unwind_tables__new(&c) && errno == EINVAL);
	c.pool_slots = 1;
	c.file_slots = (1u << 20) + 1;
	ASSERT_TRUE(!unwind_tables__new(&c) && errno == EINVAL);
	c.file_slots = 1;
	c.max_procs = 0;
	ASSERT_TRUE(!unwind_tables__new(&c) && errno == EINVAL);
	unwind_tables__free(NULL);
}

/* ---- processes ---- */

static struct unwind_map map_at(uint64_t start, uint64_t end, uint32_t file)
{
	return (struct unwind_map){ .start = start,
				    .end = end,
				    .bias = start - 0x1000,
				    .file = file,
				    .gen = file + 1,
				    .pad = 0xdead };
}

/* Sorted; an overlap and an empty range dropped; past the cap the highest
 * dropped; processes bounded; an entry replaced in place; deleted. */
static void test_procs(void)
{
	struct unwind_tables *t = fake_new(1024, 4, 2);
	struct unwind_map in[200];
	const struct unwind_proc *p;
	struct unwind_tables_stats st;
	unsigned n = 0;

	if (!ASSERT_TRUE(t))
		return;
	in[n++] = map_at(0x5000, 0x6000, 3);
	in[n++] = map_at(0x1000, 0x3000, 1);
	in[n++] = map_at(0x2000, 0x2800, 2); /* inside the one before: dropped */
	in[n++] = map_at(0x9000, 0x9000, 4); /* empty */
	in[n++] = map_at(0x3000, 0x4000, 5); /* touches, does not overlap */
	ASSERT_OK(unwind_tables__set_proc(t, 42, 0x400000, in, n));
	p = fake_proc(42);
	if (ASSERT_TRUE(p)) {
		ASSERT_EQ(p->start_code, 0x400000);
		ASSERT_EQ(p->nr, 3);
		ASSERT_TRUE(p->maps[0].start == 0x1000 && p->maps[0].file == 1 &&
			    p->maps[0].gen == 2 && p->maps[0].bias == 0 && p->maps[0].pad == 0);
		ASSERT_TRUE(p->maps[1].start == 0x3000 && p->maps[1].file == 5);
		ASSERT_TRUE(p->maps[2].start == 0x5000 && p->maps[2].end == 0x6000);
		ASSERT_EQ(p->maps[3].start, 0);
	}
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.proc_maps_dropped, 2);
	ASSERT_EQ(st.procs, 1);

	/* 200, shuffled: the lowest 128 kept */
	for (n = 0; n < 200; n++) {
		unsigned k = (n * 77) % 200;

		in[n] = map_at(0x10000ull * (k + 1), 0x10000ull * (k + 1) + 0x800, k);
	}
	ASSERT_OK(unwind_tables__set_proc(t, 42, 0x400000, in, n));
	p = fake_proc(42);
	if (ASSERT_TRUE(p) && ASSERT_EQ(p->nr, UNWIND_PROC_MAPS_MAX)) {
		for (unsigned i = 0; i < UNWIND_PROC_MAPS_MAX; i++)
			if (!ASSERT_TRUE(p->maps[i].start == 0x10000ull * (i + 1) &&
						 p->maps[i].file == i,
					 "map %u: %#llx file %u", i,
					 (unsigned long long)p->maps[i].start, p->maps[i].file))
				break;
	}
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.proc_maps_dropped, 2 + 200 - UNWIND_PROC_MAPS_MAX);
	ASSERT_EQ(st.procs, 1);

	/* max_procs is 2 */
	ASSERT_OK(unwind_tables__set_proc(t, 43, 0, NULL, 0));
	ASSERT_TRUE(fake_proc(43) && fake_proc(43)->nr == 0);
	ASSERT_EQ(unwind_tables__set_proc(t, 44, 0, in, 1), -ENOSPC);
	ASSERT_TRUE(!fake_proc(44));
	ASSERT_OK(unwind_tables__set_proc(t, 43, 0, in, 1)); /* known: replaced */
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.procs, 2);
	ASSERT_EQ(st.procs_refused, 1);

	ASSERT_OK(unwind_tables__drop_proc(t, 43));
	ASSERT_TRUE(!fake_proc(43));
	ASSERT_EQ(unwind_tables__drop_proc(t, 43), -ENOENT);
	ASSERT_EQ(unwind_tables__drop_proc(t, 99), -ENOENT);
	/* a failed write: not counted, so the bound is not spent */
	fk.fail_proc = -ENOMEM;
	ASSERT_EQ(unwind_tables__set_proc(t, 44, 0, in, 1), -ENOMEM);
	fk.fail_proc = 0;
	unwind_tables__stats(t, &st);
	ASSERT_EQ(st.procs, 1);
	ASSERT_EQ(st.write_errors, 1);
	ASSERT_OK(unwind_tables__set_proc(t, 44, 0, in, 1));
	ASSERT_EQ(unwind_tables__set_proc(t, 45, 0, in, 1), -ENOSPC);
	unwind_tables__free(t);
}

/* ---- the free ranges themselves ---- */

static void test_range_set(void)
{
	struct range_set s;
	uint32_t at;

	if (!ASSERT_OK(range_set__init(&s, 3)))
		return;
	ASSERT_OK(range_set__add(&s, 10, 10));
	ASSERT_OK(range_set__add(&s, 30, 10));
	ASSERT_OK(range_set__add(&s, 50, 10));
	ASSERT_EQ(range_set__add(&s, 70, 1), -ENOSPC);
	ASSERT_EQ(range_set__add(&s, 15, 10), -EINVAL); /* overlaps */
	ASSERT_EQ(range_set__add(&s, 25, 10), -EINVAL);
	ASSERT_EQ(range_set__add(&s, 0, 0), -EINVAL);
	ASSERT_EQ(range_set__add(&s, UINT32_MAX, 2), -EINVAL);
	ASSERT_OK(range_set__add(&s, 20, 10)); /* joins 10 and 30 */
	ASSERT_TRUE(s.n == 2 && s.v[0].start == 10 && s.v[0].len == 30);
	ASSERT_TRUE(range_set__first_fit(&s, 30, &at) && at == 10);
	ASSERT_TRUE(range_set__first_fit(&s, 5, &at) && at == 10);
	ASSERT_TRUE(!range_set__first_fit(&s, 31, &at));
	ASSERT_OK(range_set__take(&s, 20, 5)); /* splits */
	ASSERT_TRUE(s.n == 3 && s.v[0].len == 10 && s.v[1].start == 25 && s.v[1].len == 15);
	ASSERT_EQ(range_set__take(&s, 22, 1), -ENOENT);
	ASSERT_EQ(range_set__take(&s, 35, 10), -ENOENT);
	ASSERT_EQ(range_set__take(&s, 5, 1), -ENOENT);
	ASSERT_OK(range_set__take(&s, 50, 10));
	ASSERT_OK(range_set__take(&s, 10, 5));
	ASSERT_OK(range_set__take(&s, 35, 5));
	ASSERT_TRUE(s.n == 2 && s.v[0].start == 15 && s.v[0].len == 5 && s.v[1].start == 25 &&
		    s.v[1].len == 10);
	ASSERT_OK(range_set__add(&s, 20, 5));
	ASSERT_OK(range_set__add(&s, 0, 15));
	ASSERT_TRUE(s.n == 1 && s.v[0].start == 0 && s.v[0].len == 35);
	range_set__fini(&s);
}

/* ---- with real BPF maps ---- */

static int pool_fd = -1;

static bool bpf_slot(uint32_t idx, union unwind_slot *s)
{
	return !bpf_map_lookup_elem(pool_fd, &idx, s);
}

static struct table libc_t, py_t, llvm_t;
static char llvm_path[4096];

/* The tables the real maps get: libLLVM's when there is one (the newest). */
static bool load_real_tables(void)
{
	glob_t gl = { 0 };

	if (!table_load(&libc_t, LIBC) || !table_load(&py_t, PYTHON))
		return false;
	if (!glob("/usr/lib/x86_64-linux-gnu/libLLVM-*.so*", 0, NULL, &gl) && gl.gl_pathc) {
		snprintf(llvm_path, sizeof(llvm_path), "%s", gl.gl_pathv[gl.gl_pathc - 1]);
		if (!table_load(&llvm_t, llvm_path))
			llvm_path[0] = 0;
	}
	globfree(&gl);
	return true;
}

/* libc and python3 written by the default writes into real maps (the
 * pool made with map_flags) and read back: the file entries, every page,
 * a sample of rows and of offsets; a process entry; the time to write
 * libLLVM's table, and to write it again over the same slots (the pool
 * holds the three, and a second copy of libLLVM's only by evicting them
 * all). */
static void check_bpf_maps(const char *how, uint32_t map_flags)
{
	const uint32_t map_slots = 2u << 20, nfiles = 16;
	const uint32_t three = table_slots(&libc_t) + table_slots(&py_t) + table_slots(&llvm_t);
	/* room for the three, and for libLLVM's (no table may be more than half) */
	const uint32_t pool_slots =
		three + 1024 > 2 * table_slots(&llvm_t) ? three + 1024 : 2 * table_slots(&llvm_t);
	int files_fd = -1, procs_fd = -1;
	struct unwind_tables *t = NULL;
	uint32_t s1, g1, s2, g2, s3, g3, holes, tgid = 4242;
	struct unwind_file f;
	struct unwind_proc proc;
	struct unwind_map m[2];
	double t0;

	LIBBPF_OPTS(bpf_map_create_opts, pool_opts, .map_flags = map_flags);
	LIBBPF_OPTS(bpf_map_create_opts, no_prealloc, .map_flags = BPF_F_NO_PREALLOC);
	pool_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "unwind_pool", 4, sizeof(union unwind_slot),
				 map_slots, &pool_opts);
	files_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "unwind_files", 4, sizeof(struct unwind_file),
				  nfiles, NULL);
	procs_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "unwind_procs", 4, sizeof(struct unwind_proc),
				  16, &no_prealloc);
	if (!ASSERT_TRUE(pool_fd >= 0 && files_fd >= 0 && procs_fd >= 0, "bpf_map_create: %s",
			 strerror(errno)))
		goto out;
	/* a pool map smaller than said is refused */
	errno = 0;
	ASSERT_TRUE(!unwind_tables__new(
			    &(struct unwind_tables_conf){ .fds = { pool_fd, files_fd, procs_fd },
							  .pool_slots = map_slots + 1,
							  .file_slots = nfiles,
							  .max_procs = 16 }) &&
		    errno == EINVAL);
	fk.now = 1000 * GRACE;
	t = unwind_tables__new(&(struct unwind_tables_conf){ .fds = { pool_fd, files_fd, procs_fd },
							     .pool_slots = pool_slots,
							     .file_slots = nfiles,
							     .max_procs = 16,
							     .clock = fake_clock });
	if (!ASSERT_TRUE(t))
		goto out;

	t0 = now_ms();
	ASSERT_OK(unwind_tables__add(t, &(struct file_id){ .ino = 1 }, libc_t.rows, &s1, &g1));
	printf("# %s: libc: %u slots (%u pages, %u rows) written in %.2f ms\n", how,
	       table_slots(&libc_t), libc_t.npages, libc_t.nrows, now_ms() - t0);
	ASSERT_OK(unwind_tables__add(t, &(struct file_id){ .ino = 2 }, py_t.rows, &s2, &g2));
	if (ASSERT_OK(bpf_map_lookup_elem(files_fd, &s1, &f))) {
		ASSERT_TRUE(f.pool == 0 && f.gen == g1);
		ASSERT_TRUE(pool_holds(bpf_slot, &f, &libc_t, 397, &holes));
	}
	if (ASSERT_OK(bpf_map_lookup_elem(files_fd, &s2, &f))) {
		ASSERT_TRUE(f.pool == table_slots(&libc_t) && f.gen == g2);
		ASSERT_TRUE(pool_holds(bpf_slot, &f, &py_t, 397, &holes));
	}

	m[0] = (struct unwind_map){ .start = 0x7f0000026000,
				    .end = 0x7f000017c000,
				    .bias = 0x7f0000000000,
				    .file = s1,
				    .gen = g1 };
	m[1] = (struct unwind_map){ .start = 0x41f000, .end = 0x6d2000, .file = s2, .gen = g2 };
	ASSERT_OK(unwind_tables__set_proc(t, tgid, 0x41f000, m, 2));
	if (ASSERT_OK(bpf_map_lookup_elem(procs_fd, &tgid, &proc)))
		ASSERT_TRUE(proc.nr == 2 && proc.start_code == 0x41f000 &&
			    proc.maps[0].start == 0x41f000 && proc.maps[1].file == s1 &&
			    proc.maps[1].gen == g1);
	ASSERT_OK(unwind_tables__drop_proc(t, tgid));
	ASSERT_TRUE(bpf_map_lookup_elem(procs_fd, &tgid, &proc) && errno == ENOENT);

	if (!llvm_path[0])
		goto out;
	t0 = now_ms();
	ASSERT_OK(unwind_tables__add(t, &(struct file_id){ .ino = 3 }, llvm_t.rows, &s3, &g3));
	printf("# %s: %s: %u slots (%u pages, %u rows, %.1f MiB) written in %.1f ms\n", how,
	       llvm_path, table_slots(&llvm_t), llvm_t.npages, llvm_t.nrows,
	       table_slots(&llvm_t) * 8.0 / (1 << 20), now_ms() - t0);
	if (ASSERT_OK(bpf_map_lookup_elem(files_fd, &s3, &f)))
		ASSERT_TRUE(pool_holds(bpf_slot, &f, &llvm_t, 4099, &holes));

	ASSERT_EQ(unwind_tables__add(t, &(struct file_id){ .ino = 4 }, llvm_t.rows, &s3, &g3),
		  -EAGAIN);
	if (ASSERT_OK(bpf_map_lookup_elem(files_fd, &s1, &f)))
		ASSERT_EQ(f.gen, 0);
	fk.now += GRACE;
	t0 = now_ms();
	ASSERT_OK(unwind_tables__add(t, &(struct file_id){ .ino = 4 }, llvm_t.rows, &s3, &g3));
	printf("# %s: and again over the same slots in %.1f ms\n", how, now_ms() - t0);
	if (ASSERT_OK(bpf_map_lookup_elem(files_fd, &s3, &f))) {
		ASSERT_EQ(f.pool, 0);
		ASSERT_TRUE(pool_holds(bpf_slot, &f, &llvm_t, 4099, &holes));
	}
out:
	unwind_tables__free(t);
	if (pool_fd >= 0)
		close(pool_fd);
	if (files_fd >= 0)
		close(files_fd);
	if (procs_fd >= 0)
		close(procs_fd);
	pool_fd = -1;
}

static void test_bpf_maps(void)
{
	if (!ASSERT_TRUE(load_real_tables()))
		return;
	check_bpf_maps("batch", 0);
	check_bpf_maps("mmap", BPF_F_MMAPABLE);
}

/* ---- the bias, on this process's own libc ---- */

/* libc's executable mapping here. */
static bool own_libc_mapping(uint64_t *start, uint64_t *end, uint64_t *pgoff, char *path,
			     size_t pathlen)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096 + 128], p[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8];
		size_t n;

		p[0] = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &s, &e, perms, &off, p) < 5 ||
		    perms[2] != 'x')
			continue;
		n = strlen(p);
		if (n < 10 || strcmp(p + n - 10, "/libc.so.6"))
			continue;
		*start = s;
		*end = e;
		*pgoff = off;
		snprintf(path, pathlen, "%s", p);
		found = true;
	}
	fclose(f);
	return found;
}

/* For a few libc functions (libc's own, not ASan's), at each of their
 * first 256 bytes: the row at pc - bias is the rule cfi_table__lookup
 * gives at pc's file offset. */
static void test_bias_libc(void)
{
	static const char *const fns[] = { "qsort",  "malloc", "free",  "printf",
					   "strlen", "memcpy", "fopen", "getpid" };
	uint64_t start, end, pgoff, bias;
	char path[4096];
	struct table libc = { 0 };
	unsigned checked = 0, bad = 0;
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (!ASSERT_TRUE(h) ||
	    !ASSERT_TRUE(own_libc_mapping(&start, &end, &pgoff, path, sizeof(path))) ||
	    !ASSERT_TRUE(table_load(&libc, path)))
		goto out;
	if (!ASSERT_OK(unwind_tables__bias(libc.cfi, start, pgoff, &bias)))
		goto out;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		void *addr = dlsym(h, fns[i]);
		const ElfW(Sym) *sym = NULL;
		Dl_info info;
		uint64_t size;

		if (!ASSERT_TRUE(addr && (uintptr_t)addr >= start && (uintptr_t)addr < end,
				 "%s at %p", fns[i], addr))
			continue;
		/* an IFUNC's choice (strlen, memcpy) has no dynamic symbol */
		size = 64;
		if (dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size)
			size = sym->st_size;
		if (size > 256)
			size = 256;
		for (uint64_t d = 0; d < size && bad < 5; d++) {
			uint64_t pc = (uint64_t)(uintptr_t)addr + d;
			struct unwind_row u;
			struct cfi_row c;
			int cerr = cfi_table__lookup(libc.cfi, pc - start + pgoff, &c);
			int uerr = unwind_rows__lookup(libc.rows, pc - bias, &u);
			uint8_t kind = uerr ? UNWIND_CFA_GAP : UNWIND_ROW_CFA(u.flags);

			checked++;
			if (cerr) {
				bad += !ASSERT_TRUE(kind == UNWIND_CFA_GAP,
						    "%s+%llu: a gap, got kind %u", fns[i],
						    (unsigned long long)d, kind);
				continue;
			}
			if (c.cfa_reg == CFI_REG_NONE) {
				bad += !ASSERT_TRUE(kind == UNWIND_CFA_STOP, "%s+%llu: kind %u",
						    fns[i], (unsigned long long)d, kind);
				continue;
			}
			if (c.cfa_off < INT16_MIN || c.cfa_off > INT16_MAX) {
				bad += !ASSERT_TRUE(kind == UNWIND_CFA_STOP);
				continue;
			}
			if (kind == UNWIND_CFA_PLT) /* the same rule, by pc */
				kind = UNWIND_CFA_SP;
			bad += !ASSERT_TRUE(
				kind == (c.cfa_reg == CFI_REG_SP ? UNWIND_CFA_SP : UNWIND_CFA_BP) &&
					unwind_row_cfa_off(&u, pc) == c.cfa_off,
				"%s+%llu: kind %u off %d, cfi reg %u off %d", fns[i],
				(unsigned long long)d, kind, unwind_row_cfa_off(&u, pc), c.cfa_reg,
				c.cfa_off);
			if (UNWIND_ROW_BP(u.flags) == UNWIND_BP_AT_CFA)
				bad += !ASSERT_TRUE(
					c.bp_rule == CFI_BP_AT_CFA && 8 * u.bp_off8 == c.bp_off,
					"%s+%llu: rbp at %d, cfi rule %u at %d", fns[i],
					(unsigned long long)d, 8 * u.bp_off8, c.bp_rule, c.bp_off);
			else if (UNWIND_ROW_BP(u.flags) == UNWIND_BP_SAME)
				bad += !ASSERT_TRUE(c.bp_rule == CFI_BP_SAME,
						    "%s+%llu: rbp rule %u", fns[i],
						    (unsigned long long)d, c.bp_rule);
		}
	}
	printf("# libc at %#llx (pgoff %#llx): bias %#llx, %u pcs checked\n",
	       (unsigned long long)start, (unsigned long long)pgoff, (unsigned long long)bias,
	       checked);
	ASSERT_TRUE(checked > 100, "%u", checked);
out:
	if (h)
		dlclose(h);
	table_free(&libc);
}

int main(void)
{
	log_max_level = LOG_LVL_ERR;
	snprintf(tmp, sizeof(tmp), "/tmp/test_unwind_tables.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	if (!synth(&small, "small", 3, 0) || !synth(&big, "big", 5, 0) ||
	    !synth(&holed, "holed", 3, 4)) {
		fprintf(stderr, "cannot make the synthetic libraries\n");
		return 1;
	}
	printf("# synthetic tables: %u, %u and %u slots\n", table_slots(&small), table_slots(&big),
	       table_slots(&holed));
	RUN_TEST(test_range_set);
	RUN_TEST(test_layout);
	RUN_TEST(test_layout_libc);
	RUN_TEST(test_evict_coalesce_grace);
	RUN_TEST(test_file_slots_full);
	RUN_TEST(test_used_evicted_last);
	RUN_TEST(test_too_big);
	RUN_TEST(test_write_errors);
	RUN_TEST(test_bad_input);
	RUN_TEST(test_procs);
	RUN_TEST(test_bpf_maps);
	RUN_TEST(test_bias_libc);
	table_free(&small);
	table_free(&big);
	table_free(&holed);
	table_free(&libc_t);
	table_free(&py_t);
	table_free(&llvm_t);
	free(fk.pool);
	sh("rm -rf '%s'", tmp);
	return TEST_MAIN_END();
}
