/* SPDX-License-Identifier: MIT */
/*
 * Who has the allocator probes: the heap sampler (loaded on first use), the
 * per-process attachments shared by requests and continuous profiling
 * (attaching one process twice would count its allocations twice), and the
 * continuous heap profiles of the processes the config names (heap_target):
 * a standing collection each (collection.h), written as heap-<ts>.pb.gz
 * beside their cpu files at every window.
 */
#ifndef PPROFD_HEAP_WATCH_H
#define PPROFD_HEAP_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <time.h>

#include "config.h"
#include "cont_list.h"

struct heap_watch;
struct heap_attach;
struct heap_event;
struct heap_lost;
struct image;
struct profile_kind;

struct heap_watch *heap_watch__new(const struct watch_opts *o);
void heap_watch__free(struct heap_watch *w);
/* The heap kind of requests (kind.h), which it owns. */
struct profile_kind *heap_watch__kind(struct heap_watch *w);

/* The probes of pid, attached if nobody has them yet. NULL + errno, with a
 * sentence for the requester in err. */
struct heap_attach *heap_watch__attach(struct heap_watch *w, uint32_t pid, char *err,
				       size_t errlen);
void heap_watch__detach(struct heap_watch *w, struct heap_attach *a);

/* Continuous profiling: attaches to pid if a heap_target names it. */
void heap_watch__consider(struct heap_watch *w, uint32_t pid, const char *comm);
/* The side band says pid mapped [addr, addr + len) of a file (prot, its
 * device and inode): when a heap_target = preloaded is in force and the
 * file is executable and carries heap probes (heap_probe_files.h), pid is
 * considered (at its exec it had not mapped it yet). */
void heap_watch__mapped(struct heap_watch *w, uint32_t pid, uint64_t addr, uint64_t len,
			uint32_t prot, uint64_t dev, uint64_t ino);
/* The same for every process running now (at start and after SIGHUP). */
void heap_watch__scan(struct heap_watch *w);

int heap_watch__drain(struct heap_watch *w);

/* Whether a heap_target names pid now; and, if so, its profile as it stands
 * (what heap_watch__write would write now), or -ENOENT. As Go's
 * /debug/pprof/heap, which answers at once. */
bool heap_watch__watches(struct heap_watch *w, uint32_t pid);
int heap_watch__current(struct heap_watch *w, uint32_t pid, uint8_t **buf, size_t *len);

/* Writes a heap profile for each watched process with samples (alloc since
 * it was attached, in-use now, as Go's heap profile), and lets go of those
 * that exited. Returns files written. */
int heap_watch__write(struct heap_watch *w, const char *dir, struct timespec window_start,
		      int64_t duration_ns);

/* "name value" counters of the sampler, for status: how many filled. */
int heap_watch__counters(struct heap_watch *w, char names[][48], uint64_t *values, int max);

#endif
