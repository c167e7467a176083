// SPDX-License-Identifier: MIT
/*
 * Where to probe an allocator (heap_sites.h): its functions from the ELF
 * file's .dynsym, and in each the offset where the kernel emulates the
 * instruction it replaces (a few decoded x86-64 instructions), not one it
 * single-steps.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elf_file.h"
#include "heap.h"
#include "heap_probe_files.h"
#include "heap_sites.h"
#include "log.h"

/* Whether the kernel emulates this instruction rather than single-stepping
 * it (arch/x86/kernel/uprobes.c: push, jmp, jcc, call, nop). */
static bool emulated(const uint8_t *b)
{
	if (b[0] >= 0x50 && b[0] <= 0x57) /* push %reg */
		return true;
	if (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57) /* push %r8-15 */
		return true;
	if (b[0] >= 0x70 && b[0] <= 0x7f) /* jcc rel8 */
		return true;
	if (b[0] == 0x0f && ((b[1] >= 0x80 && b[1] <= 0x8f) || b[1] == 0x1f)) /* jcc rel32, nopl */
		return true;
	return b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb || b[0] == 0x90;
}

/*
 * The offset in a function to probe: its first instruction when the kernel
 * emulates it, else the first emulated one after a prefix that we know
 * reads no argument, writes no argument register, rsp or rbp, and that
 * every call of interest passes:
 *
 *   endbr64                      no effect (CET builds)
 *   cmpb $0x0, disp32(%rip)      flags only (glibc's "malloc initialized?"
 *                                test at the top of memalign, valloc,
 *                                posix_memalign)
 *   test %rdi,%rdi; je ...       free only: the jump is free(NULL), which
 *                                has nothing to untrack
 *
 * So at the probe the arguments are still in rdi/rsi/rdx, [rsp] is still
 * the return address and rbp the caller's, as at the entry. In Debian 12's
 * glibc 2.36 this gives: malloc +0 (push %r12), calloc +0 (push %r13),
 * realloc +0 (push %r15), free +9 (push %rbp), memalign = aligned_alloc +7
 * (je), valloc +7 (push %rbx), posix_memalign +7 (push %r12). Anything else
 * falls back to +0: single-stepped (~15 us a call), but still correct.
 */
static uint64_t probe_offset(int fd, uint64_t off, uint64_t size, bool is_free, bool *slow)
{
	uint8_t b[32];
	uint64_t at = 0;

	*slow = false;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		goto fallback;
	if (size > sizeof(b) - 8)
		size = sizeof(b) - 8;
	while (at < size) {
		const uint8_t *p = b + at;

		if (emulated(p))
			return off + at;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
			at += 4;
		else if (p[0] == 0x80 && p[1] == 0x3d && p[6] == 0x00)
			at += 7;
		else if (is_free && at == 0 && p[0] == 0x48 && p[1] == 0x85 && p[2] == 0xff &&
			 p[3] == 0x74)
			at += 5;
		else if (is_free && at == 0 && p[0] == 0x48 && p[1] == 0x85 && p[2] == 0xff &&
			 p[3] == 0x0f && p[4] == 0x84)
			at += 9;
		else
			break;
	}
fallback:
	*slow = true;
	return off;
}

/* x86-64 register numbers (ModRM/REX order) */
#define R_RDX 2
#define R_RSP 4
#define R_RBP 5
#define R_RSI 6
#define R_RDI 7

/*
 * The length of one x86-64 instruction of a small known set that does not
 * branch, does not store to memory and writes at most one general register
 * (its number in *dst, -1 for none: cmp, test), or 0 when it is not one of
 * them. The set: mov/add/or/and/sub/xor/cmp/test between registers or from
 * memory (rip-relative, %fs: too), lea, movzx, movsxd, the immediate forms
 * 0x81/0x83 (add ... cmp) and cmpb $imm8, shifts by an immediate, op-to-%eax imm32 and
 * mov $imm to a register. No operand-size or rep prefix.
 */
static int plain_insn(const uint8_t *p, int *dst)
{
	int i = 0, rex = 0, op, modrm, mod, imm = 0;
	bool w_rm = false, w_reg = false;

	*dst = -1;
	if (p[i] == 0x64) /* %fs: (reads only: stores are refused below) */
		i++;
	if ((p[i] & 0xf0) == 0x40)
		rex = p[i++];
	op = p[i++];
	switch (op) {
	case 0xb8 ... 0xbf: /* mov $imm32 (movabs $imm64 with REX.W), %reg */
		*dst = ((rex & 1) << 3) | (op & 7);
		return i + ((rex & 8) ? 8 : 4);
	case 0x05:
	case 0x0d:
	case 0x25:
	case 0x2d:
	case 0x35: /* add/or/and/sub/xor $imm32, %eax */
		*dst = 0;
		return i + 4;
	case 0x3d:
	case 0xa9: /* cmp/test $imm32, %eax */
		return i + 4;
	case 0x01:
	case 0x09:
	case 0x21:
	case 0x29:
	case 0x31:
	case 0x89: /* op %reg, r/m */
		w_rm = true;
		break;
	case 0x03:
	case 0x0b:
	case 0x23:
	case 0x2b:
	case 0x33:
	case 0x8b: /* op r/m, %reg */
	case 0x8d:
	case 0x63: /* lea, movsxd */
		w_reg = true;
		break;
	case 0x39:
	case 0x3b:
	case 0x85: /* cmp, test */
		break;
	case 0x81: /* add, or, adc, sbb, and, sub, xor, cmp $imm32, r/m */
		imm = 4;
		w_rm = ((p[i] >> 3) & 7) != 7;
		break;
	case 0x83: /* the same, $imm8 */
		imm = 1;
		w_rm = ((p[i] >> 3) & 7) != 7;
		break;
	case 0x80: /* cmpb $imm8, r/m8 (only) */
		if (((p[i] >> 3) & 7) != 7)
			return 0;
		imm = 1;
		break;
	case 0xc1: /* rol ... sar $imm8, r/m */
		imm = 1;
		w_rm = true;
		break;
	case 0x0f: /* movzbl, movzwl */
		if (p[i] != 0xb6 && p[i] != 0xb7)
			return 0;
		op = 0x0f00 | p[i++];
		w_reg = true;
		break;
	default:
		return 0;
	}
	modrm = p[i++];
	mod = modrm >> 6;
	if (mod != 3) {
		if (w_rm)
			return 0;       /* a store */
		if ((modrm & 7) == 4) { /* SIB */
			if (mod == 0 && (p[i] & 7) == 5)
				i += 4;
			i++;
		} else if (mod == 0 && (modrm & 7) == 5) {
			i += 4; /* rip-relative */
		}
		if (mod == 1)
			i += 1;
		else if (mod == 2)
			i += 4;
	} else if (op == 0x8d) {
		return 0;
	}
	if (w_rm)
		*dst = ((rex & 1) << 3) | (modrm & 7);
	else if (w_reg)
		*dst = ((rex & 4) << 1) | ((modrm >> 3) & 7);
	return i + imm;
}

/*
 * probe_offset() for jemalloc and tcmalloc, whose entry points often begin
 * with a few plain instructions before their first branch or push
 * (jemalloc's malloc: cmp $0x1000,%rdi; ja; its free: nine movs, shifts
 * and a cmp before a jne; tcmalloc's malloc and free: mov, test, jne): the
 * first emulated instruction after a straight-line prefix of endbr64 and
 * plain_insn()s that write none of the registers in `keep` (the
 * arguments read there) nor rsp or rbp, and store nothing. So every call
 * reaches it with its arguments, [rsp] (the return address the session's
 * return half hooks) and rbp as at the entry. Else +0, single-stepped.
 */
static uint64_t probe_offset_alt(int fd, uint64_t off, uint64_t size, unsigned keep, bool *slow)
{
	uint8_t b[80];
	uint64_t at = 0;

	*slow = false;
	keep |= 1u << R_RSP | 1u << R_RBP;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		goto fallback;
	if (size > sizeof(b) - 16)
		size = sizeof(b) - 16;
	while (at < size) {
		const uint8_t *p = b + at;
		int n, dst;

		if (emulated(p))
			return off + at;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
			at += 4;
			continue;
		}
		n = plain_insn(p, &dst);
		if (!n || (dst >= 0 && (keep >> dst) & 1))
			break;
		at += n;
	}
fallback:
	*slow = true;
	return off;
}

static const struct {
	const char *name;
	enum heap_fn fn;
} probed[] = {
	{ "malloc", HEAP_FN_MALLOC },
	{ "calloc", HEAP_FN_CALLOC },
	{ "realloc", HEAP_FN_REALLOC },
	{ "memalign", HEAP_FN_MEMALIGN },
	{ "aligned_alloc", HEAP_FN_MEMALIGN },
	{ "valloc", HEAP_FN_VALLOC },
	{ "posix_memalign", HEAP_FN_POSIX_MEMALIGN },
	{ "free", HEAP_FN_FREE },
};
#define NR_PROBED (sizeof(probed) / sizeof(probed[0]))

/* jemalloc's and tcmalloc's: the same (malloc first), then the frees
 * (free first); the argument registers each one's probe reads. */
static const struct {
	const char *name;
	enum heap_fn fn;
	unsigned args;
} alt_probed[] = {
	{ "malloc", HEAP_FN_MALLOC, 1u << R_RDI },
	{ "calloc", HEAP_FN_CALLOC, 1u << R_RDI | 1u << R_RSI },
	{ "realloc", HEAP_FN_REALLOC, 1u << R_RDI | 1u << R_RSI },
	{ "memalign", HEAP_FN_MEMALIGN, 1u << R_RDI | 1u << R_RSI },
	{ "aligned_alloc", HEAP_FN_MEMALIGN, 1u << R_RDI | 1u << R_RSI },
	{ "valloc", HEAP_FN_VALLOC, 1u << R_RDI },
	{ "posix_memalign", HEAP_FN_POSIX_MEMALIGN, 1u << R_RDI | 1u << R_RSI | 1u << R_RDX },
	{ "free", HEAP_FN_FREE, 1u << R_RDI },
	{ "sdallocx", HEAP_FN_FREE, 1u << R_RDI },   /* jemalloc: sized free */
	{ "dallocx", HEAP_FN_FREE, 1u << R_RDI },    /* jemalloc */
	{ "free_sized", HEAP_FN_FREE, 1u << R_RDI }, /* C23 */
	{ "free_aligned_sized", HEAP_FN_FREE, 1u << R_RDI },
	{ "tc_free_sized", HEAP_FN_FREE, 1u << R_RDI }, /* tcmalloc */
	/*
	 * C++ operators, which both implement inline rather than through
	 * their malloc and free (jemalloc's aligned new calls its
	 * aligned_alloc: HEAP_FN_NEW_ALIGNED skips it). Those that only
	 * jump to another probed entry (jemalloc's new[] to new, delete to
	 * free@plt) are left to it; tcmalloc's aliases (delete is free) are
	 * probed once.
	 */
	{ "_Znwm", HEAP_FN_NEW, 1u << R_RDI },
	{ "_Znam", HEAP_FN_NEW, 1u << R_RDI },
	{ "_ZnwmRKSt9nothrow_t", HEAP_FN_NEW, 1u << R_RDI },
	{ "_ZnamRKSt9nothrow_t", HEAP_FN_NEW, 1u << R_RDI },
	{ "_ZnwmSt11align_val_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZnamSt11align_val_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZdlPv", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPv", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvm", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvm", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvmSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvmSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
};
#define NR_ALT_PROBED (sizeof(alt_probed) / sizeof(alt_probed[0]))
#define ALT_MALLOC 0 /* alt_probed[] indexes */
#define ALT_FREE 7

/*
 * The allocator's file is the user's: libelf reads it (ELF_C_READ), since
 * a mapping of it (ELF_C_READ_MMAP) would SIGBUS the daemon when the user
 * cuts the file while we read; and only sections up to this size, since
 * what it reads it holds in memory and scans on the event loop: a crafted
 * libc.so.6 at the limit (174,000 symbols) costs 29 ms, an allocator's
 * tail-jump search 41 ms (64 MiB cost 1 s). Real allocators are far under
 * it (libc's .dynsym: 73 KiB); an executable over it (node's .dynstr:
 * 5.3 MiB) is taken not to define malloc itself.
 */
#define ELF_SECTION_MAX (4u << 20)

/* A string table's bytes, when small enough to read and NUL-terminated
 * (then every name in it ends inside it). */
static bool strtab_of(Elf *e, size_t idx, const char **buf, size_t *size)
{
	Elf_Scn *scn = elf_getscn(e, idx);
	Elf_Data *d;
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_STRTAB ||
	    sh.sh_size > ELF_SECTION_MAX || !(d = elf_getdata(scn, NULL)) || !d->d_buf ||
	    !d->d_size || ((const char *)d->d_buf)[d->d_size - 1])
		return false;
	*buf = d->d_buf;
	*size = d->d_size;
	return true;
}

/* The file offsets and sizes of the functions named in names[] defined in
 * an ELF file's .dynsym (offset 0: not defined there); returns how many. */
static int dynsym_offsets_of(const struct elf_file *f, const char *const *names, size_t nnames,
			     uint64_t *off, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int found = 0;

	memset(off, 0, nnames * sizeof(*off));
	while ((scn = elf_file__next_section(f, scn, SHT_DYNSYM, &sh))) {
		const char *str;
		size_t strsz;
		Elf_Data *d;

		if (!sh.sh_entsize || sh.sh_size > ELF_SECTION_MAX ||
		    !strtab_of(f->elf, sh.sh_link, &str, &strsz))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value ||
			    sym.st_name >= strsz)
				continue;
			name = str + sym.st_name;
			for (size_t k = 0; k < nnames; k++) {
				if (off[k] || strcmp(name, names[k]))
					continue;
				off[k] = elf_file__addr(f, sym.st_value, false);
				if (off[k]) {
					size[k] = sym.st_size;
					found++;
				}
			}
		}
	}
	return found;
}

/* The allocator's file open as f: any type of ELF file (the kernel
 * probes what the process maps), its segments looked up by file offset. */
static int open_elf(struct elf_file *f, int fd)
{
	return elf_file__open(f, fd, ELF_FILE_SEGS_IN_FILE) ? -EINVAL : 0;
}

/* dynsym_offsets_of() of glibc's functions in the file open as fd. */
static int dynsym_offsets(int fd, uint64_t off[NR_PROBED], uint64_t size[NR_PROBED])
{
	const char *names[NR_PROBED];
	struct elf_file f;
	int found;

	if (open_elf(&f, fd))
		return -EINVAL;
	for (size_t k = 0; k < NR_PROBED; k++)
		names[k] = probed[k].name;
	found = dynsym_offsets_of(&f, names, NR_PROBED, off, size);
	elf_file__close(&f);
	return found;
}

bool heap_sites_defines_malloc(int fd)
{
	uint64_t off[NR_PROBED], size[NR_PROBED];

	return dynsym_offsets(fd, off, size) > 0 && off[0];
}

static bool is_libc(const char *base)
{
	return !strcmp(base, "libc.so.6") || (!strncmp(base, "libc-", 5) && strstr(base, ".so"));
}

/* The allocators probed in place of glibc's when they are the process's
 * malloc: libjemalloc.so.2, libtcmalloc.so.4, libtcmalloc_minimal.so.4... */
static bool alt_allocator(const char *base)
{
	return !strncmp(base, "libjemalloc", 11) || !strncmp(base, "libtcmalloc", 11);
}

/* Allocators that replace glibc's and are not supported, by their library
 * names. */
static const char *other_allocator(const char *base)
{
	static const char *const libs[] = { "libmimalloc", "libhoard", "libsnmalloc" };

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (!strncmp(base, libs[i], strlen(libs[i])))
			return libs[i];
	return NULL;
}

int heap_maps__read(uint32_t pid, struct heap_maps *m)
{
	char path[64], line[4096 + 256];
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		heap_maps__line(m,
				line); /* on after an unsupported one: a sampler may come later */
		if (!m->usdt_ino && m->exec_ino &&
		    heap_probe_files__carries(pid, m->exec_range, m->exec_dev, m->exec_ino)) {
			memcpy(m->usdt_path, m->exec_path, sizeof(m->usdt_path));
			memcpy(m->usdt_range, m->exec_range, sizeof(m->usdt_range));
			m->usdt_ino = m->exec_ino;
		}
	}
	fclose(f);
	return 0;
}

bool heap_maps__line(struct heap_maps *m, const char *line)
{
	char range[64], perms[8], path[4096] = "";
	unsigned long long pgoff;
	unsigned long ino;
	unsigned maj, min;
	const char *base, *other;
	int n;

	m->exec_ino = 0;
	if (sscanf(line, "%63s %7s %llx %x:%x %lu %n", range, perms, &pgoff, &maj, &min, &ino, &n) <
	    6)
		return true;
	snprintf(path, sizeof(path), "%s", line + n);
	path[strcspn(path, "\n")] = 0;
	if (path[0] != '/')
		return true;
	if (perms[2] == 'x' && ino) {
		memcpy(m->exec_path, path, sizeof(m->exec_path));
		snprintf(m->exec_range, sizeof(m->exec_range), "%s", range);
		m->exec_dev = makedev(maj, min);
		m->exec_ino = ino;
	}
	if (!m->exe[0])
		snprintf(m->exe, sizeof(m->exe), "%s", path);
	base = strrchr(path, '/') + 1;
	if (!m->alt_ino && alt_allocator(base)) {
		snprintf(m->alt_path, sizeof(m->alt_path), "%s", path);
		snprintf(m->alt_range, sizeof(m->alt_range), "%s", range);
		m->alt_ino = ino;
	}
	if ((other = other_allocator(base))) {
		m->other = other;
		snprintf(m->other_path, sizeof(m->other_path), "%s", path);
		return false;
	}
	if (!m->libc_ino && is_libc(base)) {
		snprintf(m->libc_path, sizeof(m->libc_path), "%s", path);
		snprintf(m->libc_range, sizeof(m->libc_range), "%s", range);
		m->libc_ino = ino;
	}
	return true;
}

/* The name of the symbol whose GOT slot (a virtual address) a PLT stub
 * jumps through: its JUMP_SLOT or GLOB_DAT relocation's symbol. */
static bool got_slot_symbol(const struct elf_file *f, uint64_t slot, char *name, size_t namelen)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_file__next_section(f, scn, SHT_RELA, &sh))) {
		GElf_Shdr dsh;
		Elf_Scn *dyn;
		Elf_Data *d, *dd;
		const char *str;
		size_t strsz;

		if (!sh.sh_entsize || sh.sh_size > ELF_SECTION_MAX)
			continue;
		dyn = elf_getscn(f->elf, sh.sh_link);
		if (!dyn || !gelf_getshdr(dyn, &dsh) || dsh.sh_type != SHT_DYNSYM ||
		    dsh.sh_size > ELF_SECTION_MAX || !strtab_of(f->elf, dsh.sh_link, &str, &strsz))
			continue;
		d = elf_getdata(scn, NULL);
		dd = elf_getdata(dyn, NULL);
		for (size_t i = 0; d && dd && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym sym;

			if (!gelf_getrela(d, i, &r) || r.r_offset != slot ||
			    (GELF_R_TYPE(r.r_info) != R_X86_64_JUMP_SLOT &&
			     GELF_R_TYPE(r.r_info) != R_X86_64_GLOB_DAT) ||
			    !gelf_getsym(dd, GELF_R_SYM(r.r_info), &sym) || sym.st_name >= strsz)
				continue;
			snprintf(name, namelen, "%s", str + sym.st_name);
			return true;
		}
	}
	return false;
}

/*
 * Whether the function at file offset off only jumps elsewhere: its first
 * instruction (after endbr64) a jmp. Then *to is the target's file offset
 * and, when the target is a PLT stub (jmp *slot(%rip), maybe after endbr64
 * and bnd), name is the symbol it goes to ("" otherwise). jemalloc's
 * new[] is `jmp new`, its delete `jmp free@plt`.
 */
static bool tail_jump(const struct elf_file *f, uint64_t off, uint64_t *to, char *name,
		      size_t namelen)
{
	uint8_t b[16];
	uint64_t at = 0, va;
	int32_t disp;
	int fd = f->fd;

	name[0] = 0;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		return false;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		at = 4;
	if (b[at] == 0xe9)
		*to = off + at + 5 +
		      (int64_t)(int32_t)(b[at + 1] | b[at + 2] << 8 | b[at + 3] << 16 |
					 (uint32_t)b[at + 4] << 24);
	else if (b[at] == 0xeb)
		*to = off + at + 2 + (int64_t)(int8_t)b[at + 1];
	else
		return false;

	/* A PLT stub? (direct jumps stay in one segment: file offsets do) */
	if (pread(fd, b, sizeof(b), *to) != (ssize_t)sizeof(b))
		return true;
	at = 0;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		at = 4;
	if (b[at] == 0xf2) /* bnd */
		at++;
	if (b[at] != 0xff || b[at + 1] != 0x25)
		return true;
	va = elf_file__addr(f, *to, true);
	disp = (int32_t)(b[at + 2] | b[at + 3] << 8 | b[at + 4] << 16 | (uint32_t)b[at + 5] << 24);
	if (!va || !got_slot_symbol(f, va + at + 6 + disp, name, namelen))
		name[0] = 0;
	return true;
}

/*
 * Which entry of alt_probed[] (exported at off[]) entry k's calls all
 * reach with the same [rsp] and arguments, by a jump as its first
 * instruction, directly or through the PLT (in a library that is the
 * process's malloc, its free@plt binds to its own free), following chains;
 * k when none: then k must be probed itself. Only an entry of the same
 * kind qualifies (new[] -> new, delete -> free).
 */
static size_t jumps_to(const struct elf_file *f, const uint64_t *off, size_t k)
{
	size_t at = k;

	for (int hops = 0; hops < 4; hops++) {
		char name[128];
		uint64_t to;
		size_t j, next = NR_ALT_PROBED;

		if (!tail_jump(f, off[at], &to, name, sizeof(name)))
			return at;
		for (j = 0; j < NR_ALT_PROBED && next == NR_ALT_PROBED; j++)
			if (off[j] && alt_probed[j].fn == alt_probed[k].fn &&
			    (off[j] == to || (name[0] && !strcmp(name, alt_probed[j].name))))
				next = j;
		if (next == NR_ALT_PROBED || next == at)
			return at;
		at = next;
	}
	return k;
}

_Static_assert(NR_ALT_PROBED <= HEAP_PROBE_SITES_MAX && NR_PROBED <= HEAP_PROBE_SITES_MAX,
	       "struct heap_probe_sites holds every entry point");

/* heap_probe_sites_alt() of the file open as f. */
static int alt_sites(const struct elf_file *f, const char *lib, uint32_t pid,
		     struct heap_probe_sites *ps)
{
	uint64_t off[NR_ALT_PROBED], size[NR_ALT_PROBED], seen[NR_ALT_PROBED];
	const char *names[NR_ALT_PROBED];
	unsigned nseen = 0;

	for (size_t k = 0; k < NR_ALT_PROBED; k++)
		names[k] = alt_probed[k].name;
	if (dynsym_offsets_of(f, names, NR_ALT_PROBED, off, size) <= 0 || !off[ALT_MALLOC] ||
	    !off[ALT_FREE])
		return -ENOENT;
	for (size_t k = 0; k < NR_ALT_PROBED; k++) {
		bool is_free = alt_probed[k].fn == HEAP_FN_FREE, slow, dup = false;
		uint64_t o, *offs = is_free ? ps->free_offs : ps->alloc_offs;
		uint64_t *cookies = is_free ? ps->free_cookies : ps->alloc_cookies;
		unsigned *n = is_free ? &ps->nr_free : &ps->nr_alloc;
		size_t to;

		if (!off[k])
			continue;
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen[j] == off[k];
		if (dup)
			continue;
		seen[nseen++] = off[k];
		if ((to = jumps_to(f, off, k)) != k) {
			log_debug("heap: pid %u: %s jumps to %s: counted there", pid,
				  alt_probed[k].name, alt_probed[to].name);
			continue;
		}
		o = probe_offset_alt(f->fd, off[k], size[k], alt_probed[k].args, &slow);
		if (slow) {
			ps->slow++;
			log_warn("heap: %s: %s+0 is single-stepped (unknown code), slower", lib,
				 alt_probed[k].name);
		}
		offs[*n] = o;
		cookies[(*n)++] = is_free ? HEAP_FN_FREE : alt_probed[k].fn | HEAP_FN_ALT;
		log_debug("heap: pid %u: %s at %s+%#llx", pid, alt_probed[k].name, lib,
			  (unsigned long long)(o - off[k]));
	}
	return 0;
}

/*
 * jemalloc's or tcmalloc's entry points in the file open as fd: the
 * allocation functions (C++ new too), cookies flagged HEAP_FN_ALT, and the
 * frees (free, sdallocx, delete, ...). Aliases (tcmalloc's aligned_alloc
 * is its memalign, delete its free) are probed once, and entries that only
 * jump to another probed one not at all.
 */
int heap_probe_sites_alt(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps)
{
	struct elf_file f;
	int err;

	memset(ps, 0, sizeof(*ps));
	if (open_elf(&f, fd))
		return -ENOENT;
	err = alt_sites(&f, lib, pid, ps);
	elf_file__close(&f);
	return err;
}

/* glibc's entry points in the file open as fd: malloc ... posix_memalign
 * (memalign and aligned_alloc are one function there) and free. */
int heap_probe_sites_libc(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps)
{
	uint64_t off[NR_PROBED], size[NR_PROBED];
	bool slow;

	memset(ps, 0, sizeof(*ps));
	if (dynsym_offsets(fd, off, size) <= 0 || !off[0] || !off[NR_PROBED - 1])
		return -ENOENT;
	for (size_t k = 0; k + 1 < NR_PROBED; k++) {
		bool dup = false;
		uint64_t o;

		if (!off[k])
			continue;
		o = probe_offset(fd, off[k], size[k], false, &slow);
		/* memalign and aligned_alloc are one function in glibc */
		for (unsigned j = 0; j < ps->nr_alloc; j++)
			dup |= ps->alloc_offs[j] == o;
		if (dup)
			continue;
		if (slow) {
			ps->slow++;
			log_warn("heap: %s: %s+0 is single-stepped (unknown code), slower", lib,
				 probed[k].name);
		}
		ps->alloc_offs[ps->nr_alloc] = o;
		ps->alloc_cookies[ps->nr_alloc++] = probed[k].fn;
		log_debug("heap: pid %u: %s at %s+%#llx", pid, probed[k].name, lib,
			  (unsigned long long)(o - off[k]));
	}
	ps->free_offs[0] = probe_offset(fd, off[NR_PROBED - 1], size[NR_PROBED - 1], true, &slow);
	ps->free_cookies[0] = HEAP_FN_FREE;
	ps->nr_free = 1;
	ps->slow += slow;
	if (slow)
		log_warn("heap: %s: free+0 is single-stepped (unknown code), slower", lib);
	return 0;
}
