// SPDX-License-Identifier: MIT
/*
 * The mutex and block kinds of requests (kind.h): one process made a target
 * of the lock or the off-CPU sampler for some seconds, through wait_watch,
 * which shares the samplers with the continuous lock_target profiles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kind.h"
#include "pprof.h"
#include "procs.h"
#include "stack_profile.h"
#include "wait_profile.h"
#include "wait_watch.h"

#define AGG_BYTES_PER_REQUEST (16u << 20)
#define STANDING_MAX_BYTES (8u << 20) /* a lock_target's stack table, per kind */
#define MAX_PENDING 65536             /* waits whose end is awaited, per table */

struct wait_req_kind {
	struct profile_kind k; /* first: the kind is the wait_kind */
	struct wait_watch *watch;
	enum wait_kind which;
};

static const struct wait_req_kind *wk(const struct profile_kind *k)
{
	return (const struct wait_req_kind *)k;
}

static int wait_attach(const struct profile_kind *k, struct kind_hold *h, char *err, size_t errlen)
{
	int e;

	snprintf(err, errlen, "not available");
	e = wait_watch__attach(wk(k)->watch, wk(k)->which, h->pid, err, errlen);
	return !e ? 0 : e == -ENOSPC ? 429 : 500;
}

static void wait_detach(const struct profile_kind *k, struct kind_hold *h)
{
	wait_watch__detach(wk(k)->watch, wk(k)->which, h->pid);
}

static void wait_agg_init(void *agg, const struct profile_kind *k, const struct kind_hold *h)
{
	wait_agg__init(agg, wk(k)->which, h->standing ? STANDING_MAX_BYTES : AGG_BYTES_PER_REQUEST,
		       MAX_PENDING);
}

static void wait_agg_reset(void *agg)
{
	wait_agg__reset(agg);
}

/* A window's waits written; those still pending end in the next one. */
static void wait_agg_window_end(void *agg)
{
	wait_agg__clear(agg);
}

static void wait_agg_record(void *agg, const struct kind_hold *h, const struct kind_record *r)
{
	const struct wait_record *rec = r->rec;

	(void)h;
	if (rec->type == WAIT_REC_BEGIN)
		wait_agg__begin(agg, rec, r->uframes, r->nr_uframes);
	else
		wait_agg__end(agg, rec);
}

static struct pprof *wait_profile_new(const struct profile_kind *k, const struct kind_hold *h,
				      const struct kind_image *ims, unsigned n, int64_t t0,
				      int64_t dur)
{
	struct pprof *p = wait_profile__new(t0, dur);

	(void)ims;
	(void)n;
	if (!p)
		return NULL;
	if (h->standing)
		pprof__commentf(p, "pprofd %s: %s profile of pid %u (%s)", PPROFD_VERSION, k->name,
				h->pid, h->comm);
	else
		pprof__commentf(p, "pprofd %s: %s profile of pid %u over %.1f s", PPROFD_VERSION,
				k->name, h->pid, dur / 1e9);
	pprof__add_comment(
		p, wk(k)->which == WAIT_MUTEX
			   ? "each sample: the stack that released a contended lock; delay: the "
			     "time its waiters waited for it"
			   : "each sample: where a thread blocked; delay: how long it was off CPU "
			     "(waits that had not ended when the profile was cut are not counted)");
	return p;
}

static int wait_profile_add(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			    const struct kind_image *im)
{
	return stack_profile__add(p, procs, ksyms, im->img, &((struct wait_agg *)im->agg)->agg,
				  false);
}

static uint64_t wait_ring_drops(const struct profile_kind *k)
{
	return wait_watch__ring_drops(wk(k)->watch, wk(k)->which);
}

/* Both samplers' counters, under mutex. */
static int wait_counters(const struct profile_kind *k, char names[][48], uint64_t *values, int max)
{
	return wait_watch__counters(wk(k)->watch, names, values, max);
}

struct profile_kind *wait_kind__new(struct wait_watch *w, enum kind_id id)
{
	struct wait_req_kind *c = calloc(1, sizeof(*c));
	bool mutex = id == KIND_MUTEX;

	if (!c)
		return NULL;
	c->watch = w;
	c->which = mutex ? WAIT_MUTEX : WAIT_BLOCK;
	c->k = (struct profile_kind){
		.id = id,
		.name = mutex ? "mutex" : "block",
		.attach = wait_attach,
		.detach = wait_detach,
		.agg_size = sizeof(struct wait_agg),
		.agg_init = wait_agg_init,
		.agg_reset = wait_agg_reset,
		.agg_record = wait_agg_record,
		.agg_window_end = wait_agg_window_end,
		.profile_new = wait_profile_new,
		.profile_add = wait_profile_add,
		.ring_drops = wait_ring_drops,
		.counters = mutex ? wait_counters : NULL,
	};
	return &c->k;
}
