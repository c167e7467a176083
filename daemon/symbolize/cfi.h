/* SPDX-License-Identifier: MIT */
/*
 * Call frame information of an x86-64 ELF file (.eh_frame, found through
 * .eh_frame_hdr when section headers are gone), reduced to what unwinding a
 * captured user stack needs: for each pc, where the CFA is (rsp or rbp plus
 * an offset) and where the caller's rbp was saved. The return address is at
 * CFA - 8 in every row kept; a row where the file says otherwise is
 * "unknown".
 *
 * Lookups take a *file offset* (a mapping's pgoff + (pc - start)), like
 * symtab.h. A loaded table holds only its rows: no descriptor, no copy of
 * the file. Every input is hostile: a malformed .eh_frame gives an error or
 * a partial table, never a crash, and every count is capped.
 */
#ifndef PPROFD_CFI_H
#define PPROFD_CFI_H

#include <stddef.h>
#include <stdint.h>

struct cfi_table;

/* Loads the table of the ELF file open at fd (not closed, not kept).
 * NULL + errno: ENOEXEC not a usable x86-64 ELF file, ENOENT no
 * .eh_frame, ENOMEM. A file whose .eh_frame is partly broken loads with
 * the rows that could be read. */
struct cfi_table *cfi_table__load(int fd);
void cfi_table__free(struct cfi_table *t); /* NULL is fine */

/* The functions .eh_frame knows, named or not: each FDE's code [lo, hi)
 * (the file's addresses), sorted by lo, one a start. 0 and a malloc'ed
 * array, or -errno (as cfi_table__load; -ENOENT: no .eh_frame). */
struct cfi_range {
	uint64_t lo, hi;
};
int cfi__fde_ranges(int fd, struct cfi_range **out, uint32_t *n);
/* Bytes the table holds in memory (for cache budgets). */
size_t cfi_table__mem_size(const struct cfi_table *t);
size_t cfi_table__nr_rows(const struct cfi_table *t);
/* The share of the code's bytes whose CFA is rbp-based. Measured here:
 * 0.36-0.92 for code built with frame pointers (small programs lowest:
 * their startup code has none), 0.00-0.05 for executables without (bash,
 * python3, perl, clang), 0.17 for libc (its assembly keeps some). */
double cfi_table__bp_share(const struct cfi_table *t);
#define CFI_BP_SHARE_FP 0.25 /* at or above: built with frame pointers */

#define CFI_REG_SP 0   /* CFA = rsp + cfa_off */
#define CFI_REG_BP 1   /* CFA = rbp + cfa_off */
#define CFI_REG_NONE 2 /* CFA unknown (an expression, the return address not at CFA - 8) */
#define CFI_REG_SIGNAL \
	5 /* a signal trampoline (an FDE of an "S" CIE: __restore_rt):
			  * the interrupted registers are in the ucontext at rsp
			  * (UNWIND_SIGFRAME_*, bpf/unwind_row.h) */

#define CFI_BP_SAME 0   /* rbp unchanged */
#define CFI_BP_AT_CFA 1 /* the caller's rbp is at CFA + bp_off */
#define CFI_BP_UNDEF 2  /* unknown */

struct cfi_row {
	uint8_t cfa_reg;
	int32_t cfa_off;
	uint8_t bp_rule;
	int32_t bp_off;
};

/* The rule at file_offset: 0, or -ENOENT when no FDE covers it. O(log n). */
int cfi_table__lookup(const struct cfi_table *t, uint64_t file_offset, struct cfi_row *row);

/*
 * The load bias of a mapping of the file at map_start with file offset
 * pgoff: pc - *bias is the vaddr in the file of a pc in the mapping (the
 * rows of a table count from cfi_table__base). The segment is the one a
 * loader maps there: the PT_LOAD whose mapping starts at pgoff, else the
 * one holding it; executable ones first, as lookups take them. 0, or
 * -ENOENT when no segment does.
 */
int cfi_table__load_bias(const struct cfi_table *t, uint64_t map_start, uint64_t pgoff,
			 uint64_t *bias);

/*
 * The rows as the table keeps them, in pc order, for converters into other
 * forms (daemon/collect/unwind_rows.c): row i holds from its vaddr up to row i + 1's
 * (the last row, a gap, holds up to base + 4 GiB). The base is the lowest
 * FDE's start: row 0 is there, or later when that FDE was unusable.
 * Two kinds the lookup never gives: a lazy PLT's rule, which depends on the
 * pc, and a gap (no FDE: cfi_table__lookup says -ENOENT there).
 */
#define CFI_ROW_PLT 3 /* CFA = rsp + cfa_off + ((vaddr & 15) >= bp_off ? 8 : 0), rbp unchanged */
#define CFI_ROW_GAP 4 /* no FDE covers these pcs */

struct cfi_table_row {
	uint8_t kind; /* CFI_REG_SP/BP/NONE/SIGNAL, CFI_ROW_PLT or CFI_ROW_GAP */
	int32_t cfa_off;
	uint8_t bp_rule; /* CFI_BP_* */
	int32_t bp_off;  /* CFI_BP_AT_CFA: from the CFA; CFI_ROW_PLT: the threshold on vaddr & 15 */
};

/* The vaddr that the table's rows count from (0 for NULL or no rows). */
uint64_t cfi_table__base(const struct cfi_table *t);
/* Row i: 0, its start in *vaddr and its rule in *row; -ERANGE past the last. */
int cfi_table__row(const struct cfi_table *t, size_t i, uint64_t *vaddr, struct cfi_table_row *row);

#endif
