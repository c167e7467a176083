// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "collection.h"
#include "output.h"
#include "pprof.h"
#include "procs.h"
#include "stackagg.h"

/* A host-wide collection's aggregates, all processes together. */
#define HOST_MAX_BYTES (64u << 20)
#define MAX_IMAGES (1u << 16)

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
		c->k->agg_free(c->ims[i].agg);
	}
	free(c->ims);
	c->ims = NULL;
	c->nr_ims = c->cap_ims = 0;
	c->bytes = 0;
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

static struct kind_image *image_agg(struct collection *c, struct image *img)
{
	void *agg;

	for (unsigned i = 0; i < c->nr_ims; i++)
		if (c->ims[i].img == img)
			return &c->ims[i];
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
	agg = c->k->agg_new(c->k, &c->hold);
	if (!agg)
		return NULL;
	img->refs++;
	c->ims[c->nr_ims] = (struct kind_image){ .img = img, .agg = agg };
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
		if (!c->hold.pid && c->bytes >= HOST_MAX_BYTES) {
			c->dropped++;
			continue;
		}
		a = image_agg(c, img);
		if (!a)
			continue;
		before = c->k->agg_stacks(a->agg)->bytes;
		c->k->agg_record(a->agg, &c->hold, rec);
		c->bytes += c->k->agg_stacks(a->agg)->bytes - before;
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
		if (stackagg__len(c->k->agg_stacks(c->ims[i].agg)))
			return false;
	return true;
}

struct pprof *collection__build(struct collection *c, struct procs *procs,
				const struct kallsyms *ksyms, int64_t time_nanos,
				int64_t duration_nanos, const char *cut, int *err)
{
	struct pprof *p =
		c->k->profile_new(c->k, &c->hold, c->ims, c->nr_ims, time_nanos, duration_nanos);
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
	pprof__comment_lost(p, drops,
			    c->hold.standing ? "in this window" : "while this profile ran");
	*err = 0;
	for (unsigned i = 0; i < c->nr_ims && !*err; i++)
		*err = c->k->profile_add(p, procs, ksyms, &c->ims[i]);
	if (*err) {
		pprof__free(p);
		return NULL;
	}
	return p;
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

int collection__write_window(struct collection *c, struct procs *procs,
			     const struct kallsyms *ksyms, struct output_health *h, const char *dir,
			     struct timespec start, int64_t duration_nanos, const char *cut)
{
	struct pprof *p;
	int err, written = 0;

	if (!collection__empty(c)) {
		p = collection__build(c, procs, ksyms, start.tv_sec * 1000000000ll + start.tv_nsec,
				      duration_nanos, cut, &err);
		if (p)
			err = output__write_profile(h, dir, p, c->hold.comm, c->hold.pid,
						    c->k->name, start.tv_sec, NULL, NULL, 0);
		else /* not built: a failed write */
			output__profile_result(h, dir, c->k->name, c->hold.pid, err);
		pprof__free(p);
		written = !err;
	}
	collection__window_end(c);
	return written;
}

void collection__window_end(struct collection *c)
{
	for (unsigned i = 0; i < c->nr_ims; i++)
		if (c->k->agg_window_end)
			c->k->agg_window_end(c->ims[i].agg);
	if (c->k->ring_drops)
		c->ring_drops0 = c->k->ring_drops(c->k);
}
