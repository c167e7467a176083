/* SPDX-License-Identifier: MIT */
/*
 * Where a stripped ELF file's separate debug file is, for the symbolizer's
 * loads (symtab_load.c). Not for other modules.
 */
#ifndef PPROFD_SYMTAB_ELF_H
#define PPROFD_SYMTAB_ELF_H

#include <stdbool.h>

#include "elf_file.h"

/* The separate debug file of exe into dbg by its build ID: under
 * /usr/lib/debug/.build-id inside root, then on the host, then among
 * debuginfod's fetches; true when found. */
bool find_build_id_file(struct elf_file *dbg, const struct elf_file *exe, const char *root);
/* The same, then by .gnu_debuglink, inside root; true when found. */
bool find_debug_file(struct elf_file *dbg, const struct elf_file *exe, const char *root,
		     const char *path);
struct debuglink;
/* dbg from path inside root, then on the host, when it is exe's debug file
 * with a .symtab (dl: the debuglink whose checksum it must have where
 * there is no build ID to compare, or NULL); true when it is. */
bool try_path(struct elf_file *dbg, const char *root, const char *path, const struct elf_file *exe,
	      const struct debuglink *dl);
/* The dwz file (.gnu_debugaltlink) the DWARF in the file open at
 * dwarf_fd refers to, opened inside root, then on the host, by its build
 * ID's path, then by the path it names: its fd, checked to have that build
 * ID, or -1. */
int find_dwz_file(int dwarf_fd, const char *root);
/* Closes a debug file the two above found, and the fd they opened it on;
 * nothing when dbg is { .fd = -1 }. */
void close_debug_file(struct elf_file *dbg);

#endif
