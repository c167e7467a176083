/* SPDX-License-Identifier: MIT */
/*
 * The heap sampler: loads bpf/heap.bpf.c once, attaches its uprobes to the
 * allocator of the processes asked for (glibc's malloc, or jemalloc's or
 * tcmalloc's when that is the process's malloc) (one struct heap_probes each, with
 * the kernel's PID filter, so no other process pays), and hands every
 * record from the ring buffer to a callback.
 *
 * Records: HEAP_EV_ALLOC for each sampled allocation (size, stack, the
 * sampling rate to unbias with), HEAP_EV_FREE when a sampled block is
 * freed (it names the allocation's id). Blocks allocated before attaching
 * are not known.
 */
#ifndef PPROFD_HEAP_SAMPLER_H
#define PPROFD_HEAP_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "unwind_fds.h"

struct heap_sampler;
struct file_cache;
struct heap_probes;

typedef void (*heap_event_fn)(const struct heap_event *e, size_t size, void *ctx);
/* What BPF could not send for process pid since the last drain (heap.h). */
typedef void (*heap_lost_fn)(uint32_t pid, const struct heap_lost *l, void *ctx);

struct heap_sampler_opts {
	uint64_t rate;          /* mean bytes between samples; 0: 512 KiB; 1: every allocation */
	uint32_t max_live;      /* sampled live blocks tracked; 0: 32768 */
	uint64_t ringbuf_bytes; /* 0: 2 MiB (a power of 2, >= page size) */
	heap_event_fn fn;
	heap_lost_fn lost_fn;
	void *ctx;
	const struct unwind_fds *unwind; /* the table walker's maps (NULL, -1 each: off) */
	/* Where an allocator's probe sites are kept once read, for every
	 * process that maps its file (NULL: read at each attach). */
	struct file_cache *files;
};

/* NULL + errno on failure (logged). */
struct heap_sampler *heap_sampler__new(const struct heap_sampler_opts *o);
void heap_sampler__free(struct heap_sampler *s);
/* Reads every pending record, then the losses (lost_fn, after the records
 * that were sent before them). Returns how many records, or -errno. */
int heap_sampler__drain(struct heap_sampler *s);
/* Polls readable when records are waiting past the wake-up threshold. */
int heap_sampler__fd(const struct heap_sampler *s);
/* Sums of the per-CPU counters (enum heap_counter). */
int heap_sampler__counters(const struct heap_sampler *s, uint64_t out[HEAP_CNT_NR]);
/* Records user space rejected as malformed (should stay 0). */
uint64_t heap_sampler__malformed(const struct heap_sampler *s);
const char *heap_counter_name(enum heap_counter c);

/*
 * Probe the allocator of process pid: libjemalloc or libtcmalloc when one
 * is mapped and exports malloc, else glibc's. NULL + errno on failure,
 * with a sentence for the requester in err (ESRCH: no such process;
 * ENOENT: it does not use glibc's malloc, e.g. a static binary;
 * EOPNOTSUPP: another allocator replaces it, e.g. mimalloc, or the
 * executable defines malloc).
 */
struct heap_probes *heap_sampler__attach_pid(struct heap_sampler *s, uint32_t pid, char *err,
					     size_t errlen);
/* Detaches, and forgets the process's live sampled blocks. NULL is fine. */
void heap_probes__free(struct heap_probes *t);
/* The library probed (libc, libjemalloc, libtcmalloc), as the daemon
 * opened it. */
const char *heap_probes__libc(const struct heap_probes *t);
/* How many entry points could only be probed where the kernel single-steps
 * (an unknown glibc, jemalloc or tcmalloc build): slower, still correct. */
unsigned heap_probes__slow_probes(const struct heap_probes *t);

#endif
