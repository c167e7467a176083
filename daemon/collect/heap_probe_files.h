/* SPDX-License-Identifier: MIT */
/*
 * Which mapped files carry an in-process heap sampler's probes (heap_usdt.h:
 * pprofd's or otel_memory's alloc and free), told by their notes, whatever
 * the files are called. Only files mapped executable are asked about (the
 * probes are in code); each is read once, found or not, and the answer kept
 * by the file's identity (device and inode, as /proc/PID/maps and the side
 * band give them) in a bounded table, so that a process's maps cost a lookup
 * per executable mapping, not a read. The event loop's (one thread).
 */
#ifndef PPROFD_HEAP_PROBE_FILES_H
#define PPROFD_HEAP_PROBE_FILES_H

#include <stdbool.h>
#include <stdint.h>

/* Whether the file pid maps at range ("start-end", hex, as map_files names
 * it), of device dev (makedev) and inode ino, carries the probes. A file
 * that has them but cannot be read right (a memory operand) says yes: the
 * attach says why and takes the uprobe path. false when it cannot be
 * opened (not kept: the process may be gone). */
bool heap_probe_files__carries(uint32_t pid, const char *range, uint64_t dev, uint64_t ino);

/* Reads and lookups (misses: files read), for tests. */
void heap_probe_files__stats(uint64_t *lookups, uint64_t *reads);

#endif
