/* SPDX-License-Identifier: MIT */
/*
 * Unwinding a user stack captured by ustack_capture() (bpf/ustack.h):
 * through code without frame pointers with the modules' .eh_frame rules
 * (daemon/symbolize/cfi.h), reading the copy of the stack top, and on through the
 * frame-pointer chain the BPF program walked where the copy ends.
 */
#ifndef PPROFD_UNWIND_H
#define PPROFD_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "cfi.h"
#include "ustack.h"

/* Which module holds pc: its CFI table (NULL when none/unknown) and pc's
 * file offset in it. The table need only stay valid until the next call. */
typedef const struct cfi_table *(*unwind_find_fn)(void *ctx, uint64_t pc, uint64_t *file_offset);

/*
 * Unwinds a captured user stack (hdr followed by its data, len bytes in
 * all, as BPF wrote it; every length in it is checked against len).
 * Writes up to max addresses to out: out[0] = hdr->ip (where the thread
 * was), then return addresses, outermost last. Returns how many (0 for a
 * record without user registers), or -EINVAL for a malformed record.
 * find may be NULL: frame pointers only. A stack the BPF table walker
 * took (USTACK_F_WALKED) is its frames, as they are.
 */
int unwind_user(const struct ustack_hdr *h, size_t len, unwind_find_fn find, void *ctx,
		uint64_t *out, unsigned max);

#endif
