// SPDX-License-Identifier: MIT
/*
 * The pprof builder. Everything is interned into flat arrays and the hash
 * tables hold only ids (index + 1, cast to a pointer), so a profile with tens
 * of thousands of samples stays small:
 *
 *   - stacks (location id sequences) and label sets are deduplicated, and a
 *     sample is just (stack id, label set id) plus its values;
 *   - samples with the same stack and labels are merged by adding their
 *     values, as every pprof reader would do anyway.
 *
 * Encoding never builds the whole protobuf-c object tree: a protobuf message
 * may be split into several concatenated messages whose repeated fields are
 * appended on parsing, so the profile is packed in batches of a few hundred
 * items, each batch deflated as soon as it is packed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hashtab.h"
#include "pprof.h"
#include "profile.pb-c.h"

#define ID_ITEM(id) ((void *)(uintptr_t)(id))
#define ITEM_ID(it) ((uint64_t)(uintptr_t)(it))
/* Ids and arena offsets are 32-bit to keep the records small. */
#define MAX_ITEMS UINT32_MAX
#define BATCH 512

struct str_rec {
	uint32_t off, len; /* into sbuf, NUL-terminated there */
};

struct vt_rec {
	int64_t type, unit;
};

#define MAP_HAS_FUNCTIONS 1
#define MAP_HAS_FILENAMES 2
#define MAP_HAS_LINE_NUMBERS 4
#define MAP_HAS_INLINE_FRAMES 8

struct map_rec {
	uint64_t start, limit, offset;
	int64_t filename, build_id;
	uint64_t flags;
};

struct func_rec {
	int64_t name, system_name, filename, start_line;
};

struct loc_rec {
	uint64_t mapping_id, address;
	uint32_t line_off, nr_lines; /* into lines */
};

struct label_rec {
	int64_t key, str, num, unit;
};

struct range {
	uint32_t off, n;
};

struct sample_rec {
	uint32_t stack, lset; /* ids */
};

/* A growable array of `nr` items. */
#define ARRAY(type, name) \
	type *name;       \
	size_t nr_##name, cap_##name

struct pprof {
	int err; /* sticky: the first ENOMEM of a call that cannot report it */

	ARRAY(struct vt_rec, types);
	struct vt_rec period_type;
	int64_t period, time_nanos, duration_nanos, default_type;

	char *sbuf;
	size_t sbuf_len, sbuf_cap;
	ARRAY(struct str_rec, strs);
	struct hashtab str_ht;

	ARRAY(struct map_rec, maps);
	struct hashtab map_ht;
	ARRAY(struct func_rec, funcs);
	struct hashtab func_ht;
	ARRAY(struct loc_rec, locs);
	struct hashtab loc_ht;
	ARRAY(struct pprof_line, lines);

	ARRAY(uint64_t, stk); /* location ids of every stack, back to back */
	ARRAY(struct range, stacks);
	struct hashtab stack_ht;
	ARRAY(struct label_rec, lbls);
	ARRAY(struct range, lsets);
	struct hashtab lset_ht;

	ARRAY(struct sample_rec, samples);
	int64_t *vals; /* nr_types per sample */
	size_t cap_vals;
	struct hashtab sample_ht;
	size_t nr_added;

	ARRAY(int64_t, comments);
};

/* Makes room for `more` items in *arr; 0 or -ENOMEM. */
static int reserve(void **arr, size_t *cap, size_t nr, size_t more, size_t size)
{
	size_t need, ncap;
	void *n;

	if (__builtin_add_overflow(nr, more, &need))
		return -ENOMEM;
	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		if (__builtin_mul_overflow(ncap, 2, &ncap))
			return -ENOMEM;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	n = realloc(*arr, ncap * size);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

#define RESERVE(p, name, more) \
	reserve((void **)&(p)->name, &(p)->cap_##name, (p)->nr_##name, (more), sizeof(*(p)->name))

/* ---- strings ---- */

struct str_key {
	const struct pprof *p;
	const char *s;
	size_t len;
};

static bool str_eq(const void *item, const void *key)
{
	const struct str_key *k = key;
	const struct str_rec *r = &k->p->strs[ITEM_ID(item) - 1];

	return r->len == k->len && !memcmp(k->p->sbuf + r->off, k->s, k->len);
}

/* Interns s (NULL is ""); 0 and its index, or -ENOMEM. */
static int intern(struct pprof *p, const char *s, int64_t *idx)
{
	struct str_key k = { p, s ? s : "", 0 };
	uint64_t h;
	void *it;

	k.len = strlen(k.s);
	h = hash_bytes(k.s, k.len, 0);
	it = hashtab__find(&p->str_ht, h, str_eq, &k);
	if (it) {
		*idx = ITEM_ID(it) - 1;
		return 0;
	}
	if (p->nr_strs >= MAX_ITEMS || k.len >= UINT32_MAX - p->sbuf_len ||
	    reserve((void **)&p->sbuf, &p->sbuf_cap, p->sbuf_len, k.len + 1, 1) ||
	    RESERVE(p, strs, 1))
		return -ENOMEM;
	memcpy(p->sbuf + p->sbuf_len, k.s, k.len + 1);
	p->strs[p->nr_strs] = (struct str_rec){ (uint32_t)p->sbuf_len, (uint32_t)k.len };
	if (hashtab__insert(&p->str_ht, h, ID_ITEM(p->nr_strs + 1)))
		return -ENOMEM;
	p->sbuf_len += k.len + 1;
	*idx = p->nr_strs++;
	return 0;
}

/* For the calls that can only answer 0: remember the failure for encode. */
static void poison(struct pprof *p, int err)
{
	if (!p->err)
		p->err = err;
}

int64_t pprof__string(struct pprof *p, const char *s)
{
	int64_t idx;

	if (intern(p, s, &idx)) {
		poison(p, -ENOMEM);
		return 0;
	}
	return idx;
}

/* ---- the profile ---- */

static int intern_vt(struct pprof *p, const struct pprof_value_type *vt, struct vt_rec *r)
{
	if (intern(p, vt->type, &r->type) || intern(p, vt->unit, &r->unit))
		return -ENOMEM;
	return 0;
}

struct pprof *pprof__new(const struct pprof_params *params)
{
	struct pprof *p;
	int64_t dummy;
	int err = -ENOMEM;

	/* A reader rejects a profile without sample types; more than a
	 * handful is a caller's bug (values live on the stack when merged). */
	if (!params || !params->nr_sample_types || params->nr_sample_types > 64 ||
	    !params->sample_types) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (intern(p, "", &dummy) || RESERVE(p, types, params->nr_sample_types))
		goto fail;
	for (size_t i = 0; i < params->nr_sample_types; i++) {
		if (!params->sample_types[i].type || !*params->sample_types[i].type) {
			err = -EINVAL;
			goto fail;
		}
		if (intern_vt(p, &params->sample_types[i], &p->types[i]))
			goto fail;
		p->nr_types++;
	}
	if ((params->period_type.type || params->period_type.unit) &&
	    intern_vt(p, &params->period_type, &p->period_type))
		goto fail;
	p->period = params->period;
	p->time_nanos = params->time_nanos;
	p->duration_nanos = params->duration_nanos;
	if (params->default_sample_type) {
		/* Must name one of the sample types, or readers refuse it. */
		err = -EINVAL;
		for (size_t i = 0; i < p->nr_types; i++)
			if (!strcmp(params->sample_types[i].type, params->default_sample_type)) {
				p->default_type = p->types[i].type;
				err = 0;
			}
		if (err)
			goto fail;
	}
	return p;
fail:
	pprof__free(p);
	errno = -err;
	return NULL;
}

void pprof__free(struct pprof *p)
{
	if (!p)
		return;
	hashtab__free(&p->str_ht);
	hashtab__free(&p->map_ht);
	hashtab__free(&p->func_ht);
	hashtab__free(&p->loc_ht);
	hashtab__free(&p->stack_ht);
	hashtab__free(&p->lset_ht);
	hashtab__free(&p->sample_ht);
	free(p->types);
	free(p->sbuf);
	free(p->strs);
	free(p->maps);
	free(p->funcs);
	free(p->locs);
	free(p->lines);
	free(p->stk);
	free(p->stacks);
	free(p->lbls);
	free(p->lsets);
	free(p->samples);
	free(p->vals);
	free(p->comments);
	free(p);
}

/* ---- mappings, functions ---- */

struct rec_key {
	const struct pprof *p;
	const void *rec;
};

static bool map_eq(const void *item, const void *key)
{
	const struct rec_key *k = key;

	return !memcmp(&k->p->maps[ITEM_ID(item) - 1], k->rec, sizeof(struct map_rec));
}

uint64_t pprof__mapping(struct pprof *p, const struct pprof_mapping *m)
{
	struct map_rec r = { .start = m->start, .limit = m->limit, .offset = m->offset };
	struct rec_key k = { p, &r };
	uint64_t h;
	void *it;

	if (intern(p, m->filename, &r.filename) || intern(p, m->build_id, &r.build_id))
		goto nomem;
	r.flags = (m->has_functions ? MAP_HAS_FUNCTIONS : 0) |
		  (m->has_filenames ? MAP_HAS_FILENAMES : 0) |
		  (m->has_line_numbers ? MAP_HAS_LINE_NUMBERS : 0) |
		  (m->has_inline_frames ? MAP_HAS_INLINE_FRAMES : 0);
	/* map_rec has no padding: hash and compare it as bytes. */
	h = hash_bytes(&r, sizeof(r), 0);
	it = hashtab__find(&p->map_ht, h, map_eq, &k);
	if (it)
		return ITEM_ID(it);
	if (p->nr_maps >= MAX_ITEMS || RESERVE(p, maps, 1))
		goto nomem;
	p->maps[p->nr_maps] = r;
	if (hashtab__insert(&p->map_ht, h, ID_ITEM(p->nr_maps + 1)))
		goto nomem;
	return ++p->nr_maps;
nomem:
	poison(p, -ENOMEM);
	return 0;
}

static bool func_eq(const void *item, const void *key)
{
	const struct rec_key *k = key;

	return !memcmp(&k->p->funcs[ITEM_ID(item) - 1], k->rec, sizeof(struct func_rec));
}

uint64_t pprof__function(struct pprof *p, const char *name, const char *system_name,
			 const char *filename, int64_t start_line)
{
	struct func_rec r = { .start_line = start_line };
	struct rec_key k = { p, &r };
	uint64_t h;
	void *it;

	if (intern(p, name, &r.name) || intern(p, system_name, &r.system_name) ||
	    intern(p, filename, &r.filename))
		goto nomem;
	h = hash_bytes(&r, sizeof(r), 1);
	it = hashtab__find(&p->func_ht, h, func_eq, &k);
	if (it)
		return ITEM_ID(it);
	if (p->nr_funcs >= MAX_ITEMS || RESERVE(p, funcs, 1))
		goto nomem;
	p->funcs[p->nr_funcs] = r;
	if (hashtab__insert(&p->func_ht, h, ID_ITEM(p->nr_funcs + 1)))
		goto nomem;
	return ++p->nr_funcs;
nomem:
	poison(p, -ENOMEM);
	return 0;
}

/* ---- locations ---- */

/*
 * A location is identified by (mapping, address). Address 0 is no address
 * (a synthetic frame): such locations are told apart by their lines too, so
 * two different synthetic frames never merge.
 */
struct loc_key {
	const struct pprof *p;
	uint64_t mapping_id, address;
	const struct pprof_line *lines;
	size_t nr_lines;
};

static uint64_t loc_hash(const struct loc_key *k)
{
	uint64_t h = hash_u64(k->mapping_id * 0x9e3779b97f4a7c15ULL ^ hash_u64(k->address));

	if (!k->address && k->nr_lines)
		h ^= hash_bytes(k->lines, k->nr_lines * sizeof(*k->lines), 2);
	return h;
}

static bool loc_eq(const void *item, const void *key)
{
	const struct loc_key *k = key;
	const struct loc_rec *r = &k->p->locs[ITEM_ID(item) - 1];

	if (r->mapping_id != k->mapping_id || r->address != k->address)
		return false;
	if (k->address)
		return true;
	return r->nr_lines == k->nr_lines &&
	       (!k->nr_lines ||
		!memcmp(&k->p->lines[r->line_off], k->lines, k->nr_lines * sizeof(*k->lines)));
}

uint64_t pprof__find_location(struct pprof *p, uint64_t mapping_id, uint64_t address)
{
	struct loc_key k = { p, mapping_id, address, NULL, 0 };

	if (!address)
		return 0;
	return ITEM_ID(hashtab__find(&p->loc_ht, loc_hash(&k), loc_eq, &k));
}

uint64_t pprof__location(struct pprof *p, uint64_t mapping_id, uint64_t address,
			 const struct pprof_line *lines, size_t nr_lines)
{
	struct loc_key k = { p, mapping_id, address, lines, nr_lines };
	uint64_t h;
	void *it;

	/* Dangling ids would make the whole profile unreadable. */
	if (mapping_id > p->nr_maps || (nr_lines && !lines))
		return 0;
	for (size_t i = 0; i < nr_lines; i++)
		if (!lines[i].function_id || lines[i].function_id > p->nr_funcs)
			return 0;
	h = loc_hash(&k);
	it = hashtab__find(&p->loc_ht, h, loc_eq, &k);
	if (it)
		return ITEM_ID(it);
	if (p->nr_locs >= MAX_ITEMS || nr_lines > MAX_ITEMS - p->nr_lines ||
	    RESERVE(p, locs, 1) || RESERVE(p, lines, nr_lines))
		goto nomem;
	if (nr_lines)
		memcpy(&p->lines[p->nr_lines], lines, nr_lines * sizeof(*lines));
	p->locs[p->nr_locs] = (struct loc_rec){ mapping_id, address, (uint32_t)p->nr_lines,
						(uint32_t)nr_lines };
	if (hashtab__insert(&p->loc_ht, h, ID_ITEM(p->nr_locs + 1)))
		goto nomem;
	p->nr_lines += nr_lines;
	return ++p->nr_locs;
nomem:
	poison(p, -ENOMEM);
	return 0;
}

/* ---- samples ---- */

/* Stacks and label sets: runs of items in an arena, deduplicated. */
struct run_key {
	const void *arena;
	const struct range *ranges;
	const void *items;
	size_t n, size;
};

static bool run_eq(const void *item, const void *key)
{
	const struct run_key *k = key;
	const struct range *r = &k->ranges[ITEM_ID(item) - 1];

	return r->n == k->n &&
	       (!k->n || !memcmp((const char *)k->arena + (size_t)r->off * k->size, k->items,
				 k->n * k->size));
}

/* Interns a run of n items of `size` bytes; its id >= 1, or 0 on ENOMEM. */
static uint32_t intern_run(void **arena, size_t *nr_arena, size_t *cap_arena,
			   struct range **ranges, size_t *nr_ranges, size_t *cap_ranges,
			   struct hashtab *ht, const void *items, size_t n, size_t size)
{
	struct run_key k = { *arena, *ranges, items, n, size };
	uint64_t h = hash_bytes(items, n * size, 3);
	void *it = hashtab__find(ht, h, run_eq, &k);

	if (it)
		return ITEM_ID(it);
	if (*nr_ranges >= MAX_ITEMS || n > MAX_ITEMS - *nr_arena ||
	    reserve(arena, cap_arena, *nr_arena, n, size) ||
	    reserve((void **)ranges, cap_ranges, *nr_ranges, 1, sizeof(**ranges)))
		return 0;
	if (n)
		memcpy((char *)*arena + *nr_arena * size, items, n * size);
	(*ranges)[*nr_ranges] = (struct range){ (uint32_t)*nr_arena, (uint32_t)n };
	if (hashtab__insert(ht, h, ID_ITEM(*nr_ranges + 1)))
		return 0;
	*nr_arena += n;
	return ++*nr_ranges;
}

struct sample_key {
	const struct pprof *p;
	struct sample_rec s;
};

static bool sample_eq(const void *item, const void *key)
{
	const struct sample_key *k = key;
	const struct sample_rec *r = &k->p->samples[ITEM_ID(item) - 1];

	return r->stack == k->s.stack && r->lset == k->s.lset;
}

static int intern_labels(struct pprof *p, const struct pprof_label *labels, size_t n,
			 struct label_rec *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct pprof_label *l = &labels[i];

		/* pprof has no unit for string labels, nor labels without a key. */
		if (!l->key || !*l->key || (l->str && l->unit))
			return -EINVAL;
		out[i] = (struct label_rec){ .num = l->str ? 0 : l->num };
		if (intern(p, l->key, &out[i].key))
			return -ENOMEM;
		if (l->str && intern(p, l->str, &out[i].str))
			return -ENOMEM;
		if (!l->str && l->unit && intern(p, l->unit, &out[i].unit))
			return -ENOMEM;
	}
	return 0;
}

int pprof__add_sample(struct pprof *p, const uint64_t *location_ids, size_t nr_locations,
		      const int64_t *values, const struct pprof_label *labels, size_t nr_labels)
{
	struct label_rec lbuf[8], *lrecs = lbuf;
	struct sample_key k = { p };
	void *old;
	uint64_t h;
	int64_t *v;
	void *it;
	int err;

	if (p->err)
		return p->err;
	if (!values || (nr_locations && !location_ids) || (nr_labels && !labels))
		return -EINVAL;
	for (size_t i = 0; i < nr_locations; i++)
		if (!location_ids[i] || location_ids[i] > p->nr_locs)
			return -EINVAL;
	if (nr_labels > sizeof(lbuf) / sizeof(lbuf[0])) {
		if (nr_labels > MAX_ITEMS)
			return -E2BIG;
		lrecs = malloc(nr_labels * sizeof(*lrecs));
		if (!lrecs)
			return -ENOMEM;
	}
	err = intern_labels(p, labels, nr_labels, lrecs);
	if (err)
		goto out;
	err = -ENOMEM;
	k.s.stack = intern_run((void **)&p->stk, &p->nr_stk, &p->cap_stk, &p->stacks,
			       &p->nr_stacks, &p->cap_stacks, &p->stack_ht, location_ids,
			       nr_locations, sizeof(*location_ids));
	k.s.lset = intern_run((void **)&p->lbls, &p->nr_lbls, &p->cap_lbls, &p->lsets,
			      &p->nr_lsets, &p->cap_lsets, &p->lset_ht, lrecs, nr_labels,
			      sizeof(*lrecs));
	if (!k.s.stack || !k.s.lset)
		goto out;

	h = hash_u64(((uint64_t)k.s.stack << 32) | k.s.lset);
	it = hashtab__find(&p->sample_ht, h, sample_eq, &k);
	if (it) {
		int64_t sum[p->nr_types];
		bool overflow = false;

		v = &p->vals[(ITEM_ID(it) - 1) * p->nr_types];
		for (size_t i = 0; i < p->nr_types; i++)
			overflow |= __builtin_add_overflow(v[i], values[i], &sum[i]);
		if (!overflow) {
			memcpy(v, sum, sizeof(sum));
			p->nr_added++;
			err = 0;
			goto out;
		}
	}
	if (p->nr_samples >= MAX_ITEMS || RESERVE(p, samples, 1) ||
	    reserve((void **)&p->vals, &p->cap_vals, p->nr_samples * p->nr_types, p->nr_types,
		    sizeof(*p->vals)))
		goto out;
	/* Too big to merge: the new sample takes the old one's place. */
	old = it ? hashtab__remove(&p->sample_ht, h, sample_eq, &k) : NULL;
	if (hashtab__insert(&p->sample_ht, h, ID_ITEM(p->nr_samples + 1))) {
		if (old) /* cannot fail: it frees the slot it had */
			hashtab__insert(&p->sample_ht, h, old);
		goto out;
	}
	p->samples[p->nr_samples] = k.s;
	memcpy(&p->vals[p->nr_samples * p->nr_types], values, p->nr_types * sizeof(*values));
	p->nr_samples++;
	p->nr_added++;
	err = 0;
out:
	if (lrecs != lbuf)
		free(lrecs);
	return err;
}

int pprof__add_comment(struct pprof *p, const char *comment)
{
	int64_t idx;

	if (!comment)
		return -EINVAL;
	if (RESERVE(p, comments, 1) || intern(p, comment, &idx))
		return -ENOMEM;
	p->comments[p->nr_comments++] = idx;
	return 0;
}

int pprof__comment_lost(struct pprof *p, uint64_t n, const char *during)
{
	char c[200];

	if (!n)
		return 0;
	snprintf(c, sizeof(c), "%" PRIu64 " records of the host were lost %s (pprofd's ring "
		 "buffer was full): it may lack some", n, during);
	return pprof__add_comment(p, c);
}

/* Samples added, counting those merged into an earlier identical one. */
size_t pprof__nr_samples(const struct pprof *p)
{
	return p->nr_added;
}

/* ---- encoding ---- */

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

static int encode_mappings(struct pprof *p, struct gz *g, struct scratch *s)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	int err;

	for (size_t i = 0; i < p->nr_maps; i += BATCH) {
		size_t n = p->nr_maps - i < BATCH ? p->nr_maps - i : BATCH;
		Perftools__Profiles__Mapping *m;

		err = scratch_get(s, n, sizeof(*m));
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
		msg.n_mapping = n;
		msg.mapping = (Perftools__Profiles__Mapping **)s->ptrs;
		err = gz_pack(g, &msg);
		if (err)
			return err;
	}
	return 0;
}

static int encode_functions(struct pprof *p, struct gz *g, struct scratch *s)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	int err;

	for (size_t i = 0; i < p->nr_funcs; i += BATCH) {
		size_t n = p->nr_funcs - i < BATCH ? p->nr_funcs - i : BATCH;
		Perftools__Profiles__Function *f;

		err = scratch_get(s, n, sizeof(*f));
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
		msg.n_function = n;
		msg.function = (Perftools__Profiles__Function **)s->ptrs;
		err = gz_pack(g, &msg);
		if (err)
			return err;
	}
	return 0;
}

static int encode_locations(struct pprof *p, struct gz *g, struct scratch *s,
			    struct scratch *sub)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	int err;

	for (size_t i = 0; i < p->nr_locs; i += BATCH) {
		size_t n = p->nr_locs - i < BATCH ? p->nr_locs - i : BATCH;
		/* a batch's lines are contiguous in p->lines */
		size_t first = p->locs[i].line_off;
		size_t nl = p->locs[i + n - 1].line_off + p->locs[i + n - 1].nr_lines - first;
		Perftools__Profiles__Location *l;
		Perftools__Profiles__Line *ln;

		err = scratch_get(s, n, sizeof(*l));
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
				l[j].line = (Perftools__Profiles__Line **)sub->ptrs +
					    (r->line_off - first);
		}
		msg.n_location = n;
		msg.location = (Perftools__Profiles__Location **)s->ptrs;
		err = gz_pack(g, &msg);
		if (err)
			return err;
	}
	return 0;
}

static int encode_samples(struct pprof *p, struct gz *g, struct scratch *s, struct scratch *sub)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	int err;

	for (size_t i = 0; i < p->nr_samples; i += BATCH) {
		size_t n = p->nr_samples - i < BATCH ? p->nr_samples - i : BATCH;
		Perftools__Profiles__Sample *sm;
		Perftools__Profiles__Label *lb;
		size_t nl = 0;

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
		msg.n_sample = n;
		msg.sample = (Perftools__Profiles__Sample **)s->ptrs;
		err = gz_pack(g, &msg);
		if (err)
			return err;
	}
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
		err = encode_mappings(p, &g, &s);
	if (!err)
		err = encode_functions(p, &g, &s);
	if (!err)
		err = encode_locations(p, &g, &s, &sub);
	if (!err)
		err = encode_samples(p, &g, &s, &sub);
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
