/* SPDX-License-Identifier: MIT */
/*
 * A JIT's perf map: /tmp/perf-PID.map, the names of the code a JIT wrote
 * into anonymous executable memory, one "START SIZE NAME" line (hex, with
 * or without 0x) per piece of code, appended as code is made (node
 * --perf-basic-prof, python3.12 -X perf, perf-map-agent, LuaJIT, Julia).
 *
 * The file is the profiled user's: read incrementally as it grows, within
 * PERF_MAP_MAX_BYTES and PERF_MAP_MAX_ENTRIES, names cut at
 * PERF_MAP_NAME_MAX, any line that does not parse skipped and counted.
 * Code a JIT moves or frees and reuses has several lines: the latest one
 * that covers an address names it.
 */
#ifndef PPROFD_PERF_MAP_H
#define PPROFD_PERF_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A process's: node's map grows ~40 KiB a second at its start, then slowly. */
#define PERF_MAP_MAX_BYTES (16u << 20)
#define PERF_MAP_MAX_ENTRIES (256u << 10)
#define PERF_MAP_NAME_MAX 512

struct perf_map;

struct perf_map *perf_map__new(void);
void perf_map__free(struct perf_map *m);

/*
 * Opens pid's perf map as pid sees it: /tmp/perf-NSPID.map inside its root
 * (a container's /tmp), through no symlink a user made, a regular file
 * owned by the process's user or root (another user could plant one for
 * a pid to come). m keeps the process's ids from its first call. The fd,
 * or -errno (-EPERM: someone else's).
 */
int perf_map__open(struct perf_map *m, uint32_t pid);

/*
 * Takes in what was appended to the file at fd since the last call, all of
 * it when it is another file or got shorter (rewritten). 0, or -errno; the
 * names read before stay on a read error.
 */
int perf_map__update(struct perf_map *m, int fd);
/* The same from text: complete lines are taken, a last partial one is not
 * (its bytes are not counted as read). Returns the bytes taken. */
size_t perf_map__feed(struct perf_map *m, const char *text, size_t len);

/* The name of the code at addr and where it starts; NULL when none. */
const char *perf_map__lookup(struct perf_map *m, uint64_t addr, uint64_t *start);

/* Its names (0 for NULL). */
size_t perf_map__entries(const struct perf_map *m);

struct perf_map_stats {
	size_t entries;
	size_t bad_lines; /* skipped: not "START SIZE NAME", or an empty range */
	size_t dropped;   /* lines past PERF_MAP_MAX_ENTRIES, and 1 for a file cut at
			   * PERF_MAP_MAX_BYTES */
	size_t bytes;     /* memory held */
};
void perf_map__stats(const struct perf_map *m, struct perf_map_stats *st);

#endif
