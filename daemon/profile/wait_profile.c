// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "wait_profile.h"

/* A stack waiting for its wait's end. */
struct wait_pending {
	uint64_t key;
	uint32_t pid, tid;
	char thread[16];
	uint16_t nr_kframes, nr_uframes;
	uint64_t frames[]; /* kernel, then user; leaf first */
};

static bool pending_eq(const void *item, const void *key)
{
	return ((const struct wait_pending *)item)->key == *(const uint64_t *)key;
}

/* block keys are out-times, unique per thread; mutex keys are wake ids */
static uint64_t key_of(const struct wait_agg *w, const struct wait_record *r)
{
	return w->kind == WAIT_BLOCK ? r->key ^ ((uint64_t)r->tid << 40) : r->key;
}

void wait_agg__init(struct wait_agg *w, enum wait_kind kind, size_t max_bytes, size_t max_pending)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->max_pending = max_pending;
	stackagg__init(&w->agg, max_bytes);
}

static void free_table(struct hashtab *h)
{
	struct wait_pending *p;

	hashtab__for_each(h, p) free(p);
	hashtab__free(h);
}

void wait_agg__clear(struct wait_agg *w)
{
	stackagg__reset(&w->agg);
}

void wait_agg__reset(struct wait_agg *w)
{
	stackagg__reset(&w->agg);
	free_table(&w->pending[0]);
	free_table(&w->pending[1]);
}

void wait_agg__begin(struct wait_agg *w, const struct wait_record *r, const uint64_t *uframes,
		     unsigned nr_uframes)
{
	uint64_t key = key_of(w, r);
	unsigned nk = r->nr_kframes, nf = nk + nr_uframes;
	struct wait_pending *p;

	if (w->pending[0].len >= w->max_pending) {
		if (w->kind == WAIT_BLOCK) {
			w->pending_dropped++;
			return;
		}
		/* mutex: the older generation's releases have woken whom they woke */
		w->pending_dropped += w->pending[1].len;
		free_table(&w->pending[1]);
		w->pending[1] = w->pending[0];
		memset(&w->pending[0], 0, sizeof(w->pending[0]));
	}
	p = malloc(sizeof(*p) + nf * 8ul);
	if (!p) {
		w->pending_dropped++;
		return;
	}
	p->key = key;
	p->pid = r->pid;
	p->tid = r->tid;
	strncpy(p->thread, r->comm ? r->comm : "", sizeof(p->thread) - 1);
	p->thread[sizeof(p->thread) - 1] = 0;
	p->nr_kframes = nk;
	p->nr_uframes = nr_uframes;
	if (nk)
		memcpy(p->frames, r->kframes, nk * 8ul);
	if (nr_uframes)
		memcpy(p->frames + nk, uframes, nr_uframes * 8ul);
	free(hashtab__remove(&w->pending[0], hash_u64(key), pending_eq, &key));
	if (hashtab__insert(&w->pending[0], hash_u64(key), p)) {
		free(p);
		w->pending_dropped++;
	}
}

void wait_agg__end(struct wait_agg *w, const struct wait_record *r)
{
	uint64_t key = key_of(w, r), h = hash_u64(key);
	int64_t v[2] = { 1, (int64_t)r->delay_ns };
	struct wait_pending *p = NULL;
	int gen;

	for (gen = 0; gen < 2 && !p; gen++)
		p = w->kind == WAIT_BLOCK ? hashtab__remove(&w->pending[gen], h, pending_eq, &key)
					  : hashtab__find(&w->pending[gen], h, pending_eq, &key);
	if (!p) {
		w->unmatched++;
		return;
	}
	stackagg__add(&w->agg, p->tid, p->thread, p->frames, p->nr_kframes,
		      p->frames + p->nr_kframes, p->nr_uframes, v, 2);
	if (w->kind == WAIT_BLOCK)
		free(p);
}

static const struct pprof_value_type wait_types[] = {
	{ "contentions", "count" },
	{ "delay", "nanoseconds" },
};

struct pprof *wait_profile__new(int64_t time_nanos, int64_t duration_nanos)
{
	struct pprof_params params = {
		.sample_types = wait_types,
		.nr_sample_types = 2,
		.period_type = { "contentions", "count" },
		.period = 1,
		.time_nanos = time_nanos,
		.duration_nanos = duration_nanos,
	};

	return pprof__new(&params);
}
