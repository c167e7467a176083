/* SPDX-License-Identifier: MIT */
/*
 * The pprofd:alloc and pprofd:free USDT probes of an in-process allocation
 * sampler (preload/libpprofd_heap.so, or any library that fires them; the
 * contract is preload/pprofd_heap.h), from the ELF file's .note.stapsdt:
 * where each site is, its semaphore, and the registers of its arguments,
 * as heap.bpf.c's heap_usdt program reads them (HEAP_USDT_COOKIE).
 */
#ifndef PPROFD_HEAP_USDT_H
#define PPROFD_HEAP_USDT_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_USDT_SITES_MAX 64

/* One uprobe_multi link's arrays: file offsets, their semaphores' file
 * offsets (the kernel counts the attached probes there), cookies. */
struct heap_usdt_sites {
	uint64_t offs[HEAP_USDT_SITES_MAX], ref_ctrs[HEAP_USDT_SITES_MAX];
	uint64_t cookies[HEAP_USDT_SITES_MAX];
	unsigned n, nr_alloc, nr_free;
};

/* The register an argument spec names ("8@%rdx", "-8@%r12"): a
 * HEAP_USDT_REG_*, or -1 when it is not a whole 64-bit register (memory
 * operands and 32-bit registers are not read). */
int heap_usdt_arg_reg(const char *spec);

/* The pprofd probes of the ELF file open as fd. 0; -ENOENT when it has
 * none; -EINVAL (err says which site and why) when one cannot be read. */
int heap_usdt_sites(int fd, struct heap_usdt_sites *us, char *err, size_t errlen);

#endif
