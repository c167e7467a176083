/* SPDX-License-Identifier: MIT */
/*
 * Unwind rows as a BPF program reads them (issue 13), shared with the
 * daemon, which makes them from a file's .eh_frame (daemon/symbolize/cfi.c, then
 * daemon/collect/unwind_rows.c).
 *
 * A file's rows are one array sorted by pc, each row holding from its pc
 * up to the next row's; pcs are offsets from the table's base vaddr. A row
 * is 8 bytes so that the whole table of a large library fits in a BPF
 * array map (libLLVM: ~1 M rows, 8 MiB) and a probe of the binary search
 * reads one aligned word. The rule sits beside its pc rather than behind
 * an index into distinct rules: one map lookup a probe, not two.
 *
 * Searching a whole file would take ~20 bounded steps; instead the rows are
 * indexed by 4 KiB page of offsets: page P (offsets [P << 12, (P + 1) << 12)
 * from the base) names the rows [first, first + count) of the file's array,
 * the first of them the row that covers the page's start (its pc <= P << 12,
 * always: the array starts at pc 0), the last the last row whose pc is in
 * the page. The rule at offset o is the last row of o's page with pc <= o:
 * at most UNWIND_PAGE_SEARCH_STEPS steps. A page wholly in a gap (no FDE
 * covers a byte of it) has no entry.
 *
 * (Not "unwind.h": daemon/process/unwind.h has that name, and -Ibpf comes first.)
 */
#ifndef PPROFD_UNWIND_ROW_H
#define PPROFD_UNWIND_ROW_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Where the CFA is (flags & UNWIND_CFA_MASK). 0 stops: a zeroed row (an
 * array map's unset element) never sends the walker anywhere. */
#define UNWIND_CFA_STOP 0 /* unknown (an expression, a rule that did not fit): stop */
#define UNWIND_CFA_SP 1   /* CFA = rsp + cfa_off */
#define UNWIND_CFA_BP 2   /* CFA = rbp + cfa_off */
#define UNWIND_CFA_PLT \
	3                /* a lazy PLT: CFA = rsp + cfa_off + ((pc & 15) >= bp_off8 ? 8 : 0),
			   * pc the process's own (16-aligned entries), not the offset */
#define UNWIND_CFA_GAP 4 /* no FDE covers the pc: a frame-pointer step may be tried */
#define UNWIND_CFA_SIGNAL \
	5 /* a signal trampoline (__restore_rt): the interrupted
			     * registers are in the ucontext at rsp */
#define UNWIND_CFA_MASK 0x07

/* x86-64: where the kernel's rt_sigframe keeps them, as offsets from the
 * ucontext (uc_flags, uc_link, uc_stack, then sigcontext's r8-r15, rdi,
 * rsi, rbp, rbx, rdx, rax, rcx, rsp, rip). */
#define UNWIND_SIGFRAME_RBP 120
#define UNWIND_SIGFRAME_RSP 160
#define UNWIND_SIGFRAME_RIP 168

/* Where the caller's rbp is ((flags & UNWIND_BP_MASK) >> UNWIND_BP_SHIFT).
 * 0 is "unknown", for the same reason. */
#define UNWIND_BP_UNDEF 0  /* unknown: the walker no longer trusts rbp */
#define UNWIND_BP_SAME 1   /* rbp unchanged */
#define UNWIND_BP_AT_CFA 2 /* the caller's rbp is at CFA + 8 * bp_off8 */
#define UNWIND_BP_SHIFT 3
#define UNWIND_BP_MASK (0x03 << UNWIND_BP_SHIFT)

#define UNWIND_ROW_FLAGS(cfa, bp) ((cfa) | ((bp) << UNWIND_BP_SHIFT))
#define UNWIND_ROW_CFA(flags) ((flags)&UNWIND_CFA_MASK)
#define UNWIND_ROW_BP(flags) (((flags)&UNWIND_BP_MASK) >> UNWIND_BP_SHIFT)

/* The return address is at CFA - 8 in every row but STOP, GAP and SIGNAL ones. */
struct unwind_row {
	__u32 pc;      /* where the row starts: an offset from the table's base */
	__s16 cfa_off; /* a CFA offset outside s16 makes the row STOP */
	__s8 bp_off8;  /* BP_AT_CFA: rbp's slot in 8-byte words from the CFA (the
			* offset is a multiple of 8 within s8 * 8, or BP_UNDEF);
			* CFA_PLT: the threshold on pc & 15 */
	__u8 flags;    /* UNWIND_ROW_FLAGS(UNWIND_CFA_*, UNWIND_BP_*); bits 5-7 are 0 */
};

/* The CFA's offset from its register at the process's pc (of which only
 * the low 4 bits matter: a mapping's bias is page-aligned). */
static inline int unwind_row_cfa_off(const struct unwind_row *r, __u64 pc)
{
	if (UNWIND_ROW_CFA(r->flags) == UNWIND_CFA_PLT && (int)(pc & 15) >= r->bp_off8)
		return r->cfa_off + 8;
	return r->cfa_off;
}

#define UNWIND_PAGE_SHIFT 12
/*
 * The rows a page may name. The most seen: 445 (libLLVM-15's densest
 * page; libc 329, python3.11 272): 1024 is twice that and keeps the
 * search at 11 steps (4096, which distinct pcs can never pass, would take
 * 13). A page over the cap keeps its first 1023 rows and a STOP row at the
 * first pc it drops, which holds to the page's end (UNWIND_PAGE_F_CUT; a
 * gap among the dropped rows is STOP too); the next page starts with the
 * rule in effect at its start, as it would have anyway.
 */
#define UNWIND_PAGE_ROWS_MAX 1024
#define UNWIND_PAGE_SEARCH_STEPS 11 /* binary search of UNWIND_PAGE_ROWS_MAX rows */

#define UNWIND_PAGE_F_CUT (1u << 0) /* rows were over the cap: the page's end is STOP */

struct unwind_page {
	__u32 first; /* in the file's row array; its pc <= the page's start */
	__u16 count; /* 1 to UNWIND_PAGE_ROWS_MAX */
	__u16 flags; /* UNWIND_PAGE_F_* */
};

#endif
