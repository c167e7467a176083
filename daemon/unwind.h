/* SPDX-License-Identifier: MIT */
/* STUB until the unwind branch lands: frame-pointer records only. */
#ifndef PPROFD_UNWIND_H
#define PPROFD_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "ustack.h"

struct cfi_table;
typedef const struct cfi_table *(*unwind_find_fn)(void *ctx, uint64_t pc, uint64_t *file_offset);
int unwind_user(const struct ustack_hdr *h, size_t len, unwind_find_fn find, void *ctx,
		uint64_t *out, unsigned max);

#endif
