/* SPDX-License-Identifier: MIT */
/*
 * A pprof being built, inside: for its builder (pprof.c) and its encoder
 * (pprof_encode.c) only; other modules have pprof.h.
 */
#ifndef PPROFD_PPROF_INT_H
#define PPROFD_PPROF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"
#include "pprof.h"

#define ID_ITEM(id) ((void *)(uintptr_t)(id))
#define ITEM_ID(it) ((uint64_t)(uintptr_t)(it))
/* Ids and arena offsets are 32-bit to keep the records small. */
#define MAX_ITEMS UINT32_MAX

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

#endif
