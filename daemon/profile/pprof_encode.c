// SPDX-License-Identifier: MIT
/*
 * A pprof encoded (pprof.h). It never builds the whole protobuf-c object
 * tree: a protobuf message may be split into several concatenated messages
 * whose repeated fields are appended on parsing, so the profile is packed in
 * batches of a few hundred items, each batch deflated as soon as it is
 * packed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "pprof_int.h"
#include "profile.pb-c.h"

#define BATCH 512

struct gz {
	z_stream zs;
	uint8_t *pb; /* one packed batch */
	size_t pb_cap;
	uint8_t *out;
	size_t out_cap;
};

/* Deflates n bytes (flush: Z_NO_FLUSH or Z_FINISH) into the growing output. */
static int gz_write(struct gz *g, const uint8_t *data, size_t n, int flush)
{
	int ret;

	g->zs.next_in = (uint8_t *)data;
	g->zs.avail_in = n;
	for (;;) {
		if (!g->zs.avail_out) {
			size_t len = g->zs.total_out, ncap;
			uint8_t *o;

			if (__builtin_mul_overflow(g->out_cap, 2, &ncap))
				return -ENOMEM;
			o = realloc(g->out, ncap);
			if (!o)
				return -ENOMEM;
			g->out = o;
			g->out_cap = ncap;
			g->zs.next_out = o + len;
			g->zs.avail_out = ncap - len > UINT32_MAX ? UINT32_MAX : ncap - len;
		}
		ret = deflate(&g->zs, flush);
		if (ret == Z_STREAM_END)
			return 0;
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		if (flush == Z_NO_FLUSH && !g->zs.avail_in && g->zs.avail_out)
			return 0;
		/* no progress although there was room: zlib is confused */
		if (ret == Z_BUF_ERROR && g->zs.avail_out)
			return -EIO;
	}
}

/* Packs one (partial) Profile message and deflates it. */
static int gz_pack(struct gz *g, const Perftools__Profiles__Profile *msg)
{
	size_t n = perftools__profiles__profile__get_packed_size(msg);

	if (n > UINT32_MAX)
		return -E2BIG;
	if (n > g->pb_cap) {
		uint8_t *b = realloc(g->pb, n);

		if (!b)
			return -ENOMEM;
		g->pb = b;
		g->pb_cap = n;
	}
	perftools__profiles__profile__pack(msg, g->pb);
	return gz_write(g, g->pb, n, Z_NO_FLUSH);
}

/* Scratch space for one batch, reused from batch to batch. */
struct scratch {
	void *objs, **ptrs;
	size_t objs_bytes, nr_ptrs;
};

/* Room for n message objects of `size` bytes, and pointers to them. */
static int scratch_get(struct scratch *s, size_t n, size_t size)
{
	void *o;

	if (n * size > s->objs_bytes) {
		o = realloc(s->objs, n * size);
		if (!o)
			return -ENOMEM;
		s->objs = o;
		s->objs_bytes = n * size;
	}
	if (n > s->nr_ptrs) {
		o = realloc(s->ptrs, n * sizeof(void *));
		if (!o)
			return -ENOMEM;
		s->ptrs = o;
		s->nr_ptrs = n;
	}
	for (size_t i = 0; i < n; i++)
		s->ptrs[i] = (char *)s->objs + i * size;
	return 0;
}

static void scratch_free(struct scratch *s)
{
	free(s->objs);
	free(s->ptrs);
}

static int encode_header(struct pprof *p, struct gz *g)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType vts[p->nr_types], *vtp[p->nr_types];

	for (size_t i = 0; i < p->nr_types; i++) {
		perftools__profiles__value_type__init(&vts[i]);
		vts[i].type = p->types[i].type;
		vts[i].unit = p->types[i].unit;
		vtp[i] = &vts[i];
	}
	msg.n_sample_type = p->nr_types;
	msg.sample_type = vtp;
	if (p->period_type.type || p->period_type.unit) {
		pt.type = p->period_type.type;
		pt.unit = p->period_type.unit;
		msg.period_type = &pt;
	}
	msg.period = p->period;
	msg.time_nanos = p->time_nanos;
	msg.duration_nanos = p->duration_nanos;
	msg.n_comment = p->nr_comments;
	msg.comment = p->nr_comments ? p->comments : NULL;
	msg.default_sample_type = p->default_type;
	return gz_pack(g, &msg);
}

static int encode_strings(struct pprof *p, struct gz *g)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	char *ptrs[BATCH];
	int err;

	for (size_t i = 0; i < p->nr_strs; i += BATCH) {
		size_t n = p->nr_strs - i < BATCH ? p->nr_strs - i : BATCH;

		for (size_t j = 0; j < n; j++)
			ptrs[j] = p->sbuf + p->strs[i + j].off;
		msg.n_string_table = n;
		msg.string_table = ptrs;
		err = gz_pack(g, &msg);
		if (err)
			return err;
	}
	return 0;
}

/* One batch of a repeated field: items [i, i + n) into msg, their message
 * objects in s (and the ones they point to in sub). */
typedef int batch_fn(const struct pprof *p, Perftools__Profiles__Profile *msg, size_t i, size_t n,
		     struct scratch *s, struct scratch *sub);

/* nr items, BATCH at a time, each batch packed as a message of its own
 * (the format's repeated fields concatenate). */
static int encode_batches(const struct pprof *p, struct gz *g, size_t nr, batch_fn *batch,
			  struct scratch *s, struct scratch *sub)
{
	for (size_t i = 0; i < nr; i += BATCH) {
		Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
		int err = batch(p, &msg, i, nr - i < BATCH ? nr - i : BATCH, s, sub);

		if (!err)
			err = gz_pack(g, &msg);
		if (err)
			return err;
	}
	return 0;
}

static int mappings_batch(const struct pprof *p, Perftools__Profiles__Profile *msg, size_t i,
			  size_t n, struct scratch *s, struct scratch *sub)
{
	Perftools__Profiles__Mapping *m;
	int err = scratch_get(s, n, sizeof(*m));

	(void)sub;
	if (err)
		return err;
	m = s->objs;
	for (size_t j = 0; j < n; j++) {
		const struct map_rec *r = &p->maps[i + j];

		perftools__profiles__mapping__init(&m[j]);
		m[j].id = i + j + 1;
		m[j].memory_start = r->start;
		m[j].memory_limit = r->limit;
		m[j].file_offset = r->offset;
		m[j].filename = r->filename;
		m[j].build_id = r->build_id;
		m[j].has_functions = !!(r->flags & MAP_HAS_FUNCTIONS);
		m[j].has_filenames = !!(r->flags & MAP_HAS_FILENAMES);
		m[j].has_line_numbers = !!(r->flags & MAP_HAS_LINE_NUMBERS);
		m[j].has_inline_frames = !!(r->flags & MAP_HAS_INLINE_FRAMES);
	}
	msg->n_mapping = n;
	msg->mapping = (Perftools__Profiles__Mapping **)s->ptrs;
	return 0;
}

static int functions_batch(const struct pprof *p, Perftools__Profiles__Profile *msg, size_t i,
			   size_t n, struct scratch *s, struct scratch *sub)
{
	Perftools__Profiles__Function *f;
	int err = scratch_get(s, n, sizeof(*f));

	(void)sub;
	if (err)
		return err;
	f = s->objs;
	for (size_t j = 0; j < n; j++) {
		const struct func_rec *r = &p->funcs[i + j];

		perftools__profiles__function__init(&f[j]);
		f[j].id = i + j + 1;
		f[j].name = r->name;
		f[j].system_name = r->system_name;
		f[j].filename = r->filename;
		f[j].start_line = r->start_line;
	}
	msg->n_function = n;
	msg->function = (Perftools__Profiles__Function **)s->ptrs;
	return 0;
}

static int locations_batch(const struct pprof *p, Perftools__Profiles__Profile *msg, size_t i,
			   size_t n, struct scratch *s, struct scratch *sub)
{
	/* a batch's lines are contiguous in p->lines */
	size_t first = p->locs[i].line_off;
	size_t nl = p->locs[i + n - 1].line_off + p->locs[i + n - 1].nr_lines - first;
	Perftools__Profiles__Location *l;
	Perftools__Profiles__Line *ln;
	int err = scratch_get(s, n, sizeof(*l));

	if (!err)
		err = scratch_get(sub, nl, sizeof(*ln));
	if (err)
		return err;
	l = s->objs;
	ln = sub->objs;
	for (size_t j = 0; j < nl; j++) {
		perftools__profiles__line__init(&ln[j]);
		ln[j].function_id = p->lines[first + j].function_id;
		ln[j].line = p->lines[first + j].line;
	}
	for (size_t j = 0; j < n; j++) {
		const struct loc_rec *r = &p->locs[i + j];

		perftools__profiles__location__init(&l[j]);
		l[j].id = i + j + 1;
		l[j].mapping_id = r->mapping_id;
		l[j].address = r->address;
		l[j].n_line = r->nr_lines;
		if (r->nr_lines)
			l[j].line = (Perftools__Profiles__Line **)sub->ptrs + (r->line_off - first);
	}
	msg->n_location = n;
	msg->location = (Perftools__Profiles__Location **)s->ptrs;
	return 0;
}

static int samples_batch(const struct pprof *p, Perftools__Profiles__Profile *msg, size_t i,
			 size_t n, struct scratch *s, struct scratch *sub)
{
	Perftools__Profiles__Sample *sm;
	Perftools__Profiles__Label *lb;
	size_t nl = 0;
	int err;

	/* Label messages are made per batch: label sets may be many. */
	for (size_t j = 0; j < n; j++)
		nl += p->lsets[p->samples[i + j].lset - 1].n;
	err = scratch_get(s, n, sizeof(*sm));
	if (!err)
		err = scratch_get(sub, nl, sizeof(*lb));
	if (err)
		return err;
	sm = s->objs;
	lb = sub->objs;
	nl = 0;
	for (size_t j = 0; j < n; j++) {
		const struct sample_rec *r = &p->samples[i + j];
		const struct range *st = &p->stacks[r->stack - 1];
		const struct range *ls = &p->lsets[r->lset - 1];

		perftools__profiles__sample__init(&sm[j]);
		sm[j].n_location_id = st->n;
		if (st->n)
			sm[j].location_id = p->stk + st->off;
		sm[j].n_value = p->nr_types;
		sm[j].value = p->vals + (i + j) * p->nr_types;
		sm[j].n_label = ls->n;
		if (ls->n)
			sm[j].label = (Perftools__Profiles__Label **)sub->ptrs + nl;
		for (size_t k = 0; k < ls->n; k++, nl++) {
			const struct label_rec *lr = &p->lbls[ls->off + k];

			perftools__profiles__label__init(&lb[nl]);
			lb[nl].key = lr->key;
			lb[nl].str = lr->str;
			lb[nl].num = lr->num;
			lb[nl].num_unit = lr->unit;
		}
	}
	msg->n_sample = n;
	msg->sample = (Perftools__Profiles__Sample **)s->ptrs;
	return 0;
}

int pprof__encode_gz(struct pprof *p, uint8_t **out, size_t *out_len)
{
	struct scratch s = { 0 }, sub = { 0 };
	struct gz g = { 0 };
	int err;

	if (p->err)
		return p->err;
	g.out_cap = 16384;
	g.out = malloc(g.out_cap);
	if (!g.out)
		return -ENOMEM;
	/* Go's own profiles use the fastest level too: they are small. */
	if (deflateInit2(&g.zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g.out);
		return -ENOMEM;
	}
	g.zs.next_out = g.out;
	g.zs.avail_out = g.out_cap;

	err = encode_header(p, &g);
	if (!err)
		err = encode_strings(p, &g);
	if (!err)
		err = encode_batches(p, &g, p->nr_maps, mappings_batch, &s, &sub);
	if (!err)
		err = encode_batches(p, &g, p->nr_funcs, functions_batch, &s, &sub);
	if (!err)
		err = encode_batches(p, &g, p->nr_locs, locations_batch, &s, &sub);
	if (!err)
		err = encode_batches(p, &g, p->nr_samples, samples_batch, &s, &sub);
	if (!err)
		err = gz_write(&g, NULL, 0, Z_FINISH);
	scratch_free(&s);
	scratch_free(&sub);
	free(g.pb);
	deflateEnd(&g.zs);
	if (err) {
		free(g.out);
		return err;
	}
	*out = g.out;
	*out_len = g.zs.total_out;
	return 0;
}
