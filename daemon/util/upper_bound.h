/* SPDX-License-Identifier: MIT */
#ifndef PPROFD_UPPER_BOUND_H
#define PPROFD_UPPER_BOUND_H

#include <stddef.h>

/*
 * The index of the first of a[0..n) whose key is above x, n when none:
 * a[] sorted by key, the key of a[i] being a[i]MEMBER (".start"; nothing
 * for an array of keys). The entry that holds x, if any, is the one before.
 */
#define UPPER_BOUND(a, n, MEMBER, x)                         \
	({                                                   \
		size_t lo_ = 0, hi_ = (n);                   \
                                                             \
		while (lo_ < hi_) {                          \
			size_t mid_ = lo_ + (hi_ - lo_) / 2; \
                                                             \
			if ((a)[mid_] MEMBER <= (x))         \
				lo_ = mid_ + 1;              \
			else                                 \
				hi_ = mid_;                  \
		}                                            \
		lo_;                                         \
	})

#endif
