/* SPDX-License-Identifier: MIT */
/*
 * The processes of the host as pprofd knows them. A process *image* is one
 * PID between a fork or exec and the next exec or exit: it has its own
 * executable mappings and its own samples. A PID reused, or an exec, starts
 * a new image; samples are matched to the image that was current at their
 * time stamp, so nothing is attributed to the wrong program.
 *
 * Mappings come from the side-band mmap records (for processes started
 * after pprofd) or from /proc/PID/maps (for those already running).
 */
#ifndef PPROFD_PROCS_H
#define PPROFD_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hashtab.h"
#include "mapping_files.h"
#include "sideband.h"
#include "symtab.h"

struct symtab;
struct file_cache;
struct cached_file;
struct cfi_table;

struct mapping {
	uint64_t start, end, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	char *path;
	struct symtab *symtab;    /* NULL: none (yet) */
	bool resolved;            /* tried to open and load it */
	bool sym_pending;         /* its symbols load in the cache's thread */
	bool cfi_resolved;        /* tried to load its CFI (procs__cfi_for) */
	struct cached_file *file; /* its file's entry in the file cache, or NULL */
};

/* Code in no file: a JIT's (sideband's "//anon", /proc's "" and "[anon:NAME]"). */
static inline bool mapping_is_anon(const struct mapping *m)
{
	return !m->path || !m->path[0] || !strcmp(m->path, "//anon") ||
	       !strncmp(m->path, "[anon:", 6);
}

#define JIT_REREAD_NS 1000000000ull

#define IMAGE_FP_WITH 1    /* built with frame pointers (or unknown: the walk is tried) */
#define IMAGE_FP_WITHOUT 2 /* without: CPU samples carry a stack copy */

struct perf_map;

struct image {
	uint32_t pid;
	uint64_t begin_ns; /* fork or exec time; 0: running before pprofd */
	uint64_t end_ns;   /* exec into a new image, or exit; 0: current */
	bool exited;
	bool maps_from_proc; /* mappings must (still) come from /proc */
	bool proc_reread;    /* /proc was re-read for a missing mapping */
	uint8_t exe_fp;      /* its executable: 0 not looked at, IMAGE_FP_* */
	char comm[16];
	/* The labels operators filter by, read once from its cgroup
	 * (proc_cgroup_labels): its systemd unit, its container ("": none). */
	char service[128];
	char container_id[65];
	bool labels_read;
	struct mapping *maps; /* sorted by start, non-overlapping */
	unsigned nr_maps, cap_maps;
	uint32_t maps_seq; /* bumped at every change of maps */
	/* The BPF table unwinder's entry for it (daemon/collect/unwind_feed.c). */
	uint32_t unwind_seq;       /* maps_seq when it was made */
	bool unwind_whole;         /* every mapping had what it will ever have */
	uint64_t unwind_ns;        /* when it was made (CLOCK_MONOTONIC; 0: never) */
	uint64_t unwind_evictions; /* the tables' evictions then: since, one of its may be gone */
	uint64_t start_code;       /* its text's start, as /proc/PID/stat says (0: not read) */
	uint64_t vdso_base;        /* its vDSO, as its auxv says (0: not read, or none) */
	/* Its JIT's perf map (perf_map.h), read while it runs, at most every
	 * JIT_REREAD_NS, as samples in anonymous code come: NULL until then. */
	struct perf_map *jit;
	uint64_t jit_ns;     /* when it was last looked for (CLOCK_MONOTONIC; 0: never) */
	size_t jit_dropped;  /* its lines past the map's limits, counted so far */
	unsigned refs;       /* collections holding it (its samples): not freed while > 0 */
	struct image *older; /* the image this PID had before */
};

struct procs_stats {
	uint64_t images, images_created, images_freed;
	uint64_t over_limit;        /* images not created: max_processes reached */
	uint64_t maps_read_proc;    /* /proc/PID/maps reads */
	uint64_t maps_unknown;      /* addresses in no known mapping */
	uint64_t maps_merge_failed; /* /proc/PID/maps read but not taken in (memory, limit) */
	uint64_t ustacks_walked;    /* event stacks the BPF table walker took */
	uint64_t ustacks_missed;    /* event stacks it could not: the process's entry was due */
	uint64_t perf_maps_read;    /* JIT perf maps read (or re-read as they grew) */
	uint64_t perf_maps_refused; /* ones not the process's own (owner, symlink, not a file) */
	uint64_t perf_map_lines_dropped;  /* lines past a map's limits (perf_map.h) */
	struct mapping_files_stats files; /* what the mappings' files hold */
};

struct procs;

struct procs *procs__new(unsigned max_images, struct file_cache *cache);
void procs__free(struct procs *p);
/* Applies one side-band event. */
void procs__apply(struct procs *p, const struct sb_event *ev);
/* fn(pid, ctx) when a process is seen to exit (a side-band exit of its
 * last image, or gone from /proc at a reconcile). */
void procs__on_exit(struct procs *p, void (*fn)(uint32_t pid, void *ctx), void *ctx);
/* fn(img, ctx) when img's entry in the BPF table walker's maps is due:
 * an event stack the walker could not take (USTACK_F_WALK_MISS), an
 * executable mapping added to an image that has an entry (side-band
 * mmap: its table starts loading before the first stack through it),
 * procs__walker_due. */
void procs__on_unwind_due(struct procs *p, void (*fn)(struct image *img, void *ctx), void *ctx);
/* The same for pid's newest image, known or nothing: its events are about
 * to be profiled (heap, mutex, block attached), so that its entry is made
 * before their first stacks rather than at them. */
void procs__walker_due(struct procs *p, uint32_t pid);
/* Whether pid still runs, for a request that waits on it. */
enum proc_liveness {
	PROC_RUNNING,
	/* its exit is applied (the side band's, or it was never tracked):
	 * every sample of it before is drained */
	PROC_EXITED,
	/* no longer runs (ended, or a zombie), its exit not applied yet:
	 * its last samples may still be in the rings */
	PROC_GONE,
};
enum proc_liveness procs__liveness(struct procs *p, uint32_t pid);
/* The image of pid at time t, created from /proc when unknown;
 * NULL when the table is full or the pid is gone and unknown. */
struct image *procs__image_at(struct procs *p, uint32_t pid, uint64_t t_ns);
/* The mapping containing addr, or NULL. Loads its symbols on first use
 * (while the process is most likely still alive to be read). */
struct mapping *procs__find_mapping(struct procs *p, struct image *img, uint64_t addr);
/*
 * The event loop waits for the loader threads (symbols, unwind tables) at
 * most this long in every second, so that it stays responsive whatever
 * the files a user's process maps; what is not in by then goes without:
 * a frame unnamed in this profile, a stack walked by frame pointer.
 */
#define LOADER_WAIT_NS 50000000ull
void procs__set_wait_budget(struct procs *p, uint64_t ns_per_sec); /* for tests */
/*
 * Before a frame in m is named: waits for m's symbols if they are still
 * loading in the file cache's symbol thread, within the budget above. A frame
 * whose symbols are not in by then goes without a name in this profile
 * (symbols_not_ready).
 */
void procs__await_symbols(struct procs *p, struct image *img, struct mapping *m);
/* Whether m's file has lines (DWARF), waiting for their load in the
 * file cache's symbol thread within the same budget; a file whose lines are
 * not in by then has none in this profile (lines_not_ready). */
bool procs__await_lines(struct procs *p, struct image *img, struct mapping *m);
/* Whether procs__cfi_for reads unwind tables (from the file cache). */
void procs__use_tables(struct procs *p, bool on);
/* The CFI table of the file mapped at pc in img and pc's file offset in
 * it, loaded on first use (through the process's root, like symbols);
 * NULL when there is none, with errno EAGAIN when it is not there yet:
 * loading in the file cache's thread (wait: waited for within the loader wait
 * budget), or put off (the loader's queue full, or the cache's budget);
 * cfi_not_ready counts both; ask again later. Valid until the next call: an unwind_find_fn. */
const struct cfi_table *procs__cfi_for(struct procs *p, struct image *img, uint64_t pc,
				       uint64_t *file_offset, bool wait);
/* The same for mapping m of img (no symbols are loaded for it). */
const struct cfi_table *procs__mapping_cfi(struct procs *p, struct image *img, struct mapping *m,
					   bool wait);
struct ustack_hdr;
/* Unwinds a captured user stack of img (a ustack_hdr and its data, len
 * bytes in all) through the CFI of its modules, or takes the frames the
 * BPF walker wrote: unwind_user's result.
 * wait: as procs__cfi_for's (not: a frame whose table is loading is
 * walked by frame pointer, and cfi_not_ready counts it). */
int procs__unwind_user(struct procs *p, struct image *img, const struct ustack_hdr *h, size_t len,
		       uint64_t *out, unsigned max, bool wait);
/* fn(build_id) for each file attached without symbols or DWARF here
 * (debuginfod.h asks a server); NULL: none. */
void procs__set_want_debug(struct procs *p, void (*fn)(const char *build_id, void *ctx), void *ctx);
/* A debug file for build_id arrived: the current images' mappings of that
 * file load their symbols again at their next use. */
void procs__debug_arrived(struct procs *p, const char *build_id);
/* Calls fn for every pid's newest image. */
void procs__for_each_current(struct procs *p, void (*fn)(struct image *img, void *ctx), void *ctx);
/* After side-band records were lost (an exit or an mmap among them,
 * maybe): every current image whose process is gone from /proc ends at
 * now_ns, so that requests and continuous profiles of it end; the others
 * read /proc/PID/maps again at their next address in no known mapping.
 * Returns how many ended. */
unsigned procs__reconcile(struct procs *p, uint64_t now_ns);
/* Frees the images that ended and have nothing left to write. */
void procs__gc(struct procs *p);
void procs__stats(const struct procs *p, struct procs_stats *st);

/* Parses /proc/PID/maps-format text into executable mappings (exported for
 * tests and fuzzing). Returns the number of mappings, or -errno. */
int parse_proc_maps(const char *text, size_t len, struct mapping **out, unsigned max);

#endif
