// SPDX-License-Identifier: MIT
/*
 * The threads kind of requests (kind.h): a snapshot of every thread's
 * stack, answered at once (as Go's goroutine endpoint ignores seconds).
 * Its BPF program is loaded at the first request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kind.h"
#include "threads_snapshot.h"

struct threads_kind {
	struct profile_kind k; /* first: the kind is the threads_kind */
	struct procs *procs;
	struct kallsyms *const *ksyms;
	struct threads_snapshot *snap; /* made at the first request */
};

static bool threads_is_snapshot(const struct profile_kind *k, uint32_t pid, unsigned seconds)
{
	(void)k;
	(void)pid;
	(void)seconds;
	return true;
}

static int threads_snapshot(const struct profile_kind *k, uint32_t pid, uint8_t **data, size_t *len,
			    char *msg, size_t msglen)
{
	struct threads_kind *t = (struct threads_kind *)k;

	if (!t->snap)
		t->snap = threads_snapshot__new(t->procs, t->ksyms);
	if (!t->snap) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return threads_snapshot__profile(t->snap, pid, data, len, msg, msglen);
}

static int threads_counters(const struct profile_kind *k, char names[][48], uint64_t *values,
			    int max)
{
	return threads_snapshot__counters(((const struct threads_kind *)k)->snap, names, values,
					  max);
}

static void threads_free(struct profile_kind *k)
{
	threads_snapshot__free(((struct threads_kind *)k)->snap);
	free(k);
}

struct profile_kind *threads_kind__new(struct procs *procs, struct kallsyms *const *ksyms)
{
	struct threads_kind *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->procs = procs;
	t->ksyms = ksyms;
	t->k = (struct profile_kind){
		.id = KIND_THREADS,
		.name = "threads",
		.is_snapshot = threads_is_snapshot,
		.snapshot = threads_snapshot,
		.counters = threads_counters,
		.free = threads_free,
	};
	return &t->k;
}
