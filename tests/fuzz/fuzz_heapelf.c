// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the heap sampler's reading of an allocator library, which is
 * any file a user's process maps under the name libc.so.6, libjemalloc* or
 * libtcmalloc*. The input, in a memfd, goes through both probe-site
 * searches (glibc's, and jemalloc's and tcmalloc's: .dynsym, the PLT and
 * GOT of tail jumps, the instruction checks that place each probe); what
 * comes out must be a set of sites the attach can hand to the kernel.
 * The same file is read for an in-process sampler's USDT probes
 * (heap_usdt.c: .note.stapsdt of providers pprofd and otel_memory, the
 * argument specs, .stapsdt.base), as heap_probe_files.c reads every file a
 * process maps executable to tell whether it carries them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"
#include "heap_sites.h"
#include "heap_usdt.h"
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

static void check_usdt(const struct heap_usdt_sites *us)
{
	if (us->n > HEAP_USDT_SITES_MAX || us->n != us->nr_alloc + us->nr_free || !us->nr_alloc ||
	    !us->nr_free)
		abort();
	for (unsigned i = 0; i < us->n; i++) {
		uint64_t c = us->cookies[i], fn = c & 0xff;

		if ((fn != HEAP_FN_USDT_ALLOC && fn != HEAP_FN_USDT_FREE) || !us->offs[i] ||
		    HEAP_USDT_COOKIE_REG(c, 0) >= HEAP_USDT_REG_NR ||
		    HEAP_USDT_COOKIE_REG(c, 1) >= HEAP_USDT_REG_NR ||
		    HEAP_USDT_COOKIE_REG(c, 2) >= HEAP_USDT_REG_NR ||
		    (c & ~HEAP_USDT_WEIGHTED) >> 32)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct heap_probe_sites ps;
	struct heap_usdt_sites us;
	char err[200];

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
	if (!heap_usdt_sites(fd, &us, err, sizeof(err)))
		check_usdt(&us);
	return 0;
}
