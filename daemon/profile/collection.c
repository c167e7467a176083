// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "collection.h"
#include "log.h"
#include "output.h"
#include "pprof.h"
#include "procs.h"
#include "stackagg.h"

/* A host-wide collection's aggregates, all processes together. */
#define HOST_MAX_BYTES (64u << 20)
#define MAX_IMAGES (1u << 22) /* as many as max_processes may be */

/* Every kind's aggregate begins with its stacks (kind.h). */
static const struct stackagg *agg_stacks(const void *agg)
{
	return agg;
}

static void agg_free(const struct profile_kind *k, void *agg)
{
	k->agg_reset(agg);
	free(agg);
}

void collection__init(struct collection *c, struct profile_kind *k, const struct kind_hold *h,
		      uint64_t start_ns)
{
	*c = (struct collection){ .k = k, .hold = *h, .start_ns = start_ns };
	c->ring_drops0 = k->ring_drops ? k->ring_drops(k) : 0;
}

void collection__reset(struct collection *c)
{
	for (unsigned i = 0; i < c->nr_ims; i++) {
		c->ims[i].img->refs--;
		agg_free(c->k, c->ims[i].agg);
	}
	free(c->ims);
	c->ims = NULL;
	c->nr_ims = c->cap_ims = c->last = 0;
	c->bytes = 0;
	hashtab__free(&c->by_img);
}

void collector__add(struct collector *col, struct collection *c)
{
	c->next = col->head;
	col->head = c;
}

void collector__remove(struct collector *col, struct collection *c)
{
	for (struct collection **l = &col->head; *l; l = &(*l)->next) {
		if (*l == c) {
			*l = c->next;
			c->next = NULL;
			return;
		}
	}
}

struct img_key {
	const struct collection *c;
	const struct image *img;
};

static bool img_eq(const void *item, const void *key)
{
	const struct img_key *k = key;

	return k->c->ims[(uintptr_t)item - 1].img == k->img;
}

static struct kind_image *image_agg(struct collection *c, struct image *img)
{
	struct img_key key = { c, img };
	uint64_t h = hash_u64((uintptr_t)img);
	uintptr_t at;
	void *agg;

	/* a host's samples come in runs of one process */
	if (c->last < c->nr_ims && c->ims[c->last].img == img)
		return &c->ims[c->last];
	at = (uintptr_t)hashtab__find(&c->by_img, h, img_eq, &key);
	if (at) {
		c->last = at - 1;
		return &c->ims[c->last];
	}
	if (c->nr_ims == c->cap_ims) {
		unsigned cap = c->cap_ims ? c->cap_ims * 2 : 4;
		struct kind_image *na;

		if (cap > MAX_IMAGES)
			return NULL;
		na = realloc(c->ims, cap * sizeof(*na));
		if (!na)
			return NULL;
		c->ims = na;
		c->cap_ims = cap;
	}
	agg = malloc(c->k->agg_size);
	if (!agg)
		return NULL;
	c->k->agg_init(agg, c->k, &c->hold);
	if (hashtab__insert(&c->by_img, h, (void *)(uintptr_t)(c->nr_ims + 1))) {
		agg_free(c->k, agg);
		return NULL;
	}
	img->refs++;
	c->ims[c->nr_ims] = (struct kind_image){ .img = img, .agg = agg };
	c->last = c->nr_ims;
	return &c->ims[c->nr_ims++];
}

void collector__offer(struct collector *col, enum kind_id kind, struct image *img,
		      const struct kind_record *rec)
{
	for (struct collection *c = col->head; c; c = c->next) {
		struct kind_image *a;
		size_t before;

		if (c->k->id != kind || (c->hold.pid && c->hold.pid != rec->pid))
			continue; /* (a host-wide collection takes every process) */
		if (c->hold.own_events != rec->own_events ||
		    (rec->time_ns && rec->time_ns < c->start_ns))
			continue;
		if (!c->hold.pid && !c->hold.standing && c->bytes >= HOST_MAX_BYTES) {
			c->dropped++;
			continue;
		}
		a = image_agg(c, img);
		if (!a) {
			c->no_memory++;
			continue;
		}
		before = agg_stacks(a->agg)->bytes;
		c->k->agg_record(a->agg, &c->hold, rec);
		c->bytes += agg_stacks(a->agg)->bytes - before;
	}
}

bool collection__exited(const struct collection *c)
{
	for (unsigned i = 0; i < c->nr_ims; i++)
		if (c->ims[i].img->pid == c->hold.pid && c->ims[i].img->exited)
			return true;
	return false;
}

bool collection__empty(const struct collection *c)
{
	for (unsigned i = 0; i < c->nr_ims; i++)
		if (stackagg__len(agg_stacks(c->ims[i].agg)))
			return false;
	return true;
}

/* The profile of c's images ims[0..n), as hold says (the collection's, or
 * one process's of a host-wide collection). */
static struct pprof *build(const struct collection *c, const struct kind_hold *hold,
			   const struct kind_image *ims, unsigned n, struct procs *procs,
			   const struct kallsyms *ksyms, int64_t time_nanos, int64_t duration_nanos,
			   const char *cut, int *err)
{
	struct pprof *p = c->k->profile_new(c->k, hold, ims, n, time_nanos, duration_nanos);
	uint64_t drops = c->k->ring_drops ? c->k->ring_drops(c->k) - c->ring_drops0 : 0;

	*err = -ENOMEM;
	if (!p)
		return NULL;
	if (cut)
		pprof__add_comment(p, cut);
	if (c->dropped)
		pprof__commentf(p,
				"%" PRIu64 " samples dropped: the request's stack tables reached "
				"%u MiB",
				c->dropped, HOST_MAX_BYTES >> 20);
	if (c->no_memory)
		pprof__commentf(p, "%" PRIu64 " records dropped: out of memory for their process",
				c->no_memory);
	pprof__comment_lost(p, drops, hold->standing ? "in this window" : "while this profile ran");
	*err = 0;
	for (unsigned i = 0; i < n && !*err; i++)
		*err = c->k->profile_add(p, procs, ksyms, &ims[i]);
	if (*err) {
		pprof__free(p);
		return NULL;
	}
	return p;
}

struct pprof *collection__build(struct collection *c, struct procs *procs,
				const struct kallsyms *ksyms, int64_t time_nanos,
				int64_t duration_nanos, const char *cut, int *err)
{
	return build(c, &c->hold, c->ims, c->nr_ims, procs, ksyms, time_nanos, duration_nanos, cut,
		     err);
}

int collection__encode(struct collection *c, struct procs *procs, const struct kallsyms *ksyms,
		       int64_t time_nanos, int64_t duration_nanos, const char *cut, uint8_t **data,
		       size_t *len)
{
	int err;
	struct pprof *p = collection__build(c, procs, ksyms, time_nanos, duration_nanos, cut, &err);

	if (p)
		err = pprof__encode_gz(p, data, len);
	pprof__free(p);
	return err;
}

/* The window's profile of the images ims[0..n) of process pid (comm). */
static void write_one(const struct collection *c, const struct kind_image *ims, unsigned n,
		      uint32_t pid, const char *comm, struct procs *procs,
		      const struct kallsyms *ksyms, struct output_health *h, const char *dir,
		      struct timespec start, int64_t duration_nanos, const char *cut,
		      struct write_stats *st)
{
	struct kind_hold hold = c->hold;
	char path[4096];
	size_t len = 0;
	struct pprof *p;
	int err;

	hold.pid = pid;
	hold.comm = comm;
	p = build(c, &hold, ims, n, procs, ksyms, start.tv_sec * 1000000000ll + start.tv_nsec,
		  duration_nanos, cut, &err);
	if (p)
		err = output__write_profile(h, dir, p, comm, pid, c->k->name, start.tv_sec, &len,
					    path, sizeof(path));
	else /* not built: a failed write */
		output__profile_result(h, dir, c->k->name, pid, err);
	pprof__free(p);
	if (!err)
		log_debug("wrote %s (%zu bytes)", path, len);
	if (st) {
		st->files += !err;
		st->bytes += err ? 0 : len;
		st->errors += !!err;
	}
}

/* Whether im is of a process that began (a fork, an exec) at or after
 * since and has ended (exited, or exec'd into another image). */
static bool short_lived(const struct kind_image *im, uint64_t since)
{
	return since && im->img->begin_ns >= since && (im->img->exited || im->img->end_ns);
}

static int by_comm(const void *a, const void *b)
{
	return strcmp(((const struct kind_image *)a)->img->comm,
		      ((const struct kind_image *)b)->img->comm);
}

/* The short-lived processes among the n images, one file per name. */
static void write_short(const struct collection *c, const struct kind_image *ims, unsigned n,
			uint64_t since, struct procs *procs, const struct kallsyms *ksyms,
			struct output_health *h, const char *dir, struct timespec start,
			int64_t duration_nanos, struct write_stats *st)
{
	struct kind_image *v = malloc((n + 1) * sizeof(*v));
	unsigned nv = 0;
	char what[160];

	if (!v)
		return; /* written one by one instead */
	for (unsigned i = 0; i < n; i++)
		if (short_lived(&ims[i], since) && stackagg__len(agg_stacks(ims[i].agg)))
			v[nv++] = ims[i];
	qsort(v, nv, sizeof(*v), by_comm);
	for (unsigned i = 0, j; i < nv; i = j) {
		for (j = i + 1; j < nv && !strcmp(v[j].img->comm, v[i].img->comm); j++)
			;
		snprintf(what, sizeof(what),
			 "%u short-lived processes named %.16s (began and exited in this window), "
			 "each sample with its pid",
			 j - i, v[i].img->comm);
		write_one(c, &v[i], j - i, 0, v[i].img->comm, procs, ksyms, h, dir, start,
			  duration_nanos, what, st);
	}
	free(v);
}

void collection__write_window(struct collection *c, struct procs *procs,
			      const struct kallsyms *ksyms, struct output_health *h,
			      const char *dir, struct timespec start, int64_t duration_nanos,
			      const char *cut, uint64_t short_since_ns, struct write_stats *st)
{
	if (c->hold.pid && !collection__empty(c))
		write_one(c, c->ims, c->nr_ims, c->hold.pid, c->hold.comm, procs, ksyms, h, dir,
			  start, duration_nanos, cut, st);
	if (!c->hold.pid && short_since_ns)
		write_short(c, c->ims, c->nr_ims, short_since_ns, procs, ksyms, h, dir, start,
			    duration_nanos, st);
	for (unsigned i = 0; !c->hold.pid && i < c->nr_ims; i++)
		if (stackagg__len(agg_stacks(c->ims[i].agg)) &&
		    !short_lived(&c->ims[i], short_since_ns))
			write_one(c, &c->ims[i], 1, c->ims[i].img->pid, c->ims[i].img->comm, procs,
				  ksyms, h, dir, start, duration_nanos, cut, st);
	collection__window_end(c);
}

void collection__window_end(struct collection *c)
{
	if (!c->hold.pid)
		collection__reset(c); /* the images it held may go */
	for (unsigned i = 0; i < c->nr_ims; i++)
		if (c->k->agg_window_end)
			c->k->agg_window_end(c->ims[i].agg);
	if (c->k->ring_drops)
		c->ring_drops0 = c->k->ring_drops(c->k);
	c->no_memory = 0;
}
