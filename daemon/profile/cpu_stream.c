// SPDX-License-Identifier: MIT
/*
 * The continuous CPU profile (cpu_stream.h): samples in order with the side
 * band, the frame-pointer bookkeeping of each process's executable, and the
 * window's cpu files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"
#include "clock.h"
#include "config.h"
#include "cpu_profile.h"
#include "cpu_sampler.h"
#include "cpu_ranks.h"
#include "cpu_stream.h"
#include "log.h"
#include "output.h"
#include "pprof.h"
#include "procs.h"
#include "collection.h"
#include "kind.h"
#include "unwind_feed.h"

#define DRAIN_BUDGET_MS 100       /* of sample reading a loop turn */
#define STOP_DRAIN_BUDGET_MS 5000 /* of sample reading at the stop */
/* A sample waits at most this long for an unwind table being loaded. */
#define CFI_WAIT_MAX_NS 2000000000ull
#define NOFP_MAX 4096     /* processes whose CPU samples carry a stack copy */
#define FP_CHECKS_MAX 256 /* processes waiting for their executable's table */

struct cpu_stream {
	struct cpu_stream_opts o;
	uint64_t drain_t0; /* samples newer than this wait for the next drain */
	/* samples that arrived ahead of the side-band events before them */
	struct cpu_sample **pending;
	size_t nr_pending, cap_pending;
	/* records still in the ring when the stop's drain ran out of time */
	bool discard;
	struct cpu_stream_stats st;
	uint32_t nofp[NOFP_MAX]; /* pids whose bit is set in the CPU program's nofp[] */
	unsigned nr_nofp;
	/* processes whose executable's table was loading at their first
	 * sample: decided as soon as it is in, not at their next sample */
	struct {
		uint32_t pid;
		uint64_t begin_ns, pc;
	} fp_checks[FP_CHECKS_MAX];
	unsigned nr_fp_checks;
	struct cpu_sampler *sampler; /* set by cpu_stream__start */
	struct profile_kind *kind;   /* cpu requests' (cpu_kind.c) */
	struct collection window;    /* every process's samples in this window */
	struct cpu_ranks ranks;      /* the last windows' processes by samples */
};

struct cpu_stream *cpu_stream__new(const struct cpu_stream_opts *o)
{
	struct cpu_stream *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->o = *o;
	cs->kind = cpu_kind__new(cs, o->cfg->frequency_hz);
	if (!cs->kind) {
		free(cs);
		return NULL;
	}
	return cs;
}

void cpu_stream__start(struct cpu_stream *cs, struct cpu_sampler *sampler)
{
	cs->sampler = sampler;
	collection__init(&cs->window, cs->kind,
			 &(struct kind_hold){ .hz = cs->o.cfg->frequency_hz, .standing = true }, 0);
	collector__add(cs->o.collector, &cs->window);
}

struct profile_kind *cpu_stream__kind(struct cpu_stream *cs)
{
	return cs->kind;
}

struct cpu_sampler *cpu_stream__sampler(struct cpu_stream *cs)
{
	return cs->sampler;
}

void cpu_stream__free(struct cpu_stream *cs)
{
	if (!cs)
		return;
	collector__remove(cs->o.collector, &cs->window);
	collection__reset(&cs->window);
	cpu_ranks__free(&cs->ranks);
	kind_free(cs->kind);
	for (size_t i = 0; i < cs->nr_pending; i++)
		free(cs->pending[i]);
	free(cs->pending);
	free(cs);
}

/*
 * The first sample of a process taken in its executable decides whether
 * the executable has frame pointers, from the share of its code whose CFA
 * its .eh_frame puts on rbp (cfi.h). Without (gcc -O2's default), the CPU program
 * is told to send a stack copy with each of its samples, unwound by CFI;
 * the samples before that one keep the frames the walk found.
 */
static void check_frame_pointers(struct cpu_stream *cs, struct image *img, uint64_t pc)
{
	const struct cfi_table *t;
	uint64_t off;

	t = procs__cfi_for(cs->o.procs, img, pc, &off, false);
	if (!t && errno == EAGAIN) {
		/* its table is loading or put off: asked again when tables come
		 * in (cpu_stream__tables_loaded), or at its next sample */
		unsigned i;

		for (i = 0; i < cs->nr_fp_checks && cs->fp_checks[i].pid != img->pid; i++)
			;
		if (i == cs->nr_fp_checks) {
			if (i == FP_CHECKS_MAX)
				return; /* decided at its next sample */
			cs->nr_fp_checks++;
		}
		/* a pid's entry follows its latest image (an exec replaces it) */
		cs->fp_checks[i].pid = img->pid;
		cs->fp_checks[i].begin_ns = img->begin_ns;
		cs->fp_checks[i].pc = pc;
		return;
	}
	img->exe_fp = IMAGE_FP_WITH;
	if (!t || cfi_table__bp_share(t) >= CFI_BP_SHARE_FP)
		return;
	if (cs->nr_nofp == NOFP_MAX) {
		if (!cs->st.nofp_full++)
			log_warn("cpu: more than %u processes without frame pointers: the rest "
				 "keep the frame-pointer walk",
				 NOFP_MAX);
		return;
	}
	img->exe_fp = IMAGE_FP_WITHOUT;
	cs->nofp[cs->nr_nofp++] = img->pid;
	cpu_sampler__set_nofp(cs->sampler, img->pid, true);
	log_debug("cpu: pid %u (%s): no frame pointers in its executable: unwinding by CFI",
		  img->pid, img->comm);
}

void cpu_stream__tables_loaded(struct cpu_stream *cs)
{
	uint64_t now = mono_ns();

	for (unsigned i = 0; i < cs->nr_fp_checks;) {
		struct image *img = procs__image_at(cs->o.procs, cs->fp_checks[i].pid, now);

		/* the same image (the pc is its executable's), still undecided */
		if (img && img->begin_ns != cs->fp_checks[i].begin_ns)
			img = NULL;
		if (img && !img->exe_fp && !img->end_ns)
			check_frame_pointers(cs, img, cs->fp_checks[i].pc);
		if (img && !img->exe_fp && !img->end_ns) {
			i++; /* still loading */
			continue;
		}
		cs->fp_checks[i] = cs->fp_checks[--cs->nr_fp_checks];
	}
}

/* At a window's end: the bits of processes that exited or exec'd go. */
static void forget_nofp(struct cpu_stream *cs)
{
	uint64_t now = mono_ns();

	for (unsigned i = 0; i < cs->nr_nofp;) {
		struct image *img = procs__image_at(cs->o.procs, cs->nofp[i], now);

		if (img && !img->end_ns && img->exe_fp == IMAGE_FP_WITHOUT) {
			i++;
			continue;
		}
		cpu_sampler__set_nofp(cs->sampler, cs->nofp[i], false);
		cs->nofp[i] = cs->nofp[--cs->nr_nofp];
	}
}

/* A copy of s waits in the pending queue for the next drain; false when
 * the queue is full (the caller decides what that costs). */
static bool pend_sample(struct cpu_stream *cs, const struct cpu_sample *s, size_t size)
{
	struct cpu_sample *copy;

	if (cs->nr_pending == cs->cap_pending) {
		size_t cap = cs->cap_pending ? cs->cap_pending * 2 : 64;
		struct cpu_sample **np = cap > 65536 ? NULL
						     : realloc(cs->pending, cap * sizeof(*np));

		if (!np)
			return false;
		cs->pending = np;
		cs->cap_pending = cap;
	}
	copy = malloc(size);
	if (!copy)
		return false;
	memcpy(copy, s, size);
	cs->pending[cs->nr_pending++] = copy;
	return true;
}

static void add_sample(struct cpu_stream *cs, const struct cpu_sample *s)
{
	struct procs *procs = cs->o.procs;
	struct image *img = procs__image_at(procs, s->pid, s->time_ns);
	const uint64_t *uf = (const uint64_t *)s->frames + s->nr_kframes;
	uint64_t unwound[CPU_MAX_FRAMES];
	struct kind_record rec;
	unsigned nu = s->nr_uframes;

	if (!img) {
		cs->st.untracked++;
		return;
	}
	/* The walker could not take it: the process's entry is due */
	if (*cs->o.ufeed && !(s->flags & (CPU_F_TABLES | CPU_F_KTHREAD)))
		unwind_feed__due(img, *cs->o.ufeed);
	if (s->flags & CPU_F_USTACK) {
		/* a pc in a library: unwind it through its .eh_frame */
		struct procs_stats before, after;
		int n;

		procs__stats(procs, &before);
		n = procs__unwind_user(procs, img, (const void *)uf, s->ustack_len, unwound,
				       CPU_MAX_FRAMES, false);
		procs__stats(procs, &after);
		/* A table it needs is loading (in the cache's thread, ms): the
		 * sample waits for it, its stack copy with it, unless it has
		 * waited long enough or pprofd is stopping. */
		if (after.files.cfi_not_ready != before.files.cfi_not_ready &&
		    cs->drain_t0 != UINT64_MAX && cs->drain_t0 - s->time_ns < CFI_WAIT_MAX_NS &&
		    pend_sample(cs, s, cpu_sample__size(s))) {
			cs->st.waited_for_tables++;
			return;
		}
		if (n < 0)
			cs->st.unwind_errors++;
		uf = unwound;
		nu = n > 0 ? n : 0;
	} else if (!img->exe_fp && nu && !(s->flags & CPU_F_KTHREAD)) {
		check_frame_pointers(cs, img, uf[0]);
	}
	/* The main thread's name is the process's, where we know no better. */
	if (!img->comm[0] && s->tid == s->pid && !(s->flags & CPU_F_REQUEST))
		memcpy(img->comm, s->comm, sizeof(img->comm) - 1);
	/* Resolve mappings now, while the process most likely still lives. */
	for (unsigned i = 0; i < nu; i++)
		procs__find_mapping(procs, img, uf[i]);
	/* to the window's profile and the requests' (a request's own faster
	 * sampling to that request only: its own_events) */
	rec = (struct kind_record){ .pid = s->pid,
				    .time_ns = s->time_ns,
				    .own_events = s->flags & CPU_F_REQUEST,
				    .rec = s,
				    .uframes = uf,
				    .nr_uframes = nu };
	collector__offer(cs->o.collector, KIND_CPU, img, &rec);
}

void cpu_stream__on_sample(const struct cpu_sample *s, size_t size, void *ctx)
{
	struct cpu_stream *cs = ctx;

	if (cs->discard) {
		cs->st.stop_dropped++;
		return;
	}
	if (s->time_ns > cs->drain_t0) {
		/* Taken after we read the side-band: an exec or mmap before it
		 * may not be applied yet. Keep it for the next round. */
		if (!pend_sample(cs, s, size))
			cs->st.pending_dropped++;
		return;
	}
	add_sample(cs, s);
}

void cpu_stream__begin_drain(struct cpu_stream *cs, bool all)
{
	cs->drain_t0 = all ? UINT64_MAX : mono_ns();
}

/*
 * Samples are read for at most DRAIN_BUDGET_MS a turn, so that a costly
 * stretch of them (unwind tables to load) never keeps the loop from
 * signals, requests and deadlines: what is left is read at the next turn,
 * which then comes at once; if pprofd stays behind, the ring fills and the
 * kernel counts what it refuses.
 */
bool cpu_stream__drain(struct cpu_stream *cs, bool all)
{
	size_t n = cs->nr_pending;
	struct cpu_sample **pend = cs->pending;
	bool backlog;

	cs->pending = NULL;
	cs->nr_pending = cs->cap_pending = 0;
	for (size_t i = 0; i < n; i++) {
		cpu_stream__on_sample(pend[i], cpu_sample__size(pend[i]), cs);
		free(pend[i]);
	}
	free(pend);
	backlog = cpu_sampler__drain(cs->sampler,
				     mono_ns() + (all ? STOP_DRAIN_BUDGET_MS : DRAIN_BUDGET_MS) *
							 1000000ull) == 1;
	if (backlog && all) {
		/* stopping: what is left is counted, not read */
		cs->discard = true;
		cpu_sampler__drain(cs->sampler, 0);
		cs->discard = false;
		backlog = false;
		log_warn("stopping: %" PRIu64
			 " samples left unread in the ring after %u ms (counted "
			 "as drops_at_stop)",
			 cs->st.stop_dropped, STOP_DRAIN_BUDGET_MS);
	}
	return backlog;
}

uint64_t cpu_stream__drops(struct cpu_stream *cs)
{
	uint64_t c[CPU_CNT_NR] = { 0 };

	cpu_sampler__counters(cs->sampler, c);
	return c[CPU_CNT_DROP_RINGBUF] + cs->st.pending_dropped + cs->st.stop_dropped;
}

void cpu_stream__write_window(struct cpu_stream *cs, struct timespec start_real,
			      int64_t duration_ns)
{
	struct write_stats st = { 0 };

	cpu_ranks__window_end(&cs->ranks, &cs->window, duration_ns);
	/* short_lived_files = per_name: those that began in this window (as
	 * the side band dated them) and have exited go together by name */
	uint64_t now = mono_ns(), since = 0;

	if (cs->o.cfg->short_lived_per_name && duration_ns > 0 && now > (uint64_t)duration_ns)
		since = now - (uint64_t)duration_ns;
	collection__write_window(&cs->window, cs->o.procs, *cs->o.ksyms, cs->o.health,
				 cs->o.cfg->output_dir, start_real, duration_ns, NULL, since, &st);
	cs->st.files += st.files;
	cs->st.bytes += st.bytes;
	cs->st.write_errors += st.errors;
	forget_nofp(cs);
}

const struct cpu_ranks *cpu_stream__ranks(const struct cpu_stream *cs)
{
	return &cs->ranks;
}

void cpu_stream__stats(const struct cpu_stream *cs, struct cpu_stream_stats *st)
{
	*st = cs->st;
	st->nofp = cs->nr_nofp;
}
