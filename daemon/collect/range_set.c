// SPDX-License-Identifier: MIT
/*
 * Sorted, coalesced ranges (range_set.h). Finding where a range goes is a
 * binary search; inserting or removing an entry moves the tail of the
 * array, as many entries as there are free ranges above it: a few
 * thousand at most (one more than the allocated blocks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "range_set.h"
#include "upper_bound.h"

int range_set__init(struct range_set *s, uint32_t cap)
{
	s->n = 0;
	s->cap = cap ? cap : 1;
	s->v = calloc(s->cap, sizeof(*s->v));
	return s->v ? 0 : -ENOMEM;
}

void range_set__fini(struct range_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* The index of the first range starting above start (n: none). */
static uint32_t after(const struct range_set *s, uint32_t start)
{
	return UPPER_BOUND(s->v, s->n, .start, start);
}

/* Ends as u64: a range may end at 2^32. */
static uint64_t end_of(const struct range *r)
{
	return (uint64_t)r->start + r->len;
}

int range_set__add(struct range_set *s, uint32_t start, uint32_t len)
{
	uint64_t end = (uint64_t)start + len;
	uint32_t i = after(s, start);
	struct range *prev = i ? &s->v[i - 1] : NULL, *next = i < s->n ? &s->v[i] : NULL;
	bool to_prev, to_next;

	if (!len || end > UINT32_MAX || (prev && end_of(prev) > start) ||
	    (next && end > next->start))
		return -EINVAL;
	to_prev = prev && end_of(prev) == start;
	to_next = next && next->start == end;
	if (to_prev && to_next) {
		prev->len += len + next->len;
		memmove(next, next + 1, (s->n - i - 1) * sizeof(*next));
		s->n--;
	} else if (to_prev) {
		prev->len += len;
	} else if (to_next) {
		next->start = start;
		next->len += len;
	} else {
		if (s->n == s->cap)
			return -ENOSPC;
		memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
		s->v[i] = (struct range){ start, len };
		s->n++;
	}
	return 0;
}

int range_set__take(struct range_set *s, uint32_t start, uint32_t len)
{
	uint64_t end = (uint64_t)start + len;
	uint32_t i = after(s, start);
	struct range *r = i ? &s->v[i - 1] : NULL;
	uint64_t r_end;

	if (!r || !len || end > end_of(r))
		return -ENOENT;
	r_end = end_of(r);
	if (r->start == start && r_end == end) {
		memmove(r, r + 1, (s->n - i) * sizeof(*r));
		s->n--;
	} else if (r->start == start) {
		r->start = (uint32_t)end;
		r->len -= len;
	} else if (r_end == end) {
		r->len -= len;
	} else {
		if (s->n == s->cap)
			return -ENOSPC;
		memmove(r + 2, r + 1, (s->n - i) * sizeof(*r));
		r[1] = (struct range){ (uint32_t)end, (uint32_t)(r_end - end) };
		r->len = start - r->start;
		s->n++;
	}
	return 0;
}

bool range_set__first_fit(const struct range_set *s, uint32_t len, uint32_t *start)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->v[i].len >= len) {
			*start = s->v[i].start;
			return true;
		}
	return false;
}
