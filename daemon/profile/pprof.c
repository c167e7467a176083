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
 * Its encoding is pprof_encode.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "pprof.h"
#include "pprof_int.h"

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

/* The mapping and function records: each an array, an id (1-based) for
 * each, and a hash table to find a record's id. */
struct rec_set {
	void **arr;
	size_t *nr, *cap;
	struct hashtab *ht;
	size_t size;
};

#define REC_SET(p, name, ht)                                                                 \
	((struct rec_set){ (void **)&(p)->name, &(p)->nr_##name, &(p)->cap_##name, &(p)->ht, \
			   sizeof(*(p)->name) })

struct rec_key {
	const struct rec_set *set;
	const void *rec;
};

static bool rec_eq(const void *item, const void *key)
{
	const struct rec_key *k = key;

	return !memcmp((const char *)*k->set->arr + (ITEM_ID(item) - 1) * k->set->size, k->rec,
		       k->set->size);
}

/* rec's id in set, added if new; 0 when out of memory. A record has no
 * padding: it is hashed and compared as bytes. */
static uint64_t rec_id(struct pprof *p, struct rec_set set, const void *rec, uint64_t seed)
{
	struct rec_key k = { &set, rec };
	uint64_t h = hash_bytes(rec, set.size, seed);
	void *it = hashtab__find(set.ht, h, rec_eq, &k);

	if (it)
		return ITEM_ID(it);
	if (*set.nr >= MAX_ITEMS || reserve(set.arr, set.cap, *set.nr, 1, set.size))
		goto nomem;
	memcpy((char *)*set.arr + *set.nr * set.size, rec, set.size);
	if (hashtab__insert(set.ht, h, ID_ITEM(*set.nr + 1)))
		goto nomem;
	return ++*set.nr;
nomem:
	poison(p, -ENOMEM);
	return 0;
}

uint64_t pprof__mapping(struct pprof *p, const struct pprof_mapping *m)
{
	struct map_rec r = { .start = m->start, .limit = m->limit, .offset = m->offset };

	if (intern(p, m->filename, &r.filename) || intern(p, m->build_id, &r.build_id)) {
		poison(p, -ENOMEM);
		return 0;
	}
	r.flags = (m->has_functions ? MAP_HAS_FUNCTIONS : 0) |
		  (m->has_filenames ? MAP_HAS_FILENAMES : 0) |
		  (m->has_line_numbers ? MAP_HAS_LINE_NUMBERS : 0) |
		  (m->has_inline_frames ? MAP_HAS_INLINE_FRAMES : 0);
	return rec_id(p, REC_SET(p, maps, map_ht), &r, 0);
}

uint64_t pprof__function(struct pprof *p, const char *name, const char *system_name,
			 const char *filename, int64_t start_line)
{
	struct func_rec r = { .start_line = start_line };

	if (intern(p, name, &r.name) || intern(p, system_name, &r.system_name) ||
	    intern(p, filename, &r.filename)) {
		poison(p, -ENOMEM);
		return 0;
	}
	return rec_id(p, REC_SET(p, funcs, func_ht), &r, 1);
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
	if (p->nr_locs >= MAX_ITEMS || nr_lines > MAX_ITEMS - p->nr_lines || RESERVE(p, locs, 1) ||
	    RESERVE(p, lines, nr_lines))
		goto nomem;
	if (nr_lines)
		memcpy(&p->lines[p->nr_lines], lines, nr_lines * sizeof(*lines));
	p->locs[p->nr_locs] =
		(struct loc_rec){ mapping_id, address, (uint32_t)p->nr_lines, (uint32_t)nr_lines };
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

	return r->n == k->n && (!k->n || !memcmp((const char *)k->arena + (size_t)r->off * k->size,
						 k->items, k->n * k->size));
}

/* Interns a run of n items of `size` bytes; its id >= 1, or 0 on ENOMEM. */
static uint32_t intern_run(void **arena, size_t *nr_arena, size_t *cap_arena, struct range **ranges,
			   size_t *nr_ranges, size_t *cap_ranges, struct hashtab *ht,
			   const void *items, size_t n, size_t size)
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
	k.s.stack = intern_run((void **)&p->stk, &p->nr_stk, &p->cap_stk, &p->stacks, &p->nr_stacks,
			       &p->cap_stacks, &p->stack_ht, location_ids, nr_locations,
			       sizeof(*location_ids));
	k.s.lset = intern_run((void **)&p->lbls, &p->nr_lbls, &p->cap_lbls, &p->lsets, &p->nr_lsets,
			      &p->cap_lsets, &p->lset_ht, lrecs, nr_labels, sizeof(*lrecs));
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

int pprof__commentf(struct pprof *p, const char *fmt, ...)
{
	char c[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c, sizeof(c), fmt, ap);
	va_end(ap);
	return pprof__add_comment(p, c);
}

int pprof__comment_lost(struct pprof *p, uint64_t n, const char *during)
{
	if (!n)
		return 0;
	return pprof__commentf(p,
			       "%" PRIu64 " records of the host were lost %s (pprofd's ring "
			       "buffer was full): it may lack some",
			       n, during);
}

/* Samples added, counting those merged into an earlier identical one. */
size_t pprof__nr_samples(const struct pprof *p)
{
	return p->nr_added;
}
