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
#include "cpu_profile.h"
#include "cpu_sampler.h"
#include "heap_profile.h"
#include "heap_sampler.h"
#include "stack_profile.h"
#include "threads_snapshot.h"
#include "log.h"
#include "pprof.h"
#include "proc_text.h"
#include "procs.h"
#include "requests.h"
#include "safe_open.h"
#include "shares.h"
#include "wait_profile.h"

#define DEFAULT_SECONDS 30
#define MAX_HZ 10000
#define MAX_THREADS_PER_REQUEST 4096
#define AGG_BYTES_PER_REQUEST (16u << 20)
/* A host-wide request's stack tables, all processes together. */
#define HOST_REQUEST_MAX_BYTES (64u << 20)

#define HEAP_MAX_LIVE_PER_REQUEST (1u << 20)
#define WAIT_MAX_PENDING_PER_REQUEST 65536

/* A request's samples of one process image. */
struct req_agg {
	struct image *img;    /* holds a reference (img->refs) */
	struct stackagg agg;  /* cpu */
	struct heap_agg heap; /* heap */
	struct wait_agg wait; /* mutex, block */
};

struct request {
	struct requests *owner;
	struct req_params p;
	unsigned hz;     /* the rate of the samples it takes */
	bool own_events; /* hz above the continuous rate: CPU_F_REQUEST samples */
	struct cpu_pid_events *events;
	struct heap_attach *heap; /* heap: the allocator probes of the process */
	bool wait_attached;       /* mutex, block: the process is the sampler's target */
	bool snapshot;            /* answered at once: see start_snapshot */
	uint64_t start_ns, deadline_ns;
	struct timespec start_real;
	req_done_fn done;
	void *ctx;
	struct req_agg *aggs;
	unsigned nr_aggs, cap_aggs;
	size_t bytes;         /* of every stack table, for the host-wide limit */
	uint64_t dropped;     /* samples not kept: that limit was reached */
	uint64_t ring_drops0; /* ring_drops() at the start */
	struct request *next;
};

struct requests {
	struct requests_opts o;
	struct request *list;
	unsigned active;
	uint64_t served, refused;
	struct threads_snapshot *threads; /* made at the first threads request */
	struct shares *slots;             /* max_concurrent, shared fairly between uids */
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

static enum wait_kind wait_kind_of(enum req_kind k)
{
	return k == REQ_MUTEX ? WAIT_MUTEX : WAIT_BLOCK;
}

static bool is_wait(enum req_kind k)
{
	return k == REQ_MUTEX || k == REQ_BLOCK;
}

static void req_free(struct request *q)
{
	cpu_pid_events__free(q->events);
	if (q->heap)
		q->owner->o.heap_detach(q->owner->o.heap_ctx, q->heap);
	if (q->wait_attached)
		q->owner->o.wait_detach(q->owner->o.wait_ctx, wait_kind_of(q->p.kind), q->p.pid);
	for (unsigned i = 0; i < q->nr_aggs; i++) {
		q->aggs[i].img->refs--;
		stackagg__reset(&q->aggs[i].agg);
		heap_agg__reset(&q->aggs[i].heap);
		wait_agg__reset(&q->aggs[i].wait);
	}
	free(q->aggs);
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

/* Reads the real, effective, saved and fs uids of pid. */
static int proc_uids(uint32_t pid, uid_t uids[4])
{
	char path[64], *text;
	size_t len;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (read_file(path, PROC_STATUS_MAX, false, &text, &len) < 0)
		return -ESRCH;
	err = proc_status_uids(text, len, uids) ? -ESRCH : 0;
	free(text);
	return err;
}

/*
 * As PTRACE_MODE_READ would allow (SPEC §5): root (or CAP_SYS_PTRACE), or a
 * sender whose uid is every uid of the target (a setuid program is not
 * readable by the user who ran it). An unknown sender may read nothing.
 */
static bool may_read(const struct req_peer *peer, uint32_t pid)
{
	uid_t uids[4];

	if (!peer->known)
		return false;
	if (peer->privileged)
		return true;
	if (proc_uids(pid, uids))
		return false;
	for (int i = 0; i < 4; i++)
		if (uids[i] != peer->uid)
			return false;
	return true;
}

static const char *kind_name(enum req_kind k)
{
	switch (k) {
	case REQ_CPU:
		return "cpu";
	case REQ_HEAP:
		return "heap";
	case REQ_MUTEX:
		return "mutex";
	case REQ_BLOCK:
		return "block";
	case REQ_THREADS:
		return "threads";
	}
	return "unknown";
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
	if (p->pid && !may_read(&p->peer, p->pid)) {
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
 * Snapshots: a threads profile (nothing to collect over time, so seconds
 * and hz are ignored, as Go's goroutine endpoint ignores seconds), and the
 * heap profile of a process a heap_target names asked for without seconds
 * (its continuous profile as it stands, as Go's heap endpoint answers at
 * once). Taken at the next requests__tick rather than here, because the
 * front ends expect done before requests__start returns only for
 * refusals: the deadline is now, which the event loop's timeout sees at
 * once.
 */
static struct request *start_snapshot(struct requests *r, const struct req_params *p,
				      req_done_fn done, void *ctx)
{
	struct request *q;

	if (!p->pid) {
		fail_now(r, done, ctx, 400, "a %s profile needs a pid", kind_name(p->kind));
		return NULL;
	}
	q = admit(r, p, done, ctx);
	if (!q)
		return NULL;
	q->snapshot = true;
	q->start_ns = q->deadline_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &q->start_real);
	q->next = r->list;
	r->list = q;
	r->active++;
	log_debug("request: %s snapshot of pid %u", kind_name(p->kind), p->pid);
	return q;
}

/* Takes the snapshot and answers. */
static void finish_snapshot(struct requests *r, struct request *q)
{
	struct req_result res = { .status = 200 };
	int err;

	if (q->p.kind == REQ_HEAP) {
		err = r->o.heap_current(r->o.heap_ctx, q->p.pid, &res.data, &res.len);
		if (err == -ENOENT)
			snprintf(res.message, sizeof(res.message),
				 "pid %u is no longer heap-profiled continuously: ask with seconds",
				 q->p.pid);
		else if (err)
			snprintf(res.message, sizeof(res.message), "cannot encode the profile: %s",
				 strerror(-err));
		if (err == -ENOENT)
			err = -ESRCH;
	} else {
		if (!r->threads)
			r->threads = threads_snapshot__new(r->o.procs, r->o.ksyms);
		if (!r->threads) {
			err = -ENOMEM;
			snprintf(res.message, sizeof(res.message), "out of memory");
		} else {
			err = threads_snapshot__profile(r->threads, q->p.pid, &res.data, &res.len,
							res.message, sizeof(res.message));
		}
	}
	if (err)
		res.status = err == -ESRCH ? 404 : err == -ENOSPC ? 503 : 500;
	unlink_req(r, q);
	r->served++;
	q->done(&res, q->ctx);
	req_free(q);
}

/* Records of this kind lost host-wide so far: a request that saw some says
 * its profile may lack samples. */
static uint64_t ring_drops(struct requests *r, enum req_kind kind)
{
	return r->o.ring_drops ? r->o.ring_drops(r->o.status_ctx, kind) : 0;
}

struct request *requests__start(struct requests *r, const struct req_params *p, req_done_fn done,
				void *ctx)
{
	unsigned seconds = p->seconds ? p->seconds : DEFAULT_SECONDS;
	struct request *q;

	if (p->kind == REQ_THREADS ||
	    (p->kind == REQ_HEAP && !p->seconds && p->pid && r->o.heap_watched &&
	     r->o.heap_current && r->o.heap_watched(r->o.heap_ctx, p->pid)))
		return start_snapshot(r, p, done, ctx);
	if (p->kind != REQ_CPU && p->kind != REQ_HEAP && !is_wait(p->kind)) {
		fail_now(r, done, ctx, 501, "%s profiles are not implemented yet",
			 kind_name(p->kind));
		return NULL;
	}
	if (p->kind != REQ_CPU && !p->pid) {
		/* they cost the process something: only for the PIDs asked for */
		fail_now(r, done, ctx, 400, "a %s profile needs a pid", kind_name(p->kind));
		return NULL;
	}
	if (seconds < 1 || seconds > r->o.max_seconds) {
		fail_now(r, done, ctx, 400, "seconds must be 1..%u", r->o.max_seconds);
		return NULL;
	}
	if (p->hz > MAX_HZ) {
		fail_now(r, done, ctx, 400, "hz must be 1..%u", MAX_HZ);
		return NULL;
	}
	if (p->pid == 0 && p->hz > r->o.frequency_hz) {
		/* faster sampling of every process would cost every process */
		fail_now(r, done, ctx, 400,
			 "hz above %u needs a pid: the whole host is sampled at %u Hz",
			 r->o.frequency_hz, r->o.frequency_hz);
		return NULL;
	}
	q = admit(r, p, done, ctx);
	if (!q)
		return NULL;
	q->hz = p->hz ? p->hz : r->o.frequency_hz;
	if (p->kind == REQ_HEAP) {
		char err[200] = "heap profiling is not available";

		for (struct request *o = r->list; o; o = o->next) {
			if (o->p.kind == REQ_HEAP && o->p.pid == p->pid) {
				unadmit(r, q);
				fail_now(r, done, ctx, 429,
					 "a heap profile of pid %u is already being "
					 "collected; try again when it is done",
					 p->pid);
				return NULL;
			}
		}
		q->heap = r->o.heap_attach
				  ? r->o.heap_attach(r->o.heap_ctx, p->pid, err, sizeof(err))
				  : NULL;
		if (!q->heap) {
			int e = errno;

			unadmit(r, q);
			fail_now(r, done, ctx,
				 e == ESRCH                       ? 404
				 : e == ENOENT || e == EOPNOTSUPP ? 400
								  : 500,
				 "%s", err);
			return NULL;
		}
	} else if (is_wait(p->kind)) {
		char err[200] = "not available";
		int e = r->o.wait_attach ? r->o.wait_attach(r->o.wait_ctx, wait_kind_of(p->kind),
							    p->pid, err, sizeof(err))
					 : -ENOSYS;

		if (e) {
			unadmit(r, q);
			fail_now(r, done, ctx, e == -ENOSPC ? 429 : 500, "%s", err);
			return NULL;
		}
		q->wait_attached = true;
	} else if (p->pid && q->hz > r->o.frequency_hz) {
		/* Faster than the continuous rate: this process only. */
		q->events = cpu_sampler__attach_pid(r->o.sampler, p->pid, q->hz,
						    MAX_THREADS_PER_REQUEST);
		if (!q->events) {
			int err = errno;
			unsigned hz = q->hz;

			unadmit(r, q);
			if (err == ESRCH) {
				fail_now(r, done, ctx, 404, "no such process: %u", p->pid);
			} else if (err == EMFILE || err == ENFILE) {
				struct rlimit rl = { 0 };

				getrlimit(RLIMIT_NOFILE, &rl);
				fail_now(r, done, ctx, 503,
					 "cannot sample pid %u at %u Hz: too many "
					 "open files (limit %llu)",
					 p->pid, hz, (unsigned long long)rl.rlim_cur);
			} else
				fail_now(r, done, ctx, 500, "cannot sample pid %u at %u Hz: %s",
					 p->pid, hz, strerror(err));
			return NULL;
		}
		q->own_events = true;
	} else if (p->hz && p->hz < r->o.frequency_hz) {
		q->hz = r->o.frequency_hz; /* never sample less than we do anyway */
	}
	q->ring_drops0 = ring_drops(r, p->kind);
	q->start_ns = mono_ns();
	q->deadline_ns = q->start_ns + seconds * 1000000000ull;
	clock_gettime(CLOCK_REALTIME, &q->start_real);
	q->next = r->list;
	r->list = q;
	r->active++;
	log_debug("request: %s pid %u for %us at %u Hz", kind_name(p->kind), p->pid, seconds,
		  q->hz);
	return q;
}

void requests__cancel(struct requests *r, struct request *q)
{
	unlink_req(r, q);
	req_free(q);
}

static struct req_agg *agg_for(struct request *q, struct image *img)
{
	for (unsigned i = 0; i < q->nr_aggs; i++)
		if (q->aggs[i].img == img)
			return &q->aggs[i];
	if (q->nr_aggs == q->cap_aggs) {
		unsigned cap = q->cap_aggs ? q->cap_aggs * 2 : 4;
		struct req_agg *na;

		if (cap > 65536)
			return NULL;
		na = realloc(q->aggs, cap * sizeof(*na));
		if (!na)
			return NULL;
		q->aggs = na;
		q->cap_aggs = cap;
	}
	q->aggs[q->nr_aggs].img = img;
	img->refs++;
	/* a host-wide request shares its byte budget across processes */
	stackagg__init(&q->aggs[q->nr_aggs].agg,
		       q->p.pid ? AGG_BYTES_PER_REQUEST : AGG_BYTES_PER_REQUEST * 4 / 16);
	heap_agg__init(&q->aggs[q->nr_aggs].heap, AGG_BYTES_PER_REQUEST, HEAP_MAX_LIVE_PER_REQUEST);
	wait_agg__init(&q->aggs[q->nr_aggs].wait, wait_kind_of(q->p.kind), AGG_BYTES_PER_REQUEST,
		       WAIT_MAX_PENDING_PER_REQUEST);
	return &q->aggs[q->nr_aggs++];
}

void requests__on_sample(struct requests *r, struct image *img, const struct cpu_sample *s,
			 const uint64_t *uf, unsigned nr_uframes)
{
	const uint64_t *kf = (const uint64_t *)s->frames;
	bool own = s->flags & CPU_F_REQUEST;

	for (struct request *q = r->list; q; q = q->next) {
		struct req_agg *a;
		int64_t v[2];

		if (q->p.kind != REQ_CPU || (q->p.pid && q->p.pid != s->pid))
			continue; /* (a host-wide request takes every process) */
		if (q->own_events != own || s->time_ns < q->start_ns)
			continue;
		if (!q->p.pid && q->bytes >= HOST_REQUEST_MAX_BYTES) {
			q->dropped++;
			continue;
		}
		a = agg_for(q, img);
		if (!a)
			continue;
		v[0] = s->weight;
		v[1] = (int64_t)s->weight * (1000000000ll / q->hz);
		q->bytes -= a->agg.bytes;
		stackagg__add(&a->agg, s->tid, s->comm, kf, s->nr_kframes, uf, nr_uframes, v, 2);
		q->bytes += a->agg.bytes;
	}
}

void requests__on_heap_event(struct requests *r, struct image *img, const struct heap_event *ev)
{
	for (struct request *q = r->list; q; q = q->next) {
		struct req_agg *a;

		if (q->p.kind != REQ_HEAP || q->p.pid != ev->pid || ev->time_ns < q->start_ns)
			continue;
		a = agg_for(q, img);
		if (a)
			heap_agg__apply(&a->heap, ev);
	}
}

void requests__on_heap_lost(struct requests *r, struct image *img, const struct heap_lost *l)
{
	for (struct request *q = r->list; q; q = q->next) {
		struct req_agg *a;

		if (q->p.kind != REQ_HEAP || q->p.pid != img->pid)
			continue;
		a = agg_for(q, img);
		if (a)
			heap_agg__lost(&a->heap, l);
	}
}

void requests__on_wait(struct requests *r, struct image *img, const struct wait_record *rec,
		       const uint64_t *uframes, unsigned nr_uframes)
{
	enum req_kind kind = rec->kind == WAIT_MUTEX ? REQ_MUTEX : REQ_BLOCK;

	for (struct request *q = r->list; q; q = q->next) {
		struct req_agg *a;

		if (q->p.kind != kind || q->p.pid != rec->pid || rec->time_ns < q->start_ns)
			continue;
		a = agg_for(q, img);
		if (!a)
			continue;
		if (rec->type == WAIT_REC_BEGIN)
			wait_agg__begin(&a->wait, rec, uframes, nr_uframes);
		else
			wait_agg__end(&a->wait, rec);
	}
}

static bool target_exited(struct request *q)
{
	for (unsigned i = 0; i < q->nr_aggs; i++)
		if (q->aggs[i].img->pid == q->p.pid && q->aggs[i].img->exited)
			return true;
	return false;
}

/* cut: NULL, or why the request ends before its deadline (a comment). */
static void finish(struct requests *r, struct request *q, const char *cut)
{
	struct req_result res = { .status = 200 };
	uint64_t now = mono_ns();
	struct pprof *p;
	int err = 0;

	int64_t t0 = q->start_real.tv_sec * 1000000000ll + q->start_real.tv_nsec;
	uint64_t rate = 0;

	if (q->snapshot) {
		finish_snapshot(r, q);
		return;
	}

	for (unsigned i = 0; i < q->nr_aggs; i++)
		if (q->aggs[i].heap.rate)
			rate = q->aggs[i].heap.rate;
	p = q->p.kind == REQ_HEAP ? heap_profile__new(rate, t0, now - q->start_ns)
	    : is_wait(q->p.kind)  ? wait_profile__new(t0, now - q->start_ns)
				  : cpu_profile__new(q->hz, t0, now - q->start_ns);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	if (q->p.kind == REQ_HEAP) {
		pprof__commentf(p, "pprofd %s: heap profile of pid %u over %.1f s", PPROFD_VERSION,
				q->p.pid, (now - q->start_ns) / 1e9);
		pprof__add_comment(p, "only allocations made during the profile are known: in-use "
				      "counts the blocks they left allocated");
	} else if (is_wait(q->p.kind)) {
		pprof__commentf(p, "pprofd %s: %s profile of pid %u over %.1f s", PPROFD_VERSION,
				kind_name(q->p.kind), q->p.pid, (now - q->start_ns) / 1e9);
		pprof__add_comment(
			p,
			q->p.kind == REQ_MUTEX
				? "each sample: the stack that released a contended lock; delay: "
				  "the time its waiters waited for it"
				: "each sample: where a thread blocked; delay: how long it was off "
				  "CPU (waits that had not ended when the profile was cut are not "
				  "counted)");
	} else if (q->p.pid) {
		pprof__commentf(p, "pprofd %s: cpu profile of pid %u, %u Hz", PPROFD_VERSION,
				q->p.pid, q->hz);
	} else {
		pprof__commentf(p, "pprofd %s: cpu profile of the whole host, %u Hz",
				PPROFD_VERSION, q->hz);
	}
	if (cut)
		pprof__add_comment(p, cut);
	if (q->dropped) {
		pprof__commentf(p,
				"%" PRIu64 " samples dropped: the request's "
				"stack tables reached %u MiB",
				q->dropped, HOST_REQUEST_MAX_BYTES >> 20);
	}
	pprof__comment_lost(p, ring_drops(r, q->p.kind) - q->ring_drops0, "while this profile ran");
	for (unsigned i = 0; i < q->nr_aggs && !err; i++) {
		if (q->p.kind == REQ_HEAP) {
			/* an allocation's frames are all return addresses */
			err = stack_profile__add(p, r->o.procs, *r->o.ksyms, q->aggs[i].img,
						 &q->aggs[i].heap.agg, false);
			if (!err)
				err = heap_profile__add_losses(p, &q->aggs[i].heap,
							       q->aggs[i].img->pid);
			continue;
		}
		if (is_wait(q->p.kind)) {
			err = stack_profile__add(p, r->o.procs, *r->o.ksyms, q->aggs[i].img,
						 &q->aggs[i].wait.agg, false);
			continue;
		}
		err = cpu_profile__add_image(p, r->o.procs, *r->o.ksyms, q->aggs[i].img,
					     &q->aggs[i].agg);
		if (q->aggs[i].agg.dropped) {
			pprof__commentf(p,
					"%" PRIu64 " samples of pid %u dropped: "
					"the request's stack table was full",
					q->aggs[i].agg.dropped, q->aggs[i].img->pid);
		}
	}
	if (!err)
		err = pprof__encode_gz(p, &res.data, &res.len);
out:
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

void requests__tick(struct requests *r)
{
	uint64_t now = mono_ns();
	struct request *q = r->list, *next;

	for (; q; q = next) {
		bool exited = q->p.pid && target_exited(q);

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
	threads_snapshot__free(r->threads);
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
	char names[8][48];
	uint64_t vals[8];
	int k = threads_snapshot__counters(r->threads, names, vals, 8);

	for (int i = 0; i < k && n < max; i++, n++) {
		snprintf(out[n].name, sizeof(out[n].name), "%.47s", names[i]);
		out[n].value = vals[i];
	}
	return n;
}
