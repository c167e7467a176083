/* SPDX-License-Identifier: MIT */
/*
 * The file cache's insides (file_cache.h), shared by its two files: the
 * entries, products and limits (file_cache.c) and the loads in its
 * threads (file_cache_jobs.c). Not for other modules.
 */
#ifndef PPROFD_FILE_CACHE_INT_H
#define PPROFD_FILE_CACHE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "file_cache.h"
#include "file_lru.h"

struct loader;

/* Loads waiting for a loader thread at most; more are put off. */
#define LOADER_QUEUE_MAX 64
enum load_state {
	LOAD_NONE,    /* never asked, or its load failed for a passing reason */
	LOAD_RUNNING, /* in a loader thread */
	LOAD_READY,
	LOAD_FAILED, /* for a reason that says something about the file: err */
	LOAD_EVICTED,
};

struct cached_file {
	struct file_lru_node node; /* first: its identity, place */
	unsigned refs;             /* the cache's while cached, mappings', loads' */
	bool cached;
	enum load_state sym_state, cfi_state;
	int sym_err, cfi_err;
	struct symtab *s;
	size_t sym_bytes;
	uint64_t settled_ns; /* symbols loaded in the thread, not asked for since */
	struct cfi_table *t;
	size_t cfi_bytes;
	void *derived; /* file_cache__derived's, of derived_key and size (a
			* few KiB: not counted against a bound) */
	size_t derived_size;
	unsigned derived_key;
	int derived_err;
};

struct file_cache {
	struct file_lru lru;
	struct file_cache_limits lim;
	size_t sym_bytes, cfi_bytes;
	size_t sym_files, cfi_files;
	struct sec_budget table_load; /* the current second's loading of tables */
	uint64_t last_table_evict_ns;
	/* NULL: loads run in the call */
	struct loader *sym_ld, *lines_ld, *cfi_ld;
	struct file_cache_stats st;
};

enum load_what { JOB_SYMBOLS, JOB_LINES, JOB_TABLE };

/* What loading f's symbols gave (s, taken, or errno err) goes into f. */
void file_cache_settle_symbols(struct file_cache *c, struct cached_file *f, struct symtab *s,
			       int err);
/* The same for its table. */
void file_cache_settle_table(struct file_cache *c, struct cached_file *f, struct cfi_table *t,
			     int err);
/* Hands a load of f's file to ld: false (errno; EAGAIN: LOADER_QUEUE_MAX
 * wait already) when it cannot. */
bool file_cache_load_start(struct loader *ld, struct cached_file *f, enum load_what what,
			   const struct file_src *src);
/* The loader threads stopped, their jobs dropped. */
void file_cache_stop_loaders(struct file_cache *c);

#endif
