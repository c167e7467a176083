// SPDX-License-Identifier: MIT
/*
 * The heap USDT probes of a file (heap_usdt.h): pprofd's and otel_memory's. A .note.stapsdt entry
 * (SystemTap's format, as <sys/sdt.h> writes it): owner "stapsdt", type 3,
 * then the site's address, the link-time address of .stapsdt.base and the
 * semaphore's address (8 bytes each), then provider, name and argument
 * specs, each NUL-terminated. A prelinked or otherwise moved file says
 * where .stapsdt.base is now: the sites move with it.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "heap.h"
#include "heap_usdt.h"
#include "pprofd_heap.h"

#define NT_STAPSDT 3
#define NOTES_MAX (1u << 20) /* bytes of a note section read */

/* The providers read, each with the cookie flag its alloc's sites get.
 * Both name their probes alloc and free. */
static const struct {
	const char *name;
	uint64_t flag;
} providers[] = {
	{ PPROFD_HEAP_PROVIDER, 0 },
	{ HEAP_USDT_OTEL_PROVIDER, HEAP_USDT_WEIGHTED },
};
#define NR_PROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* The provider's index in providers[], or -1 when it is not read. */
static int provider_of(const char *name)
{
	for (size_t i = 0; i < NR_PROVIDERS; i++)
		if (!strcmp(name, providers[i].name))
			return i;
	return -1;
}

int heap_usdt_arg_reg(const char *spec)
{
	static const char *const names[HEAP_USDT_REG_NR] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
		"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
	};
	const char *r;

	if (*spec == '-')
		spec++;
	if (strncmp(spec, "8@%", 3))
		return -1;
	r = spec + 3;
	for (int i = 0; i < HEAP_USDT_REG_NR; i++)
		if (!strcmp(r, names[i]))
			return i;
	return -1;
}

/* Where .stapsdt.base is in the file (0: no such section). */
static uint64_t sdt_base(const struct elf_file *f)
{
	GElf_Shdr sh;

	if (!elf_file__find_section_named(f, ".stapsdt.base", &sh) || sh.sh_type != SHT_PROGBITS)
		return 0;
	return sh.sh_addr;
}

/* One note's site, when it is one of ours: 1 taken, 0 not ours, -EINVAL. */
static int take_site(const struct elf_file *f, uint64_t base_now, const uint8_t *desc, size_t len,
		     struct heap_usdt_sites *us, char *err, size_t errlen)
{
	const char *provider, *name, *args, *end = (const char *)desc + len;
	uint64_t pc, base, sem;
	int regs[3] = { 0, 0, 0 }, want, fn, pv;
	char spec[64];

	if (len < 24 + 3)
		return 0;
	memcpy(&pc, desc, 8);
	memcpy(&base, desc + 8, 8);
	memcpy(&sem, desc + 16, 8);
	provider = (const char *)desc + 24;
	name = memchr(provider, 0, end - provider);
	if (!name || ++name >= end)
		return 0;
	args = memchr(name, 0, end - name);
	if (!args || ++args >= end || !memchr(args, 0, end - args))
		return 0;
	if ((pv = provider_of(provider)) < 0)
		return 0;
	if (!strcmp(name, PPROFD_HEAP_PROBE_ALLOC)) {
		fn = HEAP_FN_USDT_ALLOC;
		want = 3;
	} else if (!strcmp(name, PPROFD_HEAP_PROBE_FREE)) {
		fn = HEAP_FN_USDT_FREE;
		want = 1;
	} else {
		return 0;
	}
	if (base_now && base) {
		pc += base_now - base;
		if (sem)
			sem += base_now - base;
	}
	/* the specs, space-separated */
	for (int i = 0; i < want; i++) {
		size_t n;

		args += strspn(args, " ");
		n = strcspn(args, " ");
		if (!n || n >= sizeof(spec)) {
			snprintf(err, errlen, "%s:%s at 0x%llx has %d arguments, not %d", provider,
				 name, (unsigned long long)pc, i, want);
			return -EINVAL;
		}
		memcpy(spec, args, n);
		spec[n] = 0;
		args += n;
		regs[i] = heap_usdt_arg_reg(spec);
		if (regs[i] < 0) {
			snprintf(err, errlen,
				 "%s:%s at 0x%llx: argument %d is '%s': only 64-bit registers "
				 "are read",
				 provider, name, (unsigned long long)pc, i + 1, spec);
			return -EINVAL;
		}
	}
	if (us->n == HEAP_USDT_SITES_MAX) {
		snprintf(err, errlen, "more than %d heap probe sites", HEAP_USDT_SITES_MAX);
		return -EINVAL;
	}
	us->offs[us->n] = elf_file__addr(f, pc, false);
	us->ref_ctrs[us->n] = sem ? elf_file__addr(f, sem, false) : 0;
	if (!us->offs[us->n] || (sem && !us->ref_ctrs[us->n])) {
		snprintf(err, errlen, "%s:%s at 0x%llx (semaphore 0x%llx) is in no segment",
			 provider, name, (unsigned long long)pc, (unsigned long long)sem);
		return -EINVAL;
	}
	us->cookies[us->n++] = HEAP_USDT_COOKIE(fn, regs[0], regs[1], regs[2]) | providers[pv].flag;
	if (fn == HEAP_FN_USDT_ALLOC)
		us->nr_alloc++;
	else
		us->nr_free++;
	return 1;
}

int heap_usdt_sites(int fd, struct heap_usdt_sites *us, char *err, size_t errlen)
{
	struct elf_file f;
	Elf_Scn *scn = NULL;
	uint64_t base_now;
	GElf_Shdr sh;
	int ret = 0;

	memset(us, 0, sizeof(*us));
	if (elf_file__open(&f, fd, ELF_FILE_X86_64 | ELF_FILE_SEGS_IN_FILE | ELF_FILE_HDRS_64K)) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	base_now = sdt_base(&f);
	while (!ret && (scn = elf_file__next_section(&f, scn, SHT_NOTE, &sh))) {
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		if (!d || sh.sh_size > NOTES_MAX)
			continue;
		while (!ret && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_STAPSDT || nh.n_namesz != sizeof("stapsdt") ||
			    memcmp((const char *)d->d_buf + name_off, "stapsdt", nh.n_namesz))
				continue;
			if (take_site(&f, base_now, (const uint8_t *)d->d_buf + desc_off,
				      nh.n_descsz, us, err, errlen) < 0)
				ret = -EINVAL;
		}
	}
	elf_file__close(&f);
	if (!ret && (!us->nr_alloc || !us->nr_free)) {
		snprintf(err, errlen, "no %s:%s and %s:%s probes (nor %s's)", PPROFD_HEAP_PROVIDER,
			 PPROFD_HEAP_PROBE_ALLOC, PPROFD_HEAP_PROVIDER, PPROFD_HEAP_PROBE_FREE,
			 HEAP_USDT_OTEL_PROVIDER);
		ret = -ENOENT;
	}
	return ret;
}
