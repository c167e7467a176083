/* SPDX-License-Identifier: MIT */
/*
 * The mutex and block kinds' accounting: a wait is reported in two
 * records, the stack first (the release of a contended lock; the thread
 * leaving the CPU) and its length later (a waiter woken; the thread
 * running again). The stack waits here, keyed, until its end arrives; then
 * the stack gets one contention and the delay (`contentions/count`,
 * `delay/nanoseconds`, as Go's mutex and block profiles).
 *
 * A lock release can end several waits (every waiter it woke), so mutex
 * stacks are kept until they age out (two generations of a bounded
 * table); a block ends once, and its stack is dropped then.
 */
#ifndef PPROFD_WAIT_PROFILE_H
#define PPROFD_WAIT_PROFILE_H

#include <stdint.h>

#include "hashtab.h"
#include "stackagg.h"
#include "wait_sampler.h"

enum { WAIT_V_CONTENTIONS, WAIT_V_DELAY };

struct wait_agg {
	struct stackagg agg; /* first: a kind's aggregate begins with its stacks (kind.h) */
	enum wait_kind kind;
	struct hashtab pending[2]; /* key -> struct wait_pending; [1] is the older generation */
	size_t max_pending;
	uint64_t unmatched;       /* ends whose stack we never saw (it began before we looked) */
	uint64_t pending_dropped; /* stacks dropped: the table was full */
};

void wait_agg__init(struct wait_agg *w, enum wait_kind kind, size_t max_bytes, size_t max_pending);
/* Forgets the aggregated stacks; waits still pending are kept (their end
 * counts in the next window). */
void wait_agg__clear(struct wait_agg *w);
/* Frees everything. */
void wait_agg__reset(struct wait_agg *w);
/* A BEGIN record, its user stack unwound to uframes (leaf first). */
void wait_agg__begin(struct wait_agg *w, const struct wait_record *r, const uint64_t *uframes,
		     unsigned nr_uframes);
/* An END record. */
void wait_agg__end(struct wait_agg *w, const struct wait_record *r);

struct pprof;
/* A new, empty mutex or block profile. */
struct pprof *wait_profile__new(int64_t time_nanos, int64_t duration_nanos);

#endif
