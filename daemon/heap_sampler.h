/* SPDX-License-Identifier: MIT */
/*
 * The heap sampler: loads bpf/heap.bpf.c once, attaches its uprobes to the
 * allocator of the processes asked for (glibc's malloc, or jemalloc's or
 * tcmalloc's when that is the process's malloc) (one heap_target each, with
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
struct heap_target;

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
struct heap_target *heap_sampler__attach_pid(struct heap_sampler *s, uint32_t pid, char *err,
					     size_t errlen);
/* Detaches, and forgets the process's live sampled blocks. NULL is fine. */
void heap_target__free(struct heap_target *t);
/* The library probed (libc, libjemalloc, libtcmalloc), as the daemon
 * opened it. */
const char *heap_target__libc(const struct heap_target *t);
/* How many entry points could only be probed where the kernel single-steps
 * (an unknown glibc, jemalloc or tcmalloc build): slower, still correct. */
unsigned heap_target__slow_probes(const struct heap_target *t);

/*
 * Internal, exposed for the fuzzers: how heap_sampler__attach_pid finds
 * what to probe, as functions of /proc/PID/maps' lines and of the
 * allocator's ELF file. Not for other modules.
 */

/* What /proc/PID/maps says of a process's allocators. */
struct heap_maps {
	char exe[4096]; /* the first file mapped: the executable */
	char libc_path[4096], libc_range[64];
	unsigned long libc_ino; /* 0: no glibc mapped */
	char alt_path[4096], alt_range[64];
	unsigned long alt_ino; /* 0: no jemalloc or tcmalloc mapped */
	const char *other;     /* an allocator not supported (its library's name), */
	char other_path[4096]; /* mapped from there */
};
/* Takes one line of /proc/PID/maps (as fgets gives it; zeroed m before
 * the first). false when the line maps an allocator that is not
 * supported (m->other): the process cannot be profiled. */
bool heap_maps__line(struct heap_maps *m, const char *line);

#define HEAP_PROBE_SITES_MAX 40
/* Where to attach: file offsets of the allocation functions (the session
 * program) and of the frees (the free program), each with its cookie. */
struct heap_probe_sites {
	uint64_t alloc_offs[HEAP_PROBE_SITES_MAX], alloc_cookies[HEAP_PROBE_SITES_MAX];
	uint64_t free_offs[HEAP_PROBE_SITES_MAX], free_cookies[HEAP_PROBE_SITES_MAX];
	unsigned nr_alloc, nr_free;
	unsigned slow; /* sites the kernel single-steps */
};
/* The sites in glibc's libc, or in jemalloc or tcmalloc, open as fd (lib
 * and pid name it in the log). 0, or -ENOENT when it does not export
 * malloc and free. */
int heap_probe_sites_libc(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps);
int heap_probe_sites_alt(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps);

#endif
