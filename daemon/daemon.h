/* SPDX-License-Identifier: MIT */
/*
 * The daemon's parts, as main.c puts them together and runs them; and what
 * it says of itself (status.c): the health line, systemd's status, the
 * counters of `pprofctl status`.
 */
#ifndef PPROFD_DAEMON_H
#define PPROFD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "collection.h"
#include "config.h"
#include "kind.h"
#include "loop_fd.h"
#include "output.h"

struct control;
struct status_counter;

struct daemon {
	struct config cfg;
	struct file_cache *files; /* mapped files: their symbols and unwind tables */
	struct kallsyms *ksyms;
	struct procs *procs;
	struct sideband *sb;
	struct cpu_sampler *sampler;
	struct cpu_stream *cpu; /* the continuous CPU profile */
	struct requests *requests;
	struct collector collector;          /* records go there: requests, *_target */
	struct profile_kind *kinds[KIND_NR]; /* what requests are served for, by kind_id */
	struct profile_kind *threads_kind;   /* its own (the others: cpu_stream's, the watches') */
	struct control *control;
	struct http_server *http;
	struct loop_fd http_w;
	struct heap_watch *heapw; /* allocator probes: requests and heap_target */
	struct wait_watch *waitw; /* lock and off-CPU probes: requests and lock_target */
	int epfd;
	struct loop_fd sig_w, samples_w, sideband_w, cfi_w, sym_w;
	struct unwind_tables *utables; /* the table unwinder's maps (unwind_tables = true) */
	struct unwind_feed *ufeed;
	struct debuginfod *dbgi; /* debug files from servers (debuginfod_urls), or NULL */
	char dbgi_dir[4096];     /* where they land */
	struct loop_fd dbgi_w;
	bool stop;
	int argc;
	char **argv;
	uint64_t start_mono;
	uint64_t window_start_mono;
	struct timespec window_start_real;
	uint64_t sb_lost_logged_ns; /* side-band losses are logged once a minute */
	bool backlog;             /* the last drain left records in the ring: turn again at once */
	struct output_health out; /* full or read-only output dir: logged on change */
};

/* Starts every part, d->cfg read and d->epfd made (the signal fd on it):
 * 0, or -1 with the reason logged (daemon__free undoes what was made). */
int daemon__start(struct daemon *d);
/* When the loop must turn next (CLOCK_MONOTONIC ns): a drain, a window's
 * end, a request's or a client's deadline; now when a backlog waits. */
uint64_t daemon__next_wake(struct daemon *d);
uint64_t daemon__window_end(const struct daemon *d);
/* A loop turn's work, whatever woke it: the rings drained, requests and
 * clients timed, the window ended when its time is up. */
void daemon__turn(struct daemon *d);
/* Stopping: the last window written, requests answered with what they have. */
void daemon__stop(struct daemon *d);
void daemon__free(struct daemon *d);

/* The one-line summary into the log (the periodic health line) and to
 * systemd (STATUS=). */
void daemon__log_health(struct daemon *d);
void daemon__notify_status(struct daemon *d);

/* `pprofctl status`'s counters into out (max of them); their number.
 * ctx: the daemon (a requests status callback). */
int daemon__status_counters(void *ctx, struct status_counter *out, int max);

#endif
