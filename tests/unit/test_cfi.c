// SPDX-License-Identifier: MIT
/*
 * cfi: loads the real libc's .eh_frame and checks rows where we know the
 * answer (function entries, after a push), every row against what
 * `readelf --debug-dump=frames-interp` computes for the same file, the
 * rules of hand-written CFI (assembled with gcc into a small library), and
 * that truncated and corrupted files give an error or a partial table,
 * never a crash, and never keep a descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfi.h"
#include "log.h"
#include "test.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static char tmp[64];

static struct cfi_table *load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct cfi_table *t;
	int err;

	if (fd < 0)
		return NULL;
	t = cfi_table__load(fd);
	err = errno;
	close(fd);
	errno = err;
	return t;
}

static unsigned nr_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* An ELF file's PT_LOADs and dynamic function symbols, read with libelf. */
struct elf_info {
	GElf_Phdr loads[16];
	unsigned nloads;
	struct {
		char name[64];
		uint64_t value, size;
	} syms[8192];
	unsigned nsyms;
	uint64_t eh_off, eh_size; /* the .eh_frame section */
};

static bool elf_info(const char *path, struct elf_info *ei)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	size_t nph, shstrndx;
	Elf *e;

	memset(ei, 0, sizeof(*ei));
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getphdrnum(e, &nph) || elf_getshdrstrndx(e, &shstrndx)) {
		elf_end(e);
		close(fd);
		return false;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD && ei->nloads < 16)
			ei->loads[ei->nloads++] = ph;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr shdr;
		const char *nm;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		nm = elf_strptr(e, shstrndx, shdr.sh_name);
		if (nm && !strcmp(nm, ".eh_frame")) {
			ei->eh_off = shdr.sh_offset;
			ei->eh_size = shdr.sh_size;
		}
		if (shdr.sh_type == SHT_DYNSYM || shdr.sh_type == SHT_SYMTAB) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t n = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;

			for (size_t i = 0; d && i < n && ei->nsyms < 8192; i++) {
				GElf_Sym s;
				const char *name;

				if (!gelf_getsym(d, i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
				    !s.st_value || s.st_shndx == SHN_UNDEF)
					continue;
				name = elf_strptr(e, shdr.sh_link, s.st_name);
				if (!name || strlen(name) >= 64)
					continue;
				strcpy(ei->syms[ei->nsyms].name, name);
				ei->syms[ei->nsyms].value = s.st_value;
				ei->syms[ei->nsyms].size = s.st_size;
				ei->nsyms++;
			}
		}
	}
	elf_end(e);
	close(fd);
	return true;
}

static bool va_to_off(const struct elf_info *ei, uint64_t va, uint64_t *off)
{
	for (unsigned i = 0; i < ei->nloads; i++) {
		const GElf_Phdr *ph = &ei->loads[i];

		if (va >= ph->p_vaddr && va < ph->p_vaddr + ph->p_filesz) {
			*off = va - ph->p_vaddr + ph->p_offset;
			return true;
		}
	}
	return false;
}

static bool sym_off(const struct elf_info *ei, const char *name, uint64_t *off)
{
	for (unsigned i = 0; i < ei->nsyms; i++)
		if (!strcmp(ei->syms[i].name, name))
			return va_to_off(ei, ei->syms[i].value, off);
	return false;
}

static bool read_at(const char *path, uint64_t off, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && pread(fd, buf, n, (off_t)off) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

static struct elf_info libc_info;

static void test_libc_loads(void)
{
	unsigned fds = nr_fds();
	struct cfi_table *t;
	double t0 = now_ms(), ms;

	t = load(LIBC);
	ms = now_ms() - t0;
	if (!ASSERT_TRUE(t, "libc loads: %s", strerror(errno)))
		return;
	ASSERT_TRUE(cfi_table__nr_rows(t) > 1000, "rows: %zu", cfi_table__nr_rows(t));
	ASSERT_TRUE(cfi_table__mem_size(t) >= cfi_table__nr_rows(t) * 4 &&
			    cfi_table__mem_size(t) < (4u << 20),
		    "mem size %zu for %zu rows", cfi_table__mem_size(t), cfi_table__nr_rows(t));
	/* nothing kept open */
	ASSERT_EQ(nr_fds(), fds);
	printf("# libc: %zu rows, %zu bytes, loaded in %.2f ms\n", cfi_table__nr_rows(t),
	       cfi_table__mem_size(t), ms);
	cfi_table__free(t);
	ASSERT_EQ(nr_fds(), fds);
}

/* At the first instruction of a function the return address was just
 * pushed: CFA = rsp + 8, rbp untouched. */
static void test_libc_function_entries(void)
{
	static const char *fns[] = { "qsort_r",   "malloc",    "free",   "write",
				     "read",      "fopen",     "strtol", "pthread_mutex_lock",
				     "nanosleep", "epoll_wait" };
	struct cfi_table *t = load(LIBC);
	struct cfi_row r;
	uint64_t off;

	if (!ASSERT_TRUE(t))
		return;
	for (unsigned i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		if (!ASSERT_TRUE(sym_off(&libc_info, fns[i], &off), "%s in libc's dynsym", fns[i]))
			continue;
		if (!ASSERT_OK(cfi_table__lookup(t, off, &r)))
			continue;
		ASSERT_TRUE(r.cfa_reg == CFI_REG_SP && r.cfa_off == 8 && r.bp_rule == CFI_BP_SAME,
			    "%s at entry (off %#llx): cfa %u%+d bp %u", fns[i],
			    (unsigned long long)off, r.cfa_reg, r.cfa_off, r.bp_rule);
	}
	/* the middle of the ELF header is no code */
	ASSERT_EQ(cfi_table__lookup(t, 16, &r), -ENOENT);
	ASSERT_EQ(cfi_table__lookup(t, 1ull << 40, &r), -ENOENT);
	cfi_table__free(t);
}

/* Functions that start with push %rbx (0x53) or push %rbp (0x55), after an
 * endbr64 when there is one: one instruction later CFA = rsp + 16, and
 * after push %rbp the caller's rbp is at CFA - 16. */
static void test_libc_after_push(void)
{
	struct cfi_table *t = load(LIBC);
	unsigned rbx = 0, rbp = 0;

	if (!ASSERT_TRUE(t))
		return;
	for (unsigned i = 0; i < libc_info.nsyms; i++) {
		uint8_t code[8];
		uint64_t off;
		unsigned k = 0;
		struct cfi_row r;

		if (libc_info.syms[i].size < 8 ||
		    !va_to_off(&libc_info, libc_info.syms[i].value, &off) ||
		    !read_at(LIBC, off, code, sizeof(code)))
			continue;
		if (!memcmp(code, "\xf3\x0f\x1e\xfa", 4))
			k = 4;
		if (code[k] != 0x53 && code[k] != 0x55)
			continue;
		if (cfi_table__lookup(t, off + k + 1, &r)) {
			ASSERT_TRUE(false, "%s: no row after its push", libc_info.syms[i].name);
			continue;
		}
		if (code[k] == 0x53) {
			rbx++;
			ASSERT_TRUE(r.cfa_reg == CFI_REG_SP && r.cfa_off == 16,
				    "%s after push %%rbx: cfa %u%+d", libc_info.syms[i].name,
				    r.cfa_reg, r.cfa_off);
		} else {
			rbp++;
			ASSERT_TRUE(r.cfa_reg == CFI_REG_SP && r.cfa_off == 16 &&
					    r.bp_rule == CFI_BP_AT_CFA && r.bp_off == -16,
				    "%s after push %%rbp: cfa %u%+d bp %u%+d",
				    libc_info.syms[i].name, r.cfa_reg, r.cfa_off, r.bp_rule,
				    r.bp_off);
		}
	}
	ASSERT_TRUE(rbx >= 10, "functions starting with push %%rbx: %u", rbx);
	ASSERT_TRUE(rbp >= 10, "functions starting with push %%rbp: %u", rbp);
	printf("# libc: %u functions checked after push %%rbx, %u after push %%rbp\n", rbx, rbp);
	cfi_table__free(t);
}

/* The lazy .plt's CFA expression: rsp + 8, + 8 once pc & 15 >= 11. */
static void test_libc_plt(void)
{
	struct cfi_table *t = load(LIBC);
	FILE *p;
	char line[512];
	unsigned long long plt = 0, size = 0;
	struct cfi_row r;

	if (!ASSERT_TRUE(t))
		return;
	p = popen("readelf -SW " LIBC, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char *s = strstr(line, " .plt ");

		if (s && sscanf(s, " .plt PROGBITS %llx %*x %llx", &plt, &size) == 2)
			break;
	}
	if (p)
		pclose(p);
	if (!ASSERT_TRUE(plt && size > 48, "libc has a .plt"))
		goto out;
	/* PLT0 pushes once, then jumps */
	ASSERT_OK(cfi_table__lookup(t, plt, &r));
	ASSERT_TRUE(r.cfa_reg == CFI_REG_SP && r.cfa_off == 16, "plt0: cfa %u%+d", r.cfa_reg,
		    r.cfa_off);
	for (uint64_t e = plt + 16; e < plt + 48; e += 16) {
		ASSERT_OK(cfi_table__lookup(t, e, &r));
		ASSERT_TRUE(r.cfa_reg == CFI_REG_SP && r.cfa_off == 8, "entry: cfa %u%+d",
			    r.cfa_reg, r.cfa_off);
		ASSERT_OK(cfi_table__lookup(t, e + 11, &r));
		ASSERT_TRUE(r.cfa_reg == CFI_REG_SP && r.cfa_off == 16, "entry+11: cfa %u%+d",
			    r.cfa_reg, r.cfa_off);
	}
out:
	cfi_table__free(t);
}

/* One column of a readelf -wF row, or NULL. */
static const char *column(char cols[][16], unsigned ncols, char names[][16], const char *name)
{
	for (unsigned i = 0; i < ncols; i++)
		if (!strcmp(names[i], name))
			return cols[i];
	return NULL;
}

/*
 * Every row readelf computes for file agrees with ours: CFA rsp/rbp+N,
 * the return address at c-8 (else our row is unknown), rbp at c-N, or
 * unchanged ("u", "s" or no column: readelf shows an unset rule as "u").
 * "exp" CFAs are ours to decide (the PLT's, or unknown).
 */
static void check_against_readelf(const char *file, unsigned min_rows)
{
	struct elf_info *ei = malloc(sizeof(*ei));
	struct cfi_table *t = load(file);
	char cmd[PATH_MAX + 64], line[1024], names[32][16], cols[32][16];
	unsigned nnames = 0, rows = 0, bad = 0;
	bool in_cie = false;
	FILE *p;

	if (!ASSERT_TRUE(t && ei && elf_info(file, ei), "%s loads", file))
		goto out;
	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!ASSERT_TRUE(p))
		goto out;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long loc;
		uint64_t off;
		const char *cfa, *ra, *bp;
		unsigned n = 0;
		struct cfi_row r;
		char *tok, *save;

		if (strstr(line, " CIE")) {
			in_cie = true; /* the CIE's initial rows: no pc */
			continue;
		}
		if (strstr(line, " FDE ")) {
			in_cie = false;
			continue;
		}
		if (in_cie)
			continue;
		if (strstr(line, " LOC ")) {
			nnames = 0;
			for (tok = strtok_r(line, " \n", &save); tok && nnames < 32;
			     tok = strtok_r(NULL, " \n", &save))
				snprintf(names[nnames++], 16, "%s", tok);
			continue;
		}
		if (strlen(line) < 17 || sscanf(line, "%16llx ", &loc) != 1 || line[16] != ' ')
			continue;
		for (tok = strtok_r(line, " \n", &save); tok && n < 32;
		     tok = strtok_r(NULL, " \n", &save))
			snprintf(cols[n++], 16, "%s", tok);
		if (n != nnames)
			continue;
		cfa = column(cols, n, names, "CFA");
		ra = column(cols, n, names, "ra");
		bp = column(cols, n, names, "rbp");
		if (!cfa || !va_to_off(ei, loc, &off))
			continue;
		rows++;
		if (cfi_table__lookup(t, off, &r)) {
			if (bad++ < 10)
				ASSERT_TRUE(false, "%s: no row at %llx", file, loc);
			continue;
		}
		bool ok;
		if (!strcmp(cfa, "exp")) {
			/* a signal trampoline's rules are expressions too */
			ok = r.cfa_reg == CFI_REG_NONE || r.cfa_reg == CFI_REG_SP ||
			     r.cfa_reg == CFI_REG_SIGNAL;
		} else if (!ra || strcmp(ra, "c-8")) {
			ok = r.cfa_reg == CFI_REG_NONE;
		} else {
			int want_off = 0;
			unsigned want_reg = !strncmp(cfa, "rsp+", 4)   ? CFI_REG_SP
					    : !strncmp(cfa, "rbp+", 4) ? CFI_REG_BP
								       : CFI_REG_NONE;

			if (want_reg != CFI_REG_NONE)
				want_off = atoi(cfa + 4);
			ok = r.cfa_reg == want_reg &&
			     (want_reg == CFI_REG_NONE || r.cfa_off == want_off);
			if (ok && want_reg != CFI_REG_NONE) {
				if (!bp || !strcmp(bp, "u") || !strcmp(bp, "s"))
					ok = r.bp_rule == CFI_BP_SAME;
				else if (bp[0] == 'c')
					ok = r.bp_rule == CFI_BP_AT_CFA && r.bp_off == atoi(bp + 1);
				else
					ok = r.bp_rule == CFI_BP_UNDEF;
			}
		}
		if (!ok && bad++ < 10)
			ASSERT_TRUE(
				false,
				"%s at %llx: readelf CFA %s rbp %s ra %s; ours cfa %u%+d bp %u%+d",
				file, loc, cfa, bp ? bp : "-", ra ? ra : "-", r.cfa_reg, r.cfa_off,
				r.bp_rule, r.bp_off);
	}
	pclose(p);
	ASSERT_EQ(bad, 0);
	ASSERT_TRUE(rows >= min_rows, "%s: %u readelf rows compared", file, rows);
	printf("# %s: %u rows agree with readelf\n", file, rows);
out:
	free(ei);
	cfi_table__free(t);
}

static void test_libc_matches_readelf(void)
{
	check_against_readelf(LIBC, 20000);
}

static void test_other_files_match_readelf(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	check_against_readelf("/lib64/ld-linux-x86-64.so.2", 1000);
	check_against_readelf("/usr/lib/x86_64-linux-gnu/libelf.so.1", 500);
	if (ASSERT_TRUE(n > 0)) {
		self[n] = 0;
		check_against_readelf(self, 50);
	}
}

/*
 * Hand-written CFI, assembled by gcc: every rule kind we handle or refuse.
 * Each label marks where a row starts; the test looks its offset up.
 */
static const char *asm_src =
	".text\n"
	".macro at name\n.globl \\name\n.type \\name,@function\n\\name:\n.endm\n"
	/* a frame-pointer function: push, mov, remember/restore around an epilogue */
	"at fp_fn\n.cfi_startproc\n"
	"push %rbp\n at fp_pushed\n.cfi_def_cfa_offset 16\n.cfi_offset %rbp,-16\n"
	"mov %rsp,%rbp\n at fp_framed\n.cfi_def_cfa_register %rbp\n"
	"push %rbx\n at fp_rbx\n.cfi_offset %rbx,-24\n"
	"nop\n.cfi_remember_state\n"
	"pop %rbx\nleave\n at fp_left\n.cfi_def_cfa %rsp,8\n.cfi_restore %rbp\n"
	"ret\n at fp_after\n.cfi_restore_state\n"
	"nop\nret\n.cfi_endproc\n"
	/* a gap: code without CFI */
	"at nocfi_fn\nnop\nnop\nret\n"
	/* expressions: an unknown CFA, rbp by expression, val_offset */
	"at expr_fn\n.cfi_startproc\n"
	"nop\n at expr_cfa\n.cfi_escape 0x0f,0x03,0x77,0x08,0x06\n" /* breg7 8; deref */
	"nop\n at expr_back\n.cfi_def_cfa %rsp,16\n"
	"nop\n at expr_bp\n.cfi_escape 0x10,0x06,0x02,0x77,0x00\n" /* rbp: breg7 0 */
	"nop\n at val_bp\n.cfi_val_offset %rbp,-16\n"
	"nop\n at same_bp\n.cfi_same_value %rbp\n"
	"nop\n at reg_bp\n.cfi_register %rbp,%rbx\n"
	"nop\n at sf_bp\n.cfi_escape 0x11,0x06,0x03\n" /* offset_extended_sf rbp 3*-8 */
	"nop\n at args\n.cfi_escape 0x2e,0x10\n"       /* GNU_args_size */
	"nop\n at big\n.cfi_def_cfa_offset 200000\n"
	"nop\n at cfa_other\n.cfi_def_cfa %rbx,8\n"
	"nop\n at cfa_back\n.cfi_def_cfa %rsp,8\n.cfi_restore %rbp\n"
	"nop\nret\n.cfi_endproc\n"
	/* the return address moved or undefined: not a frame we can unwind */
	"at ra_fn\n.cfi_startproc\n"
	"nop\n at ra_moved\n.cfi_offset %rip,-16\n"
	"nop\n at ra_undef\n.cfi_undefined %rip\n"
	"nop\nret\n.cfi_endproc\n"
	/* remember_state deeper than we keep: the rest is unknown */
	"at deep_fn\n.cfi_startproc\n"
	".rept 20\nnop\n.cfi_remember_state\n.endr\n"
	"nop\n at deep_after\n.cfi_def_cfa_offset 16\n"
	"nop\nret\n.cfi_endproc\n"
	/* restore_state with nothing remembered */
	"at under_fn\n.cfi_startproc\n"
	"nop\n at under_after\n.cfi_escape 0x0b\n"
	"nop\nret\n.cfi_endproc\n"
	/* a PLT-like expression, 16-aligned: rsp+8, +8 from pc & 15 >= 11 */
	".p2align 4\nat plt_fn\n.cfi_startproc\n"
	".cfi_escape 0x0f,0x0b,0x77,0x08,0x80,0x00,0x3f,0x1a,0x3b,0x2a,0x33,0x24,0x22\n"
	".rept 16\nnop\n.endr\nret\n.cfi_endproc\n"
	/* a personality and an LSDA: the "zPLR" CIE */
	"at pers_fn\n.cfi_startproc\n.cfi_personality 0x9b,DW.ref.pers\n.cfi_lsda 0x1b,lsda\n"
	"push %rbp\n at pers_pushed\n.cfi_def_cfa_offset 16\n"
	"pop %rbp\n.cfi_def_cfa_offset 8\nret\n.cfi_endproc\n"
	/* a signal frame: the "zRS" CIE, a plain rule */
	"at sig_fn\n.cfi_startproc\n.cfi_signal_frame\nnop\n at sig_in\n.cfi_def_cfa_offset 24\n"
	"nop\nret\n.cfi_endproc\n"
	".section .rodata\nlsda: .long 0\n"
	".section .data.rel.local.DW.ref.pers,\"awG\",@progbits,DW.ref.pers,comdat\n"
	".hidden DW.ref.pers\nDW.ref.pers: .quad pers_fn\n";

struct want {
	const char *label;
	int delta; /* from the label */
	int err;
	uint8_t cfa_reg;
	int32_t cfa_off;
	uint8_t bp_rule;
	int32_t bp_off;
};

static const struct want asm_wants[] = {
	{ "fp_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "fp_pushed", 0, 0, CFI_REG_SP, 16, CFI_BP_AT_CFA, -16 },
	{ "fp_framed", 0, 0, CFI_REG_BP, 16, CFI_BP_AT_CFA, -16 },
	{ "fp_rbx", 0, 0, CFI_REG_BP, 16, CFI_BP_AT_CFA, -16 },
	{ "fp_left", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "fp_after", 0, 0, CFI_REG_BP, 16, CFI_BP_AT_CFA, -16 },
	{ "nocfi_fn", 0, -ENOENT },
	{ "nocfi_fn", 2, -ENOENT },
	{ "expr_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "expr_cfa", 0, 0, CFI_REG_NONE },
	{ "expr_back", 0, 0, CFI_REG_SP, 16, CFI_BP_SAME, 0 },
	{ "expr_bp", 0, 0, CFI_REG_SP, 16, CFI_BP_UNDEF },
	{ "val_bp", 0, 0, CFI_REG_SP, 16, CFI_BP_UNDEF },
	{ "same_bp", 0, 0, CFI_REG_SP, 16, CFI_BP_SAME, 0 },
	{ "reg_bp", 0, 0, CFI_REG_SP, 16, CFI_BP_UNDEF },
	{ "sf_bp", 0, 0, CFI_REG_SP, 16, CFI_BP_AT_CFA, -24 },
	{ "args", 0, 0, CFI_REG_SP, 16, CFI_BP_AT_CFA, -24 },
	{ "big", 0, 0, CFI_REG_SP, 200000, CFI_BP_AT_CFA, -24 },
	{ "cfa_other", 0, 0, CFI_REG_NONE },
	{ "cfa_back", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "ra_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "ra_moved", 0, 0, CFI_REG_NONE },
	{ "ra_undef", 0, 0, CFI_REG_NONE },
	{ "deep_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "deep_fn", 15, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "deep_after", 0, 0, CFI_REG_NONE },
	{ "under_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "under_after", 0, 0, CFI_REG_NONE },
	{ "plt_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "plt_fn", 10, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "plt_fn", 11, 0, CFI_REG_SP, 16, CFI_BP_SAME, 0 },
	{ "plt_fn", 15, 0, CFI_REG_SP, 16, CFI_BP_SAME, 0 },
	{ "pers_fn", 0, 0, CFI_REG_SP, 8, CFI_BP_SAME, 0 },
	{ "pers_pushed", 0, 0, CFI_REG_SP, 16, CFI_BP_SAME, 0 },
	/* a signal frame's FDE is one row: the registers are in the ucontext */
	{ "sig_fn", 0, 0, CFI_REG_SIGNAL, 0, CFI_BP_UNDEF, 0 },
	{ "sig_in", 0, 0, CFI_REG_SIGNAL, 0, CFI_BP_UNDEF, 0 },
};

static void test_handwritten_cfi(void)
{
	char src[PATH_MAX], so[PATH_MAX];
	struct elf_info *ei = malloc(sizeof(*ei));
	struct cfi_table *t = NULL;
	FILE *f;

	snprintf(src, sizeof(src), "%s/cfi.s", tmp);
	snprintf(so, sizeof(so), "%s/cfi.so", tmp);
	f = fopen(src, "w");
	if (!ASSERT_TRUE(f && ei))
		goto out;
	fputs(asm_src, f);
	fclose(f);
	if (!ASSERT_OK(sh("gcc -shared -nostdlib -o '%s' '%s'", so, src)) ||
	    !ASSERT_TRUE(elf_info(so, ei)))
		goto out;
	t = load(so);
	if (!ASSERT_TRUE(t, "%s loads: %s", so, strerror(errno)))
		goto out;
	for (unsigned i = 0; i < sizeof(asm_wants) / sizeof(asm_wants[0]); i++) {
		const struct want *w = &asm_wants[i];
		struct cfi_row r = { 0 };
		uint64_t off;
		int err;

		if (!ASSERT_TRUE(sym_off(ei, w->label, &off), "label %s", w->label))
			continue;
		err = cfi_table__lookup(t, off + w->delta, &r);
		if (!ASSERT_TRUE(err == w->err, "%s+%d: lookup %d, want %d", w->label, w->delta,
				 err, w->err) ||
		    err)
			continue;
		if (w->cfa_reg == CFI_REG_NONE) {
			ASSERT_TRUE(r.cfa_reg == CFI_REG_NONE, "%s+%d: cfa %u%+d, want unknown",
				    w->label, w->delta, r.cfa_reg, r.cfa_off);
			continue;
		}
		ASSERT_TRUE(r.cfa_reg == w->cfa_reg && r.cfa_off == w->cfa_off &&
				    r.bp_rule == w->bp_rule &&
				    (w->bp_rule != CFI_BP_AT_CFA || r.bp_off == w->bp_off),
			    "%s+%d: cfa %u%+d bp %u%+d, want cfa %u%+d bp %u%+d", w->label,
			    w->delta, r.cfa_reg, r.cfa_off, r.bp_rule, r.bp_off, w->cfa_reg,
			    w->cfa_off, w->bp_rule, w->bp_off);
	}
out:
	cfi_table__free(t);
	free(ei);
}

/* Not ELF, not x86-64 ELF, no .eh_frame, not a regular file. */
static void test_refused_files(void)
{
	char path[PATH_MAX];
	struct cfi_table *t;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/text", tmp);
	f = fopen(path, "w");
	if (f) {
		fputs("#!/bin/sh\necho not elf\n", f);
		fclose(f);
	}
	errno = 0;
	ASSERT_TRUE(!load(path) && errno == ENOEXEC, "text file: errno %d", errno);
	snprintf(path, sizeof(path), "%s/empty", tmp);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	errno = 0;
	ASSERT_TRUE(!load(path) && errno == ENOEXEC, "empty file: errno %d", errno);
	/* a relocatable object is not a loaded module */
	snprintf(path, sizeof(path), "%s/obj.o", tmp);
	if (!sh("echo 'int f(int x) { return x + 1; }' | gcc -x c -c -o '%s' -", path)) {
		errno = 0;
		ASSERT_TRUE(!load(path) && errno == ENOEXEC, ".o: errno %d", errno);
	}
	/* no .eh_frame at all */
	snprintf(path, sizeof(path), "%s/noeh.so", tmp);
	if (!sh("echo 'int f(int x) { return x + 1; }' | gcc -x c -shared -nostdlib "
		"-fno-asynchronous-unwind-tables -fno-unwind-tables -Wl,--no-eh-frame-hdr -o '%s' -",
		path)) {
		errno = 0;
		t = load(path);
		ASSERT_TRUE(!t && errno == ENOENT, "no .eh_frame: errno %d", errno);
		cfi_table__free(t);
	}
	/* a 32-bit file */
	snprintf(path, sizeof(path), "%s/x32.so", tmp);
	if (!sh("echo 'int f(int x) { return x + 1; }' | gcc -x c -m32 -shared -nostdlib "
		"-o '%s' - 2>/dev/null || cp /bin/true '%s' && printf '\\001' | "
		"dd of='%s' bs=1 seek=4 conv=notrunc status=none",
		path, path, path)) {
		errno = 0;
		ASSERT_TRUE(!load(path) && errno == ENOEXEC, "32-bit ELF: errno %d", errno);
	}
	fd = open("/dev/null", O_RDONLY);
	errno = 0;
	ASSERT_TRUE(fd >= 0 && !cfi_table__load(fd) && errno == EINVAL, "/dev/null: errno %d",
		    errno);
	if (fd >= 0)
		close(fd);
	fd = open("/", O_RDONLY | O_DIRECTORY);
	errno = 0;
	ASSERT_TRUE(fd >= 0 && !cfi_table__load(fd) && errno == EINVAL, "a directory: errno %d",
		    errno);
	if (fd >= 0)
		close(fd);
	cfi_table__free(NULL);
	ASSERT_EQ(cfi_table__mem_size(NULL), 0);
}

static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat st;
	unsigned char *b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	b = malloc(st.st_size);
	if (b && pread(fd, b, st.st_size, 0) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*n = st.st_size;
	return b;
}

static void spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		fprintf(stderr, "cannot write %s\n", path);
}

/* A table loaded from a broken file answers lookups anywhere, sanely. */
static bool poke(const struct cfi_table *t, uint64_t size)
{
	struct cfi_row r;
	bool ok = true;

	for (uint64_t off = 0; off < size; off += 97)
		if (!cfi_table__lookup(t, off, &r))
			ok &= r.cfa_reg <= CFI_REG_NONE && r.bp_rule <= CFI_BP_UNDEF;
	return ok;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Corrupted copies of libc: truncated (in the headers, in and at the end
 * of .eh_frame), .eh_frame overwritten with random bytes in places, record
 * lengths made huge or looping, CIE pointers pointing anywhere. Each gives
 * an error or a table that answers lookups; none crashes or leaks a
 * descriptor; a truncation inside .eh_frame keeps the rows before it.
 */
static void test_corrupted_libc(void)
{
	size_t n, full_rows;
	unsigned char *orig = slurp(LIBC, &n), *b;
	char path[PATH_MAX];
	unsigned fds = nr_fds(), loaded = 0, refused = 0;
	struct cfi_table *t;
	uint64_t eo = libc_info.eh_off, es = libc_info.eh_size;

	if (!ASSERT_TRUE(orig && eo && es && eo + es <= n, "libc's .eh_frame"))
		return;
	t = load(LIBC);
	if (!ASSERT_TRUE(t))
		return;
	full_rows = cfi_table__nr_rows(t);
	cfi_table__free(t);
	b = malloc(n);
	snprintf(path, sizeof(path), "%s/libc.bad", tmp);

	/* truncations */
	const uint64_t cuts[] = { 0,  10,     64,       100,         4096,
				  eo, eo + 3, eo + 100, eo + es / 2, eo + es - 1 };
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		spit(path, orig, cuts[i]);
		t = load(path);
		if (t) {
			loaded++;
			ASSERT_TRUE(poke(t, n), "cut at %llu: lookups",
				    (unsigned long long)cuts[i]);
			ASSERT_TRUE(cfi_table__nr_rows(t) <= full_rows,
				    "cut at %llu: %zu rows of %zu", (unsigned long long)cuts[i],
				    cfi_table__nr_rows(t), full_rows);
			if (cuts[i] == eo + es / 2)
				ASSERT_TRUE(cfi_table__nr_rows(t) > full_rows / 4 &&
						    cfi_table__nr_rows(t) < full_rows,
					    "half the .eh_frame keeps rows: %zu",
					    cfi_table__nr_rows(t));
		} else {
			refused++;
		}
		cfi_table__free(t);
	}
	/* random damage in .eh_frame */
	for (unsigned round = 0; round < 300; round++) {
		memcpy(b, orig, n);
		unsigned k = 1 + rnd() % (round < 100 ? 4 : 200);

		for (unsigned j = 0; j < k; j++) {
			uint64_t at = eo + rnd() % es;

			switch (rnd() % 4) {
			case 0: /* a random byte */
				b[at] = (unsigned char)rnd();
				break;
			case 1: /* a record length, huge or 64-bit */
				if (at + 12 <= n) {
					static const unsigned char l64[12] = { 0xff, 0xff, 0xff,
									       0xff, 0xff, 0xff,
									       0xff, 0xff, 0xff,
									       0xff, 0xff, 0x7f };
					static const unsigned char l32[4] = { 0xf0, 0xff, 0xff,
									      0x7f };

					if (round & 1)
						memcpy(b + at, l64, sizeof(l64));
					else
						memcpy(b + at, l32, sizeof(l32));
				}
				break;
			case 2: /* a CIE pointer anywhere */
				if (at + 4 <= n) {
					uint32_t v = (uint32_t)rnd();

					memcpy(b + at, &v, 4);
				}
				break;
			case 3: /* a run of CFA ops */
				for (unsigned q = 0; q < 64 && at + q < eo + es; q++)
					b[at + q] =
						(unsigned char)(0x0a +
								(rnd() & 1)); /* remember/restore */
				break;
			}
		}
		spit(path, b, n);
		t = load(path);
		if (t) {
			loaded++;
			ASSERT_TRUE(poke(t, n), "round %u: lookups", round);
			ASSERT_TRUE(cfi_table__mem_size(t) <= (64u << 20), "round %u: %zu bytes",
				    round, cfi_table__mem_size(t));
		} else {
			refused++;
		}
		cfi_table__free(t);
	}
	/* the whole .eh_frame random */
	memcpy(b, orig, n);
	for (uint64_t i = 0; i < es; i++)
		b[eo + i] = (unsigned char)rnd();
	spit(path, b, n);
	t = load(path);
	if (t)
		ASSERT_TRUE(poke(t, n));
	cfi_table__free(t);
	/* a zero terminator at the start: no FDE */
	memcpy(b, orig, n);
	memset(b + eo, 0, 4);
	spit(path, b, n);
	errno = 0;
	t = load(path);
	ASSERT_TRUE(!t && errno == ENOENT, "empty .eh_frame: errno %d", errno);
	cfi_table__free(t);

	ASSERT_EQ(nr_fds(), fds);
	ASSERT_TRUE(loaded > 100 && refused > 0, "loaded %u, refused %u", loaded, refused);
	printf("# corrupted libc copies: %u loaded (partial), %u refused\n", loaded, refused);
	free(b);
	free(orig);
}

/* Without section headers, .eh_frame is found through PT_GNU_EH_FRAME. */
static void test_no_section_headers(void)
{
	size_t n;
	unsigned char *b = slurp(LIBC, &n);
	char path[PATH_MAX];
	struct cfi_table *t, *ref;
	Elf64_Ehdr eh;

	if (!ASSERT_TRUE(b && n > sizeof(eh)))
		return;
	memcpy(&eh, b, sizeof(eh));
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	memcpy(b, &eh, sizeof(eh));
	snprintf(path, sizeof(path), "%s/libc.nosh", tmp);
	spit(path, b, n);
	free(b);
	t = load(path);
	ref = load(LIBC);
	if (ASSERT_TRUE(t && ref, "loads without section headers: %s", strerror(errno)))
		ASSERT_EQ(cfi_table__nr_rows(t), cfi_table__nr_rows(ref));
	cfi_table__free(t);
	cfi_table__free(ref);
}

/* ---- synthetic .eh_frame ---- */

struct bb {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct bb *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put8(struct bb *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(b, &c, 1);
}

static void put32(struct bb *b, uint32_t v)
{
	put(b, &v, 4);
}

static void put64(struct bb *b, uint64_t v)
{
	put(b, &v, 8);
}

static void uleb(struct bb *b, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;

		v >>= 7;
		put8(b, c | (v ? 0x80 : 0));
	} while (v);
}

/* A CIE: version, augmentation, then x86-64 gcc's initial rules (CFA =
 * rsp + 8, return address at CFA - 8). "zR" augmentations take udata4
 * absolute pointers. Returns its offset. */
static size_t cie(struct bb *b, unsigned version, const char *aug, bool dwarf64)
{
	struct bb c = { 0 };
	size_t at = b->n;

	if (dwarf64)
		put64(&c, 0);
	else
		put32(&c, 0);
	put8(&c, version);
	put(&c, aug, strlen(aug) + 1);
	if (version == 4)
		put8(&c, 8), put8(&c, 0); /* address and segment selector sizes */
	uleb(&c, 1);                      /* code alignment */
	put8(&c, 0x78);                   /* data alignment -8 */
	if (version == 1)
		put8(&c, 16);
	else
		uleb(&c, 16);
	if (aug[0] == 'z') {
		put8(&c, 2); /* augmentation data: R's encoding, and one more byte */
		put8(&c, 0x03);
		put8(&c, 0);
	}
	put8(&c, 0x0c), put8(&c, 7), put8(&c, 8); /* def_cfa rsp, 8 */
	put8(&c, 0x80 | 16), put8(&c, 1);         /* offset r16, 1 * -8 */
	if (dwarf64) {
		put32(b, 0xffffffff);
		put64(b, c.n);
	} else {
		put32(b, (uint32_t)c.n);
	}
	put(b, c.p, c.n);
	free(c.p);
	return at;
}

/* An FDE of the CIE at cie_at for [lo, lo + range), with insns. */
static void fde(struct bb *b, size_t cie_at, uint32_t lo, uint32_t range, const struct bb *insns,
		bool dwarf64, bool z)
{
	/* without "zR", pointers are absptr: 8 bytes */
	size_t len = (dwarf64 ? 8 : 4) + (z ? 8 : 16) + (z ? 1 : 0) + (insns ? insns->n : 0);
	size_t id_at;

	if (dwarf64) {
		put32(b, 0xffffffff);
		put64(b, len);
	} else {
		put32(b, (uint32_t)len);
	}
	id_at = b->n;
	if (dwarf64)
		put64(b, id_at - cie_at);
	else
		put32(b, (uint32_t)(id_at - cie_at));
	if (z) {
		put32(b, lo);
		put32(b, range);
		put8(b, 0);
	} else {
		put64(b, lo);
		put64(b, range);
	}
	if (insns)
		put(b, insns->p, insns->n);
}

/* An x86-64 ELF file holding eh (and a terminator): one executable
 * PT_LOAD at vaddr = offset, .eh_frame found through PT_GNU_EH_FRAME.
 * The file is at least min_size bytes (so that pcs are file offsets). */
static void write_elf(const char *path, const struct bb *eh, size_t min_size)
{
	size_t hdr_at = 64 + 2 * 56, eh_at = hdr_at + 8, total = eh_at + eh->n + 4;
	unsigned char *f;
	Elf64_Ehdr e = { 0 };
	Elf64_Phdr ph[2] = { 0 };
	int32_t rel = (int32_t)(eh_at - (hdr_at + 4));

	if (total < min_size)
		total = min_size;
	f = calloc(1, total);
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	e.e_type = ET_DYN;
	e.e_machine = EM_X86_64;
	e.e_version = EV_CURRENT;
	e.e_phoff = 64;
	e.e_ehsize = 64;
	e.e_phentsize = 56;
	e.e_phnum = 2;
	ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, 0, 0, 0, total, total, 16 };
	ph[1] = (Elf64_Phdr){ PT_GNU_EH_FRAME, PF_R, hdr_at, hdr_at, hdr_at, 8, 8, 4 };
	memcpy(f, &e, sizeof(e));
	memcpy(f + 64, ph, sizeof(ph));
	f[hdr_at] = 1;        /* version */
	f[hdr_at + 1] = 0x1b; /* eh_frame_ptr: pcrel sdata4 */
	f[hdr_at + 2] = 0xff; /* no table */
	f[hdr_at + 3] = 0xff;
	memcpy(f + hdr_at + 4, &rel, 4);
	memcpy(f + eh_at, eh->p, eh->n);
	spit(path, f, total);
	free(f);
}

static bool row_is(const struct cfi_table *t, uint64_t off, uint8_t reg, int32_t cfa_off)
{
	struct cfi_row r;

	if (cfi_table__lookup(t, off, &r))
		return false;
	return r.cfa_reg == reg && (reg == CFI_REG_NONE || r.cfa_off == cfa_off);
}

/* The record forms gas never writes: CIE versions 3 and 4, 64-bit
 * lengths, set_loc and the wider advances, unknown augmentations after R,
 * "eh", a CIE pointer to an FDE, overlapping and empty FDEs. */
static void test_synthetic_forms(void)
{
	struct bb eh = { 0 }, in = { 0 };
	char path[PATH_MAX];
	struct cfi_table *t;
	size_t c1, c3, c64, ceh, f_at;
	struct cfi_row r;

	snprintf(path, sizeof(path), "%s/synth", tmp);
	c1 = cie(&eh, 1, "zR", false);
	c3 = cie(&eh, 3, "zRX", false); /* X: unknown, skipped by length */
	c64 = cie(&eh, 4, "", true);
	ceh = cie(&eh, 1, "eh", false);
	/* 0x1000: advance_loc2 0x10, def_cfa_offset 16, advance_loc4 0x10,
	 * def_cfa_offset 24, set_loc 0x1040, def_cfa rbp 16 */
	put8(&in, 0x03), put8(&in, 0x10), put8(&in, 0x00), put8(&in, 0x0e), put8(&in, 16);
	put8(&in, 0x04), put32(&in, 0x10), put8(&in, 0x0e), put8(&in, 24);
	put8(&in, 0x01), put32(&in, 0x1040), put8(&in, 0x0c), put8(&in, 6), put8(&in, 16);
	fde(&eh, c1, 0x1000, 0x100, &in, false, true);
	in.n = 0;
	put8(&in, 0x41), put8(&in, 0x0e), put8(&in, 32); /* +1: CFA rsp+32 */
	fde(&eh, c3, 0x1200, 0x10, &in, false, true);
	fde(&eh, c64, 0x1300, 0x10, &in, true, false);
	fde(&eh, ceh, 0x1400, 0x10, &in, false, false); /* "eh": refused */
	fde(&eh, c1, 0x1080, 0x100, &in, false, true);  /* overlaps the first: dropped */
	fde(&eh, c1, 0x1500, 0, &in, false, true);      /* empty */
	f_at = eh.n;
	fde(&eh, c1, 0x1600, 0x10, &in, false, true);
	fde(&eh, f_at, 0x1700, 0x10, &in, false, true); /* its "CIE" is an FDE */
	write_elf(path, &eh, 0x2000);
	t = load(path);
	if (!ASSERT_TRUE(t, "loads: %s", strerror(errno)))
		goto out;
	ASSERT_TRUE(row_is(t, 0x1000, CFI_REG_SP, 8));
	ASSERT_TRUE(row_is(t, 0x100f, CFI_REG_SP, 8));
	ASSERT_TRUE(row_is(t, 0x1010, CFI_REG_SP, 16));
	ASSERT_TRUE(row_is(t, 0x1020, CFI_REG_SP, 24));
	ASSERT_TRUE(row_is(t, 0x103f, CFI_REG_SP, 24));
	ASSERT_TRUE(row_is(t, 0x1040, CFI_REG_BP, 16));
	ASSERT_TRUE(row_is(t, 0x10ff, CFI_REG_BP, 16));
	ASSERT_EQ(cfi_table__lookup(t, 0x1100, &r), -ENOENT); /* not the overlapping one */
	ASSERT_TRUE(row_is(t, 0x1200, CFI_REG_SP, 8));
	ASSERT_TRUE(row_is(t, 0x1201, CFI_REG_SP, 32));
	ASSERT_TRUE(row_is(t, 0x1301, CFI_REG_SP, 32));       /* 64-bit, version 4 */
	ASSERT_EQ(cfi_table__lookup(t, 0x1401, &r), -ENOENT); /* "eh" */
	ASSERT_EQ(cfi_table__lookup(t, 0x1500, &r), -ENOENT);
	ASSERT_TRUE(row_is(t, 0x1601, CFI_REG_SP, 32));
	ASSERT_EQ(cfi_table__lookup(t, 0x1701, &r), -ENOENT);
	ASSERT_EQ(cfi_table__lookup(t, 0x1710, &r), -ENOENT);
out:
	cfi_table__free(t);
	free(eh.p);
	free(in.p);
}

/* n rows one byte apart: CFA rsp+16 at even pcs, rsp+24 at odd ones; or
 * with distinct offsets, rsp + 8 * (first + i) at the i-th. */
static void rows_program(struct bb *in, unsigned n, bool distinct, unsigned first)
{
	in->n = 0;
	for (unsigned i = 0; i < n; i++) {
		put8(in, 0x0e);
		uleb(in, distinct ? 8 * ((uint64_t)first + i) : 16 + 8 * (i & 1));
		put8(in, 0x41);
	}
}

/* The caps hold and cut where an FDE ends: rows per FDE (the rest is
 * unknown), distinct rules per file, rows per file. */
static void test_caps(void)
{
	struct bb eh = { 0 }, in = { 0 };
	char path[PATH_MAX];
	struct cfi_table *t;
	size_t c;
	unsigned nfde;
	double t0;

	snprintf(path, sizeof(path), "%s/caps", tmp);
	/* 70000 rows in one FDE: past 65536, unknown */
	c = cie(&eh, 1, "zR", false);
	rows_program(&in, 70000, false, 0);
	fde(&eh, c, 0x1000, 70000, &in, false, true);
	write_elf(path, &eh, 0);
	t = load(path);
	if (ASSERT_TRUE(t)) {
		ASSERT_TRUE(row_is(t, 0x1000 + 101, CFI_REG_SP, 24));
		ASSERT_TRUE(row_is(t, 0x1000 + 60000, CFI_REG_SP, 16));
		ASSERT_TRUE(row_is(t, 0x1000 + 69000, CFI_REG_NONE, 0));
	}
	cfi_table__free(t);

	/* 2 x 40000 distinct rules: the second FDE is past 65535 of them */
	eh.n = 0;
	c = cie(&eh, 1, "zR", false);
	rows_program(&in, 40000, true, 1);
	fde(&eh, c, 0x1000, 40000, &in, false, true);
	rows_program(&in, 40000, true, 40001);
	fde(&eh, c, 0x1000 + 40000, 40000, &in, false, true);
	write_elf(path, &eh, 0);
	t = load(path);
	if (ASSERT_TRUE(t)) {
		ASSERT_TRUE(row_is(t, 0x1000 + 39999, CFI_REG_SP, 8 * 40000));
		ASSERT_EQ(cfi_table__lookup(t, 0x1000 + 40000 + 10, &(struct cfi_row){ 0 }),
			  -ENOENT);
		ASSERT_TRUE(cfi_table__nr_rows(t) <= 40001, "rows %zu", cfi_table__nr_rows(t));
	}
	cfi_table__free(t);

	/* 4.2 M rows in 65 FDEs: cut at 4 Mi rows, at an FDE's end */
	eh.n = 0;
	c = cie(&eh, 1, "zR", false);
	rows_program(&in, 65000, false, 0);
	for (nfde = 0; nfde < 65; nfde++)
		fde(&eh, c, 0x1000 + nfde * 65000, 65000, &in, false, true);
	write_elf(path, &eh, 0);
	t0 = now_ms();
	t = load(path);
	if (ASSERT_TRUE(t, "%s", strerror(errno))) {
		size_t n = cfi_table__nr_rows(t);

		printf("# %u FDEs of 65000 rows: %zu rows kept, %zu bytes, %.0f ms\n", nfde, n,
		       cfi_table__mem_size(t), now_ms() - t0);
		ASSERT_TRUE(n <= (1u << 22) && n > (1u << 22) - 70000, "rows %zu", n);
		ASSERT_TRUE(row_is(t, 0x1000 + 1, CFI_REG_SP, 24));
		ASSERT_TRUE(row_is(t, 0x1000 + 63 * 65000 + 1, CFI_REG_SP, 24));
		ASSERT_EQ(cfi_table__lookup(t, 0x1000 + 64 * 65000 + 1, &(struct cfi_row){ 0 }),
			  -ENOENT);
		ASSERT_EQ(cfi_table__lookup(t, 0x1000 + 65 * 65000 + 1, &(struct cfi_row){ 0 }),
			  -ENOENT);
	}
	cfi_table__free(t);
	free(eh.p);
	free(in.p);
}

/* The same program with and without frame pointers: the share of code
 * whose CFA is on rbp tells them apart (how the daemon decides which
 * executables' CPU samples need a stack copy). libc has none. */
static void test_bp_share(void)
{
	static const char prog[] =
		"#include <stdio.h>\n"
		"__attribute__((noinline)) int f(int x) { volatile int a[8]; a[x & 7] = x; return a[1] + x; }\n"
		"__attribute__((noinline)) int g(int x) { volatile int b[4]; b[x & 3] = f(x); return b[0] + f(x + 1); }\n"
		"int main(int c, char **v) { printf(\"%d\\n\", g(c)); return 0; }\n";
	char src[128], fp[128], nofp[128];
	struct cfi_table *t;
	FILE *f;

	snprintf(src, sizeof(src), "%s/bp.c", tmp);
	snprintf(fp, sizeof(fp), "%s/bp-fp", tmp);
	snprintf(nofp, sizeof(nofp), "%s/bp-nofp", tmp);
	f = fopen(src, "w");
	if (!ASSERT_TRUE(f))
		return;
	fputs(prog, f);
	fclose(f);
	if (!ASSERT_OK(sh("gcc -O2 -fno-omit-frame-pointer -o '%s' '%s'", fp, src)) ||
	    !ASSERT_OK(sh("gcc -O2 -fomit-frame-pointer -o '%s' '%s'", nofp, src)))
		return;
	t = load(fp);
	if (ASSERT_TRUE(t))
		ASSERT_TRUE(cfi_table__bp_share(t) >= CFI_BP_SHARE_FP, "with frame pointers: %.2f",
			    cfi_table__bp_share(t));
	cfi_table__free(t);
	t = load(nofp);
	if (ASSERT_TRUE(t))
		ASSERT_TRUE(cfi_table__bp_share(t) < CFI_BP_SHARE_FP, "without: %.2f",
			    cfi_table__bp_share(t));
	cfi_table__free(t);
	t = load(LIBC);
	if (ASSERT_TRUE(t))
		ASSERT_TRUE(cfi_table__bp_share(t) < CFI_BP_SHARE_FP, "libc: %.2f",
			    cfi_table__bp_share(t));
	cfi_table__free(t);
	ASSERT_TRUE(cfi_table__bp_share(NULL) == 0);
}

/* Each PT_LOAD mapped where a loader maps it (from its page, at base plus
 * its vaddr's page), and a piece of the code as mprotect leaves it, gives
 * the base back: libc (PIC, at a high base) and python3 (at its vaddrs,
 * its RO data's last page its RW data's first). */
static void check_load_bias(const char *path, uint64_t base_if_dyn)
{
	static struct elf_info ei;
	struct cfi_table *t = load(path);
	uint64_t base, bias;

	if (!ASSERT_TRUE(t, "%s", path) || !ASSERT_TRUE(elf_info(path, &ei)))
		goto out;
	base = ei.loads[0].p_vaddr ? 0 : base_if_dyn; /* ET_EXEC maps at its vaddrs */
	for (unsigned i = 0; i < ei.nloads; i++) {
		const GElf_Phdr *ph = &ei.loads[i];
		uint64_t start = base + (ph->p_vaddr & ~4095ull), pgoff = ph->p_offset & ~4095ull;

		bias = 1;
		ASSERT_OK(cfi_table__load_bias(t, start, pgoff, &bias));
		ASSERT_TRUE(bias == base, "%s segment %u: bias %#" PRIx64 ", want %#" PRIx64, path,
			    i, bias, base);
		if (!(ph->p_flags & PF_X) || ph->p_filesz < 0x3000)
			continue;
		bias = 1;
		ASSERT_OK(cfi_table__load_bias(t, start + 0x2000, pgoff + 0x2000, &bias));
		ASSERT_TRUE(bias == base, "%s code split: bias %#" PRIx64, path, bias);
	}
	ASSERT_EQ(cfi_table__load_bias(t, base, 1ull << 40, &bias), -ENOENT);
out:
	cfi_table__free(t);
}

static void test_load_bias(void)
{
	uint64_t bias;

	check_load_bias(LIBC, 0x7f1234560000ull);
	check_load_bias("/usr/bin/python3", 0x555555554000ull);
	ASSERT_EQ(cfi_table__load_bias(NULL, 0, 0, &bias), -ENOENT);
}

int main(void)
{
	log_max_level = LOG_LVL_WARN;
	snprintf(tmp, sizeof(tmp), "/tmp/test_cfi.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	if (!elf_info(LIBC, &libc_info)) {
		fprintf(stderr, "cannot read %s\n", LIBC);
		return 1;
	}
	RUN_TEST(test_libc_loads);
	RUN_TEST(test_libc_function_entries);
	RUN_TEST(test_libc_after_push);
	RUN_TEST(test_libc_plt);
	RUN_TEST(test_libc_matches_readelf);
	RUN_TEST(test_other_files_match_readelf);
	RUN_TEST(test_handwritten_cfi);
	RUN_TEST(test_refused_files);
	RUN_TEST(test_corrupted_libc);
	RUN_TEST(test_no_section_headers);
	RUN_TEST(test_synthetic_forms);
	RUN_TEST(test_caps);
	RUN_TEST(test_bp_share);
	RUN_TEST(test_load_bias);
	sh("rm -rf '%s'", tmp);
	return TEST_MAIN_END();
}
