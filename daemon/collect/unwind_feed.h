/* SPDX-License-Identifier: MIT */
/*
 * Keeps the BPF table unwinder's maps (daemon/collect/unwind_tables.h) in step
 * with the process table: a process's entry — its executable mappings,
 * each with its file's table — is made at the first of its samples that
 * the walker could not take (no entry yet, a mapping without a table),
 * made again when its mappings change or while a table it lacks is still
 * loading (at most every UNWIND_FEED_RETRY_NS; and at once when the CFI
 * cache hands tables in), made again at the loop's next turn when a
 * table it names was evicted to make room for another process's, and
 * dropped at its exit. (The CPU program wakes
 * the loop for a sample without an entry, so "first sample" is within
 * milliseconds, not at the loop's next turn.)
 *
 * Tables come from the CFI cache (built in its loader thread); turning
 * one into rows and writing it runs on the event loop: a table is started
 * only while less than UNWIND_FEED_BUDGET_NS of them ran in the last
 * UNWIND_FEED_PERIOD_NS, so that one turn of the loop spends at most that
 * and one table (libLLVM's, the largest seen: 13 ms of conversion and
 * 13-22 ms of writing) however many processes come at once; what does not
 * fit is tried again when the next period begins (the loop wakes for it).
 */
#ifndef PPROFD_UNWIND_FEED_H
#define PPROFD_UNWIND_FEED_H

#include <stdint.h>

#define UNWIND_FEED_RETRY_NS (50ull * 1000 * 1000)
#define UNWIND_FEED_REMAKE_NS (1000ull * 1000 * 1000) /* a whole entry, after evictions */
#define UNWIND_FEED_PERIOD_NS (100ull * 1000 * 1000)
#define UNWIND_FEED_BUDGET_NS (10ull * 1000 * 1000)

struct image;
struct procs;
struct unwind_tables;
struct unwind_feed;

struct unwind_feed_stats {
	uint64_t entries_made;   /* process entries written */
	uint64_t entries_remade; /* of them, again for a live process after evictions */
	uint64_t entry_errors;   /* entries that could not be written */
	uint64_t tables_added;   /* files' tables written into the pool */
	uint64_t tables_failed;  /* tables that could not be (too big, no room, errors) */
	uint64_t maps_waiting;   /* mappings written without their table, still loading
				  * or put off by the budget */
};

/* Takes neither: both outlive it. NULL + errno. */
struct unwind_feed *unwind_feed__new(struct unwind_tables *t, struct procs *p);
void unwind_feed__free(struct unwind_feed *f);
/*
 * img's entry is due (a sample or an event stack the walker did not take,
 * a profile attached, an executable mapping added): made when it is
 * missing or stale and not tried in the last UNWIND_FEED_RETRY_NS. The
 * signature of procs__on_unwind_due's hook; feed is the struct unwind_feed.
 */
void unwind_feed__due(struct image *img, void *feed);
/* Tables came in from the CFI cache's loader: entries still waiting for
 * one are made again now, not at their process's next sample. */
void unwind_feed__tables_loaded(struct unwind_feed *f);
/* When entries the budget put off are to be made again (UINT64_MAX: none
 * waits), and the turn that does it once that time has come. */
uint64_t unwind_feed__next_try(const struct unwind_feed *f);
void unwind_feed__tick(struct unwind_feed *f, uint64_t now);
/* For procs__on_exit: pid's entry goes. */
void unwind_feed__exit(uint32_t pid, void *feed);
void unwind_feed__stats(const struct unwind_feed *f, struct unwind_feed_stats *st);

#endif
