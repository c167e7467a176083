// SPDX-License-Identifier: MIT
/* libFuzzer: a MiniDebugInfo section's bytes (xz, from any binary a user
 * runs) through minidebug__decompress, and what comes out through the
 * symbol loader as the ELF file it claims to be, then looked up. An input
 * whose first byte is odd is that ELF file itself, xz'd here first, so
 * that mutations reach the loader rather than xz's checksum. */
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "minidebug.h"
#include "symtab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sym_result r;
	struct symtab *s;
	void *out;
	size_t len;
	int fd;

	log_max_level = LOG_LVL_ERR;
	if (size && (data[0] & 1)) {
		size_t cap = size + size / 2 + 4096, n = 0;
		uint8_t *xz = malloc(cap);
		int err;

		if (!xz || lzma_easy_buffer_encode(0, LZMA_CHECK_CRC64, NULL, data + 1, size - 1,
						   xz, &n, cap) != LZMA_OK) {
			free(xz);
			return 0;
		}
		err = minidebug__decompress(xz, n, &out, &len);
		free(xz);
		if (err)
			return 0;
	} else if (minidebug__decompress(data, size, &out, &len)) {
		return 0;
	}
	if (len > MINIDEBUG_OUT_MAX)
		abort();
	fd = memfd_create("minidebug", MFD_CLOEXEC);
	if (fd >= 0 && !write_all(fd, out, len)) {
		s = symtab__load(fd, "/", "fuzz");
		if (s) {
			for (uint64_t off = 0; off < 0x10000; off += 0x100)
				symtab__lookup(s, off, &r);
			symtab__put(s);
		}
	}
	if (fd >= 0)
		close(fd);
	free(out);
	return 0;
}
