/* SPDX-License-Identifier: MIT */
/*
 * The PT_LOAD segments that the readers of ELF files (symbols, unwind
 * rows) keep to look things up by file offset (a mapping gives a file
 * offset, the tables are by virtual address); elf_file.h reads them.
 */
#ifndef PPROFD_ELF_SEG_H
#define PPROFD_ELF_SEG_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>

struct elf_seg {
	uint64_t off, filesz, vaddr, memsz;
	uint32_t flags;
};

/* The virtual address of file offset off. Executable segments first:
 * page-aligned mappings overlap in the file. */
static inline bool elf_seg__off_to_vaddr(const struct elf_seg *segs, uint32_t n, uint64_t off,
					 uint64_t *va)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < n; i++) {
			const struct elf_seg *g = &segs[i];

			if ((pass || (g->flags & PF_X)) && off - g->off < g->filesz) {
				*va = off - g->off + g->vaddr;
				return true;
			}
		}
	return false;
}

#endif
