/* SPDX-License-Identifier: MIT */
/*
 * The file layer under a process's mappings (mapping_files.c): what a
 * mapped file holds, its symbols, line numbers and unwind table, from the
 * file cache (file_cache.h), for the process table (procs.c), which keeps
 * the processes and their mappings and asks here for the rest.
 */
#ifndef PPROFD_MAPPING_FILES_H
#define PPROFD_MAPPING_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"

struct cfi_table;
struct file_cache;
struct image;
struct mapping;

struct mapping_files_stats {
	uint64_t symtab_fail;      /* mappings whose file could not be loaded */
	uint64_t symtab_deferred;  /* symbol loads put off: too many waited */
	uint64_t symtab_not_ready; /* frames named while their symbols still loaded */
	uint64_t lines_not_ready;  /* mappings written while their DWARF still loaded */
	uint64_t cfi_fail;         /* mappings whose file could not be opened for CFI */
	uint64_t cfi_not_ready;    /* lookups (not wait) whose table was loading or put off */
};

struct mapping_files {
	struct file_cache *cache; /* not owned */
	bool tables;              /* unwind tables are read (mapping_files__cfi) */
	struct sec_budget wait;   /* this second's waits for the loader threads */
	uint64_t wait_budget;     /* of waiting a second (LOADER_WAIT_NS) */
	struct mapping_files_stats st;
	/* a file with no symbols or no DWARF here was attached: its build
	 * ID, for a debuginfod server (NULL: none asked) */
	void (*want_debug)(const char *build_id, void *ctx);
	void *want_debug_ctx;
};

void mapping_files__init(struct mapping_files *f, struct file_cache *cache);

/* m's file opened and its symbols asked for (at m's first use): they are
 * m->symtab at once when cached, else they load in the cache's thread. */
void mapping_files__resolve(struct mapping_files *f, struct image *img, struct mapping *m);
/* m's symbols taken in if their load has ended (not waiting). */
void mapping_files__attach(struct mapping_files *f, struct mapping *m);
/* Before m's frames are named: its symbols waited for, within the budget. */
void mapping_files__await_symbols(struct mapping_files *f, struct image *img, struct mapping *m);
/* Whether m's file has line numbers, its DWARF waited for within the budget. */
bool mapping_files__await_lines(struct mapping_files *f, struct image *img, struct mapping *m);
/* m's symbols dropped when their file's build ID is build_id, so that
 * its next use loads them again, with the debug file that arrived. */
void mapping_files__debug_arrived(struct mapping_files *f, struct mapping *m, const char *build_id);
/* m's unwind table (NULL + errno: ENOENT none, EAGAIN still loading);
 * wait: for a load in the thread, within the budget. */
const struct cfi_table *mapping_files__cfi(struct mapping_files *f, struct image *img,
					   struct mapping *m, bool wait);

#endif
