// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cont_list.h"
#include "log.h"
#include "loop_fd.h"
#include "output.h"
#include "pprof.h"
#include "procs.h"
#include "stack_profile.h"
#include "symtab.h"
#include "wait_profile.h"
#include "wait_watch.h"

#define CONT_MAX_BYTES (8u << 20) /* stack table of one watched process, per kind */
#define MAX_PENDING 65536         /* waits whose end is awaited, per table */
#define MAX_UFRAMES 127

/* A process lock_target names: profiled for as long as it lives. */
struct wait_cont {
	struct cont c; /* first: the list's record */
	bool attached[WAIT_NR_KINDS];
	struct wait_agg agg[WAIT_NR_KINDS];
};

static struct wait_cont *wait_cont(struct cont *c)
{
	return (struct wait_cont *)c;
}

struct wait_watch {
	struct wait_watch_opts o;
	struct wait_sampler *s[WAIT_NR_KINDS];
	bool failed[WAIT_NR_KINDS];
	struct loop_fd fd_w[WAIT_NR_KINDS];
	struct cont_list conts;
	uint64_t unwind_errors;
	uint64_t condvar_wakes;                /* mutex: releases left out, condition variables' */
	uint64_t window_drops0[WAIT_NR_KINDS]; /* ring drops at the window's start */
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
	for (struct cont *b = w->conts.head; b; b = b->next) {
		struct wait_cont *c = wait_cont(b);

		if (b->pid != r->pid || !c->attached[r->kind])
			continue;
		if (r->type == WAIT_REC_BEGIN)
			wait_agg__begin(&c->agg[r->kind], r, uf, nu);
		else
			wait_agg__end(&c->agg[r->kind], r);
	}
	if (w->o.on_record)
		w->o.on_record(w->o.ctx, img, r, uf, nu);
}

static cont_fn cont_release, cont_free;

struct wait_watch *wait_watch__new(const struct wait_watch_opts *o)
{
	struct wait_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->o = *o;
	w->conts = cont_list__make("lock", "lock_target", cont_release, cont_free, w);
	return w;
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
		if (wait_watch__attach(w, k, c->c.pid, err, sizeof(err)) == 0)
			c->attached[k] = true;
		else
			log_warn("%s: pid %u is named by lock_target, but: %s", wait_kind_name(k),
				 c->c.pid, err);
	}
}

/* cont_list's release: the probes go, the data stays to be written. */
static void cont_release(void *ctx, struct cont *c)
{
	struct wait_watch *w = ctx;

	for (int k = 0; k < WAIT_NR_KINDS; k++) {
		if (wait_cont(c)->attached[k])
			wait_watch__detach(w, k, c->pid);
		wait_cont(c)->attached[k] = false;
	}
}

void wait_watch__consider(struct wait_watch *w, uint32_t pid, const char *comm)
{
	const struct config *cfg = w->o.cfg;
	struct cont *found;
	struct wait_cont *c;

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
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		c->c.img = procs__image_at(w->o.procs, pid, ts.tv_sec * 1000000000ull + ts.tv_nsec);
	}
	if (!c->c.img) {
		free(c);
		return;
	}
	c->c.pid = pid;
	for (int k = 0; k < WAIT_NR_KINDS; k++)
		wait_agg__init(&c->agg[k], k, CONT_MAX_BYTES, MAX_PENDING);
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
		wait_agg__reset(&wait_cont(c)->agg[k]);
	c->img->refs--;
	free(c);
}

static int write_one(struct wait_watch *w, struct cont *c, enum wait_kind k,
		     const struct cont_window *win)
{
	const uint64_t *drops = win->kind; /* wait_watch__write's, per kind */
	struct pprof *p = wait_profile__new(win->start.tv_sec * 1000000000ll + win->start.tv_nsec,
					    win->duration_ns);
	int err = -ENOMEM;

	if (p) {
		pprof__commentf(p, "pprofd %s: %s profile of pid %u (%s)%s", PPROFD_VERSION,
				wait_kind_name(k), c->pid, c->img->comm,
				c->released ? "; profiling stopped in this window (lock_target no "
					      "longer names it)"
					    : "");
		pprof__comment_lost(p, drops[k], "in this window");
		/* mutex: the stack of a futex wake, whose ip follows the syscall */
		err = stack_profile__add(p, w->o.procs, *w->o.ksyms, c->img,
					 &wait_cont(c)->agg[k].agg, false);
	}
	if (!err)
		err = output__write_profile(w->o.health, win->dir, p, c->img->comm, c->pid,
					    wait_kind_name(k), win->start.tv_sec, NULL, NULL, 0);
	else /* not built: a failed write */
		output__profile_result(w->o.health, win->dir, wait_kind_name(k), c->pid, err);
	pprof__free(p);
	return err ? 0 : 1;
}

/* A window's end, for one process (cont_list__write): a profile of each
 * kind that has samples; files written. */
static int cont_write(void *ctx, struct cont *c, const struct cont_window *win)
{
	struct wait_watch *w = ctx;
	int files = 0;

	for (int k = 0; k < WAIT_NR_KINDS; k++) {
		if (stackagg__len(&wait_cont(c)->agg[k].agg))
			files += write_one(w, c, k, win);
		wait_agg__clear(&wait_cont(c)->agg[k]);
	}
	return files;
}

int wait_watch__write(struct wait_watch *w, const char *dir, struct timespec start,
		      int64_t duration_ns)
{
	uint64_t drops[WAIT_NR_KINDS]; /* ring drops in this window */
	struct cont_window win = {
		.dir = dir, .start = start, .duration_ns = duration_ns, .kind = drops
	};

	for (int k = 0; k < WAIT_NR_KINDS; k++) {
		uint64_t now = wait_watch__ring_drops(w, k);

		drops[k] = now - w->window_drops0[k];
		w->window_drops0[k] = now;
	}
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
		if (w->s[k])
			loop_fd_del(w->o.epfd, &w->fd_w[k]);
		wait_sampler__free(w->s[k]);
	}
	free(w);
}
