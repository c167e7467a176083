/* SPDX-License-Identifier: MIT */
/*
 * Who has the mutex and block samplers: loaded on first use, a process made
 * a target while a request or the config (lock_target) asks for it, and the
 * continuous mutex and block profiles of the processes lock_target names,
 * written as mutex-<ts>.pb.gz and block-<ts>.pb.gz beside their cpu files
 * (each window's waits, as cpu files hold each window's samples).
 *
 * Each record's user stack is unwound here, once, while the process is
 * alive to be read; requests and continuous profiles get it unwound.
 */
#ifndef PPROFD_WAIT_WATCH_H
#define PPROFD_WAIT_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <time.h>

#include "config.h"
#include "cont_list.h"
#include "wait_sampler.h"

struct wait_watch;
struct image;
struct profile_kind;

struct wait_watch *wait_watch__new(const struct watch_opts *o);
void wait_watch__free(struct wait_watch *w);
/* The mutex (WAIT_MUTEX) or block kind of requests (kind.h), which it owns. */
struct profile_kind *wait_watch__kind(struct wait_watch *w, enum wait_kind kind);

/* Makes pid a target of kind. 0, or -errno with a sentence in err. */
int wait_watch__attach(struct wait_watch *w, enum wait_kind kind, uint32_t pid, char *err,
		       size_t errlen);
void wait_watch__detach(struct wait_watch *w, enum wait_kind kind, uint32_t pid);

/* Continuous profiling: watches pid if a lock_target names it. */
void wait_watch__consider(struct wait_watch *w, uint32_t pid, const char *comm);
void wait_watch__scan(struct wait_watch *w);

int wait_watch__drain(struct wait_watch *w);
/* Writes the window's mutex and block profiles of each watched process
 * with waits; lets go of those that exited. Returns files written. */
int wait_watch__write(struct wait_watch *w, const char *dir, struct timespec window_start,
		      int64_t duration_ns);
int wait_watch__counters(struct wait_watch *w, char names[][48], uint64_t *values, int max);
/* Records of kind (WAIT_MUTEX, WAIT_BLOCK) the full ring refused so far. */
uint64_t wait_watch__ring_drops(struct wait_watch *w, int kind);

/* Unwinds a BEGIN record's user stack through img's modules: how many
 * frames in out (leaf first). Exported for the requests' tests. */
int wait_watch__unwind(struct procs *procs, struct image *img, const struct wait_record *r,
		       uint64_t *out, unsigned max);

#endif
