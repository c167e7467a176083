// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collection.h"
#include "cont_list.h"
#include "kind.h"
#include "log.h"
#include "loop_fd.h"
#include "output.h"
#include "pprof.h"
#include "procs.h"
#include "stack_profile.h"
#include "symtab.h"
#include "wait_profile.h"
#include "wait_watch.h"

#define MAX_UFRAMES 127

/* A process lock_target names: profiled for as long as it lives. */
struct wait_cont {
	struct cont c;                /* first: the list's record */
	bool attached[WAIT_NR_KINDS]; /* and its collection in the collector */
	struct collection col[WAIT_NR_KINDS];
};

static struct wait_cont *wait_cont(struct cont *c)
{
	return (struct wait_cont *)c;
}

struct wait_watch {
	struct watch_opts o;
	struct wait_sampler *s[WAIT_NR_KINDS];
	bool failed[WAIT_NR_KINDS];
	struct loop_fd fd_w[WAIT_NR_KINDS];
	struct cont_list conts;
	uint64_t unwind_errors;
	uint64_t condvar_wakes; /* mutex: releases left out, condition variables' */
	struct profile_kind *kinds[WAIT_NR_KINDS]; /* mutex and block requests' (wait_kind.c) */
};

static void on_fd(struct loop_fd *w, uint32_t events)
{
	/* drained by the daemon's loop with every other ring */
}

int wait_watch__unwind(struct procs *procs, struct image *img, const struct wait_record *r,
		       uint64_t *out, unsigned max)
{
	return procs__unwind_user(procs, img, r->ustack, r->ustack_len, out, max, true);
}

/*
 * Whether a contended release is a condition variable's wake: the futex
 * call sits in pthread_cond_signal/broadcast (or, waking the next group,
 * in pthread_cond_wait itself). A condition is not a lock: the waiters
 * wait for an event, not for a holder, so Go's mutex profile leaves such
 * waits out, and so do we (the wake ids are then named by no release, and
 * the waits that end on them are dropped as unmatched).
 */
static bool condvar_wake(struct procs *procs, struct image *img, uint64_t pc)
{
	struct mapping *m = procs__find_mapping(procs, img, pc);
	struct sym_result sym;

	if (m) /* libc's symbols, loading the first time: a few ms */
		procs__await_symbols(procs, img, m);
	if (!m || !m->symtab || symtab__lookup(m->symtab, m->pgoff + (pc - m->start), &sym))
		return false;
	return !strncmp(sym.raw_name, "pthread_cond_", 13) ||
	       !strncmp(sym.raw_name, "__pthread_cond_", 15) ||
	       !strncmp(sym.raw_name, "__condvar_", 10);
}

static void on_record(const struct wait_record *r, void *ctx)
{
	struct wait_watch *w = ctx;
	struct image *img = procs__image_at(w->o.procs, r->pid, r->time_ns);
	uint64_t uf[MAX_UFRAMES];
	int nu = 0;

	if (!img)
		return;
	if (r->type == WAIT_REC_BEGIN) {
		nu = wait_watch__unwind(w->o.procs, img, r, uf, MAX_UFRAMES);
		if (nu < 0) {
			w->unwind_errors++;
			nu = 0;
		}
		if (r->kind == WAIT_MUTEX && nu && condvar_wake(w->o.procs, img, uf[0])) {
			w->condvar_wakes++;
			return;
		}
	}
	collector__offer(w->o.collector, w->kinds[r->kind]->id, img,
			 &(struct kind_record){ .pid = r->pid,
						.time_ns = r->time_ns,
						.rec = r,
						.uframes = uf,
						.nr_uframes = nu });
}

static cont_fn cont_release, cont_free;

struct wait_watch *wait_watch__new(const struct watch_opts *o)
{
	struct wait_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->o = *o;
	w->conts = cont_list__make("lock", "lock_target", cont_release, cont_free, w);
	w->kinds[WAIT_MUTEX] = wait_kind__new(w, KIND_MUTEX);
	w->kinds[WAIT_BLOCK] = wait_kind__new(w, KIND_BLOCK);
	if (!w->kinds[WAIT_MUTEX] || !w->kinds[WAIT_BLOCK]) {
		wait_watch__free(w);
		return NULL;
	}
	return w;
}

struct profile_kind *wait_watch__kind(struct wait_watch *w, enum wait_kind kind)
{
	return w->kinds[kind];
}

static struct wait_sampler *sampler(struct wait_watch *w, enum wait_kind k)
{
	if (w->s[k] || w->failed[k])
		return w->s[k];
	w->s[k] = wait_sampler__new(k, 0, &w->o.unwind, on_record, w);
	if (!w->s[k]) {
		w->failed[k] = true; /* logged by the sampler */
		return NULL;
	}
	w->fd_w[k] = (struct loop_fd){ .fd = wait_sampler__fd(w->s[k]), .fn = on_fd };
	loop_fd_add(w->o.epfd, &w->fd_w[k], EPOLLIN);
	return w->s[k];
}

int wait_watch__attach(struct wait_watch *w, enum wait_kind kind, uint32_t pid, char *err,
		       size_t errlen)
{
	struct wait_sampler *s = sampler(w, kind);
	int e;

	if (!s) {
		snprintf(err, errlen,
			 "%s profiling is not available on this host (see pprofd's log)",
			 wait_kind_name(kind));
		return -ENOSYS;
	}
	e = wait_sampler__add_pid(s, pid);
	if (!e)
		procs__walker_due(w->o.procs, pid);
	if (e == -ENOSPC)
		snprintf(err, errlen, "too many processes are %s-profiled already",
			 wait_kind_name(kind));
	else if (e)
		snprintf(err, errlen, "cannot attach the %s probes: %s", wait_kind_name(kind),
			 strerror(-e));
	return e;
}

void wait_watch__detach(struct wait_watch *w, enum wait_kind kind, uint32_t pid)
{
	if (w->s[kind])
		wait_sampler__remove_pid(w->s[kind], pid);
}

static void attach_kinds(struct wait_watch *w, struct wait_cont *c)
{
	char err[200];

	for (int k = 0; k < WAIT_NR_KINDS; k++) {
		if (c->attached[k])
			continue;
		if (wait_watch__attach(w, k, c->c.pid, err, sizeof(err)) == 0) {
			c->attached[k] = true;
			collector__add(w->o.collector, &c->col[k]);
		} else
			log_warn("%s: pid %u is named by lock_target, but: %s", wait_kind_name(k),
				 c->c.pid, err);
	}
}

/* cont_list's release: the probes go, the data stays to be written. */
static void cont_release(void *ctx, struct cont *c)
{
	struct wait_watch *w = ctx;

	for (int k = 0; k < WAIT_NR_KINDS; k++) {
		if (!wait_cont(c)->attached[k])
			continue;
		wait_watch__detach(w, k, c->pid);
		collector__remove(w->o.collector, &wait_cont(c)->col[k]);
		wait_cont(c)->attached[k] = false;
	}
}

void wait_watch__consider(struct wait_watch *w, uint32_t pid, const char *comm)
{
	const struct config *cfg = w->o.cfg;
	struct cont *found;
	struct wait_cont *c;
	struct timespec ts;
	uint64_t now;

	if (!cont_list__wants(&w->conts, cfg->lock_targets, cfg->nr_lock_targets, pid, comm,
			      &found))
		return;
	if (found) {
		/* Released at a SIGHUP and named again by the next one before
		 * its last profiles were written: attached again. */
		found->released = false;
		attach_kinds(w, wait_cont(found));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	c->c.img = procs__image_at(w->o.procs, pid, now);
	if (!c->c.img) {
		free(c);
		return;
	}
	c->c.pid = pid;
	for (int k = 0; k < WAIT_NR_KINDS; k++)
		collection__init(
			&c->col[k], w->kinds[k],
			&(struct kind_hold){ .pid = pid, .comm = c->c.img->comm, .standing = true },
			now);
	attach_kinds(w, c);
	c->c.img->refs++;
	cont_list__add(&w->conts, &c->c);
	log_info("lock: continuous mutex and block profiling of pid %u (%s)", pid, c->c.img->comm);
}

static void consider_pid(void *w, uint32_t pid)
{
	wait_watch__consider(w, pid, NULL);
}

void wait_watch__scan(struct wait_watch *w)
{
	cont_list__scan(&w->conts, w->o.cfg->lock_targets, w->o.cfg->nr_lock_targets, consider_pid);
}

int wait_watch__drain(struct wait_watch *w)
{
	int n = 0;

	for (int k = 0; k < WAIT_NR_KINDS; k++)
		if (w->s[k])
			n += wait_sampler__drain(w->s[k]);
	return n;
}

static void cont_free(void *ctx, struct cont *c)
{
	cont_release(ctx, c);
	for (int k = 0; k < WAIT_NR_KINDS; k++)
		collection__reset(&wait_cont(c)->col[k]);
	c->img->refs--;
	free(c);
}

/* A window's end, for one process (cont_list__write): a profile of each
 * kind that has samples; files written. */
static int cont_write(void *ctx, struct cont *c, const struct cont_window *win)
{
	struct wait_watch *w = ctx;
	struct write_stats st = { 0 };

	for (int k = 0; k < WAIT_NR_KINDS; k++)
		collection__write_window(&wait_cont(c)->col[k], w->o.procs, *w->o.ksyms,
					 w->o.health, win->dir, win->start, win->duration_ns,
					 c->released
						 ? "profiling stopped in this window (lock_target "
						   "no longer names it)"
						 : NULL,
					 0, &st);
	return st.files;
}

int wait_watch__write(struct wait_watch *w, const char *dir, struct timespec start,
		      int64_t duration_ns)
{
	struct cont_window win = { .dir = dir, .start = start, .duration_ns = duration_ns };

	return cont_list__write(&w->conts, &win, cont_write);
}

uint64_t wait_watch__ring_drops(struct wait_watch *w, int kind)
{
	return kind >= 0 && kind < WAIT_NR_KINDS ? wait_sampler__ring_drops(w->s[kind]) : 0;
}

int wait_watch__counters(struct wait_watch *w, char names[][48], uint64_t *values, int max)
{
	int n = 0;

	for (int k = 0; k < WAIT_NR_KINDS; k++)
		if (w->s[k])
			n += wait_sampler__counters(w->s[k], names + n, values + n, max - n);
	if (n < max && (w->s[0] || w->s[1])) {
		snprintf(names[n], 48, "wait_unwind_errors");
		values[n++] = w->unwind_errors;
	}
	if (n < max && w->s[WAIT_MUTEX]) {
		snprintf(names[n], 48, "mutex_condvar_wakes_skipped");
		values[n++] = w->condvar_wakes;
	}
	return n;
}

void wait_watch__free(struct wait_watch *w)
{
	if (!w)
		return;
	cont_list__free(&w->conts);
	for (int k = 0; k < WAIT_NR_KINDS; k++) {
		kind_free(w->kinds[k]);
		if (w->s[k])
			loop_fd_del(w->o.epfd, &w->fd_w[k]);
		wait_sampler__free(w->s[k]);
	}
	free(w);
}
