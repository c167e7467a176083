// SPDX-License-Identifier: MIT
/*
 * Which mapped files carry heap probes (heap_probe_files.h): a
 * direct-mapped table of answers by (device, inode); a collision replaces
 * the older answer, which is read again when asked for. A file rewritten in
 * place keeps its inode and its answer until then: the answer only says
 * where to look, and the attach reads the sites again by the file's full
 * identity (the file cache), so a stale one costs a fallback, no more.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap_probe_files.h"
#include "heap_usdt.h"
#include "safe_open.h"

#define SLOT_BITS 10

struct answer {
	uint64_t dev, ino;
	bool used, carries;
};

static struct answer answers[1u << SLOT_BITS];
static uint64_t nr_lookups, nr_reads;

static struct answer *slot_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 40) ^ (dev >> 24)) * 0x9e3779b97f4a7c15ull;

	return &answers[h >> (64 - SLOT_BITS)];
}

/* Whether the file open as fd has the probes (heap_usdt_sites: found, or
 * found but not readable). */
static bool read_carries(int fd)
{
	struct heap_usdt_sites us;
	char err[200];
	int r = heap_usdt_sites(fd, &us, err, sizeof(err));

	return r == 0 || r == -EINVAL;
}

bool heap_probe_files__carries(uint32_t pid, const char *range, uint64_t dev, uint64_t ino)
{
	struct answer *a = slot_of(dev, ino);
	char path[128];
	struct stat st;
	bool carries, same;
	int fd;

	nr_lookups++;
	if (a->used && a->dev == dev && a->ino == ino)
		return a->carries;
	snprintf(path, sizeof(path), "/proc/%u/map_files/%s", pid, range);
	fd = safe_open_proc(path);
	if (fd < 0)
		return false;
	/* The file at the range is the one named, unless the range was mapped
	 * again since (or an overlay shows another identity): then the answer
	 * is the file's, not kept for the name. */
	same = !fstat(fd, &st) && st.st_ino == ino && st.st_dev == dev;
	nr_reads++;
	carries = read_carries(fd);
	close(fd);
	if (same)
		*a = (struct answer){ .dev = dev, .ino = ino, .used = true, .carries = carries };
	return carries;
}

void heap_probe_files__stats(uint64_t *lookups, uint64_t *reads)
{
	*lookups = nr_lookups;
	*reads = nr_reads;
}
