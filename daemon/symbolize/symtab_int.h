/* SPDX-License-Identifier: MIT */
/*
 * A loaded symtab's insides, for the files of the symbolizer that work on
 * it (symtab.c loads and looks up; symtab_cache.c keeps files and queues
 * their DWARF). Not for other modules: they have symtab.h.
 */
#ifndef PPROFD_SYMTAB_INT_H
#define PPROFD_SYMTAB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"

struct sym {
	uint64_t start;
	uint32_t size;
	uint32_t name; /* offset into names */
};

/* Demangled names live in chunks that never move: lookups hand out pointers. */
struct arena {
	struct arena *next;
	size_t used, cap;
	char data[];
};

typedef const char *_Atomic dem_slot;

struct symtab {
	atomic_int refs;
	uint32_t nsyms, nsegs;
	uint32_t fde_names; /* of nsyms: functions without a symbol, named by their FDE */
	bool minidebug;     /* symbols from its MiniDebugInfo (.gnu_debugdata) */
	bool wants_debug;   /* a build ID, and no .symtab or no DWARF found here */
	struct sym *syms;
	char *names;
	size_t names_len;
	struct elf_seg *segs;
	char *path;
	size_t mem;            /* as loaded */
	atomic_size_t dem_mem; /* the demangled names since */
	char build_id[2 * BUILD_ID_MAX + 1];
	/*
	 * Lookups take a const symtab, but demangled names are made on first
	 * use: dem[i] is symbol i's (or its raw name when it does not
	 * demangle), NULL until then. Readers need no lock; writers take it.
	 */
	pthread_mutex_t dem_lock;
	dem_slot *_Atomic dem;
	struct arena *arena;
	size_t arena_bytes;
	bool arena_full_logged;
	/*
	 * DWARF: dw_fd is the file that holds it, open until the first
	 * symtab__has_lines() loads it (under dw_lock, as every lookup). When
	 * the cache's thread has been asked to (dw_queued), lookups do not
	 * wait for it: they go without lines until it is done (dw_tried).
	 */
	pthread_mutex_t dw_lock;
	int dw_fd;
	int dw_alt_fd; /* the dwz file its DWARF refers to, found at load; -1: none */
	atomic_bool dw_tried, dw_queued;
	struct dwlines *_Atomic dw;
	atomic_size_t dw_mem;
};

/* Whether the file's DWARF has yet to be tried (then it may have lines). */
bool symtab__lines_pending(const struct symtab *s);

#endif
