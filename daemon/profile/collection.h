/* SPDX-License-Identifier: MIT */
/*
 * One collector for every profile collected over time: a request's (for
 * its seconds) and a continuous *_target's (for as long as its process
 * lives, written at each window's end). A collection holds a kind's
 * aggregates of the process images whose records it took; the collector
 * offers each record to the collections of its kind; a collection's
 * profile is built the same way whoever asked for it.
 */
#ifndef PPROFD_COLLECTION_H
#define PPROFD_COLLECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hashtab.h"
#include "kind.h"

struct collection {
	struct profile_kind *k;
	struct kind_hold hold;  /* what it profiles, at what rate */
	uint64_t start_ns;      /* records of an earlier time are not its */
	uint64_t ring_drops0;   /* the kind's ring drops at its start (or window's) */
	struct kind_image *ims; /* one aggregate per process image */
	unsigned nr_ims, cap_ims;
	struct hashtab by_img;   /* image -> its index in ims, plus one */
	unsigned last;           /* the index of the last image a record went to */
	size_t bytes;            /* of every aggregate, for the host-wide limit */
	uint64_t dropped;        /* records not kept: that limit was reached */
	uint64_t no_memory;      /* records not kept: no aggregate for their image */
	struct collection *next; /* in its collector */
};

struct collector {
	struct collection *head;
};

/* c for kind k and what h holds (attached already), from start_ns. */
void collection__init(struct collection *c, struct profile_kind *k, const struct kind_hold *h,
		      uint64_t start_ns);
/* Its aggregates freed, their images' references dropped. */
void collection__reset(struct collection *c);

void collector__add(struct collector *col, struct collection *c);
void collector__remove(struct collector *col, struct collection *c);
/* One record of a kind (matched to its image img; the user stack unwound
 * where the kind has one) to every collection of that kind that wants it. */
void collector__offer(struct collector *col, enum kind_id kind, struct image *img,
		      const struct kind_record *rec);

/* Whether its process's image ended (a pid's collection only). */
bool collection__exited(const struct collection *c);
/* Whether it took no stack yet. */
bool collection__empty(const struct collection *c);

struct procs;
struct kallsyms;
struct pprof;
/*
 * Its profile, of time_nanos (wall clock) over duration_nanos: the kind's
 * comment, then cut (NULL, or why it ends early), the records lost
 * host-wide since its start or its window's ("while this profile ran" or,
 * standing, "in this window"), its stacks. NULL and -errno in *err.
 */
struct pprof *collection__build(struct collection *c, struct procs *procs,
				const struct kallsyms *ksyms, int64_t time_nanos,
				int64_t duration_nanos, const char *cut, int *err);
/* Its profile as collection__build makes it, encoded (gzip'ed pprof) into
 * a malloc'ed *data: 0 or -errno. */
int collection__encode(struct collection *c, struct procs *procs, const struct kallsyms *ksyms,
		       int64_t time_nanos, int64_t duration_nanos, const char *cut, uint8_t **data,
		       size_t *len);
struct output_health;
/* What windows wrote. */
struct write_stats {
	uint64_t files, bytes, errors;
};
/*
 * A standing collection's window (its start, wall clock) written under dir
 * when it took stacks, as output__write_profile does, the outcome given to
 * h and counted in st (NULL: not counted): one file of its process, or for
 * the whole host one file per process; then collection__window_end. With
 * short_since_ns (CLOCK_MONOTONIC; 0: not), the host's processes that
 * began at or after it and have ended (exited, or exec'd: the image before
 * the exec) go together, one file per name
 * (<comm>-short/, pid 0 to output__write), each sample with its pid.
 */
void collection__write_window(struct collection *c, struct procs *procs,
			      const struct kallsyms *ksyms, struct output_health *h,
			      const char *dir, struct timespec start, int64_t duration_nanos,
			      const char *cut, uint64_t short_since_ns, struct write_stats *st);
/* A window written: what the kind keeps across windows stays (heap), the
 * rest is cleared (mutex, block), or for the whole host, every aggregate
 * goes with its image's reference (cpu); ring drops count from now. */
void collection__window_end(struct collection *c);

#endif
