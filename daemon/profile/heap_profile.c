// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "heap_profile.h"
#include "pprof.h"

struct heap_block {
	uint64_t id;
	struct stack_entry *e;
	int64_t objects, bytes;
};

static bool block_eq(const void *item, const void *key)
{
	return ((const struct heap_block *)item)->id == *(const uint64_t *)key;
}

void heap_agg__init(struct heap_agg *h, size_t max_bytes, size_t max_live)
{
	*h = (struct heap_agg){ .max_live = max_live };
	stackagg__init(&h->agg, max_bytes);
}

void heap_agg__reset(struct heap_agg *h)
{
	struct heap_block *b;

	hashtab__for_each(&h->live, b) free(b);
	hashtab__free(&h->live);
	stackagg__reset(&h->agg);
}

void heap_unbias(uint64_t size, uint64_t rate, int64_t *objects, int64_t *bytes)
{
	double p;

	if (rate <= 1 || size == 0) {
		*objects = 1;
		*bytes = size;
		return;
	}
	/* Sampled with probability 1 - e^(-size/rate): each sample stands for
	 * 1/p allocations of size bytes. */
	p = -expm1(-(double)size / (double)rate);
	*objects = llround(1.0 / p);
	*bytes = llround((double)size / p);
}

void heap_weighted(uint64_t size, uint64_t weight, int64_t *objects, int64_t *bytes)
{
	int64_t n = size ? llround((double)weight / (double)size) : 1;

	*objects = n > 0 ? n : 1;
	*bytes = weight > INT64_MAX ? INT64_MAX : (int64_t)weight;
}

void heap_agg__apply(struct heap_agg *h, const struct heap_event *ev)
{
	if (ev->type == HEAP_EV_ALLOC) {
		const uint64_t *uf = (const uint64_t *)ev->frames;
		struct stack_entry *e;
		struct heap_block *b;
		int64_t objs, bytes;

		if (ev->flags & HEAP_F_WEIGHTED) {
			h->weighted++; /* no rate: not the period's */
		} else {
			if (!h->rate || ev->rate < h->rate)
				h->rate = ev->rate;
			if (ev->rate > h->rate_max)
				h->rate_max = ev->rate;
		}
		e = stackagg__get(&h->agg, ev->tid, ev->comm, NULL, 0, uf, ev->nr_frames);
		if (!e)
			return;
		if (ev->flags & HEAP_F_WEIGHTED)
			heap_weighted(ev->size, ev->rate, &objs, &bytes);
		else
			heap_unbias(ev->size, ev->rate, &objs, &bytes);
		e->values[HEAP_V_ALLOC_OBJECTS] += objs;
		e->values[HEAP_V_ALLOC_SPACE] += bytes;
		e->values[HEAP_V_INUSE_OBJECTS] += objs;
		e->values[HEAP_V_INUSE_SPACE] += bytes;
		if (ev->flags & HEAP_F_UNTRACKED)
			return; /* its free will never be seen: stays in use */
		if (h->live.len >= h->max_live || !(b = malloc(sizeof(*b)))) {
			h->dropped_live++;
			return;
		}
		*b = (struct heap_block){ ev->id, e, objs, bytes };
		if (hashtab__insert(&h->live, hash_u64(ev->id), b)) {
			free(b);
			h->dropped_live++;
		}
	} else if (ev->type == HEAP_EV_FREE) {
		uint64_t id = ev->id;
		struct heap_block *b = hashtab__remove(&h->live, hash_u64(id), block_eq, &id);

		if (!b) {
			h->frees_unmatched++;
			return;
		}
		b->e->values[HEAP_V_INUSE_OBJECTS] -= b->objects;
		b->e->values[HEAP_V_INUSE_SPACE] -= b->bytes;
		free(b);
	}
}

void heap_agg__lost(struct heap_agg *h, const struct heap_lost *l)
{
	for (int i = 0; i < HEAP_LOST_BUCKETS; i++) {
		const struct heap_lost_bucket *b = &l->b[i];
		int64_t objs, bytes;

		if (!b->n)
			continue;
		/* one bucket spans a factor 2 of size/rate: its mean stands for it */
		heap_unbias(b->bytes / b->n, b->rates / b->n, &objs, &bytes);
		h->lost_records += b->n;
		h->lost_objects += objs * (int64_t)b->n;
		h->lost_bytes += bytes * (int64_t)b->n;
	}
	if (l->nr_free_ids > HEAP_LOST_FREE_IDS)
		h->frees_lost += l->nr_free_ids - HEAP_LOST_FREE_IDS;
}

int heap_profile__add_losses(struct pprof *p, const struct heap_agg *h, uint32_t pid)
{
	int err = 0;

	if (h->lost_records) {
		struct pprof_line line = { pprof__function(p, HEAP_LOST_FRAME, HEAP_LOST_FRAME, "",
							   0) };
		uint64_t loc = pprof__location(p, 0, 0, &line, 1);
		int64_t v[4] = { h->lost_objects, h->lost_bytes, 0, 0 };
		struct pprof_label label = { .key = "pid", .num = pid };

		err = pprof__add_sample(p, &loc, 1, v, &label, 1);
		pprof__commentf(p,
				"%" PRIu64
				" sampled allocations of pid %u (~%.1f MiB) could not be "
				"sent: pprofd's ring buffer was full; counted in alloc_* under %s, "
				"their stacks and in-use unknown",
				h->lost_records, pid, h->lost_bytes / 1048576.0, HEAP_LOST_FRAME);
	}
	if (h->frees_lost) {
		pprof__commentf(p,
				"%" PRIu64
				" frees of sampled blocks of pid %u were not reported (ring "
				"buffer full): in-use counts them as still allocated",
				h->frees_lost, pid);
	}
	if (h->rate_max > h->rate) {
		pprof__commentf(p,
				"sampling rate raised up to every %" PRIu64
				" bytes at times (pprofd's "
				"reader fell behind): values stay unbiased, with more variance",
				h->rate_max);
	}
	if (h->weighted) {
		pprof__commentf(
			p,
			"%" PRIu64 " samples of pid %u: weights computed by the process "
			"(otel_memory probes), taken as they are; the period is %s %" PRIu64,
			h->weighted, pid,
			h->rate ? "the other samples' lowest rate," : "pprofd's default rate,",
			h->rate ? h->rate : (uint64_t)HEAP_DEFAULT_RATE);
	}
	if (h->dropped_live) {
		pprof__commentf(p,
				"%" PRIu64 " sampled blocks of pid %u not tracked for "
				"in-use (table full): counted as still in use",
				h->dropped_live, pid);
	}
	return err;
}

static const struct pprof_value_type heap_types[] = {
	{ "alloc_objects", "count" },
	{ "alloc_space", "bytes" },
	{ "inuse_objects", "count" },
	{ "inuse_space", "bytes" },
};

struct pprof *heap_profile__new(uint64_t rate, int64_t time_nanos, int64_t duration_nanos)
{
	struct pprof_params params = {
		.sample_types = heap_types,
		.nr_sample_types = 4,
		.period_type = { "space", "bytes" },
		.period = rate ? (int64_t)rate : HEAP_DEFAULT_RATE,
		.time_nanos = time_nanos,
		.duration_nanos = duration_nanos,
		.default_sample_type = "inuse_space",
	};

	return pprof__new(&params);
}
