/* SPDX-License-Identifier: MIT */
/*
 * The cache of mapped files: one entry per file, by its identity
 * (file_lru.h), that holds what pprofd reads from it, its symbols
 * (symtab.h, with their DWARF lines) and its unwind table (cfi.h), each
 * loaded once for every process and mapping that maps the file. Entries
 * are reference counted: a mapping holds its file's.
 *
 * Bounded three ways: the files (entries no mapping holds go least
 * recently used first), the bytes of symbols and the bytes of unwind
 * tables. A product over its bound goes from the least recently used
 * files: symbols only where no mapping holds them (they are in use, and
 * the next process to map the file would load a second copy), unwind
 * tables wherever they are (the BPF tables and the stack copies' walks
 * load them again when they need them, so the byte bound is real).
 *
 * Loads run in threads of the cache's own (file_cache__start_loaders),
 * so that the event loop never waits for a file a user controls (a table
 * of millions of symbols, libLLVM's unwind table): symbols, DWARF lines
 * (libc6-dbg's take a second under ASan: symbols must not queue behind
 * them) and unwind tables each have one. A load that is not waited for
 * returns EAGAIN; the loop takes finished loads in with the collects.
 * Without the threads (tests, benchmarks) loads run in the call.
 *
 * One thread uses the cache: the one that owns the mappings.
 */
#ifndef PPROFD_FILE_CACHE_H
#define PPROFD_FILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "file_lru.h"

struct cfi_table;
struct symtab;
struct file_cache;
struct cached_file; /* a file's entry */

struct file_cache_limits {
	size_t max_files;           /* entries no mapping holds beyond it go (0: 1) */
	size_t symbol_bytes;        /* symbols and their lines (0: no bound) */
	size_t table_bytes;         /* unwind tables (0: no bound) */
	uint64_t table_load_ns_sec; /* of loading tables a second while tables
				     * are evicted (0: no bound) */
};

struct file_cache *file_cache__new(const struct file_cache_limits *l);
/* Drops the cache's references: entries still held live on, evicted. */
void file_cache__free(struct file_cache *c);
void file_cache__set_symbol_bytes(struct file_cache *c, size_t bytes);

/* Starts the loader threads (once). 0, or -errno. */
int file_cache__start_loaders(struct file_cache *c);
/* Readable when symbol loads (or unwind table loads) have ended, -1
 * without the threads: then the collect takes them in and returns how
 * many. */
int file_cache__symbols_fd(const struct file_cache *c);
unsigned file_cache__collect_symbols(struct file_cache *c);
int file_cache__tables_fd(const struct file_cache *c);
unsigned file_cache__collect_tables(struct file_cache *c);

/* The entry of the file open at fd, made on a miss: a new reference, or
 * NULL + errno (the file cannot be looked at, ENOMEM). */
struct cached_file *file_cache__file(struct file_cache *c, int fd);
struct cached_file *cached_file__get(struct cached_file *f); /* +1; NULL is fine */
void cached_file__put(struct cached_file *f);                /* -1; NULL is fine */
const struct file_id *cached_file__id(const struct cached_file *f);
/* Whether the entry is still in a cache (else: put it, get it again). */
bool cached_file__cached(const struct cached_file *f);

/* Where a load reads f's file: fd (the caller's), and for the debug files
 * of its symbols the root the process sees as / and the path inside it. */
struct file_src {
	int fd;
	const char *root, *path;
};

/*
 * f's symbols, a new reference; their load started from src where none
 * is loaded or loading (src NULL: not). A load in the threads is waited
 * for until deadline_ns (CLOCK_MONOTONIC; 0: not at all, UINT64_MAX: no
 * bound). NULL + errno: EAGAIN loading, EBUSY too many loads wait (ask
 * again later), ESTALE none loaded and no src (evicted since, or never
 * asked), or the error the load ended with.
 */
struct symtab *file_cache__symbols(struct file_cache *c, struct cached_file *f,
				   const struct file_src *src, uint64_t deadline_ns);
/* The symbols of the file open at fd, loaded (and waited for) if need
 * be: file_cache__file and file_cache__symbols in one, for tests and
 * benchmarks. */
struct symtab *file_cache__load_symbols(struct file_cache *c, int fd, const char *root,
					const char *path);
/* f's symbols dropped (not while they load): the next ask with a src
 * loads them again, as when a debug file for the file has arrived since. */
void file_cache__forget_symbols(struct file_cache *c, struct cached_file *f);
/*
 * DWARF lines: want_lines asks the lines thread for s's (once, where it
 * has some to load; without the thread, nothing: symtab__has_lines loads
 * them). await_lines is symtab__has_lines for the event loop: it waits
 * for that load until deadline_ns (0: not at all) and says whether the
 * lines are there (false with errno EAGAIN: not yet); lookups meanwhile
 * give symbols without lines.
 */
void file_cache__want_lines(struct file_cache *c, struct symtab *s);
bool file_cache__await_lines(struct file_cache *c, struct symtab *s, uint64_t deadline_ns);
/* Counts again what every file's symbols hold (lines grow after the
 * load, as profiles are written) and trims to the bound. */
void file_cache__recount(struct file_cache *c);

/*
 * f's unwind table, marked recently used, valid until the next call into
 * the cache; its load started from fd (>= 0) where none is loaded or
 * loading. A load in the threads is waited for until deadline_ns, as
 * above. NULL + errno: EAGAIN loading, or put off (too many loads wait,
 * or this second's loading budget is spent: ask again later); ESTALE
 * evicted since it was loaded; ENODATA never asked (or its load failed
 * for a passing reason); ENOENT, ENOEXEC, EFBIG...: the file has none.
 */
const struct cfi_table *file_cache__table(struct file_cache *c, struct cached_file *f, int fd,
					  uint64_t deadline_ns);
/* Whether f's table is being loaded. */
bool cached_file__table_loading(const struct cached_file *f);

/*
 * What a reader outside the cache derives from f's file, once for every
 * process that maps it (the heap sampler's probe sites): read(fd, out,
 * ctx) fills out (size bytes) or returns -errno; either is kept with the
 * entry under key (the reader's name for what it read) and copied to the
 * next caller of that key. 0, or the -errno read gave (kept, unless
 * -ENOMEM).
 */
typedef int (*file_derive_fn)(int fd, void *out, void *ctx);
int file_cache__derived(struct file_cache *c, struct cached_file *f, unsigned key, int fd,
			void *out, size_t size, file_derive_fn read, void *ctx);

struct file_cache_stats {
	size_t files; /* entries */
	struct {
		uint64_t hits, misses; /* misses: reads of a file */
	} derived;
	struct {
		uint64_t hits, misses, evictions, failures;
		uint64_t deferred; /* loads refused: too many waited (EBUSY) */
		size_t queued;     /* loads waiting for the thread */
		size_t files;      /* files with symbols loaded */
		size_t bytes;      /* symtab__mem_size() of them, as last counted */
	} sym;
	struct {
		uint64_t hits, misses, evictions;
		uint64_t failures; /* files that did not load, too_big included */
		uint64_t too_big;  /* tables larger than the whole byte bound */
		uint64_t deferred; /* loads put off for the budget or the queue (EAGAIN) */
		uint64_t waits;    /* callers that waited for a load in the thread */
		size_t queued;
		size_t files; /* files with a table loaded */
		size_t bytes; /* cfi_table__mem_size() of them */
	} cfi;
};
void file_cache__stats(const struct file_cache *c, struct file_cache_stats *st);

#endif
