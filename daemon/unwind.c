// SPDX-License-Identifier: MIT
/*
 * STUB until the unwind branch lands: replaced at the merge by the real
 * unwinder (.eh_frame rules over the stack copy, joined to the rbp chain).
 * This one returns ip and the return addresses of the frame-pointer
 * records, nothing from the stack copy.
 */
#include <errno.h>

#include "unwind.h"

int unwind_user(const struct ustack_hdr *h, size_t len, unwind_find_fn find, void *ctx,
		uint64_t *out, unsigned max)
{
	const struct ustack_fp *fp = (const void *)(h + 1);
	unsigned n = 0;

	if (len < sizeof(*h) || h->nr_fp > USTACK_MAX_FP || h->snap_len > USTACK_SNAP_BYTES ||
	    len - sizeof(*h) < h->nr_fp * sizeof(*fp) + (size_t)h->snap_len)
		return -EINVAL;
	if (!h->ip || !max)
		return 0;
	out[n++] = h->ip;
	for (unsigned i = 0; i < h->nr_fp && n < max; i++)
		out[n++] = fp[i].ret;
	return n;
}

/* STUB until the unwind branch lands: the real one is in procs.c. */
const struct cfi_table *procs__cfi_for(struct procs *p, struct image *img, uint64_t pc,
				       uint64_t *file_offset)
{
	return NULL;
}
