/* SPDX-License-Identifier: MIT */
/*
 * The continuous CPU profile: the stream of samples out of the CPU ring,
 * put in order with the side band, unwound where they carry a stack copy,
 * offered to the collections (requests) and added to each process's window; at the
 * window's end, one cpu file per process that had samples.
 */
#ifndef PPROFD_CPU_STREAM_H
#define PPROFD_CPU_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cpu.h"

struct config;
struct cpu_sampler;
struct kallsyms;
struct output_health;
struct procs;
struct collector;
struct unwind_feed;

/* What it works with; the pointed-to pointers may be set after it is made. */
struct cpu_stream_opts {
	const struct config *cfg;
	struct procs *procs;
	struct kallsyms **ksyms;
	struct collector *collector; /* the requests' collections */
	struct unwind_feed **ufeed;
	struct output_health *health; /* the output directory's state, logged on change */
};

struct cpu_stream_stats {
	uint64_t untracked;         /* of no process known */
	uint64_t pending_dropped;   /* the queue of samples ahead of the side band was full */
	uint64_t stop_dropped;      /* left in the ring when the stop's drain ran out of time */
	uint64_t unwind_errors;     /* a malformed user stack record */
	uint64_t waited_for_tables; /* put back until an unwind table loaded */
	uint64_t nofp, nofp_full;   /* processes given stack copies; refused past the limit */
	uint64_t files, bytes, write_errors; /* the windows' cpu files */
};

struct cpu_stream *cpu_stream__new(const struct cpu_stream_opts *o);
/* Its sampler, made after it (the sampler's callback is this stream's):
 * from now on it takes samples and collects the window. */
void cpu_stream__start(struct cpu_stream *cs, struct cpu_sampler *sampler);
void cpu_stream__free(struct cpu_stream *cs);
/* The cpu kind of requests (kind.h), which it owns; and the sampler its
 * requests attach through. */
struct profile_kind *cpu_stream__kind(struct cpu_stream *cs);
struct cpu_sampler *cpu_stream__sampler(struct cpu_stream *cs);

/* The sampler's callback (a cpu_sample_fn; ctx: the stream). */
void cpu_stream__on_sample(const struct cpu_sample *s, size_t size, void *ctx);

/* Unwind tables came in: the processes that waited for theirs are decided. */
void cpu_stream__tables_loaded(struct cpu_stream *cs);

/*
 * A turn's reading, in two steps: begin_drain before the side band is read
 * (samples taken after that instant wait for the next turn: an exec or mmap
 * before them may not be applied yet), then drain: the samples queued at
 * the last turn, and the ring for at most DRAIN_BUDGET_MS; true when
 * records are left for the next turn. all: pprofd is stopping: every
 * sample is taken in, and what the longer budget leaves is counted.
 */
void cpu_stream__begin_drain(struct cpu_stream *cs, bool all);
bool cpu_stream__drain(struct cpu_stream *cs, bool all);

/* Samples lost host-wide so far because pprofd fell behind. */
uint64_t cpu_stream__drops(struct cpu_stream *cs);

/* The window's files: one for every process with samples. */
void cpu_stream__write_window(struct cpu_stream *cs, struct timespec start_real,
			      int64_t duration_ns);

/* The processes by CPU samples in the last window and the one before. */
const struct cpu_ranks *cpu_stream__ranks(const struct cpu_stream *cs);
void cpu_stream__stats(const struct cpu_stream *cs, struct cpu_stream_stats *st);

#endif
