/* SPDX-License-Identifier: MIT */
/*
 * The alloc and free USDT probes of an in-process allocation sampler, from
 * the ELF file's .note.stapsdt: provider pprofd (preload/libpprofd_heap.so,
 * or any library that fires them; the contract is preload/pprofd_heap.h)
 * or otel_memory (the OpenTelemetry eBPF profiler's design document 00003:
 * alloc(ptr, size, weighted_bytes), free(ptr)). Where each site is, its
 * semaphore, and the registers of its arguments, as heap.bpf.c's heap_usdt
 * program reads them (HEAP_USDT_COOKIE, HEAP_USDT_WEIGHTED).
 */
#ifndef PPROFD_HEAP_USDT_H
#define PPROFD_HEAP_USDT_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_USDT_SITES_MAX 64
#define HEAP_USDT_OTEL_PROVIDER "otel_memory"

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

/* The heap probes of the ELF file open as fd. 0; -ENOENT when it has
 * none (no provider with both alloc and free); -ENOEXEC when it is no ELF
 * file; -EINVAL (err says which site and why) when one cannot be read. */
int heap_usdt_sites(int fd, struct heap_usdt_sites *us, char *err, size_t errlen);

#endif
