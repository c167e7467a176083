/* SPDX-License-Identifier: MIT */
/*
 * The probe contract of libpprofd_heap.so (preload/libpprofd_heap.c), the
 * in-process allocation sampler, and of any sampler that fires the same
 * probes for pprofd. USDT probes (a .note.stapsdt entry each), provider
 * "pprofd", each with a semaphore that is non-zero while someone is
 * attached (the sampler does nothing but allocate until then):
 *
 *   pprofd:alloc(ptr, size, rate)  a sampled allocation: the block's
 *       address and its size in bytes, and the mean bytes between samples
 *       in force (Go's MemProfileRate: the reader unbiases by it as Go
 *       does, size / (1 - exp(-size / rate)))
 *   pprofd:free(ptr)               a sampled block freed (or reallocated)
 *
 * Every argument is a 64-bit integer. Allocations are sampled by bytes,
 * each thread counting down an exponential draw of mean rate, so that a
 * probe fires about once every rate bytes allocated; free fires only for
 * blocks alloc fired for while someone was attached.
 *
 * pprofd finds a sampler by these notes in the files a process maps,
 * whatever the file is called; it reads the OpenTelemetry eBPF profiler's
 * otel_memory:alloc(ptr, size, weighted_bytes) and otel_memory:free(ptr)
 * as well (daemon/collect/heap_usdt.h).
 */
#ifndef PPROFD_HEAP_PRELOAD_H
#define PPROFD_HEAP_PRELOAD_H

#define PPROFD_HEAP_PROVIDER "pprofd"
#define PPROFD_HEAP_PROBE_ALLOC "alloc"
#define PPROFD_HEAP_PROBE_FREE "free"
/* The environment variable of the mean, in bytes (default 512 KiB). */
#define PPROFD_HEAP_RATE_ENV "PPROFD_HEAP_RATE"
#define PPROFD_HEAP_DEFAULT_RATE (512 * 1024)

#endif
