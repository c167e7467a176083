/* SPDX-License-Identifier: MIT */
/*
 * Function symbols of ELF files (executables, PIE or not, and shared
 * libraries), looked up by *file offset* so callers never do the
 * segment arithmetic themselves, and cached by build ID / dev+inode.
 *
 * Every input file is hostile: a malformed ELF gives an error, never a crash.
 */
#ifndef PPROFD_SYMTAB_H
#define PPROFD_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "file_lru.h"

struct symtab; /* one ELF file's functions, immutable once loaded, refcounted */

struct sym_result {
	const char *name;     /* demangled where C++/Rust; owned by the symtab */
	const char *raw_name; /* the name as in the ELF file (mangled) */
	uint64_t start;       /* the symbol's ELF virtual address */
	uint64_t vaddr;       /* the looked-up address as an ELF virtual address */
};

/*
 * Load the symbols of the ELF file open at fd. `root` is the directory that
 * the process sees as / ("/proc/PID/root" or "/"); `path` is the file's path
 * inside that root. Both are used only to find separate debug info
 * (/usr/lib/debug/.build-id/xx/yyyy.debug, then .gnu_debuglink next to the
 * file, in .debug/, and under /usr/lib/debug/<dir>), tried inside root first,
 * then on the host. fd is not closed and may be closed after the call.
 * Returns a symtab with one reference, or NULL with errno set.
 */
struct symtab *symtab__load(int fd, const char *root, const char *path);
/* For tests and fuzzers: the directory taken for the host's / in the
 * search for debug files (NULL: /). */
void symtab__set_host_root(const char *root);
/* Where debuginfod's fetched debug files are (DIR/BUILD_ID/debuginfo, on
 * the host), searched after /usr/lib/debug; NULL: nowhere. Set before any
 * load. */
void symtab__set_debug_cache(const char *dir);
/* Whether s has a build ID and neither a symbol table nor DWARF of its
 * own or from a debug file here: a debuginfod server may have them. */
bool symtab__wants_debug_file(const struct symtab *s);
struct symtab *symtab__get(struct symtab *s); /* +1 reference */
void symtab__put(struct symtab *s);           /* -1 reference; NULL is fine */

/* The GNU build ID as lowercase hex, or "" when the file has none. */
const char *symtab__build_id(const struct symtab *s);
/* The file's path as given to symtab__load. */
const char *symtab__path(const struct symtab *s);
/* Whether any function symbol was found (pprof's has_functions). */
bool symtab__has_functions(const struct symtab *s);
size_t symtab__nr_symbols(const struct symtab *s);
/* Whether its .symtab came from its MiniDebugInfo (.gnu_debugdata). */
bool symtab__from_minidebug(const struct symtab *s);
/* Of those, the functions without a symbol named "FILE+0xSTART" by .eh_frame. */
size_t symtab__nr_fde_names(const struct symtab *s);
/* Bytes of memory the symtab holds (for cache budgets). */
size_t symtab__mem_size(const struct symtab *s);

/*
 * Symbolize a file offset (what /proc/PID/maps' pgoff + (addr - start)
 * gives). 0 and *res filled when a function contains the address (or, for
 * symbols of size 0, is the nearest below it in the same section); -ENOENT
 * otherwise. O(log n).
 */
int symtab__lookup(const struct symtab *s, uint64_t file_offset, struct sym_result *res);

/*
 * Source lines and inline frames (DWARF, daemon/symbolize/dwlines.c), for files that
 * carry .debug_info and .debug_line themselves or in the debug file found
 * for them by build ID or .gnu_debuglink. Loaded on first use (lazily: the
 * file is kept open until then), counted in symtab__mem_size().
 */
#define SYM_FRAMES_MAX 32
struct sym_frame {
	const char *name;      /* demangled where C++/Rust */
	const char *raw_name;  /* as in the file (mangled) */
	const char *file;      /* source file of this frame's line; NULL: unknown */
	int64_t line;          /* 0: unknown */
	const char *decl_file; /* where the function is declared; NULL: unknown */
	int64_t decl_line;
};
struct sym_frames {
	unsigned n; /* frames, innermost (inlined) first */
	struct sym_frame f[SYM_FRAMES_MAX];
	uint64_t start, vaddr; /* as in sym_result, of the outermost */
	size_t used;
	char buf[8192]; /* demangled names of inlined functions */
};
/* Whether the file had usable DWARF (pprof's has_filenames,
 * has_line_numbers, has_inline_frames). Loads it on the first call. */
bool symtab__has_lines(const struct symtab *s);
/* Whether its DWARF is loaded (never loads it). */
bool symtab__lines_ready(const struct symtab *s);
/*
 * As symtab__lookup, with every frame at the address: without DWARF one
 * frame, the symbol; with it the inlined functions first and the symbol
 * (its name as symtab__lookup gives it) last, with files and lines.
 * Strings are owned by s or out. 0, or -ENOENT when no symbol contains it.
 */
int symtab__lookup_frames(const struct symtab *s, uint64_t file_offset, struct sym_frames *out);
struct symtab_dwarf_stats {
	uint64_t loaded, failed, over_limit, lookups, lookup_errors, bytes;
};
void symtab__dwarf_stats(struct symtab_dwarf_stats *st);

/* Files whose symbol table was cut at a size limit, since start. */
uint64_t symtab__over_limit(void);

/*
 * Kernel symbols from a kallsyms-format file (/proc/kallsyms), text symbols
 * only (t/T/w/W), sorted, with module names kept as "sym [module]".
 */
struct kallsyms;
struct kallsyms *kallsyms__load(const char *path);
void kallsyms__free(struct kallsyms *k);
/* The name of the function containing addr, in buf (KSYM_NAME_MAX holds
 * any), or NULL. */
#define KSYM_NAME_MAX 648 /* a name of 512, " [module]" of 128 */
const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *sym_start,
			     char *buf, size_t size);
/* Lowest and highest text addresses (for the [kernel.kallsyms] mapping). */
void kallsyms__range(const struct kallsyms *k, uint64_t *lo, uint64_t *hi);
/* The bytes its table and names hold. */
size_t kallsyms__mem_size(const struct kallsyms *k);

/* Demangle a C++ (Itanium) or Rust legacy name; NULL if not mangled, and for
 * Rust v0 names and names whose demangled form could be huge (see symtab.c).
 * The result is malloc'ed. */
char *demangle(const char *name);

#endif
