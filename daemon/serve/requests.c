// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "collection.h"
#include "kind.h"
#include "log.h"
#include "pprof.h"
#include "procs.h"
#include "requests.h"
#include "shares.h"

#define DEFAULT_SECONDS 30

struct request {
	struct requests *owner;
	struct req_params p;
	struct collection col; /* its kind, what it holds, what it took */
	bool attached;         /* the kind's attach succeeded: its detach undoes it */
	bool snapshot;         /* answered at once: see start_snapshot */
	bool gone;             /* its process no longer ran at the last tick */
	uint64_t deadline_ns;
	struct timespec start_real;
	req_done_fn done;
	void *ctx;
	struct request *next;
};

struct requests {
	struct requests_opts o;
	struct request *list;
	unsigned active;
	uint64_t served, refused;
	struct shares *slots; /* max_concurrent, shared fairly between uids */
};

struct requests *requests__new(const struct requests_opts *o)
{
	struct requests *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = *o;
	r->slots = shares__new(o->max_concurrent, o->reserved, o->max_per_user);
	if (!r->slots) {
		free(r);
		return NULL;
	}
	return r;
}

static void req_free(struct request *q)
{
	if (!q->snapshot)
		collector__remove(q->owner->o.collector, &q->col);
	if (q->attached)
		q->col.k->detach(q->col.k, &q->col.hold);
	collection__reset(&q->col);
	free(q);
}

/* Who holds a request slot: the sender's uid, or nobody known. */
static void peer_key(const struct req_peer *p, char *buf, size_t len)
{
	if (p->known)
		snprintf(buf, len, "uid %u", (unsigned)p->uid);
	else
		snprintf(buf, len, "unidentified senders");
}

static bool peer_privileged(const struct req_peer *p)
{
	return p->known && p->privileged;
}

/* A request admitted but not started: its slot back, and freed. */
static void unadmit(struct requests *r, struct request *q)
{
	char key[SHARES_PEER_MAX];

	peer_key(&q->p.peer, key, sizeof(key));
	shares__give(r->slots, key, peer_privileged(&q->p.peer));
	free(q);
}

static void unlink_req(struct requests *r, struct request *q)
{
	char key[SHARES_PEER_MAX];

	for (struct request **l = &r->list; *l; l = &(*l)->next) {
		if (*l == q) {
			*l = q->next;
			r->active--;
			peer_key(&q->p.peer, key, sizeof(key));
			shares__give(r->slots, key, peer_privileged(&q->p.peer));
			return;
		}
	}
}

static void fail_now(struct requests *r, req_done_fn done, void *ctx, int status, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));
static void fail_now(struct requests *r, req_done_fn done, void *ctx, int status, const char *fmt,
		     ...)
{
	struct req_result res = { .status = status };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res.message, sizeof(res.message), fmt, ap);
	va_end(ap);
	r->refused++;
	done(&res, ctx);
}

/*
 * The checks every request passes (SPEC §5): the process exists, the sender
 * may read it (or, for the whole host, is root), there is room for one
 * more request. A new request, or NULL when refused (done was called).
 */
static struct request *admit(struct requests *r, const struct req_params *p, req_done_fn done,
			     void *ctx)
{
	char path[32], key[SHARES_PEER_MAX], why[200];
	struct request *q;
	int err;

	if (p->pid == 0 && !(p->peer.known && p->peer.privileged)) {
		fail_now(r, done, ctx, 403, "a profile of the whole host needs root");
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%u", p->pid);
	if (p->pid && access(path, F_OK) < 0) {
		fail_now(r, done, ctx, 404, "no such process: %u", p->pid);
		return NULL;
	}
	if (p->pid && !peer_may_read(&p->peer, p->pid)) {
		fail_now(r, done, ctx, 403, "not allowed to profile pid %u%s", p->pid,
			 p->peer.known ? "" : " (the sender could not be identified)");
		return NULL;
	}
	/* a fair share: no user can take the slots root needs */
	peer_key(&p->peer, key, sizeof(key));
	err = shares__take(r->slots, key, peer_privileged(&p->peer));
	if (err) {
		shares__why(r->slots, err, key, "requests", why, sizeof(why));
		fail_now(r, done, ctx, 429, "%s", why);
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		shares__give(r->slots, key, peer_privileged(&p->peer));
		fail_now(r, done, ctx, 500, "out of memory");
		return NULL;
	}
	q->owner = r;
	q->p = *p;
	q->done = done;
	q->ctx = ctx;
	return q;
}

/*
 * Snapshots (kind.h is_snapshot): nothing to collect over time, so seconds
 * and hz are ignored. Taken at the next requests__tick rather than here,
 * because the front ends expect done before requests__start returns only
 * for refusals: the deadline is now, which the event loop's timeout sees at
 * once.
 */
static struct request *start_snapshot(struct requests *r, struct profile_kind *k,
				      const struct req_params *p, req_done_fn done, void *ctx)
{
	struct request *q;

	if (!p->pid) {
		fail_now(r, done, ctx, 400, "a %s profile needs a pid", k->name);
		return NULL;
	}
	q = admit(r, p, done, ctx);
	if (!q)
		return NULL;
	q->col.k = k;
	q->snapshot = true;
	q->deadline_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &q->start_real);
	q->next = r->list;
	r->list = q;
	r->active++;
	log_debug("request: %s snapshot of pid %u", k->name, p->pid);
	return q;
}

/* Takes the snapshot and answers. */
static void finish_snapshot(struct requests *r, struct request *q)
{
	struct req_result res = { .status = 200 };
	int err = q->col.k->snapshot(q->col.k, q->p.pid, &res.data, &res.len, res.message,
				     sizeof(res.message));

	if (err)
		res.status = err == -ESRCH ? 404 : err == -ENOSPC ? 503 : 500;
	unlink_req(r, q);
	r->served++;
	q->done(&res, q->ctx);
	req_free(q);
}

/* A request of pid is already collecting what k allows once a pid. */
static bool pid_busy(struct requests *r, const struct profile_kind *k, uint32_t pid)
{
	for (struct request *o = r->list; o; o = o->next)
		if (o->col.k == k && o->p.pid == pid)
			return true;
	return false;
}

struct request *requests__start(struct requests *r, const struct req_params *p, req_done_fn done,
				void *ctx)
{
	unsigned seconds = p->seconds ? p->seconds : DEFAULT_SECONDS;
	struct profile_kind *k =
		p->kind > 0 && p->kind < KIND_NR && r->o.kinds ? r->o.kinds[p->kind] : NULL;
	struct kind_hold hold;
	char err[200];
	struct request *q;
	int status;

	if (!k) {
		fail_now(r, done, ctx, 501, "profiles of kind %d are not implemented", p->kind);
		return NULL;
	}
	if (k->is_snapshot && k->is_snapshot(k, p->pid, p->seconds))
		return start_snapshot(r, k, p, done, ctx);
	if (!k->host_wide && !p->pid) {
		/* they cost the process something: only for the PIDs asked for */
		fail_now(r, done, ctx, 400, "a %s profile needs a pid", k->name);
		return NULL;
	}
	if (seconds < 1 || seconds > r->o.max_seconds) {
		fail_now(r, done, ctx, 400, REQ_SECONDS_RANGE, r->o.max_seconds);
		return NULL;
	}
	q = admit(r, p, done, ctx);
	if (!q)
		return NULL;
	hold = (struct kind_hold){ .pid = p->pid, .hz = p->hz };
	if (k->one_per_pid && pid_busy(r, k, p->pid)) {
		unadmit(r, q);
		fail_now(r, done, ctx, 429,
			 "a %s profile of pid %u is already being collected; try again when it "
			 "is done",
			 k->name, p->pid);
		return NULL;
	}
	status = k->attach ? k->attach(k, &hold, err, sizeof(err)) : 0;
	if (status) {
		unadmit(r, q);
		fail_now(r, done, ctx, status, "%s", err);
		return NULL;
	}
	q->attached = k->attach != NULL;
	collection__init(&q->col, k, &hold, mono_ns());
	q->deadline_ns = q->col.start_ns + seconds * 1000000000ull;
	clock_gettime(CLOCK_REALTIME, &q->start_real);
	collector__add(r->o.collector, &q->col);
	q->next = r->list;
	r->list = q;
	r->active++;
	log_debug("request: %s pid %u for %us at %u Hz", k->name, p->pid, seconds, hold.hz);
	return q;
}

void requests__cancel(struct requests *r, struct request *q)
{
	unlink_req(r, q);
	req_free(q);
}

/* cut: NULL, or why the request ends before its deadline (a comment). */
static void finish(struct requests *r, struct request *q, const char *cut)
{
	struct req_result res = { .status = 200 };
	int64_t t0 = q->start_real.tv_sec * 1000000000ll + q->start_real.tv_nsec;
	struct pprof *p;
	int err;

	if (q->snapshot) {
		finish_snapshot(r, q);
		return;
	}
	p = collection__build(&q->col, r->o.procs, *r->o.ksyms, t0, mono_ns() - q->col.start_ns,
			      cut, &err);
	if (p)
		err = pprof__encode_gz(p, &res.data, &res.len);
	pprof__free(p);
	if (err) {
		res.status = 500;
		snprintf(res.message, sizeof(res.message), "cannot build the profile: %s",
			 strerror(-err));
	}
	unlink_req(r, q);
	r->served++;
	q->done(&res, q->ctx);
	req_free(q);
}

/*
 * Whether q's process has ended and everything it sampled is in: its exit
 * applied, or it was gone at the last tick too (a drain has come between:
 * its last samples are in). Sampled or not: a process that exits before
 * its first sample is not waited on for the request's whole time.
 */
static bool process_ended(struct requests *r, struct request *q)
{
	bool was_gone = q->gone;

	if (collection__exited(&q->col))
		return true;
	switch (procs__liveness(r->o.procs, q->p.pid)) {
	case PROC_EXITED:
		return true;
	case PROC_GONE:
		q->gone = true;
		return was_gone;
	case PROC_RUNNING:
		break;
	}
	q->gone = false;
	return false;
}

void requests__tick(struct requests *r)
{
	uint64_t now = mono_ns();
	struct request *q = r->list, *next;

	for (; q; q = next) {
		bool exited = q->p.pid && !q->snapshot && process_ended(r, q);

		next = q->next;
		if (now >= q->deadline_ns || exited)
			finish(r, q,
			       exited ? "the process exited during the request: this is what "
					"was collected until then"
				      : NULL);
	}
}

uint64_t requests__next_deadline(const struct requests *r)
{
	uint64_t d = UINT64_MAX;

	for (struct request *q = r->list; q; q = q->next)
		if (q->deadline_ns < d)
			d = q->deadline_ns;
	return d;
}

void requests__stop(struct requests *r)
{
	while (r->list)
		finish(r, r->list,
		       "pprofd stopped during the request: this is what was collected "
		       "until then");
}

void requests__free(struct requests *r)
{
	if (!r)
		return;
	while (r->list) {
		struct request *q = r->list;
		struct req_result res = { .status = 503 };

		snprintf(res.message, sizeof(res.message), "pprofd is shutting down");
		unlink_req(r, q);
		q->done(&res, q->ctx);
		req_free(q);
	}
	shares__free(r->slots);
	free(r);
}

void requests__counts(const struct requests *r, uint64_t *served, uint64_t *refused,
		      unsigned *active)
{
	*served = r->served;
	*refused = r->refused;
	*active = r->active;
}

int requests__status(struct requests *r, struct status_counter *out, int max)
{
	int n = r->o.status ? r->o.status(r->o.status_ctx, out, max) : 0;
	char names[32][48];
	uint64_t vals[32];

	for (int id = 1; id < KIND_NR && r->o.kinds; id++) {
		const struct profile_kind *k = r->o.kinds[id];
		int c = k && k->counters ? k->counters(k, names, vals, 32) : 0;

		for (int i = 0; i < c && n < max; i++, n++) {
			snprintf(out[n].name, sizeof(out[n].name), "%.47s", names[i]);
			out[n].value = vals[i];
		}
	}
	return n;
}
