/* SPDX-License-Identifier: MIT */
/*
 * Heap samples of one process image, as Go's heap profile counts them:
 * every sampled allocation adds its unbiased objects and bytes to its
 * stack's alloc_* and inuse_* values; the free of a sampled block takes
 * them back out of inuse_*. Blocks are matched to their allocation by the
 * sample id the BPF side gives them.
 */
#ifndef PPROFD_HEAP_PROFILE_H
#define PPROFD_HEAP_PROFILE_H

#include <stdint.h>

#include "hashtab.h"
#include "heap.h"
#include "stackagg.h"

/* values of a heap stack_entry */
enum { HEAP_V_ALLOC_OBJECTS, HEAP_V_ALLOC_SPACE, HEAP_V_INUSE_OBJECTS, HEAP_V_INUSE_SPACE };

struct heap_agg {
	struct stackagg agg; /* first: a kind's aggregate begins with its stacks (kind.h) */
	struct hashtab live; /* sample id -> struct heap_block */
	size_t max_live;
	uint64_t rate;            /* the lowest sampling rate seen (the profile's period) */
	uint64_t weighted;        /* samples weighted by the process (HEAP_F_WEIGHTED): no rate */
	uint64_t rate_max;        /* the highest: above `rate` when BPF raised it (heap.h) */
	uint64_t dropped_live;    /* blocks whose free cannot be matched: table full */
	uint64_t frees_unmatched; /* frees of blocks sampled before we looked */
	/* Sampled allocations BPF could not send (ring full), unbiased. */
	uint64_t lost_records;
	int64_t lost_objects, lost_bytes;
	uint64_t frees_lost; /* frees of sampled blocks never reported: in-use too high */
};

void heap_agg__init(struct heap_agg *h, size_t max_bytes, size_t max_live);
void heap_agg__reset(struct heap_agg *h);
/* Applies one record (already checked for size). */
void heap_agg__apply(struct heap_agg *h, const struct heap_event *ev);
/* Counts what BPF could not send for this process (heap.h): the lost
 * allocations, unbiased, and the frees beyond the deferred ids (which the
 * caller applies as free records). */
void heap_agg__lost(struct heap_agg *h, const struct heap_lost *l);

/* The unbiased (objects, bytes) that one sample of `size` bytes at `rate`
 * stands for (Go's scaleHeapSample). */
void heap_unbias(uint64_t size, uint64_t rate, int64_t *objects, int64_t *bytes);
/* The same of a sample the process weighted (otel_memory's weighted_bytes):
 * weight bytes, weight / size objects (rounded, at least 1; size 0: 1). */
void heap_weighted(uint64_t size, uint64_t weight, int64_t *objects, int64_t *bytes);

struct pprof;
/* A new, empty heap profile (default sample type inuse_space). */
struct pprof *heap_profile__new(uint64_t rate, int64_t time_nanos, int64_t duration_nanos);
/* h's losses in p: the lost allocations as a sample of their own (alloc_*
 * values, under HEAP_LOST_FRAME), a comment for each kind of loss, and one
 * for a raised rate. */
int heap_profile__add_losses(struct pprof *p, const struct heap_agg *h, uint32_t pid);

#define HEAP_LOST_FRAME "[pprofd_lost_allocations]"

#endif
