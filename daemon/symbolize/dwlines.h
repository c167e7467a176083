/* SPDX-License-Identifier: MIT */
/*
 * DWARF line numbers and inline frames of one ELF file, through libdw
 * (elfutils): which source line an address is, and the chain of functions
 * inlined there. Only the DWARF in the file itself (or in a debug file
 * symtab.c found for it, and the dwz file that one refers to) is read;
 * nothing over the network.
 *
 * Every input is hostile: the debug sections are bounded in size before
 * libdw reads them, the CU table and every DIE walk are bounded, and every
 * libdw return is checked. Not thread-safe: one caller at a time (symtab.c
 * holds a lock).
 */
#ifndef PPROFD_DWLINES_H
#define PPROFD_DWLINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DWL_FRAMES_MAX 32         /* frames of one address kept (innermost first) */
#define DWL_BYTES_MAX (16u << 20) /* debug sections of one file, decompressed */

struct dwlines;

/* Whether the ELF file open at fd has .debug_info and .debug_line with
 * contents (no libdw, only section headers); *bytes gets the size of its
 * debug sections as libdw would hold them (decompressed), or SIZE_MAX when
 * they cannot be loaded safely (GNU .zdebug compression, a size overflow). */
bool dwlines__probe(int fd, size_t *bytes);

/*
 * Loads the DWARF of the ELF file open at fd (not closed; libdw reads its
 * sections into memory, so fd may be closed after the call), with the dwz
 * file its .gnu_debugaltlink names open at alt_fd (-1: none found; the
 * caller checked its build ID). max_bytes caps the debug sections of the
 * two together (decompressed). NULL with errno: ENODATA no usable DWARF, ENOENT its dwz
 * file is needed and not given, EFBIG over max_bytes, ENOSPC over what
 * the DWARF of every file together may hold (the files loaded before
 * keep theirs), ENOMEM, EINVAL malformed.
 */
struct dwlines *dwlines__load(int fd, int alt_fd, size_t max_bytes);
/* The dwz file the ELF file open at fd names (.gnu_debugaltlink): its path
 * into name (NUL-terminated) and its build ID as hex into build_id; false
 * when it names none (or not readably). */
bool dwlines__altlink(int fd, char *name, size_t name_size, char *build_id, size_t id_size);
void dwlines__free(struct dwlines *d); /* NULL is fine */
/* Memory held: the debug sections, the CU table, an estimate of libdw's own
 * tables (it grows as line tables are decoded). */
size_t dwlines__mem_size(const struct dwlines *d);
size_t dwlines__nr_units(const struct dwlines *d);

struct dwl_frame {
	const char *name;      /* DW_AT_name, NULL when none (through abstract origins) */
	const char *linkage;   /* DW_AT_linkage_name, NULL when none */
	const char *file;      /* the source file of this frame's line, NULL when unknown */
	int64_t line;          /* 0 when unknown */
	const char *decl_file; /* the function's declaration, NULL when unknown */
	int64_t decl_line;
};

/*
 * The frames at ELF virtual address va, innermost (inlined) first, the
 * function it is inlined into (the DW_TAG_subprogram) last. When only the
 * line table knows va, one frame with no names. Returns the number of
 * frames (<= max), 0 when DWARF knows nothing of va, -errno on malformed
 * input. Strings are owned by d.
 */
int dwlines__lookup(struct dwlines *d, uint64_t va, struct dwl_frame *out, int max);

struct dwlines_stats {
	uint64_t loaded, failed, over_limit, lookups, lookup_errors;
	uint64_t bytes; /* every loaded file's sections and tables */
};
void dwlines__stats(struct dwlines_stats *st); /* process-wide counters */
void dwlines__count_over_limit(void);

#endif
