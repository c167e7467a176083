// SPDX-License-Identifier: MIT
/*
 * A CFI table to BPF unwind rows and their page index (unwind_rows.h).
 *
 * Two passes over the table's rows: the first converts each rule into an
 * 8-byte row (weakening what does not fit) and merges neighbours that say
 * the same; the second walks the pages in order, copying each page's rows
 * after the row that covers its start, and cutting a page that has more
 * than UNWIND_PAGE_ROWS_MAX. Pages wholly inside a gap get no entry.
 *
 * The table is ours (cfi.c caps it at 4 Mi rows, pcs below 4 GiB), but
 * every size is still checked here: a row array never grows past what was
 * allocated for it, and pages past 2^20 do not exist.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "unwind_rows.h"

#define PAGE_SIZE_ (1ull << UNWIND_PAGE_SHIFT)
#define PAGES_MAX ((1ull << 32) >> UNWIND_PAGE_SHIFT) /* offsets are u32 */

_Static_assert(sizeof(struct unwind_row) == 8, "a row is 8 bytes");
_Static_assert(sizeof(struct unwind_page) == 8, "a page entry is 8 bytes");
_Static_assert(UNWIND_PAGE_ROWS_MAX >= 4 && UNWIND_PAGE_ROWS_MAX <= 65535,
	       "a page's count is a u16, and a cut keeps rows and a STOP");
_Static_assert(UNWIND_PAGE_ROWS_MAX < (1u << UNWIND_PAGE_SEARCH_STEPS),
	       "the bounded search covers a full page");

struct unwind_rows {
	uint64_t base;
	struct unwind_row *rows;
	uint32_t nrows;
	uint32_t *page_nrs;
	struct unwind_page *pages;
	uint32_t npages;
	struct unwind_rows_stats stats;
};

static struct unwind_row stop_row(uint32_t pc)
{
	return (struct unwind_row){ .pc = pc,
				    .flags = UNWIND_ROW_FLAGS(UNWIND_CFA_STOP, UNWIND_BP_UNDEF) };
}

static struct unwind_row gap_row(uint32_t pc)
{
	return (struct unwind_row){ .pc = pc,
				    .flags = UNWIND_ROW_FLAGS(UNWIND_CFA_GAP, UNWIND_BP_UNDEF) };
}

/* The row for rule c from pc on; what does not fit is counted in st. */
static struct unwind_row to_row(uint32_t pc, const struct cfi_table_row *c,
				struct unwind_rows_stats *st)
{
	struct unwind_row r = { .pc = pc };
	uint8_t cfa, bp = UNWIND_BP_UNDEF;

	switch (c->kind) {
	case CFI_REG_SP:
	case CFI_REG_BP:
		cfa = c->kind == CFI_REG_SP ? UNWIND_CFA_SP : UNWIND_CFA_BP;
		break;
	case CFI_ROW_PLT:
		/* cfi.c keeps a PLT offset within 4096 and its threshold within 15 */
		if (c->cfa_off < INT16_MIN || c->cfa_off > INT16_MAX || c->bp_off < 0 ||
		    c->bp_off > 15) {
			st->cfa_unfit++;
			return stop_row(pc);
		}
		r.cfa_off = (int16_t)c->cfa_off;
		r.bp_off8 = (int8_t)c->bp_off;
		r.flags = UNWIND_ROW_FLAGS(UNWIND_CFA_PLT, UNWIND_BP_SAME);
		return r;
	case CFI_ROW_GAP:
		return gap_row(pc);
	case CFI_REG_SIGNAL:
		r.flags = UNWIND_ROW_FLAGS(UNWIND_CFA_SIGNAL, UNWIND_BP_UNDEF);
		return r;
	default: /* CFI_REG_NONE: an expression, or the return address elsewhere */
		return stop_row(pc);
	}
	if (c->cfa_off < INT16_MIN || c->cfa_off > INT16_MAX) {
		st->cfa_unfit++;
		return stop_row(pc);
	}
	r.cfa_off = (int16_t)c->cfa_off;
	if (c->bp_rule == CFI_BP_SAME) {
		bp = UNWIND_BP_SAME;
	} else if (c->bp_rule == CFI_BP_AT_CFA) {
		if (c->bp_off % 8 == 0 && c->bp_off / 8 >= INT8_MIN && c->bp_off / 8 <= INT8_MAX) {
			bp = UNWIND_BP_AT_CFA;
			r.bp_off8 = (int8_t)(c->bp_off / 8);
		} else {
			st->bp_unfit++;
		}
	}
	r.flags = UNWIND_ROW_FLAGS(cfa, bp);
	return r;
}

static bool same_rule(const struct unwind_row *a, const struct unwind_row *b)
{
	return a->cfa_off == b->cfa_off && a->bp_off8 == b->bp_off8 && a->flags == b->flags;
}

static bool is_gap(const struct unwind_row *r)
{
	return UNWIND_ROW_CFA(r->flags) == UNWIND_CFA_GAP;
}

/* A row array that never passes cap: a row is appended unless the last
 * one says the same (callers append in pc order). */
struct rowbuf {
	struct unwind_row *v;
	uint32_t n, cap;
};

static int put_row(struct rowbuf *b, struct unwind_row r)
{
	if (b->n && same_rule(&b->v[b->n - 1], &r))
		return 0;
	if (b->n == b->cap)
		return -E2BIG;
	b->v[b->n++] = r;
	return 0;
}

/* Pass 1: the table's rows as unwind rows, merged, from pc 0 (a leading
 * gap when the table starts later). */
static int convert(const struct cfi_table *t, struct rowbuf *b, struct unwind_rows_stats *st)
{
	uint64_t base = cfi_table__base(t), va;
	size_t n = cfi_table__nr_rows(t);
	struct cfi_table_row c;
	int err;

	if (!n)
		return -ENOENT;
	if (n > UINT32_MAX - 2)
		return -E2BIG;
	b->cap = (uint32_t)n + 1;
	b->v = malloc(b->cap * sizeof(*b->v));
	if (!b->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (cfi_table__row(t, i, &va, &c) || va < base || va - base > UINT32_MAX)
			return -EINVAL;
		if (!i && va != base && (err = put_row(b, gap_row(0))))
			return err;
		if (b->n && va - base <= b->v[b->n - 1].pc)
			return -EINVAL; /* not sorted: not a table of ours */
		err = put_row(b, to_row((uint32_t)(va - base), &c, st));
		if (err)
			return err;
	}
	return 0;
}

/* The pages being written: entries in page order. */
struct pagebuf {
	uint32_t *nrs;
	struct unwind_page *v;
	uint32_t n, cap;
};

static int put_page(struct pagebuf *p, uint32_t nr, uint32_t first, uint32_t count, uint16_t flags)
{
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 256;
		uint32_t *nn;
		struct unwind_page *nv;

		if (cap > PAGES_MAX)
			cap = PAGES_MAX;
		if (p->n == cap)
			return -E2BIG;
		nn = realloc(p->nrs, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		p->nrs = nn;
		nv = realloc(p->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = cap;
	}
	p->nrs[p->n] = nr;
	p->v[p->n++] =
		(struct unwind_page){ .first = first, .count = (uint16_t)count, .flags = flags };
	return 0;
}

/*
 * Pass 2: in (merged, the first at pc 0) to out and the pages. For page P
 * the row that covers its start is out's last row when P begins (every row
 * below the page's start has been copied); then come the rows whose pc is
 * in the page, the row at its start replacing the covering one. A page that
 * would hold more than the cap keeps UNWIND_PAGE_ROWS_MAX - 1 and a STOP
 * row at the first pc it drops; the rule in effect at the next page's start
 * (the last one dropped) comes back there.
 */
static int paginate(const struct rowbuf *in, struct rowbuf *out, struct pagebuf *pg,
		    struct unwind_rows_stats *st)
{
	struct unwind_row resume;
	bool pending = false;
	uint32_t i = 0;
	uint64_t page = 0;
	int err;

	while (page < PAGES_MAX) {
		uint64_t start = page << UNWIND_PAGE_SHIFT, end = start + PAGE_SIZE_;
		uint32_t first, j, room;
		uint16_t flags = 0;
		bool code = false;

		if (pending) {
			pending = false;
			resume.pc = (uint32_t)start;
			if ((i == in->n || in->v[i].pc > start) && (err = put_row(out, resume)))
				return err;
		}
		if (i < in->n && in->v[i].pc == start && (err = put_row(out, in->v[i++])))
			return err;
		if (!out->n || out->v[out->n - 1].pc > start)
			return -EINVAL; /* nothing covers the page's start */
		first = out->n - 1;
		for (j = i; j < in->n && in->v[j].pc < end; j++)
			;
		/* the covering row and j - i more */
		room = UNWIND_PAGE_ROWS_MAX - 1;
		if (j - i > room) {
			for (; room > 1; room--)
				if ((err = put_row(out, in->v[i++])))
					return err;
			if ((err = put_row(out, stop_row(in->v[i].pc))))
				return err;
			st->pages_cut++;
			st->rows_cut += j - i;
			resume = in->v[j - 1];
			pending = end <= UINT32_MAX;
			flags |= UNWIND_PAGE_F_CUT;
			i = j;
		}
		for (; i < j; i++)
			if ((err = put_row(out, in->v[i])))
				return err;
		for (uint32_t k = first; k < out->n && !code; k++)
			code = !is_gap(&out->v[k]);
		if (code) {
			uint32_t count = out->n - first;

			if (count > UNWIND_PAGE_ROWS_MAX)
				return -EINVAL; /* never: the cut above */
			if ((err = put_page(pg, (uint32_t)page, first, count, flags)))
				return err;
			if (count > st->max_page_rows)
				st->max_page_rows = count;
		}
		if (i == in->n && !pending)
			break;
		/* the pages before the next row's are all of the last row: none
		 * of them is needed when it is a gap */
		if (!pending && is_gap(&out->v[out->n - 1]))
			page = in->v[i].pc >> UNWIND_PAGE_SHIFT;
		else
			page++;
	}
	return 0;
}

/* Takes *p shrunk to n bytes: realloc, which moves no bytes when a large
 * array shrinks (a copy of libLLVM's 8 MiB of rows cost more than the
 * conversion), and *p as it is when it fails. */
static void *shrink(void *p, size_t n)
{
	void **pp = p, *old = *pp, *q = realloc(old, n ? n : 1);

	*pp = NULL;
	return q ? q : old;
}

struct unwind_rows *unwind_rows__new(const struct cfi_table *t)
{
	struct rowbuf in = { 0 }, out = { 0 };
	struct pagebuf pg = { 0 };
	struct unwind_rows *r = calloc(1, sizeof(*r));
	int err = -ENOMEM;

	if (!r)
		goto out;
	err = convert(t, &in, &r->stats);
	if (err)
		goto out;
	/* a cut page drops at least two rows for its STOP and the row at the
	 * next page's start: never more rows than went in */
	out.cap = in.n + 1;
	out.v = malloc(out.cap * sizeof(*out.v));
	err = -ENOMEM;
	if (!out.v)
		goto out;
	err = paginate(&in, &out, &pg, &r->stats);
	if (err)
		goto out;
	r->base = cfi_table__base(t);
	r->nrows = out.n;
	r->rows = shrink(&out.v, (size_t)out.n * sizeof(*r->rows));
	r->npages = pg.n;
	r->page_nrs = shrink(&pg.nrs, (size_t)pg.n * sizeof(*r->page_nrs));
	r->pages = shrink(&pg.v, (size_t)pg.n * sizeof(*r->pages));
	r->stats.rows = r->nrows;
	r->stats.pages = r->npages;
	r->stats.bytes =
		(size_t)r->nrows * sizeof(*r->rows) + (size_t)r->npages * sizeof(*r->pages);
out:
	free(in.v);
	free(out.v);
	free(pg.nrs);
	free(pg.v);
	if (err) {
		unwind_rows__free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

void unwind_rows__free(struct unwind_rows *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r->page_nrs);
	free(r->pages);
	free(r);
}

uint64_t unwind_rows__base(const struct unwind_rows *r)
{
	return r ? r->base : 0;
}

const struct unwind_row *unwind_rows__rows(const struct unwind_rows *r, uint32_t *n)
{
	*n = r ? r->nrows : 0;
	return r ? r->rows : NULL;
}

const struct unwind_page *unwind_rows__pages(const struct unwind_rows *r, const uint32_t **page_nrs,
					     uint32_t *n)
{
	*n = r ? r->npages : 0;
	*page_nrs = r ? r->page_nrs : NULL;
	return r ? r->pages : NULL;
}

void unwind_rows__stats(const struct unwind_rows *r, struct unwind_rows_stats *s)
{
	if (r)
		*s = r->stats;
	else
		memset(s, 0, sizeof(*s));
}

size_t unwind_rows__mem_size(const struct unwind_rows *r)
{
	if (!r)
		return 0;
	return sizeof(*r) + (size_t)r->nrows * sizeof(*r->rows) +
	       (size_t)r->npages * (sizeof(*r->page_nrs) + sizeof(*r->pages));
}

int unwind_rows__lookup(const struct unwind_rows *r, uint64_t offset, struct unwind_row *row)
{
	uint32_t page, lo = 0, hi, at;
	const struct unwind_page *p;

	if (!r || offset > UINT32_MAX)
		return -ENOENT;
	/* the page: a hash map lookup in BPF, a binary search here */
	page = (uint32_t)(offset >> UNWIND_PAGE_SHIFT);
	hi = r->npages;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->page_nrs[mid] < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->npages || r->page_nrs[lo] != page)
		return -ENOENT;
	p = &r->pages[lo];
	if (p->first >= r->nrows || p->count > r->nrows - p->first)
		return -ENOENT;
	/* the last of its rows with pc <= offset, in a bounded loop */
	lo = 0;
	hi = p->count;
	for (unsigned step = 0; step < UNWIND_PAGE_SEARCH_STEPS && lo < hi; step++) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->rows[p->first + mid].pc <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT; /* never: a page's first row covers its start */
	at = p->first + lo - 1;
	*row = r->rows[at];
	return 0;
}
