/* SPDX-License-Identifier: MIT */
/*
 * A struct ustack record (bpf/ustack.h) of the calling thread, made in
 * process the way ustack_capture() makes it in BPF: the rbp chain walked
 * with the same rules, then a copy of the stack from sp (1 KiB, else
 * 256 bytes). Reads go through process_vm_readv, which faults safely like
 * bpf_probe_read_user and is not seen by ASan (the copy crosses other
 * frames' redzones). For tests and benchmarks.
 */
#ifndef PPROFD_USTACK_SELF_H
#define PPROFD_USTACK_SELF_H

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ustack.h"

/* The registers of the function this expands in. */
#define USTACK_SELF_REGS(ip, sp, bp)                                          \
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" \
			 : "=r"(ip), "=r"(sp), "=r"(bp))

/* Room for the largest record. */
#define USTACK_SELF_BYTES (sizeof(struct ustack_hdr) + USTACK_DATA_MAX)

static inline int ustack_self_read(void *dst, uint64_t addr, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)addr, n };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* Fills rec (USTACK_SELF_BYTES) from ip/sp/bp; returns the record's length. */
static inline size_t ustack_self_fill(uint64_t ip, uint64_t sp, uint64_t bp, void *rec)
{
	struct ustack_hdr *h = rec;
	unsigned char *data = (unsigned char *)(h + 1);
	uint64_t fp = bp, s = sp;
	unsigned n = 0, off;
	uint32_t len;

	memset(h, 0, sizeof(*h));
	h->ip = ip;
	h->sp = sp;
	h->bp = bp;
	for (int i = 0; i < USTACK_MAX_FP; i++) {
		struct ustack_fp r;
		uint64_t f[2]; /* next_fp, ret */

		if (fp < s || (fp & 7) || fp - s > (1ull << 20))
			break;
		if (ustack_self_read(f, fp, sizeof(f)) || !f[1])
			break;
		r.addr = fp;
		r.ret = f[1];
		memcpy(data + i * sizeof(r), &r, sizeof(r));
		n = i + 1;
		s = fp + 16;
		fp = f[0];
	}
	h->nr_fp = n;
	off = n * sizeof(struct ustack_fp);
	len = USTACK_SNAP_BYTES;
	if (ustack_self_read(data + off, sp, len)) {
		len = USTACK_SNAP_SMALL;
		if (ustack_self_read(data + off, sp, len)) {
			h->flags |= USTACK_F_SNAP_ERR;
			len = 0;
		}
	}
	h->snap_len = len;
	return sizeof(*h) + off + len;
}

#endif
