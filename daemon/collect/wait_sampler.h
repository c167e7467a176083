/* SPDX-License-Identifier: MIT */
/*
 * The samplers of waiting: bpf/mutex.bpf.c (the mutex kind, at futex waits
 * and wakes) and bpf/block.bpf.c (the block kind, at context switches).
 * Each is loaded on first use; its programs are attached while at least one
 * process is a target and detached when none is. Targets are refcounted per
 * pid, so a request and a continuous profile can share a process.
 *
 * Records are checked (they are input) and handed to a callback as a
 * struct wait_record.
 */
#ifndef PPROFD_WAIT_SAMPLER_H
#define PPROFD_WAIT_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "unwind_fds.h"
#include "ustack.h"

enum wait_kind { WAIT_MUTEX, WAIT_BLOCK, WAIT_NR_KINDS };

enum wait_record_type {
	WAIT_REC_BEGIN, /* block: the thread left the CPU (stack); mutex: a contended release (stack) */
	WAIT_REC_END, /* block: it ran again; mutex: a waiter was woken (delay) */
};

struct wait_record {
	enum wait_kind kind;
	enum wait_record_type type;
	uint32_t pid, tid;
	uint64_t time_ns;
	uint64_t key; /* matches an END to its BEGIN: block: the OUT time; mutex: the wake id */
	uint64_t delay_ns;       /* END */
	const char *comm;        /* BEGIN: the thread's name (NUL-terminated) */
	const uint64_t *kframes; /* BEGIN: kernel frames, leaf first */
	unsigned nr_kframes;
	const struct ustack_hdr *ustack; /* BEGIN: the user stack, checked to be ustack_len long */
	size_t ustack_len;
};

typedef void (*wait_record_fn)(const struct wait_record *r, void *ctx);

struct wait_sampler;

/* Loads the kind's BPF object (not attached yet), sharing the table
 * walker's maps (NULL or -1 each: off). NULL + errno (logged). */
struct wait_sampler *wait_sampler__new(enum wait_kind kind, uint64_t ringbuf_bytes,
				       const struct unwind_fds *unwind, wait_record_fn fn,
				       void *ctx);
void wait_sampler__free(struct wait_sampler *s);
/* Makes pid a target (attaching the programs for the first one). 0/-errno. */
int wait_sampler__add_pid(struct wait_sampler *s, uint32_t pid);
/* Drops one reference to pid (detaching after the last target). */
void wait_sampler__remove_pid(struct wait_sampler *s, uint32_t pid);
int wait_sampler__drain(struct wait_sampler *s);
int wait_sampler__fd(const struct wait_sampler *s);
/* "name value" counters (prefixed mutex_ / block_): how many filled. */
/* Records the full ring refused so far (0 for NULL). */
uint64_t wait_sampler__ring_drops(const struct wait_sampler *s);
int wait_sampler__counters(const struct wait_sampler *s, char names[][48], uint64_t *values,
			   int max);
const char *wait_kind_name(enum wait_kind k);

#endif
