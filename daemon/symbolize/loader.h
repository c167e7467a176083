/* SPDX-License-Identifier: MIT */
/*
 * A thread that runs long jobs for the event loop: loading the unwind or
 * symbol table of a file a user controls takes unbounded time as far as
 * the loop is concerned (libLLVM's unwind table 60 ms, a table of 8 M
 * symbols over a second), and while the loop waits nobody is served.
 *
 * The thread takes no signal (they are the loop's, through a signalfd)
 * and touches nothing but the job it runs: the job's owner reads its
 * results after loader__take has handed it back, on the owner's thread.
 */
#ifndef PPROFD_LOADER_H
#define PPROFD_LOADER_H

#include <stdbool.h>
#include <stdint.h>

struct loader_job {
	void (*run)(struct loader_job *j); /* in the loader thread */
	uint64_t ns;                       /* how long run took */
	struct loader_job *next;
};

struct loader;

/* Starts the thread, named name (at most 15 characters). NULL + errno. */
struct loader *loader__new(const char *name, unsigned queue_max);
/* Stops the thread after the job it runs; every job not taken yet, run or
 * not, is handed to drop (which may look at whether j->ns is set). */
void loader__free(struct loader *ld, void (*drop)(struct loader_job *j));
/* Readable when jobs have ended: then call loader__take. */
int loader__fd(const struct loader *ld);
/* Queues j; false (errno EAGAIN) when queue_max jobs wait already. */
bool loader__submit(struct loader *ld, struct loader_job *j);
unsigned loader__queued(const struct loader *ld);
/* The jobs that have ended since the last call (a list by next), or NULL. */
struct loader_job *loader__take(struct loader *ld);
/* Until a job has ended that was not taken, or deadline (CLOCK_MONOTONIC
 * ns; UINT64_MAX: no bound) passes. Whether one has. */
bool loader__wait(struct loader *ld, uint64_t deadline_ns);

#endif
