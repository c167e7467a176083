/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests that read ELF files ask of the real tools: a
 * symbol's address and size as nm sees it, and the file offset of an
 * address, as /proc/PID/maps gives it. Needs libelf.
 */
#ifndef PPROFD_TESTS_ELF_PROBE_H
#define PPROFD_TESTS_ELF_PROBE_H

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The address and size of a defined symbol, as nm sees it. */
static bool nm_sym(const char *file, const char *name, uint64_t *addr, uint64_t *size)
{
	char cmd[PATH_MAX + 64], line[4096];
	bool found = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (!found && fgets(line, sizeof(line), p)) {
		char n[4096], t;
		unsigned long long a, s;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx %llx %c %4095s", &a, &s, &t, n) == 4 && !strcmp(n, name)) {
			*addr = a;
			*size = s;
			found = true;
		} else if (sscanf(line, "%llx %c %4095s", &a, &t, n) == 3 && !strcmp(n, name)) {
			*addr = a;
			*size = 0; /* nm prints no size for unsized symbols */
			found = true;
		}
	}
	pclose(p);
	return found;
}

/* The file offset of vaddr, as a /proc/PID/maps entry of its PT_LOAD
 * segment gives it: pgoff + (addr - start). */
static bool vaddr_to_off(const char *file, uint64_t va, uint64_t *off)
{
	int fd = open(file, O_RDONLY);
	bool ok = false;
	size_t n;
	Elf *e;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && !elf_getphdrnum(e, &n)) {
		for (size_t i = 0; i < n && !ok; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD && va >= ph.p_vaddr &&
			    va < ph.p_vaddr + ph.p_filesz) {
				*off = va - ph.p_vaddr + ph.p_offset;
				ok = true;
			}
		}
	}
	elf_end(e);
	close(fd);
	return ok;
}

#endif
