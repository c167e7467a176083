/* SPDX-License-Identifier: MIT */
/*
 * An ELF file open for the symbolizer's loads (symtab_load.c): libelf's
 * handle, its section headers and its build ID; and where a stripped
 * file's separate debug file is. Not for other modules.
 */
#ifndef PPROFD_SYMTAB_ELF_H
#define PPROFD_SYMTAB_ELF_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "symtab_int.h"

#define SECS_MAX (1u << 20) /* section headers looked at */

struct secinfo {
	uint64_t addr, size, flags;
};

/* One opened ELF file and what we need from its section headers. */
struct elfi {
	int fd;
	Elf *elf;
	GElf_Ehdr eh;
	struct secinfo *secs;
	size_t nsecs;
	char build_id[2 * BUILD_ID_MAX + 1];
};

/* Opens fd (taken: elfi_close closes it) into e; 0 or -errno. */
int elfi_open(struct elfi *e, int fd);
void elfi_close(struct elfi *e);
/* The first section of a type, or of a name; NULL when none. */
Elf_Scn *find_section(const struct elfi *e, uint32_t type, GElf_Shdr *sh);
Elf_Scn *find_section_named(const struct elfi *e, const char *name, GElf_Shdr *sh);

/* The separate debug file of exe (mst: its stat) into dbg: by build ID,
 * then by .gnu_debuglink, inside root; true when found. */
bool find_debug_file(struct elfi *dbg, const struct elfi *exe, const struct stat *mst,
		     const char *root, const char *path);
struct debuglink;
/* dbg from path inside root, then on the host, when it is exe's debug file
 * with a .symtab (dl: the debuglink whose checksum it must have where
 * there is no build ID to compare, or NULL); true when it is. */
bool try_path(struct elfi *dbg, const char *root, const char *path, const struct elfi *exe,
	      const struct stat *mst, const struct debuglink *dl);

#endif
