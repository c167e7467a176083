// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for daemon/symbolize/dwlines.c and the DWARF half of symtab.c: the
 * input is an ELF file (through a memfd), its DWARF loaded with libdw and
 * looked up at addresses across the file and taken from the input itself,
 * directly and through symtab__lookup_frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dwlines.h"
#include "log.h"
#include "symtab.h"

static int fd = -1;
static struct sym_frames frames;

static uint64_t addr_at(const uint8_t *data, size_t size, uint64_t i)
{
	uint64_t a = size ? i * size / 64 : i;

	if (i < 8 && size >= 8 * (i + 1))
		memcpy(&a, data + size - 8 * (i + 1), 8);
	return a;
}

static void sink_frame(const char *s, volatile size_t *sink)
{
	if (s)
		*sink += strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile size_t sink = 0;
	struct dwl_frame f[DWL_FRAMES_MAX];
	struct dwlines *d;
	struct symtab *s;
	size_t bytes;

	if (fd < 0) {
		log_max_level = LOG_LVL_ERR;
		fd = memfd_create("fuzz_dwlines", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();

	sink += dwlines__probe(fd, &bytes);
	d = dwlines__load(fd, -1, 16u << 20);
	if (d) {
		sink += dwlines__mem_size(d) + dwlines__nr_units(d);
		for (uint64_t i = 0; i < 64; i++) {
			/* small addresses too: the seeds are linked low */
			uint64_t a = i < 32 ? addr_at(data, size, i) : 0x400000 + (i - 32) * 0x11;
			int n = dwlines__lookup(d, a, f, DWL_FRAMES_MAX);

			for (int k = 0; k < n; k++) {
				sink_frame(f[k].name, &sink);
				sink_frame(f[k].linkage, &sink);
				sink_frame(f[k].file, &sink);
				sink_frame(f[k].decl_file, &sink);
				sink += (size_t)(f[k].line + f[k].decl_line);
			}
		}
		dwlines__free(d);
	}

	s = symtab__load(fd, "/nonexistent-fuzz-root", "/nonexistent-fuzz-dir/file");
	if (s) {
		sink += symtab__has_lines(s);
		for (uint64_t i = 0; i < 64; i++) {
			if (symtab__lookup_frames(
				    s, i < 32 ? addr_at(data, size, i) : (i - 32) * 0x23, &frames))
				continue;
			for (unsigned k = 0; k < frames.n; k++) {
				sink_frame(frames.f[k].name, &sink);
				sink_frame(frames.f[k].raw_name, &sink);
				sink_frame(frames.f[k].file, &sink);
				sink_frame(frames.f[k].decl_file, &sink);
			}
		}
		sink += symtab__mem_size(s);
		symtab__put(s);
	}
	return 0;
}
