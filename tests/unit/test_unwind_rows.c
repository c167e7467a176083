// SPDX-License-Identifier: MIT
/*
 * unwind_rows: CFI tables in the BPF row format (bpf/unwind_row.h), looked
 * up as the BPF walker will (page, then bounded binary search):
 *  - for libc and python3, at every row's start, the byte before it, its
 *    middle and its last byte, and at every page's start and last byte,
 *    the rule is the one cfi_table__lookup gives, or a weaker one the
 *    counters explain (a CFA offset outside s16: STOP);
 *  - every row `readelf --debug-dump=frames-interp` prints for libc is the
 *    rule we give at its pc, or a disagreement of a kind we expect
 *    (expressions: STOP or PLT), counted; every FDE's end that starts no
 *    other FDE is a gap;
 *  - crafted .eh_frame: offsets at and past what a row holds, pages at and
 *    over the cap, gaps between FDEs and over whole pages, a PLT, offsets
 *    before the first row and after the last.
 * The layout's invariants are checked on every table.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfi.h"
#include "log.h"
#include "test.h"
#include "unwind_rows.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define PYTHON "/usr/bin/python3"
#define PAGE (1u << UNWIND_PAGE_SHIFT)

static char tmp[64];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- a file's segments: vaddr to file offset, for cfi_table__lookup ---- */

struct segs {
	GElf_Phdr ph[16];
	unsigned n;
};

static bool read_segs(const char *path, struct segs *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t nph;
	Elf *e;

	memset(s, 0, sizeof(*s));
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && !elf_getphdrnum(e, &nph))
		for (size_t i = 0; i < nph && s->n < 16; i++)
			if (gelf_getphdr(e, (int)i, &s->ph[s->n]) && s->ph[s->n].p_type == PT_LOAD)
				s->n++;
	elf_end(e);
	close(fd);
	return s->n > 0;
}

/* Executable segments first, as cfi.c maps offsets back. */
static bool va_to_off(const struct segs *s, uint64_t va, uint64_t *off)
{
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < s->n; i++) {
			const GElf_Phdr *ph = &s->ph[i];

			if ((pass || (ph->p_flags & PF_X)) && va - ph->p_vaddr < ph->p_filesz) {
				*off = va - ph->p_vaddr + ph->p_offset;
				return true;
			}
		}
	return false;
}

static struct cfi_table *load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct cfi_table *t;

	if (fd < 0)
		return NULL;
	t = cfi_table__load(fd);
	close(fd);
	return t;
}

/* ---- the layout ---- */

/* Rows sorted from pc 0, no identical neighbours, reserved bits 0; each
 * page sorted, within the array, its first row covering its start, its
 * rows exactly those of the page; a page left out holds only a gap. */
static bool layout_ok(const struct unwind_rows *ur)
{
	uint32_t nrows, npages, nr;
	const struct unwind_row *rows = unwind_rows__rows(ur, &nrows);
	const uint32_t *nrs;
	const struct unwind_page *pages = unwind_rows__pages(ur, &nrs, &npages);
	struct unwind_rows_stats st;
	uint32_t max = 0, p = 0;

	unwind_rows__stats(ur, &st);
	if (!ASSERT_TRUE(nrows && rows[0].pc == 0, "%u rows, the first at %u", nrows,
			 nrows ? rows[0].pc : 0))
		return false;
	for (uint32_t i = 0; i < nrows; i++) {
		const struct unwind_row *r = &rows[i];
		unsigned cfa = UNWIND_ROW_CFA(r->flags), bp = UNWIND_ROW_BP(r->flags);

		if (!ASSERT_TRUE(!(r->flags & ~(UNWIND_CFA_MASK | UNWIND_BP_MASK)) &&
					 cfa <= UNWIND_CFA_SIGNAL && bp <= UNWIND_BP_AT_CFA,
				 "row %u: flags %#x", i, r->flags) ||
		    !ASSERT_TRUE(
			    !i || (r->pc > rows[i - 1].pc && (r->flags != rows[i - 1].flags ||
							      r->cfa_off != rows[i - 1].cfa_off ||
							      r->bp_off8 != rows[i - 1].bp_off8)),
			    "row %u at %#x after %#x: sorted, merged", i, r->pc,
			    i ? rows[i - 1].pc : 0) ||
		    !ASSERT_TRUE((cfa != UNWIND_CFA_STOP && cfa != UNWIND_CFA_GAP &&
				  cfa != UNWIND_CFA_SIGNAL) ||
					 (!r->cfa_off && !r->bp_off8 && bp == UNWIND_BP_UNDEF),
				 "row %u: a STOP, GAP or SIGNAL row says nothing more", i))
			return false;
	}
	for (uint32_t i = 0; i < npages; i++) {
		const struct unwind_page *pg = &pages[i];
		uint64_t start = (uint64_t)nrs[i] << UNWIND_PAGE_SHIFT, end = start + PAGE;
		uint32_t last = pg->first + pg->count - 1;
		bool code = false;

		if (!ASSERT_TRUE(!i || nrs[i] > nrs[i - 1], "pages sorted") ||
		    !ASSERT_TRUE(pg->count >= 1 && pg->count <= UNWIND_PAGE_ROWS_MAX &&
					 pg->first < nrows && pg->count <= nrows - pg->first,
				 "page %u: rows [%u, +%u) of %u", nrs[i], pg->first, pg->count,
				 nrows) ||
		    !ASSERT_TRUE(rows[pg->first].pc <= start &&
					 (pg->first + 1 == nrows || rows[pg->first + 1].pc > start),
				 "page %u: its first row covers its start", nrs[i]) ||
		    !ASSERT_TRUE(rows[last].pc < end &&
					 (last + 1 == nrows || rows[last + 1].pc >= end),
				 "page %u: its last row is the page's last", nrs[i]))
			return false;
		for (uint32_t k = pg->first; k <= last; k++)
			code |= UNWIND_ROW_CFA(rows[k].flags) != UNWIND_CFA_GAP;
		if (!ASSERT_TRUE(code, "page %u has an entry but only gaps", nrs[i]))
			return false;
		if (pg->count > max)
			max = pg->count;
	}
	/* a page without an entry: its start's row and the page's rows are gaps */
	for (uint32_t i = 0; i < nrows; i++) {
		uint32_t first = rows[i].pc >> UNWIND_PAGE_SHIFT;
		uint32_t end = i + 1 < nrows ? (rows[i + 1].pc - 1) >> UNWIND_PAGE_SHIFT : first;

		if (UNWIND_ROW_CFA(rows[i].flags) == UNWIND_CFA_GAP)
			continue;
		for (nr = first; nr <= end; nr++) {
			while (p < npages && nrs[p] < nr)
				p++;
			if (!ASSERT_TRUE(p < npages && nrs[p] == nr,
					 "row %u (%#x): page %u has no entry", i, rows[i].pc, nr))
				return false;
		}
	}
	return ASSERT_EQ(st.rows, nrows) && ASSERT_EQ(st.pages, npages) &&
	       ASSERT_EQ(st.max_page_rows, max) &&
	       ASSERT_EQ(st.bytes, (size_t)nrows * 8 + (size_t)npages * 8);
}

/* ---- agreeing with cfi_table__lookup ---- */

enum verdict { SAME, CFA_UNFIT, BP_UNFIT, CUT, DIFFERENT };

static int nr_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether offset's row is the STOP of a cut page. */
static bool in_cut(const struct unwind_rows *ur, uint64_t offset, const struct unwind_row *row)
{
	uint32_t n, nr = (uint32_t)(offset >> UNWIND_PAGE_SHIFT);
	const uint32_t *nrs, *at;
	const struct unwind_page *pages = unwind_rows__pages(ur, &nrs, &n);

	if (UNWIND_ROW_CFA(row->flags) != UNWIND_CFA_STOP || offset > UINT32_MAX)
		return false;
	at = bsearch(&nr, nrs, n, sizeof(*nrs), nr_cmp);
	return at && (pages[at - nrs].flags & UNWIND_PAGE_F_CUT);
}

/* Ours and cfi's rule at vaddr va (file offset off). */
static enum verdict compare(const struct cfi_table *t, const struct unwind_rows *ur, uint64_t va,
			    uint64_t off, char *why, size_t len)
{
	uint64_t base = unwind_rows__base(ur);
	struct unwind_row u = { 0 };
	struct cfi_row c = { 0 };
	int ce = cfi_table__lookup(t, off, &c);
	int ue = va >= base ? unwind_rows__lookup(ur, va - base, &u) : -ENOENT;
	unsigned cfa = UNWIND_ROW_CFA(u.flags), bp = UNWIND_ROW_BP(u.flags);
	bool u_gap = ue || cfa == UNWIND_CFA_GAP;

	snprintf(why, len, "cfi %d: cfa %u%+d bp %u%+d; ours %d: cfa %u%+d bp %u%+d (flags %#x)",
		 ce, c.cfa_reg, c.cfa_off, c.bp_rule, c.bp_off, ue, cfa, u.cfa_off, bp,
		 u.bp_off8 * 8, u.flags);
	if (ce)
		return u_gap ? SAME : DIFFERENT;
	if (u_gap)
		return DIFFERENT;
	if (c.cfa_reg == CFI_REG_NONE)
		return cfa == UNWIND_CFA_STOP ? SAME : DIFFERENT;
	if (c.cfa_reg == CFI_REG_SIGNAL)
		return cfa == UNWIND_CFA_SIGNAL ? SAME : DIFFERENT;
	if (cfa == UNWIND_CFA_STOP && in_cut(ur, va - base, &u))
		return CUT;
	if (cfa == UNWIND_CFA_STOP)
		return c.cfa_off < INT16_MIN || c.cfa_off > INT16_MAX ? CFA_UNFIT : DIFFERENT;
	/* cfi gives a PLT row's CFA at va; so does unwind_row_cfa_off */
	if ((c.cfa_reg == CFI_REG_SP) != (cfa == UNWIND_CFA_SP || cfa == UNWIND_CFA_PLT) ||
	    (c.cfa_reg == CFI_REG_BP) != (cfa == UNWIND_CFA_BP) ||
	    c.cfa_off != unwind_row_cfa_off(&u, va))
		return DIFFERENT;
	if (c.bp_rule == CFI_BP_SAME)
		return bp == UNWIND_BP_SAME ? SAME : DIFFERENT;
	if (c.bp_rule == CFI_BP_UNDEF)
		return bp == UNWIND_BP_UNDEF ? SAME : DIFFERENT;
	if (bp == UNWIND_BP_AT_CFA)
		return u.bp_off8 * 8 == c.bp_off ? SAME : DIFFERENT;
	return bp == UNWIND_BP_UNDEF && (c.bp_off % 8 || c.bp_off < -1024 || c.bp_off > 1016)
		       ? BP_UNFIT
		       : DIFFERENT;
}

struct tally {
	unsigned n[DIFFERENT + 1];
};

static void check_at(const struct cfi_table *t, const struct unwind_rows *ur, const struct segs *s,
		     uint64_t va, struct tally *ty, const char *file)
{
	char why[256];
	uint64_t off;
	enum verdict v;

	if (!va_to_off(s, va, &off))
		return; /* not in the file: nothing to compare */
	v = compare(t, ur, va, off, why, sizeof(why));
	if (v == DIFFERENT && ty->n[DIFFERENT] < 10)
		ASSERT_TRUE(false, "%s at %#llx: %s", file, (unsigned long long)va, why);
	ty->n[v]++;
}

/* At every row's start, the byte before, its middle and its last byte;
 * at every page's first and last byte. */
static void check_table(const char *file, const struct cfi_table *t, const struct unwind_rows *ur,
			struct tally *ty)
{
	size_t n = cfi_table__nr_rows(t);
	uint64_t base = cfi_table__base(t), va, next;
	struct cfi_table_row r;
	uint32_t nrows, npages;
	const uint32_t *nrs;
	struct segs s;

	if (!ASSERT_TRUE(read_segs(file, &s), "%s: segments", file))
		return;
	memset(ty, 0, sizeof(*ty));
	for (size_t i = 0; i < n; i++) {
		if (!ASSERT_OK(cfi_table__row(t, i, &va, &r)))
			return;
		next = i + 1 < n && !cfi_table__row(t, i + 1, &next, &r) ? next : va + 64;
		check_at(t, ur, &s, va - 1, ty, file);
		check_at(t, ur, &s, va, ty, file);
		check_at(t, ur, &s, va + (next - va) / 2, ty, file);
		check_at(t, ur, &s, next - 1, ty, file);
	}
	unwind_rows__rows(ur, &nrows);
	unwind_rows__pages(ur, &nrs, &npages);
	for (uint32_t i = 0; i < npages; i++) {
		va = base + ((uint64_t)nrs[i] << UNWIND_PAGE_SHIFT);
		check_at(t, ur, &s, va, ty, file);
		check_at(t, ur, &s, va + PAGE - 1, ty, file);
	}
	ASSERT_EQ(ty->n[DIFFERENT], 0);
}

static void check_file(const char *file, size_t min_rows)
{
	struct cfi_table *t;
	struct unwind_rows *ur = NULL;
	struct unwind_rows_stats st;
	struct tally ty;
	double t0 = now_ms(), t1, t2;

	t = load(file);
	t1 = now_ms();
	if (!ASSERT_TRUE(t, "%s loads: %s", file, strerror(errno)))
		return;
	ur = unwind_rows__new(t);
	t2 = now_ms();
	if (!ASSERT_TRUE(ur, "%s converts: %s", file, strerror(errno)))
		goto out;
	unwind_rows__stats(ur, &st);
	printf("# %s: %zu table rows -> %u rows, %u pages, at most %u rows a page, %zu bytes; "
	       "load %.1f ms, conversion %.1f ms\n",
	       file, cfi_table__nr_rows(t), st.rows, st.pages, st.max_page_rows, st.bytes, t1 - t0,
	       t2 - t1);
	ASSERT_TRUE(st.rows >= min_rows, "%s: %u rows", file, st.rows);
	if (!layout_ok(ur))
		goto out;
	check_table(file, t, ur, &ty);
	printf("# %s: %u lookups agree with cfi, %u STOP for a CFA offset outside s16 (%u table "
	       "rows), %u rbp unknown for its slot (%u table rows), %u STOP past a page cut\n",
	       file, ty.n[SAME], ty.n[CFA_UNFIT], st.cfa_unfit, ty.n[BP_UNFIT], st.bp_unfit,
	       ty.n[CUT]);
	/* each weakening is one the counters own up to */
	ASSERT_TRUE(!ty.n[CFA_UNFIT] || st.cfa_unfit, "STOP rows without a count");
	ASSERT_TRUE(!ty.n[BP_UNFIT] || st.bp_unfit, "rbp unknown without a count");
	ASSERT_TRUE(!ty.n[CUT] || st.pages_cut, "cut pages without a count");
	ASSERT_TRUE(ty.n[SAME] >=
			    0.99 * (ty.n[SAME] + ty.n[CFA_UNFIT] + ty.n[BP_UNFIT] + ty.n[CUT]),
		    "%u agree", ty.n[SAME]);
out:
	unwind_rows__free(ur);
	cfi_table__free(t);
}

static void test_libc_agrees_with_cfi(void)
{
	check_file(LIBC, 10000);
}

static void test_python_agrees_with_cfi(void)
{
	check_file(PYTHON, 10000);
}

/* ---- against readelf ---- */

struct fde_range {
	uint64_t lo, hi;
};

static int range_cmp(const void *a, const void *b)
{
	const struct fde_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* One readelf row's columns, by their header's names. */
static const char *column(char cols[][24], char names[][24], unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return cols[i];
	return NULL;
}

enum {
	RE_SAME,
	RE_EXP_STOP,
	RE_EXP_PLT,
	RE_EXP_SIGNAL,
	RE_RA,
	RE_CFA_REG,
	RE_CFA_UNFIT,
	RE_BP_OTHER,
	RE_BP_UNFIT,
	RE_CUT,
	RE_DIFF,
	RE_NR
};

static const char *const re_names[RE_NR] = {
	[RE_SAME] = "agree",
	[RE_EXP_STOP] = "CFA expression -> STOP",
	[RE_EXP_PLT] = "CFA expression (lazy PLT) -> PLT",
	[RE_EXP_SIGNAL] = "CFA expression (signal trampoline) -> SIGNAL",
	[RE_RA] = "return address not at c-8 -> STOP",
	[RE_CFA_REG] = "CFA on another register -> STOP",
	[RE_CFA_UNFIT] = "CFA offset outside s16 -> STOP",
	[RE_BP_OTHER] = "rbp by expression/register -> rbp unknown",
	[RE_BP_UNFIT] = "rbp slot not a multiple of 8 within s8 * 8 -> rbp unknown",
	[RE_CUT] = "past a page cut -> STOP",
	[RE_DIFF] = "DISAGREE",
};

/* readelf's CFA, ra and rbp columns against our row u (0: found). */
static int judge(const char *cfa, const char *ra, const char *bp, int ue,
		 const struct unwind_row *u, uint64_t va, bool cut)
{
	unsigned kind = ue ? UNWIND_CFA_GAP : UNWIND_ROW_CFA(u->flags),
		 ubp = UNWIND_ROW_BP(u->flags);
	long off;
	char *end;

	if (kind == UNWIND_CFA_GAP)
		return RE_DIFF; /* readelf has an FDE here */
	if (cut && kind == UNWIND_CFA_STOP)
		return RE_CUT;
	if (!strcmp(cfa, "exp"))
		return kind == UNWIND_CFA_STOP                           ? RE_EXP_STOP
		       : kind == UNWIND_CFA_SIGNAL                       ? RE_EXP_SIGNAL
		       : kind == UNWIND_CFA_PLT && ubp == UNWIND_BP_SAME ? RE_EXP_PLT
									 : RE_DIFF;
	if (!ra || strcmp(ra, "c-8"))
		return kind == UNWIND_CFA_STOP ? RE_RA : RE_DIFF;
	if (strncmp(cfa, "rsp+", 4) && strncmp(cfa, "rbp+", 4))
		return kind == UNWIND_CFA_STOP ? RE_CFA_REG : RE_DIFF;
	off = strtol(cfa + 4, &end, 10);
	if (*end)
		return RE_DIFF;
	if (off < INT16_MIN || off > INT16_MAX)
		return kind == UNWIND_CFA_STOP ? RE_CFA_UNFIT : RE_DIFF;
	if (kind != (cfa[1] == 's' ? UNWIND_CFA_SP : UNWIND_CFA_BP) ||
	    unwind_row_cfa_off(u, va) != off)
		return RE_DIFF;
	/* readelf shows an unset rule as "u", and leaves rbp out when no row sets it */
	if (!bp || !strcmp(bp, "u") || !strcmp(bp, "s"))
		return ubp == UNWIND_BP_SAME ? RE_SAME : RE_DIFF;
	if (bp[0] != 'c')
		return ubp == UNWIND_BP_UNDEF ? RE_BP_OTHER : RE_DIFF;
	off = strtol(bp + 1, &end, 10);
	if (*end)
		return RE_DIFF;
	if (off % 8 || off < -1024 || off > 1016)
		return ubp == UNWIND_BP_UNDEF ? RE_BP_UNFIT : RE_DIFF;
	return ubp == UNWIND_BP_AT_CFA && u->bp_off8 * 8 == off ? RE_SAME : RE_DIFF;
}

static void test_libc_matches_readelf(void)
{
	struct cfi_table *t = load(LIBC);
	struct unwind_rows *ur = t ? unwind_rows__new(t) : NULL;
	char line[1024], names[32][24], cols[32][24];
	unsigned nnames = 0, tally[RE_NR] = { 0 }, rows = 0, gaps = 0, nfdes = 0, cap = 0;
	struct fde_range *fdes = NULL;
	uint64_t base;
	bool in_fde = false;
	FILE *p;

	if (!ASSERT_TRUE(ur, "libc converts"))
		goto out;
	base = unwind_rows__base(ur);
	p = popen("readelf --debug-dump=frames-interp " LIBC " 2>/dev/null", "r");
	if (!ASSERT_TRUE(p))
		goto out;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long loc, lo, hi;
		unsigned n = 0;
		char *tok, *save, *pc;
		struct unwind_row u = { 0 };
		int ue, v;

		if (strstr(line, " CIE")) {
			in_fde = false; /* the CIE's initial rows: no pc */
			continue;
		}
		if (strstr(line, " FDE ")) {
			pc = strstr(line, "pc=");
			in_fde = pc && sscanf(pc, "pc=%llx..%llx", &lo, &hi) == 2;
			if (in_fde && nfdes == cap) {
				cap = cap ? 2 * cap : 4096;
				fdes = realloc(fdes, cap * sizeof(*fdes));
				if (!ASSERT_TRUE(fdes))
					break;
			}
			if (in_fde)
				fdes[nfdes++] = (struct fde_range){ lo, hi };
			continue;
		}
		if (!in_fde)
			continue;
		if (strstr(line, " LOC ")) {
			nnames = 0;
			for (tok = strtok_r(line, " \n", &save); tok && nnames < 32;
			     tok = strtok_r(NULL, " \n", &save))
				snprintf(names[nnames++], sizeof(names[0]), "%s", tok);
			continue;
		}
		if (strlen(line) < 17 || line[16] != ' ' || sscanf(line, "%16llx ", &loc) != 1)
			continue;
		/* a register's rule may be "r9 (r9)": one column */
		for (tok = strtok_r(line, " \n", &save); tok && n < 32;
		     tok = strtok_r(NULL, " \n", &save))
			if (tok[0] != '(' || !n)
				snprintf(cols[n++], sizeof(cols[0]), "%s", tok);
		if (!ASSERT_TRUE(n == nnames && column(cols, names, n, "CFA"),
				 "a readelf row at %llx", loc))
			continue;
		rows++;
		ue = loc >= base ? unwind_rows__lookup(ur, loc - base, &u) : -ENOENT;
		v = judge(column(cols, names, n, "CFA"), column(cols, names, n, "ra"),
			  column(cols, names, n, "rbp"), ue, &u, loc,
			  !ue && in_cut(ur, loc - base, &u));
		tally[v]++;
		if (v == RE_DIFF && tally[v] <= 10)
			ASSERT_TRUE(false,
				    "at %llx: readelf CFA %s ra %s rbp %s; ours %d: flags %#x "
				    "cfa_off %d bp_off8 %d",
				    loc, column(cols, names, n, "CFA"),
				    column(cols, names, n, "ra") ?: "-",
				    column(cols, names, n, "rbp") ?: "-", ue, u.flags, u.cfa_off,
				    u.bp_off8);
	}
	pclose(p);
	/* an FDE's end is a gap unless another FDE starts there */
	qsort(fdes, nfdes, sizeof(*fdes), range_cmp);
	for (unsigned i = 0; i < nfdes; i++) {
		struct unwind_row u;
		uint64_t end = fdes[i].hi;

		if (fdes[i].lo == end || (i + 1 < nfdes && fdes[i + 1].lo <= end))
			continue;
		gaps++;
		if (!unwind_rows__lookup(ur, end - base, &u))
			ASSERT_TRUE(UNWIND_ROW_CFA(u.flags) == UNWIND_CFA_GAP,
				    "FDE end %#llx: flags %#x", (unsigned long long)end, u.flags);
	}
	for (unsigned v = 0; v < RE_NR; v++)
		if (tally[v])
			printf("# libc vs readelf: %6u rows: %s\n", tally[v], re_names[v]);
	printf("# libc vs readelf: %u rows of %u FDEs, %u FDE ends that are gaps\n", rows, nfdes,
	       gaps);
	ASSERT_EQ(tally[RE_DIFF], 0);
	ASSERT_TRUE(rows > 20000 && tally[RE_SAME] > rows * 9 / 10 && tally[RE_EXP_PLT] > 0 &&
			    tally[RE_EXP_SIGNAL] > 0,
		    "%u rows, %u agree, %u PLT, %u signal", rows, tally[RE_SAME], tally[RE_EXP_PLT],
		    tally[RE_EXP_SIGNAL]);
	ASSERT_TRUE(gaps > 100, "%u gaps", gaps);
out:
	free(fdes);
	unwind_rows__free(ur);
	cfi_table__free(t);
}

/* ---- crafted .eh_frame ---- */

struct bb {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct bb *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put8(struct bb *b, unsigned v)
{
	uint8_t c = (uint8_t)v;

	put(b, &c, 1);
}

static void put32(struct bb *b, uint32_t v)
{
	put(b, &v, 4);
}

static void uleb(struct bb *b, uint64_t v)
{
	do {
		put8(b, (v & 0x7f) | (v >> 7 ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

/* A "zR" CIE (udata4 absolute pointers), CFA = rsp + 8, the return
 * address at CFA - 8, data alignment daf (-8 as gcc, or -4 to give rbp
 * slots that are not multiples of 8); broken: its initial instructions
 * advance, which cfi.c refuses (its FDEs are read, then unusable). */
static size_t cie(struct bb *b, int daf, bool broken)
{
	size_t at = b->n;
	struct bb c = { 0 };

	put32(&c, 0);
	put8(&c, 1);
	put(&c, "zR", 3);
	uleb(&c, 1);
	put8(&c, (uint8_t)(daf & 0x7f)); /* sleb of -8 or -4 */
	put8(&c, 16);
	put8(&c, 1), put8(&c, 0x03);
	if (broken)
		put8(&c, 0x41);
	put8(&c, 0x0c), put8(&c, 7), put8(&c, 8); /* def_cfa rsp, 8 */
	put8(&c, 0x80 | 16), put8(&c, -8 / daf);  /* ra at CFA - 8 */
	put32(b, (uint32_t)c.n);
	put(b, c.p, c.n);
	free(c.p);
	return at;
}

static void fde(struct bb *b, size_t cie_at, uint32_t lo, uint32_t range, const struct bb *in)
{
	put32(b, (uint32_t)(4 + 8 + 1 + in->n));
	put32(b, (uint32_t)(b->n - cie_at));
	put32(b, lo);
	put32(b, range);
	put8(b, 0);
	put(b, in->p, in->n);
}

/* An x86-64 ELF file of one PT_LOAD at vaddr = offset, its .eh_frame
 * found through PT_GNU_EH_FRAME at 768 KiB; 1 MiB, so every pc is in the
 * file. */
static struct cfi_table *table_of(const struct bb *eh)
{
	enum { SIZE = 1 << 20, HDR = 64 + 2 * 56, EH = 0xc0000 };
	uint8_t *f = calloc(1, SIZE);
	Elf64_Ehdr e = { .e_type = ET_DYN,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_phoff = 64,
			 .e_ehsize = 64,
			 .e_phentsize = 56,
			 .e_phnum = 2 };
	Elf64_Phdr ph[2] = {
		{ PT_LOAD, PF_R | PF_X, 0, 0, 0, SIZE, SIZE, 16 },
		{ PT_GNU_EH_FRAME, PF_R, HDR, HDR, HDR, 8, 8, 4 },
	};
	int32_t rel = EH - (HDR + 4);
	char path[128];
	struct cfi_table *t = NULL;
	FILE *out;

	if (!f || EH + eh->n + 4 > SIZE)
		abort();
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(f, &e, sizeof(e));
	memcpy(f + 64, ph, sizeof(ph));
	f[HDR] = 1;
	f[HDR + 1] = 0x1b; /* eh_frame_ptr: pcrel sdata4 */
	f[HDR + 2] = 0xff;
	f[HDR + 3] = 0xff;
	memcpy(f + HDR + 4, &rel, 4);
	memcpy(f + EH, eh->p, eh->n); /* and a zero terminator */
	snprintf(path, sizeof(path), "%s/crafted", tmp);
	out = fopen(path, "w");
	if (out && fwrite(f, 1, SIZE, out) == SIZE && !fclose(out))
		t = load(path);
	else if (out)
		fclose(out);
	free(f);
	ASSERT_TRUE(t, "crafted table loads: %s", strerror(errno));
	return t;
}

/* The table and its rows, every pc of [lo, hi) checked against cfi. */
struct crafted {
	struct cfi_table *t;
	struct unwind_rows *ur;
	struct unwind_rows_stats st;
	struct tally ty;
};

static bool crafted_new(struct crafted *c, const struct bb *eh, uint64_t lo, uint64_t hi)
{
	char why[256];

	memset(c, 0, sizeof(*c));
	c->t = table_of(eh);
	c->ur = c->t ? unwind_rows__new(c->t) : NULL;
	if (!ASSERT_TRUE(c->ur, "converts: %s", strerror(errno)) || !layout_ok(c->ur))
		return false;
	unwind_rows__stats(c->ur, &c->st);
	for (uint64_t va = lo; va < hi; va++) {
		enum verdict v = compare(c->t, c->ur, va, va, why, sizeof(why));

		if (v == DIFFERENT && c->ty.n[v] < 5)
			ASSERT_TRUE(false, "at %#llx: %s", (unsigned long long)va, why);
		c->ty.n[v]++;
	}
	return true;
}

static void crafted_free(struct crafted *c)
{
	unwind_rows__free(c->ur);
	cfi_table__free(c->t);
}

/* Our row at vaddr va: its CFA kind (UNWIND_CFA_GAP for no page). */
static unsigned kind_at(const struct crafted *c, uint64_t va, struct unwind_row *u)
{
	uint64_t base = unwind_rows__base(c->ur);

	memset(u, 0, sizeof(*u));
	if (va < base || unwind_rows__lookup(c->ur, va - base, u))
		return UNWIND_CFA_GAP;
	return UNWIND_ROW_CFA(u->flags);
}

/* CFA and rbp offsets at the edges of what a row holds. */
static void test_crafted_offsets(void)
{
	struct bb eh = { 0 }, in = { 0 };
	struct crafted c;
	struct unwind_row u;
	size_t c8 = cie(&eh, -8, false), c4 = cie(&eh, -4, false);
	static const struct {
		uint64_t cfa_off;
		unsigned bp_factored; /* DW_CFA_offset rbp: slot = factor * daf */
		unsigned cfa, bp;
		int bp_off8;
	} w[] = {
		{ 32767, 2, UNWIND_CFA_SP, UNWIND_BP_AT_CFA, -2 },
		{ 32768, 2, UNWIND_CFA_STOP, UNWIND_BP_UNDEF, 0 },
		{ 200000, 2, UNWIND_CFA_STOP, UNWIND_BP_UNDEF, 0 },
		{ 16, 128, UNWIND_CFA_SP, UNWIND_BP_AT_CFA, -128 },
		{ 16, 129, UNWIND_CFA_SP, UNWIND_BP_UNDEF, 0 },
		{ 16, 1000, UNWIND_CFA_SP, UNWIND_BP_UNDEF, 0 },
		{ 16, 5000, UNWIND_CFA_SP, UNWIND_BP_UNDEF, 0 }, /* cfi.c's own: outside s16 */
	};
	unsigned nw = sizeof(w) / sizeof(w[0]);

	/* with daf -8: row k at 0x1000 + 16 k */
	for (unsigned k = 0; k < nw; k++) {
		put8(&in, 0x0e), uleb(&in, w[k].cfa_off);         /* def_cfa_offset */
		put8(&in, 0x80 | 6), uleb(&in, w[k].bp_factored); /* offset rbp */
		put8(&in, 0x40 | 16);                             /* advance 16 */
	}
	fde(&eh, c8, 0x1000, 16 * nw, &in);
	/* with daf -4: rbp at CFA - 12 (not a multiple of 8), then CFA - 16 */
	in.n = 0;
	put8(&in, 0x0e), uleb(&in, 24), put8(&in, 0x80 | 6), uleb(&in, 3), put8(&in, 0x40 | 8);
	put8(&in, 0x80 | 6), uleb(&in, 4);
	fde(&eh, c4, 0x1100, 16, &in);
	if (crafted_new(&c, &eh, 0x1000 - 16, 0x1200)) {
		for (unsigned k = 0; k < nw; k++) {
			unsigned kind = kind_at(&c, 0x1000 + 16 * k + 7, &u);

			ASSERT_TRUE(kind == w[k].cfa &&
					    (unsigned)UNWIND_ROW_BP(u.flags) == w[k].bp &&
					    u.bp_off8 == w[k].bp_off8 &&
					    (kind != UNWIND_CFA_SP ||
					     u.cfa_off == (int64_t)w[k].cfa_off),
				    "case %u: flags %#x cfa_off %d bp_off8 %d", k, u.flags,
				    u.cfa_off, u.bp_off8);
		}
		ASSERT_TRUE(kind_at(&c, 0x1100, &u) == UNWIND_CFA_SP && u.cfa_off == 24 &&
				    UNWIND_ROW_BP(u.flags) == UNWIND_BP_UNDEF,
			    "rbp at CFA - 12: flags %#x", u.flags);
		ASSERT_TRUE(kind_at(&c, 0x1108, &u) == UNWIND_CFA_SP &&
				    UNWIND_ROW_BP(u.flags) == UNWIND_BP_AT_CFA && u.bp_off8 == -2,
			    "rbp at CFA - 16: flags %#x bp_off8 %d", u.flags, u.bp_off8);
		/* counted per table row: two CFAs, three rbp slots (the
		 * last case's cfi.c did not keep) */
		ASSERT_EQ(c.st.cfa_unfit, 2);
		ASSERT_EQ(c.st.bp_unfit, 3);
		ASSERT_EQ(c.ty.n[DIFFERENT], 0);
		ASSERT_EQ(c.ty.n[CFA_UNFIT], 32);
		ASSERT_EQ(c.ty.n[BP_UNFIT], 16 + 16 + 8);
	}
	crafted_free(&c);
	free(eh.p);
	free(in.p);
}

/* n rows one byte apart from the FDE's start (CFA rsp+16, rsp+24, ...
 * alternating), then CFA rsp+8 from pc n on; or at pc at, when not 0
 * (advance_loc2), CFA rsp+32. */
static void dense_rows(struct bb *in, unsigned n, unsigned at)
{
	in->n = 0;
	for (unsigned k = 0; k < n; k++)
		put8(in, 0x0e), put8(in, 16 + 8 * (k & 1)), put8(in, 0x41);
	put8(in, 0x0e), put8(in, 8);
	if (at) {
		put8(in, 0x03), put8(in, (at - n) & 0xff), put8(in, (at - n) >> 8);
		put8(in, 0x0e), put8(in, 32);
	}
}

/* A page of exactly UNWIND_PAGE_ROWS_MAX rows; one of a row more (cut,
 * the next page resuming with rsp+8); one whose next page starts with a
 * row of its own; and a page of 4096 rows. */
static void test_crafted_page_cap(void)
{
	static const struct {
		unsigned n, at; /* dense_rows(n, at): n + 1 rows in the page */
		bool cut;
	} w[] = {
		{ UNWIND_PAGE_ROWS_MAX - 1, 0, false },
		{ UNWIND_PAGE_ROWS_MAX, 0, true },
		{ 2000, PAGE, true },
		{ PAGE - 1, 0, true },
	};

	for (unsigned k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		struct bb eh = { 0 }, in = { 0 };
		struct crafted c;
		struct unwind_row u;
		uint32_t n;
		const uint32_t *nrs;
		const struct unwind_page *pages;
		size_t ci = cie(&eh, -8, false);
		unsigned kept = UNWIND_PAGE_ROWS_MAX - 2; /* after the row at 0 */

		dense_rows(&in, w[k].n, w[k].at);
		fde(&eh, ci, 0x1000, 3 * PAGE, &in);
		if (!crafted_new(&c, &eh, 0x1000, 0x1000 + 3 * PAGE + 16))
			goto next;
		pages = unwind_rows__pages(c.ur, &nrs, &n);
		if (!ASSERT_EQ(n, 3) || !ASSERT_EQ(nrs[0], 0))
			goto next;
		ASSERT_EQ(pages[0].count, w[k].cut ? UNWIND_PAGE_ROWS_MAX : w[k].n + 1);
		ASSERT_EQ(!!(pages[0].flags & UNWIND_PAGE_F_CUT), w[k].cut);
		ASSERT_EQ(c.st.pages_cut, w[k].cut);
		ASSERT_EQ(c.st.max_page_rows, pages[0].count);
		if (!w[k].cut) {
			ASSERT_EQ(c.ty.n[CUT], 0);
			ASSERT_EQ(c.ty.n[SAME], 3 * PAGE + 16);
			goto next;
		}
		/* the rows kept agree; from the first dropped pc to the page's end: STOP */
		ASSERT_EQ(c.st.rows_cut, w[k].n + 1 - 1 - kept);
		ASSERT_EQ(c.ty.n[CUT], PAGE - 1 - kept);
		ASSERT_EQ(c.ty.n[DIFFERENT], 0);
		ASSERT_TRUE(kind_at(&c, 0x1000 + kept, &u) == UNWIND_CFA_SP, "last kept: %#x",
			    u.flags);
		ASSERT_TRUE(kind_at(&c, 0x1000 + kept + 1, &u) == UNWIND_CFA_STOP, "cut: %#x",
			    u.flags);
		ASSERT_TRUE(kind_at(&c, 0x1000 + PAGE - 1, &u) == UNWIND_CFA_STOP, "end: %#x",
			    u.flags);
		/* the next page's first row is at its start, with the rule in effect there */
		ASSERT_TRUE(kind_at(&c, 0x1000 + PAGE, &u) == UNWIND_CFA_SP &&
				    u.cfa_off == (w[k].at ? 32 : 8),
			    "next page: flags %#x cfa_off %d", u.flags, u.cfa_off);
		ASSERT_TRUE(unwind_rows__rows(c.ur, &n)[pages[1].first].pc == PAGE,
			    "the next page's first row at its start");
next:
		crafted_free(&c);
		free(eh.p);
		free(in.p);
	}
}

/* FDEs with gaps between them, one over pages of which no row starts in
 * some, a lazy PLT, an FDE whose CIE is refused before the first one
 * that loads, and offsets out of every range. */
static void test_crafted_gaps_plt_ends(void)
{
	struct bb eh = { 0 }, in = { 0 };
	struct crafted c;
	struct unwind_row u;
	uint32_t n;
	const uint32_t *nrs;
	size_t ci = cie(&eh, -8, false), bad = cie(&eh, -8, true);
	uint64_t base;

	in.n = 0;
	put8(&in, 0x41), put8(&in, 0x0e), put8(&in, 16); /* +1: rsp+16 */
	fde(&eh, bad, 0x1000, 0x100, &in);               /* the base, unusable */
	fde(&eh, ci, 0x1100, 0x40, &in);                 /* gap after */
	fde(&eh, ci, 0x1180, 0x80, &in);                 /* pages 0x0: gap to 0x5000 */
	in.n = 0;
	put8(&in, 0x0c), put8(&in, 6), put8(&in, 16); /* def_cfa rbp 16 */
	fde(&eh, ci, 0x5000, 3 * PAGE + 0x10, &in);   /* one rule over 3 pages */
	in.n = 0;                                     /* the lazy PLT expression */
	put8(&in, 0x0f), put8(&in, 11), put8(&in, 0x77), put8(&in, 8), put8(&in, 0x80),
		put8(&in, 0), put8(&in, 0x3f), put8(&in, 0x1a), put8(&in, 0x3b), put8(&in, 0x2a),
		put8(&in, 0x33), put8(&in, 0x24), put8(&in, 0x22);
	fde(&eh, ci, 0x8020, 0x20, &in);
	if (!crafted_new(&c, &eh, 0xf00, 0x9000))
		goto out;
	base = unwind_rows__base(c.ur);
	ASSERT_EQ(base, 0x1000);
	ASSERT_EQ(c.ty.n[DIFFERENT], 0);
	/* before the first row that loaded: a gap row at pc 0 */
	ASSERT_EQ(kind_at(&c, 0x1000, &u), UNWIND_CFA_GAP);
	ASSERT_TRUE(!unwind_rows__lookup(c.ur, 0, &u) && UNWIND_ROW_CFA(u.flags) == UNWIND_CFA_GAP,
		    "offset 0: a GAP row");
	ASSERT_TRUE(kind_at(&c, 0x1101, &u) == UNWIND_CFA_SP && u.cfa_off == 16);
	ASSERT_EQ(kind_at(&c, 0x1140, &u), UNWIND_CFA_GAP);
	ASSERT_EQ(kind_at(&c, 0x117f, &u), UNWIND_CFA_GAP);
	ASSERT_TRUE(kind_at(&c, 0x1181, &u) == UNWIND_CFA_SP && u.cfa_off == 16);
	ASSERT_EQ(kind_at(&c, 0x1200, &u), UNWIND_CFA_GAP);
	/* pages wholly in the gap have no entry; those under the long rule have */
	unwind_rows__pages(c.ur, &nrs, &n);
	ASSERT_EQ(n, 1 + 4);
	ASSERT_EQ(unwind_rows__lookup(c.ur, 0x2000, &u), -ENOENT);
	ASSERT_EQ(unwind_rows__lookup(c.ur, 0x3fff, &u), -ENOENT);
	for (uint64_t va = 0x5000; va < 0x8010; va += 0x400)
		ASSERT_TRUE(kind_at(&c, va, &u) == UNWIND_CFA_BP && u.cfa_off == 16, "at %#llx",
			    (unsigned long long)va);
	/* the PLT: rsp+8, +8 from pc & 15 >= 11 */
	for (uint64_t va = 0x8020; va < 0x8040; va++) {
		if (!ASSERT_EQ(kind_at(&c, va, &u), UNWIND_CFA_PLT))
			break;
		ASSERT_TRUE(u.bp_off8 == 11 && UNWIND_ROW_BP(u.flags) == UNWIND_BP_SAME &&
				    unwind_row_cfa_off(&u, va) == ((va & 15) >= 11 ? 16 : 8),
			    "PLT at %#llx: bp_off8 %d cfa %d", (unsigned long long)va, u.bp_off8,
			    unwind_row_cfa_off(&u, va));
	}
	/* after the last row: a gap in its page, no page past it, nothing past 4 GiB */
	ASSERT_EQ(kind_at(&c, 0x8040, &u), UNWIND_CFA_GAP);
	ASSERT_EQ(unwind_rows__lookup(c.ur, 0x8040 - base + PAGE, &u), -ENOENT);
	ASSERT_EQ(unwind_rows__lookup(c.ur, 1ull << 32, &u), -ENOENT);
	ASSERT_EQ(unwind_rows__lookup(c.ur, UINT64_MAX, &u), -ENOENT);
	ASSERT_EQ(unwind_rows__lookup(NULL, 0, &u), -ENOENT);
out:
	crafted_free(&c);
	free(eh.p);
	free(in.p);
}

static void test_null(void)
{
	struct unwind_rows_stats st;
	uint32_t n = 1;
	const uint32_t *nrs;

	unwind_rows__free(NULL);
	errno = 0;
	ASSERT_TRUE(!unwind_rows__new(NULL) && errno == ENOENT, "no table: errno %d", errno);
	ASSERT_TRUE(!unwind_rows__rows(NULL, &n) && !n);
	ASSERT_TRUE(!unwind_rows__pages(NULL, &nrs, &n) && !n);
	unwind_rows__stats(NULL, &st);
	ASSERT_EQ(st.rows, 0);
	ASSERT_EQ(unwind_rows__mem_size(NULL), 0);
}

int main(void)
{
	log_max_level = LOG_LVL_WARN;
	snprintf(tmp, sizeof(tmp), "/tmp/test_unwind_rows.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_libc_agrees_with_cfi);
	RUN_TEST(test_python_agrees_with_cfi);
	RUN_TEST(test_libc_matches_readelf);
	RUN_TEST(test_crafted_offsets);
	RUN_TEST(test_crafted_page_cap);
	RUN_TEST(test_crafted_gaps_plt_ends);
	RUN_TEST(test_null);
	sh("rm -rf '%s'", tmp);
	return TEST_MAIN_END();
}
