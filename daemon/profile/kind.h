/* SPDX-License-Identifier: MIT */
/*
 * A profile kind as a request sees it: what it attaches for a process and
 * detaches, what it does with a record, how its aggregate becomes a pprof,
 * what it counts. cpu, heap, mutex and block, and threads each implement it
 * in their own file (cpu_kind.c, heap_kind.c, wait_kind.c, threads_kind.c);
 * requests.c serves every kind through it and tests none.
 */
#ifndef PPROFD_KIND_H
#define PPROFD_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum kind_id { KIND_CPU = 1, KIND_HEAP, KIND_MUTEX, KIND_BLOCK, KIND_THREADS, KIND_NR };

struct image;
struct pprof;
struct procs;
struct kallsyms;
struct stackagg;

/* What a request holds of what it profiles. */
struct kind_hold {
	uint32_t pid;     /* 0: the whole host */
	const char *comm; /* standing: the process's name */
	bool standing;    /* a *_target's: for as long as the process lives */
	unsigned hz;      /* cpu: the rate of the samples it takes (0: the continuous rate) */
	bool own_events;  /* cpu: its own perf events take its samples */
	void *handle;     /* the kind's: allocator probes, perf events */
};

/* One record offered to the requests of its kind. */
struct kind_record {
	uint32_t pid;
	uint64_t time_ns;        /* 0: not of a moment (a loss report): every request */
	bool own_events;         /* cpu: taken by a request's own perf events */
	const void *rec;         /* the kind's: cpu_sample, heap_event/heap_lost, wait_record */
	bool lost;               /* heap: rec is a heap_lost */
	const uint64_t *uframes; /* the user stack, unwound (cpu, wait) */
	unsigned nr_uframes;
};

/* A request's aggregate of one process image. */
struct kind_image {
	struct image *img; /* holds a reference (img->refs) */
	void *agg;
};

struct profile_kind {
	enum kind_id id;
	const char *name; /* as users say it: "cpu", "heap", ... */
	bool host_wide;   /* may be asked for without a pid (the others cost the
			    * process something: only for the pids asked for) */
	bool one_per_pid; /* one request of a pid at a time (shared probes) */
	void *self;       /* the kind's state */

	/* Answered at once, not collected over seconds: threads; the heap of a
	 * process a heap_target names, asked without seconds (NULL: never). */
	bool (*is_snapshot)(const struct profile_kind *k, uint32_t pid, unsigned seconds);
	/* 0 and the encoded profile, or -errno (-ESRCH: gone, -ENOSPC: busy)
	 * and why in msg. */
	int (*snapshot)(const struct profile_kind *k, uint32_t pid, uint8_t **data, size_t *len,
			char *msg, size_t msglen);

	/* Takes what h needs (NULL: nothing): 0, or an HTTP status and why in
	 * err. May change h->hz and set h->own_events, h->handle. detach is
	 * called once for each attach that returned 0. */
	int (*attach)(const struct profile_kind *k, struct kind_hold *h, char *err, size_t errlen);
	void (*detach)(const struct profile_kind *k, struct kind_hold *h);

	/* A collection's aggregate of one image: agg_size bytes that begin
	 * with its struct stackagg (whose bytes count against a budget; none
	 * of them: nothing to write), allocated and freed by the collection. */
	size_t agg_size;
	void (*agg_init)(void *agg, const struct profile_kind *k, const struct kind_hold *h);
	void (*agg_reset)(void *agg);
	void (*agg_record)(void *agg, const struct kind_hold *h, const struct kind_record *r);
	/* A standing collection's window written: what is not kept across
	 * windows cleared (NULL: everything is kept) */
	void (*agg_window_end)(void *agg);

	/* The profile of these aggregates, its comment saying what it is. */
	struct pprof *(*profile_new)(const struct profile_kind *k, const struct kind_hold *h,
				     const struct kind_image *ims, unsigned n, int64_t time_nanos,
				     int64_t duration_nanos);
	int (*profile_add)(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			   const struct kind_image *im);

	/* Records lost host-wide so far because pprofd fell behind (NULL: 0). */
	uint64_t (*ring_drops)(const struct profile_kind *k);
	/* "name value" counters for status; how many filled (NULL: none). */
	int (*counters)(const struct profile_kind *k, char names[][48], uint64_t *values, int max);
	void (*free)(struct profile_kind *k); /* NULL: free(k) is enough */
};

#define KIND_MAX_HZ 10000 /* a request's hz: 1..this (kinds that sample by time) */

/* Each kind's; NULL when out of memory. */
struct cpu_stream;
struct heap_watch;
struct wait_watch;
struct profile_kind *cpu_kind__new(struct cpu_stream *stream, unsigned frequency_hz);
struct profile_kind *heap_kind__new(struct heap_watch *w);
struct profile_kind *wait_kind__new(struct wait_watch *w, enum kind_id id);
struct profile_kind *threads_kind__new(struct procs *procs, struct kallsyms *const *ksyms);

static inline void kind_free(struct profile_kind *k)
{
	if (k && k->free)
		k->free(k);
	else
		free(k);
}

#endif
