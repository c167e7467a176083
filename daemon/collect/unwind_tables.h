/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the BPF table unwinder's maps (bpf/unwind_maps.h):
 * which file's table is where in the pool, which file slot it has, and
 * the process entries written.
 *
 * A file's table takes one contiguous range of pool slots (its dense page
 * index, then its rows), allocated first fit; when none fits, the least
 * recently used tables are evicted until one does. A BPF walk may be
 * reading a table while it is evicted: its file entry is first rewritten
 * with generation 0 (new walks see it stale), and its slots and file slot
 * are reused only after a grace period, by when every walk that read the
 * old entry has ended. Until then an add that needs that room says EAGAIN.
 *
 * A table's slots are written before its file entry, whose new nonzero
 * generation makes it visible; a write that fails leaves no entry naming
 * the table. Process entries name (file slot, generation): an entry whose
 * file was evicted, or whose slot now holds another file, is seen stale.
 *
 * One thread uses it (the event loop); every size is bounded at creation.
 */
#ifndef PPROFD_UNWIND_TABLES_H
#define PPROFD_UNWIND_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "cfi.h"
#include "file_lru.h"
#include "unwind_fds.h"
#include "unwind_maps.h"
#include "unwind_rows.h"

/* Reusable this long after a table was evicted: a BPF walk takes
 * microseconds; this is its bound with a wide margin. */
#define UNWIND_TABLES_GRACE_NS (100ull * 1000 * 1000)
/* Pool slots a write_pool call is given at most (512 KiB). */
#define UNWIND_TABLES_CHUNK (64u << 10)

/*
 * Writes into the maps; each returns 0 or -errno. The default ones
 * (unwind_tables_conf.ops NULL) write the maps' fds with libbpf:
 * bpf_map_update_batch for the pool (memcpy when the pool map was made
 * BPF_F_MMAPABLE: 3-5 times faster over slots never written, 40 times
 * after), bpf_map_update_elem (BPF_ANY) and bpf_map_delete_elem for the
 * rest. Tests give their own.
 */
struct unwind_tables_ops {
	/* n slots (at most UNWIND_TABLES_CHUNK) at first, first + 1, ... */
	int (*write_pool)(void *ctx, uint32_t first, const union unwind_slot *s, uint32_t n);
	int (*write_file)(void *ctx, uint32_t slot, const struct unwind_file *f);
	int (*write_proc)(void *ctx, uint32_t tgid, const struct unwind_proc *p);
	int (*delete_proc)(void *ctx, uint32_t tgid); /* -ENOENT: there was none */
};

struct unwind_tables_conf {
	struct unwind_fds fds;               /* the maps (-1: none; the default ops fail) */
	uint32_t pool_slots;                 /* unwind_pool's max_entries */
	uint32_t file_slots;                 /* unwind_files' (at most 1 Mi) */
	uint32_t max_procs;                  /* unwind_procs' (at most 4 Mi) */
	const struct unwind_tables_ops *ops; /* NULL: libbpf on the fds */
	uint64_t (*clock)(void *ctx);        /* ns, monotonic; NULL: CLOCK_MONOTONIC */
	void *ctx;                           /* given to ops and clock */
	uint64_t grace_ns;                   /* 0: UNWIND_TABLES_GRACE_NS */
};

struct unwind_tables;

/* NULL + errno: EINVAL a size of 0 or over its bound, or a pool map that
 * is not an array of at least pool_slots 8-byte slots; ENOMEM. The maps
 * are the caller's, and taken as they were made: empty. */
struct unwind_tables *unwind_tables__new(const struct unwind_tables_conf *c);
void unwind_tables__free(struct unwind_tables *t); /* NULL is fine; the maps stay as they are */

/*
 * The table of file key, from r, into the pool: its slot and generation
 * in *slot and *gen (what a process entry names), marked recently used.
 * A file already there is not written again. 0, or:
 *  -ENOENT  r has no page with code (nothing a walk could use);
 *  -EINVAL  r does not hold together (a page naming rows r does not have);
 *  -E2BIG   the table is larger than half the pool (counted: too_big);
 *  -EAGAIN  the room it needs is held for the grace period after an
 *           eviction: add it again from unwind_tables__release_ns on;
 *  -ENOMEM, or a write's error (counted: write_errors; the file is absent).
 */
int unwind_tables__add(struct unwind_tables *t, const struct file_id *key,
		       const struct unwind_rows *r, uint32_t *slot, uint32_t *gen);
/* The file's slot and generation, marked recently used; -ENOENT. */
int unwind_tables__find(struct unwind_tables *t, const struct file_id *key, uint32_t *slot,
			uint32_t *gen);
/* When room held after an eviction comes free (the clock's ns; 0: none is). */
uint64_t unwind_tables__release_ns(const struct unwind_tables *t);

/*
 * The bias of a process's mapping of a file at map_start with file offset
 * pgoff (struct unwind_map.bias): pc - bias is the offset the file's rows
 * count from (unwind_rows__base of the rows made from t). 0, or -ENOENT.
 */
int unwind_tables__bias(const struct cfi_table *t, uint64_t map_start, uint64_t pgoff,
			uint64_t *bias);

/*
 * Writes process tgid's entry for its image start_code (/proc/PID/stat's
 * startcode): the n mappings sorted by start; one that is empty or
 * overlaps one kept below it, and those past UNWIND_PROC_MAPS_MAX (the
 * highest: the executable is lowest), are dropped and counted. 0; -ENOSPC
 * when it is a new process and max_procs have entries (counted); -ENOMEM,
 * or the write's error.
 */
int unwind_tables__set_proc(struct unwind_tables *t, uint32_t tgid, uint64_t start_code,
			    const struct unwind_map *maps, unsigned n);
/* Deletes its entry: 0, -ENOENT when none was written, or the error. */
int unwind_tables__drop_proc(struct unwind_tables *t, uint32_t tgid);

struct unwind_tables_stats {
	uint32_t files;      /* tables in the pool */
	uint32_t file_slots; /* in all */
	uint32_t slots_used; /* pool slots holding tables */
	uint32_t slots_held; /* of evicted tables, in their grace period */
	uint32_t slots_total;
	uint64_t bytes; /* of tables in the pool */
	uint64_t adds;  /* tables written */
	uint64_t evictions;
	uint64_t evictions_in_use; /* of them, of tables a process entry named */
	uint64_t too_big;          /* tables refused: larger than half the pool */
	uint64_t deferred;         /* adds refused for the grace period (EAGAIN) */
	uint64_t write_errors;
	uint32_t procs;             /* process entries written */
	uint64_t procs_refused;     /* new processes over max_procs */
	uint64_t proc_maps_dropped; /* overlapping, empty or past UNWIND_PROC_MAPS_MAX */
};
void unwind_tables__stats(const struct unwind_tables *t, struct unwind_tables_stats *st);
/* Tables evicted so far (st.evictions): an entry made before the count
 * moved may name one that is gone. */
uint64_t unwind_tables__evictions(const struct unwind_tables *t);
/* Of them, of tables a process entry named (st.evictions_in_use). */
uint64_t unwind_tables__evictions_in_use(const struct unwind_tables *t);
/* Whether tgid's entry names a table evicted since it was written. */
bool unwind_tables__proc_stale(struct unwind_tables *t, uint32_t tgid);

#endif
