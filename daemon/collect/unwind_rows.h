/* SPDX-License-Identifier: MIT */
/*
 * A file's CFI table (daemon/symbolize/cfi.h) in the form a BPF walker reads
 * (bpf/unwind_row.h): 8-byte rows sorted by pc, identical neighbours
 * merged, gaps kept as GAP rows, and the 4 KiB pages that have code, each
 * naming a contiguous range of the rows. Offsets count from the table's
 * base vaddr (cfi_table__base), not from the file's start.
 *
 * Rules the row cannot hold are weakened, never guessed, and counted: a
 * CFA offset outside s16 or an expression makes the row STOP, an rbp slot
 * that is not a multiple of 8 within s8 * 8 makes rbp unknown; a page with
 * more than UNWIND_PAGE_ROWS_MAX rows is cut (its end STOP).
 */
#ifndef PPROFD_UNWIND_ROWS_H
#define PPROFD_UNWIND_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "cfi.h"
#include "unwind_row.h"

struct unwind_rows;

struct unwind_rows_stats {
	uint32_t rows;          /* in the row array */
	uint32_t pages;         /* with an entry (some code in them) */
	uint32_t max_page_rows; /* the largest count of a page */
	uint32_t cfa_unfit;     /* table rows made STOP: CFA offset outside s16 */
	uint32_t bp_unfit;      /* table rows whose rbp slot did not fit: BP_UNDEF */
	uint32_t pages_cut;     /* pages over UNWIND_PAGE_ROWS_MAX */
	uint32_t rows_cut;      /* table rows dropped by those cuts */
	size_t bytes;           /* rows and page entries as BPF maps hold them (keys not counted) */
};

/* From a loaded table (not kept). NULL + errno: ENOENT no rows, ENOMEM;
 * EINVAL or E2BIG for rows out of order (cfi.c makes none). */
struct unwind_rows *unwind_rows__new(const struct cfi_table *t);
void unwind_rows__free(struct unwind_rows *r); /* NULL is fine */

/* The vaddr that rows' pcs and page numbers count from. */
uint64_t unwind_rows__base(const struct unwind_rows *r);
/* The row array (*n rows, the first at pc 0), what a BPF array map holds. */
const struct unwind_row *unwind_rows__rows(const struct unwind_rows *r, uint32_t *n);
/* The page entries, sorted by page number: page_nrs[i] (an offset >>
 * UNWIND_PAGE_SHIFT) has entry pages[i]; *n of each. What a BPF hash map
 * keyed by (file, page number) holds. */
const struct unwind_page *unwind_rows__pages(const struct unwind_rows *r, const uint32_t **page_nrs,
					     uint32_t *n);
void unwind_rows__stats(const struct unwind_rows *r, struct unwind_rows_stats *s);
/* Bytes held in memory (for cache budgets). */
size_t unwind_rows__mem_size(const struct unwind_rows *r);

/*
 * What the BPF walker does, for tests: the page of offset, then at most
 * UNWIND_PAGE_SEARCH_STEPS steps of binary search in its rows. 0 and the
 * row (a GAP or STOP row among them), or -ENOENT when no page holds
 * offset (a gap, as a GAP row would say).
 */
int unwind_rows__lookup(const struct unwind_rows *r, uint64_t offset, struct unwind_row *row);

#endif
