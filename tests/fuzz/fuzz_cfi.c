// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for daemon/symbolize/cfi.c and daemon/process/unwind.c: the input is
 * loaded as an ELF file (through a memfd, as cfi_table__load reads a
 * descriptor) and looked up at offsets across the file and taken from the
 * input; then the input is unwound as a ustack record, with that table
 * for every pc (or libc's, when the input is no ELF file, so that hostile
 * records meet real CFI rows: pcs are taken as libc file offsets).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfi.h"
#include "log.h"
#include "unwind.h"

static int elf_fd = -1;
static struct cfi_table *libc;

static const struct cfi_table *find_one(void *ctx, uint64_t pc, uint64_t *off)
{
	*off = pc;
	return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t rec[(sizeof(struct ustack_hdr) + USTACK_DATA_MAX) / 8];
	volatile uint64_t sink = 0;
	uint64_t frames[64];
	struct cfi_table *t;
	struct cfi_row r;

	if (elf_fd < 0) {
		log_max_level = LOG_LVL_ERR;
		elf_fd = memfd_create("fuzz_cfi", MFD_CLOEXEC);
		if (elf_fd < 0)
			abort();
		int fd = open("/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			libc = cfi_table__load(fd);
			close(fd);
		}
	}
	if (ftruncate(elf_fd, 0) || pwrite(elf_fd, data, size, 0) != (ssize_t)size)
		abort();
	t = cfi_table__load(elf_fd);
	if (t) {
		sink += cfi_table__nr_rows(t) + cfi_table__mem_size(t);
		for (uint64_t i = 0; i < 256; i++) {
			uint64_t off = size ? i * size / 256 : i;

			if (i < 8 && size >= 8 * (i + 1))
				memcpy(&off, data + size - 8 * (i + 1), 8);
			if (!cfi_table__lookup(t, off, &r)) {
				if ((r.cfa_reg > CFI_REG_NONE && r.cfa_reg != CFI_REG_SIGNAL) ||
				    r.bp_rule > CFI_BP_UNDEF)
					abort();
				sink += r.cfa_off + r.bp_off;
			}
		}
	}
	/* the same bytes as a record (aligned, as in a ring buffer) */
	if (size <= sizeof(rec)) {
		int n;

		memcpy(rec, data, size);
		n = unwind_user((const struct ustack_hdr *)rec, size, find_one, t ? t : libc,
				frames, 64);
		if (n > 64)
			abort();
	}
	cfi_table__free(t);
	return 0;
}
