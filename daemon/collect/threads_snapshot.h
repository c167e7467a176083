/* SPDX-License-Identifier: MIT */
/*
 * The `threads` kind (SPEC §4): a snapshot of every thread of one process,
 * its current kernel and user stack, name and state, as a pprof profile
 * (Go's goroutine profile, for a native process). A BPF task iterator
 * (bpf/threads.bpf.c) walks the process's threads without stopping them;
 * the user stacks are unwound here (daemon/process/unwind.h).
 */
#ifndef PPROFD_THREADS_SNAPSHOT_H
#define PPROFD_THREADS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* Threads in one profile; the rest are counted, and said in it. */
#define THREADS_SNAPSHOT_MAX 4096

struct threads_snapshot;
struct procs;
struct kallsyms;

/* Loads nothing yet: the BPF program is loaded on the first snapshot. */
struct threads_snapshot *threads_snapshot__new(struct procs *procs, struct kallsyms *const *ksyms);
void threads_snapshot__free(struct threads_snapshot *t); /* NULL is fine */

/*
 * Takes a snapshot of pid's threads and encodes its profile: 0 and *out (a
 * malloc'ed gzip-compressed pprof), or -errno and a sentence for the user
 * in err (-ESRCH: the process is gone).
 */
int threads_snapshot__profile(struct threads_snapshot *t, uint32_t pid, uint8_t **out,
			      size_t *out_len, char *err, size_t errlen);

/* "name value" counters, for status: how many filled. */
int threads_snapshot__counters(const struct threads_snapshot *t, char names[][48], uint64_t *values,
			       int max);

#endif
