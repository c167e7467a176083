/* SPDX-License-Identifier: MIT */
/*
 * A set of disjoint ranges [start, start + len) of u32 indices, kept
 * sorted and coalesced in an array whose capacity is fixed when it is made:
 * the free space of an allocator that must not fail for memory halfway
 * through an operation (daemon/collect/unwind_tables.c: the BPF pool's slots).
 *
 * A set of ranges separated by n allocated ones holds at most n + 1, so an
 * allocator of at most n blocks never needs more than n + 1 entries.
 */
#ifndef PPROFD_RANGE_SET_H
#define PPROFD_RANGE_SET_H

#include <stdbool.h>
#include <stdint.h>

struct range {
	uint32_t start, len;
};

struct range_set {
	struct range *v;
	uint32_t n, cap;
};

/* Empty, with room for cap ranges. 0, or -ENOMEM. */
int range_set__init(struct range_set *s, uint32_t cap);
void range_set__fini(struct range_set *s);

/* Adds [start, start + len), merged with the ranges it touches. 0;
 * -EINVAL when len is 0, it passes UINT32_MAX or overlaps a range of the
 * set; -ENOSPC when it touches none and the array is full. */
int range_set__add(struct range_set *s, uint32_t start, uint32_t len);
/* Removes [start, start + len), which must lie within one range of the
 * set (-ENOENT otherwise); -ENOSPC when that splits a range and the array
 * is full. */
int range_set__take(struct range_set *s, uint32_t start, uint32_t len);
/* The lowest start of len free indices (first fit): true and *start. */
bool range_set__first_fit(const struct range_set *s, uint32_t len, uint32_t *start);

#endif
