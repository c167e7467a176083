/* SPDX-License-Identifier: MIT */
/*
 * A bounded cache of CFI tables (daemon/symbolize/cfi.h), one per file, keyed by
 * its identity like the symbol cache (file_lru.h), evicted least recently
 * used first when over its file count or bytes.
 *
 * What a mapping keeps is a reference to the cache's entry for its file,
 * not the table: an evicted entry lets its table go at once (the byte
 * bound is real) and says so, and the mapping loads the file again when
 * it needs it. Files that do not load (no .eh_frame, not ELF, a table
 * larger than the whole budget) are cached as such, so they cost one try.
 *
 * One thread uses it: the one that owns the procs using it. With
 * cfi_cache__start_loader, tables are built in a thread of the cache's
 * own, so that the event loop never waits for one (libLLVM's takes 60 ms):
 * a miss then returns the file's entry at once, loading (no table yet),
 * and cfi_cache__collect takes finished loads in. Callers that cannot do
 * without the table (wait) get it as before, waiting for its load.
 */
#ifndef PPROFD_CFI_CACHE_H
#define PPROFD_CFI_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfi.h"
#include "file_lru.h"

struct cfi_cache;
struct cfi_ref; /* a cached file's entry, refcounted */

struct cfi_cache *cfi_cache__new(size_t max_files, size_t max_bytes);
/* At most this much time a second spent loading tables (0: no bound). */
void cfi_cache__set_load_budget(struct cfi_cache *c, uint64_t ns_per_sec);
/* Starts the loader thread (once). 0, or -errno. */
int cfi_cache__start_loader(struct cfi_cache *c);
/* Readable when loads have ended (-1 without a loader): then call
 * cfi_cache__collect, which takes them in and returns how many. */
int cfi_cache__fd(const struct cfi_cache *c);
unsigned cfi_cache__collect(struct cfi_cache *c);
/* Drops the cache's references; entries still referenced live on, evicted. */
void cfi_cache__free(struct cfi_cache *c);

/* The entry of the file open at fd, loading its table on a miss: in the
 * loader thread (here when there is none), waited for until deadline_ns
 * (CLOCK_MONOTONIC; 0: not at all). A new reference, or NULL + errno when
 * the file cannot be looked at or loading failed for a passing reason
 * (ENOMEM; EAGAIN: this second's loading budget is spent or too many
 * loads wait, ask again later). */
struct cfi_ref *cfi_cache__get(struct cfi_cache *c, int fd, uint64_t deadline_ns);
struct cfi_ref *cfi_ref__get(struct cfi_ref *r); /* +1; NULL is fine */
void cfi_ref__put(struct cfi_ref *r);            /* -1; NULL is fine */
/* Whether the entry is still in a cache (else: put it, get it again). */
bool cfi_ref__cached(const struct cfi_ref *r);
/* Whether its table is being loaded. */
bool cfi_ref__loading(const struct cfi_ref *r);
/* Its file's identity. */
const struct file_id *cfi_ref__file(const struct cfi_ref *r);
/* The entry's table (NULL: the file has none, or it is still loading at
 * deadline_ns, as in cfi_cache__get), marked recently used. Valid until
 * the next cfi_cache__get, __table or __collect. */
const struct cfi_table *cfi_cache__table(struct cfi_cache *c, struct cfi_ref *r,
					 uint64_t deadline_ns);

struct cfi_cache_stats {
	uint64_t hits, misses, evictions;
	uint64_t failures; /* files that did not load, too_big included */
	uint64_t too_big;  /* tables larger than the whole byte budget */
	uint64_t deferred; /* misses refused for the loading budget (EAGAIN) */
	uint64_t waits;    /* callers that waited for a load in the thread */
	size_t queued;     /* loads waiting for the thread */
	size_t files;
	size_t bytes; /* cfi_table__mem_size() of the cached tables, and entries */
};
void cfi_cache__stats(const struct cfi_cache *c, struct cfi_cache_stats *st);

#endif
