// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for daemon/symbolize/symtab.c: the input is loaded as an ELF file
 * (through a memfd, as symtab__load reads a descriptor), looked up at a few
 * offsets, then parsed as a kallsyms file and demangled as a symbol name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "symtab.h"

static int elf_fd = -1, ksym_fd = -1;

static int refill(int fd, const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0))
		return -1;
	return pwrite(fd, data, size, 0) == (ssize_t)size ? 0 : -1;
}

static void poke(struct symtab *s, const uint8_t *data, size_t size)
{
	struct sym_result r;
	volatile size_t sink = 0;

	sink += strlen(symtab__build_id(s)) + strlen(symtab__path(s)) + symtab__nr_symbols(s);
	sink += symtab__has_functions(s) + symtab__mem_size(s);
	/* Offsets across the file, and some taken from the input itself. */
	for (uint64_t i = 0; i < 64; i++) {
		uint64_t off = size ? i * size / 64 : i;

		if (i < 8 && size >= 8 * (i + 1))
			memcpy(&off, data + size - 8 * (i + 1), 8);
		if (!symtab__lookup(s, off, &r))
			sink += strlen(r.name) + strlen(r.raw_name) + (r.vaddr - r.start);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *name;
	struct symtab *s;
	struct kallsyms *k;

	if (elf_fd < 0) {
		log_max_level = LOG_LVL_ERR;
		elf_fd = memfd_create("fuzz_symtab_elf", MFD_CLOEXEC);
		ksym_fd = memfd_create("fuzz_symtab_kallsyms", MFD_CLOEXEC);
		if (elf_fd < 0 || ksym_fd < 0)
			abort();
	}
	if (refill(elf_fd, data, size) || refill(ksym_fd, data, size))
		abort();

	/* Debug-file search only finds nothing under these paths. */
	s = symtab__load(elf_fd, "/nonexistent-fuzz-root", "/nonexistent-fuzz-dir/file");
	if (s) {
		poke(s, data, size);
		symtab__put(s);
	}

	snprintf(path, sizeof(path), "/proc/self/fd/%d", ksym_fd);
	k = kallsyms__load(path);
	if (k) {
		uint64_t lo, hi, st;
		char nb[KSYM_NAME_MAX];

		kallsyms__range(k, &lo, &hi);
		kallsyms__lookup(k, lo, &st, nb, sizeof(nb));
		kallsyms__lookup(k, hi + 1, &st, nb, sizeof(nb));
		kallsyms__lookup(k, lo + (hi - lo) / 2, &st, nb, sizeof(nb));
		kallsyms__free(k);
	}

	if (size < 8192) {
		name = malloc(size + 1);
		if (!name)
			abort();
		memcpy(name, data, size);
		name[size] = '\0';
		free(demangle(name));
		free(name);
	}
	return 0;
}
