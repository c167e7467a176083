/* SPDX-License-Identifier: MIT */
/*
 * The BPF maps of the table unwinder (issue 13), shared by the BPF walker
 * (bpf/unwind.bpf.h) and the daemon that fills them.
 *
 * Three maps:
 *  - unwind_pool: one BPF array of 8-byte slots holding every loaded file's
 *    table: its dense page index (one struct unwind_page per 4 KiB page
 *    from offset 0; count 0: a page without code) and right after it its
 *    rows (bpf/unwind_row.h). One pool, one budget (unwind_table_bytes);
 *    array lookups are inlined by the verifier: a probe is a few ns.
 *  - unwind_files: per file slot, where its table is in the pool and the
 *    slot's generation. A file evicted and its slot reused bumps the
 *    generation, so that process entries naming the old one are seen stale
 *    without rewriting them.
 *  - unwind_procs: per tgid, its executable mappings sorted by start, each
 *    with its file slot, generation and bias (pc - bias is the offset the
 *    file's rows count from).
 */
#ifndef PPROFD_UNWIND_MAPS_H
#define PPROFD_UNWIND_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "unwind_row.h"

/* A pool slot: a page entry or a row, both 8 bytes. */
union unwind_slot {
	struct unwind_page page;
	struct unwind_row row;
	__u64 raw;
};

struct unwind_file {
	__u32 pool;   /* first slot: npages page entries, then nrows rows */
	__u32 npages; /* pages from offset 0; an offset past them is in no FDE */
	__u32 nrows;
	__u32 gen; /* 0: the slot holds no table */
};

/* Executable mappings of one process the walker knows; a process with
 * more keeps its lowest (the executable first). */
#define UNWIND_PROC_MAPS_MAX 128
#define UNWIND_PROC_SEARCH_STEPS 7 /* binary search of UNWIND_PROC_MAPS_MAX */

#define UNWIND_MAP_F_NO_TABLE \
	(1u << 0) /* known, but no table (yet): the walk
					  * ends there and the sample takes the
					  * stack-copy path */

struct unwind_map {
	__u64 start, end; /* [start, end) in the process */
	__u64 bias;       /* pc - bias: the offset in the file's rows */
	__u32 file;       /* unwind_files slot */
	__u32 gen;        /* its generation when this entry was written */
	__u32 flags;      /* UNWIND_MAP_F_* */
	__u32 pad;
};

struct unwind_proc {
	/* The process image the entry was made for: its mm's start_code
	 * (/proc/PID/stat's startcode). After an exec the walker sees
	 * another and does not use the entry until the daemon has made the
	 * new image's (the old program's rows would unwind the new one). */
	__u64 start_code;
	__u32 nr; /* entries of maps[] used, sorted by start, not overlapping */
	__u32 pad;
	struct unwind_map maps[UNWIND_PROC_MAPS_MAX];
};

/* Why a walk ended (counters, and the sample's flags). */
#define UNWIND_END_START 0    /* a return address of 0, or the stack's end: whole */
#define UNWIND_END_NO_MAP 1   /* a pc in no mapping known to the walker */
#define UNWIND_END_NO_TABLE 2 /* a mapping whose table is not loaded (or stale) */
#define UNWIND_END_STOP 3     /* a STOP row (a rule the rows cannot hold) */
#define UNWIND_END_READ 4     /* a read of the stack failed */
#define UNWIND_END_DEPTH 5    /* the frame limit */
#define UNWIND_END_BAD_CFA 6  /* a CFA that does not go up the stack */
#define UNWIND_END_NR 7

#endif
