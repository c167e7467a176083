/* SPDX-License-Identifier: MIT */
/*
 * MiniDebugInfo: the `.gnu_debugdata` section Fedora, RHEL and CentOS put
 * in their stripped binaries, an xz-compressed ELF file holding the
 * `.symtab` of the functions `.dynsym` does not name (static ones), at the
 * binary's own addresses. Containers on Debian hosts run those binaries.
 *
 * The section is hostile: decompressed by liblzma within MINIDEBUG_IN_MAX
 * in, MINIDEBUG_OUT_MAX out and the decoder's memory limit.
 */
#ifndef PPROFD_MINIDEBUG_H
#define PPROFD_MINIDEBUG_H

#include <stddef.h>

#include "elf_file.h"

#define MINIDEBUG_IN_MAX (16u << 20)
#define MINIDEBUG_OUT_MAX (64u << 20)

/* xz data to a malloc'd buffer: 0, or -EINVAL (not xz, corrupt), -EFBIG
 * (over MINIDEBUG_OUT_MAX), -ENOMEM. */
int minidebug__decompress(const void *in, size_t len, void **out, size_t *out_len);

/*
 * The ELF file inside exe's .gnu_debugdata, open in mini (its sections, on
 * a memfd that mini->fd names: close it with close_debug_file()). 0, or
 * -ENOENT (no such section) or another -errno.
 */
int minidebug__open(struct elf_file *mini, const struct elf_file *exe);

#endif
