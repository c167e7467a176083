/* SPDX-License-Identifier: MIT */
/*
 * Where the heap sampler attaches in a process: its allocators, from
 * /proc/PID/maps' lines, and the probe sites in the allocator's ELF file.
 * heap_sampler__attach_pid's, and the fuzzers'.
 */
#ifndef PPROFD_HEAP_SITES_H
#define PPROFD_HEAP_SITES_H

#include <stdbool.h>
#include <stdint.h>

/* What /proc/PID/maps says of a process's allocators. */
struct heap_maps {
	char exe[4096]; /* the first file mapped: the executable */
	char libc_path[4096], libc_range[64];
	unsigned long libc_ino; /* 0: no glibc mapped */
	char alt_path[4096], alt_range[64];
	unsigned long alt_ino; /* 0: no jemalloc or tcmalloc mapped */
	/* the first file mapped executable that carries heap probes (an
	 * in-process sampler, heap_probe_files.h), whatever its name */
	char usdt_path[4096], usdt_range[64];
	unsigned long usdt_ino; /* 0: none mapped */
	const char *other;      /* an allocator not supported (its library's name), */
	char other_path[4096];  /* mapped from there */
	/* the line taken last, when it maps a file executable (else exec_ino
	 * 0): heap_maps__read asks whether it carries the probes */
	char exec_path[4096], exec_range[64];
	uint64_t exec_dev;
	unsigned long exec_ino;
};
/* m from /proc/PID/maps, every line (m zeroed first; m->other says an
 * allocator not supported is mapped), and its in-process sampler, by the
 * notes of its executable mappings. 0, or -errno when it cannot be read. */
int heap_maps__read(uint32_t pid, struct heap_maps *m);
/* Takes one line of /proc/PID/maps (as fgets gives it; zeroed m before
 * the first). false when the line maps an allocator that is not
 * supported (m->other): the process cannot be profiled through its
 * allocator (through an in-process sampler it still can: m->usdt_ino). */
bool heap_maps__line(struct heap_maps *m, const char *line);

#define HEAP_PROBE_SITES_MAX 40
/* Where to attach: file offsets of the allocation functions (the session
 * program) and of the frees (the free program), each with its cookie. */
struct heap_probe_sites {
	uint64_t alloc_offs[HEAP_PROBE_SITES_MAX], alloc_cookies[HEAP_PROBE_SITES_MAX];
	uint64_t free_offs[HEAP_PROBE_SITES_MAX], free_cookies[HEAP_PROBE_SITES_MAX];
	unsigned nr_alloc, nr_free;
	unsigned slow; /* sites the kernel single-steps */
};
/* The sites in glibc's libc, or in jemalloc or tcmalloc, open as fd (lib
 * and pid name it in the log). 0, or -ENOENT when it does not export
 * malloc and free. */
int heap_probe_sites_libc(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps);
int heap_probe_sites_alt(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps);

/* Whether the ELF file open as fd exports malloc (an executable with an
 * allocator linked in). */
bool heap_sites_defines_malloc(int fd);

#endif
