// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collection.h"
#include "cont_list.h"
#include "heap_probe_files.h"
#include "heap_profile.h"
#include "heap_sampler.h"
#include "heap_watch.h"
#include "kind.h"
#include "log.h"
#include "loop_fd.h"
#include "output.h"
#include "pprof.h"
#include "procs.h"
#include "stack_profile.h"

struct heap_attach {
	uint32_t pid;
	unsigned refs;
	struct heap_probes *t;
	struct heap_attach *next;
};

/* A process the config names: profiled for as long as it lives. */
struct heap_cont {
	struct cont c;         /* first: the list's record */
	struct heap_attach *a; /* NULL once released */
	struct collection col; /* in the collector while attached */
};

static struct heap_cont *heap_cont(struct cont *c)
{
	return (struct heap_cont *)c;
}

/* A named process whose libc was not mapped yet when we saw its exec:
 * tried again at the next drains. */
#define PENDING_MAX 64
#define PENDING_TRIES 5
struct heap_pending {
	uint32_t pid;
	unsigned tries;
};

struct heap_watch {
	struct watch_opts o;
	struct heap_pending pending[PENDING_MAX];
	unsigned nr_pending;
	struct heap_sampler *s;
	bool failed;            /* the sampler could not load: do not retry per request */
	uint64_t unwind_errors; /* sampled allocations whose stack record was malformed */
	struct loop_fd fd_w;
	struct heap_attach *attached;
	struct cont_list conts;
	struct profile_kind *kind; /* heap requests' (heap_kind.c) */
};

static void on_fd(struct loop_fd *w, uint32_t events)
{
	/* drained by the daemon's loop with every other ring */
}

static void offer(struct heap_watch *w, struct image *img, const struct kind_record *rec)
{
	collector__offer(w->o.collector, KIND_HEAP, img, rec);
}

/* Whether two mappings map the same file. */
static bool same_file(const struct mapping *a, const struct mapping *b)
{
	return a->ino == b->ino && a->maj == b->maj && a->min == b->min;
}

/* A stack taken at an in-process sampler's probe starts inside the
 * sampler (its malloc, its sampling), in the file whose probe fired, which
 * holds the first frame (the probe's address), whatever it is called: the
 * profile starts at the caller of malloc, as with the allocator's uprobes.
 * Returns the frames kept. */
static int drop_sampler_frames(struct heap_watch *w, struct image *img, uint64_t *frames, int n)
{
	struct mapping *fired = n ? procs__find_mapping(w->o.procs, img, frames[0]) : NULL;
	int k = 0;

	if (!fired || mapping_is_anon(fired))
		return n;
	while (k < n) {
		struct mapping *m = procs__find_mapping(w->o.procs, img, frames[k]);

		if (!m || !same_file(m, fired))
			break;
		k++;
	}
	if (k == n)
		return n; /* all the sampler's, or none known: keep what there is */
	memmove(frames, frames + k, (n - k) * sizeof(*frames));
	return n - k;
}

static void on_event(const struct heap_event *ev, size_t size, void *ctx)
{
	struct heap_watch *w = ctx;
	struct image *img = procs__image_at(w->o.procs, ev->pid, ev->time_ns);
	union {
		struct heap_event e;
		char b[sizeof(struct heap_event) + HEAP_MAX_FRAMES * 8];
	} u;

	if (!img)
		return;
	if (ev->flags & HEAP_F_USTACK) {
		/* Unwound once here, for the continuous profile and requests
		 * alike: the rbp chain where there is one, .eh_frame where not. */
		int n = procs__unwind_user(w->o.procs, img, (const struct ustack_hdr *)ev->frames,
					   ev->ustack_len, (uint64_t *)u.e.frames, HEAP_MAX_FRAMES,
					   true);

		memcpy(&u.e, ev, sizeof(*ev));
		if (n < 0) {
			w->unwind_errors++;
			n = 0;
		}
		if (ev->fn == HEAP_FN_USDT_ALLOC)
			n = drop_sampler_frames(w, img, (uint64_t *)u.e.frames, n);
		u.e.nr_frames = n;
		u.e.flags &= ~HEAP_F_USTACK;
		u.e.ustack_len = 0;
		ev = &u.e;
	}
	offer(w, img, &(struct kind_record){ .pid = ev->pid, .time_ns = ev->time_ns, .rec = ev });
}

/* The losses of one process since the last drain: its deferred frees go
 * the way of every free record, the rest is counted where it belongs. */
static void on_lost(uint32_t pid, const struct heap_lost *l, void *ctx)
{
	struct heap_watch *w = ctx;
	struct timespec ts;
	struct heap_event free_ev = { .type = HEAP_EV_FREE, .pid = pid, .fn = HEAP_FN_FREE };
	struct image *img;
	struct cont *c;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	free_ev.time_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	img = procs__image_at(w->o.procs, pid, free_ev.time_ns);
	if (!img && (c = cont_list__find(&w->conts, pid)))
		img = c->img; /* gone: the continuous profile holds its image */
	if (!img)
		return;
	for (uint64_t i = 0; i < l->nr_free_ids && i < HEAP_LOST_FREE_IDS; i++) {
		free_ev.id = l->free_ids[i];
		on_event(&free_ev, HEAP_FREE_EVENT_SIZE, w);
	}
	offer(w, img, &(struct kind_record){ .pid = pid, .rec = l, .lost = true });
}

static cont_fn cont_release, cont_free;

struct heap_watch *heap_watch__new(const struct watch_opts *o)
{
	struct heap_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->o = *o;
	w->conts = cont_list__make("heap", "heap_target", cont_release, cont_free, w);
	w->kind = heap_kind__new(w);
	if (!w->kind) {
		free(w);
		return NULL;
	}
	return w;
}

struct profile_kind *heap_watch__kind(struct heap_watch *w)
{
	return w->kind;
}

static struct heap_sampler *sampler(struct heap_watch *w)
{
	if (w->s || w->failed)
		return w->s;
	w->s = heap_sampler__new(&(struct heap_sampler_opts){
		.rate = w->o.cfg->heap_sample_bytes,
		.fn = on_event,
		.lost_fn = on_lost,
		.ctx = w,
		.unwind = &w->o.unwind,
		.files = w->o.files,
	});
	if (!w->s) {
		w->failed = true; /* logged by the sampler */
		return NULL;
	}
	w->fd_w = (struct loop_fd){ .fd = heap_sampler__fd(w->s), .fn = on_fd };
	loop_fd_add(w->o.epfd, &w->fd_w, EPOLLIN);
	return w->s;
}

struct heap_attach *heap_watch__attach(struct heap_watch *w, uint32_t pid, char *err, size_t errlen)
{
	struct heap_attach *a;

	for (a = w->attached; a; a = a->next) {
		if (a->pid == pid) {
			a->refs++;
			return a;
		}
	}
	if (!sampler(w)) {
		snprintf(err, errlen,
			 "heap profiling is not available on this host (see pprofd's log)");
		errno = ENOSYS;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	a->t = heap_sampler__attach_pid(w->s, pid, err, errlen);
	if (!a->t) {
		int e = errno;

		free(a);
		errno = e;
		return NULL;
	}
	a->pid = pid;
	a->refs = 1;
	a->next = w->attached;
	w->attached = a;
	procs__walker_due(w->o.procs, pid);
	return a;
}

void heap_watch__detach(struct heap_watch *w, struct heap_attach *a)
{
	if (!a || --a->refs)
		return;
	for (struct heap_attach **l = &w->attached; *l; l = &(*l)->next) {
		if (*l == a) {
			*l = a->next;
			break;
		}
	}
	heap_probes__free(a->t);
	free(a);
}

void heap_watch__consider(struct heap_watch *w, uint32_t pid, const char *comm)
{
	const struct config *cfg = w->o.cfg;
	struct cont *found;
	struct heap_cont *c;
	struct timespec ts;
	uint64_t since_ns;
	char err[200];

	if (!cont_list__wants(&w->conts, cfg->heap_targets, cfg->nr_heap_targets, pid, comm,
			      &found))
		return;
	if (found) {
		/* Released at a SIGHUP and named again by the next one before
		 * its last profile was written: attached again. */
		if ((heap_cont(found)->a = heap_watch__attach(w, pid, err, sizeof(err)))) {
			found->released = false;
			collector__add(w->o.collector, &heap_cont(found)->col);
			log_info("heap: continuous heap profiling of pid %u (%s) again", pid,
				 found->img->comm);
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	since_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	c->c.img = procs__image_at(w->o.procs, pid, since_ns);
	c->a = c->c.img ? heap_watch__attach(w, pid, err, sizeof(err)) : NULL;
	if (!c->a) {
		if (errno == ENOENT && w->nr_pending < PENDING_MAX) {
			/* just exec'd: the dynamic loader has not mapped libc yet */
			w->pending[w->nr_pending++] = (struct heap_pending){ pid, 0 };
		} else if (c->c.img) {
			log_warn("heap: pid %u is named by heap_target, but: %s", pid, err);
		}
		free(c);
		return;
	}
	c->c.pid = pid;
	c->c.img->refs++;
	collection__init(
		&c->col, w->kind,
		&(struct kind_hold){ .pid = pid, .comm = c->c.img->comm, .standing = true },
		since_ns);
	collector__add(w->o.collector, &c->col);
	cont_list__add(&w->conts, &c->c);
	log_info("heap: continuous heap profiling of pid %u (%s)", pid, c->c.img->comm);
}

static void consider_pid(void *w, uint32_t pid)
{
	heap_watch__consider(w, pid, NULL);
}

void heap_watch__mapped(struct heap_watch *w, uint32_t pid, uint64_t addr, uint64_t len,
			uint32_t prot, uint64_t dev, uint64_t ino)
{
	const struct config *cfg = w->o.cfg;
	char range[64];
	bool wanted = false;

	for (size_t i = 0; i < cfg->nr_heap_targets && !wanted; i++)
		wanted = cfg->heap_targets[i].kind == TARGET_PRELOADED;
	if (!wanted || !(prot & PROT_EXEC) || !ino)
		return;
	snprintf(range, sizeof(range), "%" PRIx64 "-%" PRIx64, addr, addr + len);
	if (heap_probe_files__carries(pid, range, dev, ino))
		heap_watch__consider(w, pid, NULL);
}

void heap_watch__scan(struct heap_watch *w)
{
	cont_list__scan(&w->conts, w->o.cfg->heap_targets, w->o.cfg->nr_heap_targets, consider_pid);
}

int heap_watch__drain(struct heap_watch *w)
{
	unsigned n = w->nr_pending;

	/* retry the processes that had not mapped libc yet */
	w->nr_pending = 0;
	for (unsigned i = 0; i < n; i++) {
		struct heap_pending pd = w->pending[i];
		unsigned before = w->nr_pending;

		heap_watch__consider(w, pd.pid, NULL);
		if (w->nr_pending == before + 1 && ++pd.tries < PENDING_TRIES)
			w->pending[before] = pd; /* keep counting its tries */
		else if (w->nr_pending == before + 1)
			w->nr_pending--; /* given up */
	}
	return w->s ? heap_sampler__drain(w->s) : 0;
}

/* cont_list's release: the probes go, the data stays to be written. */
static void cont_release(void *ctx, struct cont *c)
{
	struct heap_watch *w = ctx;

	if (!heap_cont(c)->a)
		return;
	heap_watch__detach(w, heap_cont(c)->a);
	heap_cont(c)->a = NULL;
	collector__remove(w->o.collector, &heap_cont(c)->col);
}

static void cont_free(void *ctx, struct cont *c)
{
	cont_release(ctx, c);
	collection__reset(&heap_cont(c)->col);
	c->img->refs--;
	free(c);
}

bool heap_watch__watches(struct heap_watch *w, uint32_t pid)
{
	return cont_list__named(&w->conts, pid) != NULL;
}

/* Its profile as it stands: what was allocated since pprofd attached and
 * what of it is still in use, as Go's heap profile. */
int heap_watch__current(struct heap_watch *w, uint32_t pid, uint8_t **buf, size_t *len)
{
	struct cont *c = cont_list__named(&w->conts, pid);
	struct collection *col = c ? &heap_cont(c)->col : NULL;
	struct timespec now, mono;

	if (!c)
		return -ENOENT;
	if (w->s)
		heap_sampler__drain(w->s); /* up to this moment */
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return collection__encode(
		col, w->o.procs, *w->o.ksyms, now.tv_sec * 1000000000ll + now.tv_nsec,
		(int64_t)(mono.tv_sec * 1000000000ull + mono.tv_nsec - col->start_ns),
		"heap_target names it: its profile since pprofd attached, as it stands at the "
		"request",
		buf, len);
}

/* A window's end, for one process (cont_list__write): its profile, when it
 * has one; files written. Alloc and in-use go on accumulating, as Go's heap
 * profile does, for as long as the process lives. */
static int cont_write(void *ctx, struct cont *c, const struct cont_window *win)
{
	struct heap_watch *w = ctx;
	struct write_stats st = { 0 };

	collection__write_window(
		&heap_cont(c)->col, w->o.procs, *w->o.ksyms, w->o.health, win->dir, win->start,
		win->duration_ns,
		c->released ? "profiling stopped in this window (heap_target no longer names it)"
			    : NULL,
		0, &st);
	return st.files;
}

int heap_watch__write(struct heap_watch *w, const char *dir, struct timespec start,
		      int64_t duration_ns)
{
	struct cont_window win = { .dir = dir, .start = start, .duration_ns = duration_ns };

	return cont_list__write(&w->conts, &win, cont_write);
}

int heap_watch__counters(struct heap_watch *w, char names[][48], uint64_t *values, int max)
{
	uint64_t hc[HEAP_CNT_NR];
	int n = 0;

	if (!w->s || heap_sampler__counters(w->s, hc))
		return 0;
	for (int i = 0; i < HEAP_CNT_NR && n < max; i++, n++) {
		snprintf(names[n], 48, "heap_%s", heap_counter_name(i));
		values[n] = hc[i];
	}
	if (n < max) { /* records user space rejected: should stay 0 */
		snprintf(names[n], 48, "heap_drops_malformed");
		values[n++] = heap_sampler__malformed(w->s);
	}
	if (n < max) {
		snprintf(names[n], 48, "heap_unwind_errors");
		values[n++] = w->unwind_errors;
	}
	return n;
}

void heap_watch__free(struct heap_watch *w)
{
	if (!w)
		return;
	cont_list__free(&w->conts);
	kind_free(w->kind);
	while (w->attached) { /* requests' attachments, if any are left */
		struct heap_attach *a = w->attached;

		w->attached = a->next;
		heap_probes__free(a->t);
		free(a);
	}
	if (w->s)
		loop_fd_del(w->o.epfd, &w->fd_w);
	heap_sampler__free(w->s);
	free(w);
}
