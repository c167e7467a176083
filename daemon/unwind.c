// SPDX-License-Identifier: MIT
/* STUB until the unwind branch lands: frame-pointer records only. */
#include <errno.h>

#include "unwind.h"

int unwind_user(const struct ustack_hdr *h, size_t len, unwind_find_fn find, void *ctx,
		uint64_t *out, unsigned max)
{
	const struct ustack_fp *fp = (const void *)(h + 1);
	unsigned n = 0;

	if (len < sizeof(*h) || (len - sizeof(*h)) / sizeof(*fp) < h->nr_fp)
		return -EINVAL;
	if (!max)
		return 0;
	out[n++] = h->ip;
	for (unsigned i = 0; i < h->nr_fp && n < max; i++)
		out[n++] = fp[i].ret;
	return n;
}
