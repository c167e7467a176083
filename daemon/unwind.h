/* SPDX-License-Identifier: MIT */
/*
 * STUB until the unwind branch lands: the interface of the user-space
 * unwinder (the real daemon/unwind.[ch] replace this file at the merge),
 * so that the threads snapshot builds and runs meanwhile. This stub follows
 * the frame-pointer records only, so frames inside code without frame
 * pointers (Debian's libc) and their callers' own frames are missing.
 */
#ifndef PPROFD_UNWIND_H
#define PPROFD_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "ustack.h"

struct cfi_table;
struct procs;
struct image;

/* The CFI table of the module mapped at pc, and pc's offset in its file. */
typedef const struct cfi_table *(*unwind_find_fn)(void *ctx, uint64_t pc, uint64_t *file_offset);

/*
 * h is followed by its data (len bytes in all, as BPF wrote it; hostile).
 * Writes out[0] = ip, then return addresses, at most max. Returns the count
 * or -EINVAL.
 */
int unwind_user(const struct ustack_hdr *h, size_t len, unwind_find_fn find, void *ctx,
		uint64_t *out, unsigned max);

/* In procs.c once the unwind branch lands (STUB here: always NULL): the
 * CFI table of the mapping holding pc, lazily loaded and cached. */
const struct cfi_table *procs__cfi_for(struct procs *p, struct image *img, uint64_t pc,
				       uint64_t *file_offset);

#endif
