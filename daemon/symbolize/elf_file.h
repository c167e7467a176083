/* SPDX-License-Identifier: MIT */
/*
 * An ELF file open for its readers (symbols, unwind rows, DWARF lines,
 * allocator probe sites): libelf's handle on the caller's fd, checked once
 * (a regular file, an ELF file of the kind the reader takes), its header,
 * its PT_LOAD segments and, when the reader asks, its section infos and
 * build ID. Every file is hostile: each count read from it is bounded.
 */
#ifndef PPROFD_ELF_FILE_H
#define PPROFD_ELF_FILE_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "elf_seg.h"

#define BUILD_ID_MAX 64                  /* bytes */
#define ELF_FILE_SECS_MAX (1u << 20)     /* section infos kept */
#define ELF_FILE_PHDRS_MAX (1u << 20)    /* program headers looked at */
#define ELF_FILE_HDRS_64K_MAX (1u << 16) /* the same, with ELF_FILE_HDRS_64K */
#define ELF_FILE_SEGS_MAX 64             /* PT_LOAD segments kept */

/* What elf_file__open() requires of a file and reads from it: each
 * reader's own rules. */
enum {
	/* An executable or a shared object (ET_EXEC, ET_DYN) only. */
	ELF_FILE_EXEC = 1 << 0,
	/* x86-64, 64-bit, little-endian only. */
	ELF_FILE_X86_64 = 1 << 1,
	/* The section infos (secs). */
	ELF_FILE_SECTIONS = 1 << 2,
	/* The build ID. */
	ELF_FILE_BUILD_ID = 1 << 3,
	/* The segments kept are those with bytes in the file (p_filesz:
	 * looked up by file offset); else those with memory (p_memsz). */
	ELF_FILE_SEGS_IN_FILE = 1 << 4,
	/* Only the program headers and the sections whose index is below
	 * ELF_FILE_HDRS_64K_MAX are looked at; else the first
	 * ELF_FILE_PHDRS_MAX program headers and every section. */
	ELF_FILE_HDRS_64K = 1 << 5,
};

struct elf_sec {
	uint64_t addr, size, flags;
};

struct elf_file {
	int fd; /* the caller's: elf_file__close() leaves it open */
	/* Reads through fd (ELF_C_READ: never a mapping, which a file cut
	 * under us would turn into a SIGBUS). */
	Elf *elf;
	GElf_Ehdr eh;
	struct stat st;
	struct elf_sec *secs; /* by section index (ELF_FILE_SECTIONS) */
	size_t nsecs;
	size_t nphdrs;                          /* the program headers looked at */
	size_t scns_max;                        /* sections searched: those of a lower index */
	struct elf_seg segs[ELF_FILE_SEGS_MAX]; /* PT_LOAD, in header order */
	uint32_t nsegs;
	char build_id[2 * BUILD_ID_MAX + 1]; /* hex; "" when none (or not asked) */
};

/* libelf's version set, once for the whole daemon; false when it cannot be. */
bool elf_file__init(void);

/*
 * Opens fd (the caller's, which it keeps open until elf_file__close())
 * into f by flags: 0, -ENOSYS (no libelf), -errno of fstat(), -EINVAL (not
 * a regular file: never a FIFO or a device a hostile mapping could name),
 * -ENOEXEC (not an ELF file that flags take) or -ENOMEM. On an error f is
 * closed.
 */
int elf_file__open(struct elf_file *f, int fd, unsigned flags);
/* Ends f, not its fd. f may be closed already, or never opened, if it
 * was set to { .fd = -1 }. */
void elf_file__close(struct elf_file *f);

/* The next section of a type after scn (NULL: the first), or of a name;
 * NULL when none. */
Elf_Scn *elf_file__next_section(const struct elf_file *f, Elf_Scn *scn, uint32_t type,
				GElf_Shdr *sh);
Elf_Scn *elf_file__find_section_named(const struct elf_file *f, const char *name, GElf_Shdr *sh);

static inline Elf_Scn *elf_file__find_section(const struct elf_file *f, uint32_t type,
					      GElf_Shdr *sh)
{
	return elf_file__next_section(f, NULL, type, sh);
}

/* a, a virtual address, as a file offset by the PT_LOAD segment whose file
 * bytes hold it (to_vaddr: a file offset as a virtual address); 0 when
 * none does. */
uint64_t elf_file__addr(const struct elf_file *f, uint64_t a, bool to_vaddr);

/* The last program header of a type (a later one overrides an earlier
 * one); false when none. */
bool elf_file__last_phdr(const struct elf_file *f, uint32_t type, GElf_Phdr *ph);

#endif
