// SPDX-License-Identifier: MIT
/* libFuzzer: a JIT's perf map (a file the profiled user writes) fed to
 * perf_map__feed in two parts, as two reads of a growing file, then looked
 * up: every name found covers its address and holds no control character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf_map.h"

static void check(struct perf_map *m, uint64_t addr)
{
	uint64_t start = 0;
	const char *name = perf_map__lookup(m, addr, &start);

	if (!name)
		return;
	if (start > addr || strlen(name) > PERF_MAP_NAME_MAX)
		abort();
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf_map *m = perf_map__new();
	size_t cut = size ? data[0] % (size + 1) : 0, taken;
	const char *text = (const char *)data;

	if (!m)
		return 0;
	taken = perf_map__feed(m, text, cut);
	if (taken > cut)
		abort();
	/* the next read starts where the last complete line ended */
	taken += perf_map__feed(m, text + taken, size - taken);
	if (taken > size)
		abort();
	for (size_t i = 0; i + 8 <= size; i += 8) {
		uint64_t a;

		memcpy(&a, data + i, 8);
		check(m, a);
		check(m, a & 0xffff); /* small addresses, where small seeds put code */
	}
	check(m, 0);
	check(m, UINT64_MAX);
	perf_map__free(m);
	return 0;
}
