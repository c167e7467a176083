/* SPDX-License-Identifier: MIT */
/*
 * The processes a heap_target or lock_target line names, each profiled
 * for as long as it lives (heap_watch.c, wait_watch.c): the list, what
 * the config no longer names at a SIGHUP, and the window's end, where
 * every one is written and the ended and released ones go.
 */
#ifndef PPROFD_CONT_LIST_H
#define PPROFD_CONT_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "unwind_fds.h"

struct image;
struct procs;
struct file_cache;
struct kallsyms;
struct output_health;
struct collector;

/* What a watch (heap_watch.c, wait_watch.c) works with. */
struct watch_opts {
	const struct config *cfg; /* the *_target lines, heap_sample_bytes */
	struct procs *procs;
	struct kallsyms *const *ksyms;
	int epfd;
	struct output_health *health; /* write failures are reported there */
	/* every record goes there, matched to its image (wait's BEGIN
	 * records with their user stack unwound, leaf first) */
	struct collector *collector;
	struct unwind_fds unwind; /* the table walker's maps, shared */
	struct file_cache *files; /* the daemon's mapped files (NULL: none) */
};

/* The first member of a kind's own record (heap_cont, wait_cont). */
struct cont {
	uint32_t pid;
	struct image *img; /* holds a reference */
	bool released;     /* the config stopped naming it: written once more, then freed */
	struct cont *next;
};

/* What a list does through its kind: fn(ctx, c). */
typedef void cont_fn(void *ctx, struct cont *c);

struct cont_list {
	struct cont *head;
	const char *kind; /* for the log: "heap" */
	const char *key;  /* the config key: "heap_target" */
	cont_fn *release; /* detach what it attached; its data stays */
	cont_fn *free;    /* detach, drop the image's reference, free */
	void *ctx;
};

static inline struct cont_list cont_list__make(const char *kind, const char *key, cont_fn *release,
					       cont_fn *free, void *ctx)
{
	return (struct cont_list){
		.kind = kind, .key = key, .release = release, .free = free, .ctx = ctx
	};
}

/* The live record of pid, released or not; NULL when there is none. */
struct cont *cont_list__find(const struct cont_list *l, uint32_t pid);
/* The live record of pid that a line names now; NULL when there is none. */
struct cont *cont_list__named(const struct cont_list *l, uint32_t pid);
/*
 * Whether pid is one to profile from now: one of the n lines t names it
 * (comm: its name when known) and it is not profiled now; never pprofd
 * itself. *released: its record when the last SIGHUP released it and the
 * next named it again before it was freed (to attach again), else NULL.
 */
bool cont_list__wants(const struct cont_list *l, const struct config_target *t, size_t n,
		      uint32_t pid, const char *comm, struct cont **released);
/* Adds c, whose pid and img (a reference taken) are set. */
void cont_list__add(struct cont_list *l, struct cont *c);
/*
 * At a SIGHUP: releases what none of the n lines t names any more (so that
 * it stops paying; what was collected is written at the window's end),
 * then calls consider(ctx, pid) for every running process, when a line is
 * left.
 */
void cont_list__scan(struct cont_list *l, const struct config_target *t, size_t n,
		     void (*consider)(void *ctx, uint32_t pid));
/* The window cont_list__write writes, as each record's write sees it. */
struct cont_window {
	const char *dir;       /* the output directory */
	struct timespec start; /* its start (wall clock) */
	int64_t duration_ns;
};

/* At a window's end: write(ctx, c, win) for every record, after which the
 * ended and released ones are freed. Returns the sum of write's results. */
int cont_list__write(struct cont_list *l, const struct cont_window *win,
		     int (*write)(void *ctx, struct cont *c, const struct cont_window *win));
/* Frees every record. */
void cont_list__free(struct cont_list *l);

#endif
