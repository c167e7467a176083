/* SPDX-License-Identifier: MIT */
/*
 * Per-PID (and host-wide) profile requests, shared by both front ends (the
 * control socket and HTTP) so that they follow the same rules and give the
 * same results. Everything runs on the daemon's one event-loop thread: a
 * request collects samples alongside the continuous profiles until its
 * deadline, then its `done` callback gets the encoded profile or an error.
 */
#ifndef PPROFD_REQUESTS_H
#define PPROFD_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kind.h"
#include "peer_priv.h"

struct req_params {
	enum kind_id kind;
	uint32_t pid;     /* 0: the whole host (cpu only; privileged only) */
	unsigned seconds; /* 0: default (30 for cpu) */
	unsigned hz;      /* 0: the continuous frequency */
	struct req_peer peer;
};

struct req_result {
	int status;        /* HTTP-style: 200, 400, 403, 404, 429, 500, 501, 503 */
	char message[256]; /* for errors: what went wrong, for the user */
	uint8_t *data;     /* status 200: a gzip-compressed pprof profile */
	size_t len;
};

struct requests;
struct request;

/* Called once per request with its result; the callee owns res->data. */
typedef void (*req_done_fn)(struct req_result *res, void *ctx);

/*
 * Validates and starts a request. Errors found at once (bad parameters, no
 * such process, not allowed, too many requests) call done before returning
 * and return NULL. Otherwise returns a handle, and done is called when the
 * profile is ready, unless requests__cancel is called first.
 */
struct request *requests__start(struct requests *r, const struct req_params *p, req_done_fn done,
				void *ctx);
/* The client went away: drop the request without calling done. */
void requests__cancel(struct requests *r, struct request *q);

/* The daemon's health counters (pprofctl status). */
struct status_counter {
	char name[48];
	uint64_t value;
};
#define STATUS_MAX_COUNTERS 256
/* Fills out[0..max); returns how many. */
int requests__status(struct requests *r, struct status_counter *out, int max);

/* ---- the daemon's side ---------------------------------------------------- */

struct procs;
struct kallsyms;
struct collector;

struct requests_opts {
	struct procs *procs;
	struct kallsyms *const *ksyms;
	/* the kinds requests are served for, by kind_id (NULL: not one) */
	struct profile_kind *const *kinds;
	/* offers the records to the requests' collections (collection.h) */
	struct collector *collector;
	unsigned max_seconds;    /* config max_request_seconds */
	unsigned max_concurrent; /* config max_concurrent_requests */
	unsigned max_per_user;   /* config max_requests_per_user */
	unsigned reserved;       /* config reserved_requests: root's alone */
	/* fills the daemon's counters; returns how many */
	int (*status)(void *ctx, struct status_counter *out, int max);
	void *status_ctx;
};

/* What both front ends say of a duration out of range (its %u: the
 * bound): one rule, 0 refused as 301 is. */
#define REQ_SECONDS_RANGE "seconds must be 1..%u (max_request_seconds in pprofd's config)"

struct requests *requests__new(const struct requests_opts *o);
/* At shutdown: answers every request now with what it has collected. */
void requests__stop(struct requests *r);
/* Answers every pending request with 503 "shutting down", then frees. */
void requests__free(struct requests *r);
/* Finishes the requests whose time is up (or whose process exited). */
void requests__tick(struct requests *r);
/* The earliest deadline (CLOCK_MONOTONIC ns), or UINT64_MAX. */
uint64_t requests__next_deadline(const struct requests *r);
/* Requests served / refused so far, and active now. */
void requests__counts(const struct requests *r, uint64_t *served, uint64_t *refused,
		      unsigned *active);

#endif
