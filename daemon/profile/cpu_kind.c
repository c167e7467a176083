// SPDX-License-Identifier: MIT
/*
 * The cpu kind of requests (kind.h): the samples of one process, or of the
 * whole host, over some seconds. At the continuous rate or below, a request
 * takes the samples every process gives anyway; faster, its own perf
 * events sample that process alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cpu_profile.h"
#include "cpu_sampler.h"
#include "cpu_stream.h"
#include "kind.h"
#include "pprof.h"
#include "procs.h"
#include "stackagg.h"

#define MAX_THREADS_PER_REQUEST 4096
#define AGG_BYTES_PER_REQUEST (16u << 20)
#define AGG_BYTES_PER_WINDOW (4u << 20) /* a process's samples in a window */

struct cpu_kind {
	struct profile_kind k; /* first: the kind is the cpu_kind */
	struct cpu_stream *stream;
	unsigned frequency_hz; /* the continuous rate */
};

static int cpu_attach(const struct profile_kind *k, struct kind_hold *h, char *err, size_t errlen)
{
	const struct cpu_kind *c = (const struct cpu_kind *)k;
	struct cpu_pid_events *ev;
	int e;

	if (h->hz > KIND_MAX_HZ) {
		snprintf(err, errlen, "hz must be 1..%u", KIND_MAX_HZ);
		return 400;
	}
	if (!h->pid && h->hz > c->frequency_hz) {
		/* faster sampling of every process would cost every process */
		snprintf(err, errlen, "hz above %u needs a pid: the whole host is sampled at %u Hz",
			 c->frequency_hz, c->frequency_hz);
		return 400;
	}
	if (h->hz < c->frequency_hz) {
		h->hz = c->frequency_hz; /* never sample less than we do anyway */
		return 0;
	}
	if (!h->pid || h->hz == c->frequency_hz)
		return 0;
	/* Faster than the continuous rate: this process only. */
	ev = cpu_sampler__attach_pid(cpu_stream__sampler(c->stream), h->pid, h->hz,
				     MAX_THREADS_PER_REQUEST);
	if (ev) {
		h->handle = ev;
		h->own_events = true;
		return 0;
	}
	e = errno;
	if (e == ESRCH) {
		snprintf(err, errlen, "no such process: %u", h->pid);
		return 404;
	}
	if (e == EMFILE || e == ENFILE) {
		struct rlimit rl = { 0 };

		getrlimit(RLIMIT_NOFILE, &rl);
		snprintf(err, errlen,
			 "cannot sample pid %u at %u Hz: too many open files (limit %llu)", h->pid,
			 h->hz, (unsigned long long)rl.rlim_cur);
		return 503;
	}
	snprintf(err, errlen, "cannot sample pid %u at %u Hz: %s", h->pid, h->hz, strerror(e));
	return 500;
}

static void cpu_detach(const struct profile_kind *k, struct kind_hold *h)
{
	(void)k;
	cpu_pid_events__free(h->handle);
	h->handle = NULL;
}

static void cpu_agg_init(void *agg, const struct profile_kind *k, const struct kind_hold *h)
{
	(void)k;
	/* a host-wide request shares its byte budget across processes */
	stackagg__init(agg, h->standing ? AGG_BYTES_PER_WINDOW
			    : h->pid    ? AGG_BYTES_PER_REQUEST
					: AGG_BYTES_PER_REQUEST / 4);
}

static void cpu_agg_reset(void *agg)
{
	stackagg__reset(agg);
}

static void cpu_agg_record(void *agg, const struct kind_hold *h, const struct kind_record *r)
{
	const struct cpu_sample *s = r->rec;
	int64_t v[2] = { s->weight, (int64_t)s->weight * (1000000000ll / h->hz) };

	stackagg__add(agg, s->tid, s->comm, (const uint64_t *)s->frames, s->nr_kframes, r->uframes,
		      r->nr_uframes, v, 2);
}

static struct pprof *cpu_profile_new(const struct profile_kind *k, const struct kind_hold *h,
				     const struct kind_image *ims, unsigned n, int64_t t0,
				     int64_t dur)
{
	struct pprof *p = cpu_profile__new(h->hz, t0, dur);

	(void)k;
	(void)ims;
	(void)n;
	if (!p)
		return NULL;
	if (h->standing)
		pprof__commentf(p, "pprofd %s: cpu profile of pid %u (%s), %u Hz", PPROFD_VERSION,
				h->pid, h->comm, h->hz);
	else if (h->pid)
		pprof__commentf(p, "pprofd %s: cpu profile of pid %u, %u Hz", PPROFD_VERSION,
				h->pid, h->hz);
	else
		pprof__commentf(p, "pprofd %s: cpu profile of the whole host, %u Hz",
				PPROFD_VERSION, h->hz);
	if (!h->pid) {
		/* pprof calls the first mapping's file the profile's ("File:"):
		 * of the host's, not whichever process came first */
		pprof__mapping(
			p, &(struct pprof_mapping){ .filename = "[host]", .has_functions = true });
	}
	return p;
}

static int cpu_profile_add(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			   const struct kind_image *im)
{
	const struct stackagg *a = im->agg;
	int err = cpu_profile__add_image(p, procs, ksyms, im->img, a);

	if (a->dropped)
		pprof__commentf(p,
				"%" PRIu64 " samples of pid %u dropped: its stack table was full",
				a->dropped, im->img->pid);
	return err;
}

static uint64_t cpu_ring_drops(const struct profile_kind *k)
{
	return cpu_stream__drops(((const struct cpu_kind *)k)->stream);
}

struct profile_kind *cpu_kind__new(struct cpu_stream *stream, unsigned frequency_hz)
{
	struct cpu_kind *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->stream = stream;
	c->frequency_hz = frequency_hz;
	c->k = (struct profile_kind){
		.id = KIND_CPU,
		.name = "cpu",
		.host_wide = true,
		.attach = cpu_attach,
		.detach = cpu_detach,
		.agg_size = sizeof(struct stackagg),
		.agg_init = cpu_agg_init,
		.agg_reset = cpu_agg_reset,
		.agg_record = cpu_agg_record,
		.profile_new = cpu_profile_new,
		.profile_add = cpu_profile_add,
		.ring_drops = cpu_ring_drops,
	};
	return &c->k;
}
