// SPDX-License-Identifier: MIT
/*
 * An in-process sampler found by its notes (daemon/collect/heap_probe_files.c
 * through heap_maps__read): this process, with build/libotel_heap.so
 * dlopen()ed (the name is not one pprofd knows), maps a file that carries
 * otel_memory's probes; each file it maps executable up to that one is
 * read once, found or not, and a second read of its maps reads no file
 * again.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_probe_files.h"
#include "heap_sites.h"
#include "test.h"

static void test_found_by_notes(void)
{
	const char *const paths[] = { "build/libotel_heap.so", "../build/libotel_heap.so" };
	struct heap_maps *m = calloc(1, sizeof(*m));
	uint64_t lookups, reads, lookups2, reads2;
	void *h = NULL;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && !h; i++)
		h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
	if (!ASSERT_TRUE(m) || !ASSERT_TRUE(h, "build/libotel_heap.so: %s (make)", dlerror()))
		goto out;
	ASSERT_OK(heap_maps__read(getpid(), m));
	ASSERT_TRUE(m->usdt_ino != 0, "no file with heap probes found");
	ASSERT_TRUE(strstr(m->usdt_path, "/libotel_heap.so") != NULL, "found %s", m->usdt_path);
	heap_probe_files__stats(&lookups, &reads);
	/* this binary (no probes) and libotel_heap.so at the least: the
	 * files mapped executable up to the first that carries them */
	ASSERT_TRUE(reads >= 2 && lookups >= reads, "%" PRIu64 " lookups, %" PRIu64 " reads",
		    lookups, reads);
	/* again: every answer kept, the negative ones too */
	ASSERT_OK(heap_maps__read(getpid(), m));
	ASSERT_TRUE(strstr(m->usdt_path, "/libotel_heap.so") != NULL, "found %s", m->usdt_path);
	heap_probe_files__stats(&lookups2, &reads2);
	ASSERT_EQ(reads2, reads);
	ASSERT_TRUE(lookups2 > lookups);
out:
	if (h)
		dlclose(h);
	free(m);
}

int main(void)
{
	RUN_TEST(test_found_by_notes);
	return TEST_MAIN_END();
}
