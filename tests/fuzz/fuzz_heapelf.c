// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the heap sampler's reading of an allocator library, which is
 * any file a user's process maps under the name libc.so.6, libjemalloc* or
 * libtcmalloc*. The input, in a memfd, goes through both probe-site
 * searches (glibc's, and jemalloc's and tcmalloc's: .dynsym, the PLT and
 * GOT of tail jumps, the instruction checks that place each probe); what
 * comes out must be a set of sites the attach can hand to the kernel.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"
#include "heap_sites.h"
#include "log.h"

static void check(const struct heap_probe_sites *ps, bool alt)
{
	if (ps->nr_alloc > HEAP_PROBE_SITES_MAX || ps->nr_free > HEAP_PROBE_SITES_MAX ||
	    ps->slow > ps->nr_alloc + ps->nr_free || !ps->nr_alloc)
		abort();
	for (unsigned i = 0; i < ps->nr_alloc; i++) {
		uint64_t fn = ps->alloc_cookies[i] & HEAP_FN_MASK;

		if (fn < HEAP_FN_MALLOC || fn > HEAP_FN_NEW_ALIGNED || fn == HEAP_FN_FREE ||
		    !(ps->alloc_cookies[i] & HEAP_FN_ALT) != !alt ||
		    (!alt && fn > HEAP_FN_POSIX_MEMALIGN) || ps->alloc_cookies[i] >> 8)
			abort();
	}
	for (unsigned i = 0; i < ps->nr_free; i++)
		if (ps->free_cookies[i] != HEAP_FN_FREE)
			abort();
	if (!alt && ps->nr_free != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct heap_probe_sites ps;

	if (fd < 0) {
		log_max_level = LOG_LVL_ERR;
		fd = memfd_create("fuzz_heapelf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (!heap_probe_sites_libc(fd, "fuzz", 1, &ps))
		check(&ps, false);
	if (!heap_probe_sites_alt(fd, "fuzz", 1, &ps))
		check(&ps, true);
	return 0;
}
