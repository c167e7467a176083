// SPDX-License-Identifier: MIT
/*
 * The heap kind of requests (kind.h): the allocations of one process over
 * some seconds, through the allocator probes heap_watch shares; or, for a
 * process a heap_target names asked without seconds, its continuous
 * profile as it stands (as Go's /debug/pprof/heap answers at once).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_profile.h"
#include "heap_watch.h"
#include "kind.h"
#include "pprof.h"
#include "procs.h"
#include "stack_profile.h"

#define AGG_BYTES_PER_REQUEST (16u << 20)
#define HEAP_MAX_LIVE_PER_REQUEST (1u << 20)
#define STANDING_MAX_BYTES (8u << 20) /* a heap_target's stack table */
#define STANDING_MAX_LIVE (1u << 18)  /* its sampled live blocks */

static struct heap_watch *watch(const struct profile_kind *k)
{
	return k->self;
}

static bool heap_is_snapshot(const struct profile_kind *k, uint32_t pid, unsigned seconds)
{
	return !seconds && pid && heap_watch__watches(watch(k), pid);
}

static int heap_snapshot(const struct profile_kind *k, uint32_t pid, uint8_t **data, size_t *len,
			 char *msg, size_t msglen)
{
	int err = heap_watch__current(watch(k), pid, data, len);

	if (err == -ENOENT) {
		snprintf(msg, msglen,
			 "pid %u is no longer heap-profiled continuously: ask with seconds", pid);
		return -ESRCH;
	}
	if (err)
		snprintf(msg, msglen, "cannot encode the profile: %s", strerror(-err));
	return err;
}

static int heap_attach(const struct profile_kind *k, struct kind_hold *h, char *err, size_t errlen)
{
	int e;

	snprintf(err, errlen, "heap profiling is not available");
	h->handle = heap_watch__attach(watch(k), h->pid, err, errlen);
	if (h->handle)
		return 0;
	e = errno;
	return e == ESRCH ? 404 : e == ENOENT || e == EOPNOTSUPP ? 400 : 500;
}

static void heap_detach(const struct profile_kind *k, struct kind_hold *h)
{
	if (h->handle)
		heap_watch__detach(watch(k), h->handle);
	h->handle = NULL;
}

static void heap_agg_init(void *agg, const struct profile_kind *k, const struct kind_hold *h)
{
	(void)k;
	if (h->standing)
		heap_agg__init(agg, STANDING_MAX_BYTES, STANDING_MAX_LIVE);
	else
		heap_agg__init(agg, AGG_BYTES_PER_REQUEST, HEAP_MAX_LIVE_PER_REQUEST);
}

static void heap_agg_reset(void *agg)
{
	heap_agg__reset(agg);
}

static void heap_agg_record(void *agg, const struct kind_hold *h, const struct kind_record *r)
{
	(void)h;
	if (r->lost)
		heap_agg__lost(agg, r->rec);
	else
		heap_agg__apply(agg, r->rec);
}

static struct pprof *heap_profile_new(const struct profile_kind *k, const struct kind_hold *h,
				      const struct kind_image *ims, unsigned n, int64_t t0,
				      int64_t dur)
{
	uint64_t rate = 0;
	struct pprof *p;

	for (unsigned i = 0; i < n; i++)
		if (((const struct heap_agg *)ims[i].agg)->rate)
			rate = ((const struct heap_agg *)ims[i].agg)->rate;
	(void)k;
	p = heap_profile__new(rate, t0, dur);
	if (!p)
		return NULL;
	if (h->standing) {
		pprof__commentf(p,
				"pprofd %s: heap profile of pid %u (%s); allocations made before "
				"pprofd attached are not known",
				PPROFD_VERSION, h->pid, h->comm);
		return p;
	}
	pprof__commentf(p, "pprofd %s: heap profile of pid %u over %.1f s", PPROFD_VERSION, h->pid,
			dur / 1e9);
	pprof__add_comment(p, "only allocations made during the profile are known: in-use counts "
			      "the blocks they left allocated");
	return p;
}

static int heap_profile_add(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			    const struct kind_image *im)
{
	const struct heap_agg *a = im->agg;
	/* an allocation's frames are all return addresses */
	int err = stack_profile__add(p, procs, ksyms, im->img, &a->agg, false);

	return err ? err : heap_profile__add_losses(p, a, im->img->pid);
}

static int heap_counters(const struct profile_kind *k, char names[][48], uint64_t *values, int max)
{
	return heap_watch__counters(watch(k), names, values, max);
}

struct profile_kind *heap_kind__new(struct heap_watch *w)
{
	struct profile_kind *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	*k = (struct profile_kind){
		.id = KIND_HEAP,
		.name = "heap",
		.one_per_pid = true,
		.self = w,
		.is_snapshot = heap_is_snapshot,
		.snapshot = heap_snapshot,
		.attach = heap_attach,
		.detach = heap_detach,
		.agg_size = sizeof(struct heap_agg),
		.agg_init = heap_agg_init,
		.agg_reset = heap_agg_reset,
		.agg_record = heap_agg_record,
		.profile_new = heap_profile_new,
		.profile_add = heap_profile_add,
		.counters = heap_counters,
	};
	return k;
}
