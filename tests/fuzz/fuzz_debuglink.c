// SPDX-License-Identifier: MIT
/*
 * libFuzzer: symtab's search for a stripped file's debug file, on real
 * files. A process chooses the file it maps (its build ID, its
 * .gnu_debuglink) and, in its own root, what lies where the daemon looks.
 * Each run builds the tree in a temporary directory that stands for the
 * process's root and another for the host's (symtab__set_host_root):
 *
 *   byte 0        where the candidate goes: bits 0-2 the place (0 the
 *                 build-ID path /usr/lib/debug/.build-id/xx/yyyy.debug,
 *                 1 DIR/NAME, 2 DIR/.debug/NAME, 3 /usr/lib/debug/DIR/NAME,
 *                 4-7 nowhere), bit 3 in the host's root, bits 4-5 what it
 *                 is (0 a file, 1 a hard link to the binary, 2 a FIFO,
 *                 3 a symlink to a file in that root)
 *   bytes 1-2     n, little-endian
 *   n bytes       the binary, at DIR/prog in the process's root
 *   the rest      the candidate debug file's content
 *
 * NAME is the binary's .gnu_debuglink, DIR /pprofd-fuzz/bin; then the
 * binary is loaded (symtab__load), looked up, and its lines read from the
 * debug file found.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "symtab.h"

#define DIR "pprofd-fuzz/bin"

static char base[PATH_MAX], roots[2][PATH_MAX]; /* 0: the process's, 1: the host's */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p root/rel */
static void mkdirs(const char *root, const char *rel)
{
	char p[PATH_MAX];
	size_t n = snprintf(p, sizeof(p), "%s/%s", root, rel);

	for (size_t i = strlen(root) + 1; i <= n; i++) {
		char c = p[i];

		if (c != '/' && c)
			continue;
		p[i] = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			abort();
		p[i] = c;
	}
}

static void setup(void)
{
	const char *tmp = access("/dev/shm", W_OK) ? getenv("TMPDIR") : "/dev/shm";
	char rel[64];

	log_max_level = LOG_LVL_ERR;
	if (elf_version(EV_CURRENT) == EV_NONE)
		abort();
	snprintf(base, sizeof(base), "%s/pprofd-fuzz-debuglink-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	for (int r = 0; r < 2; r++) {
		snprintf(roots[r], sizeof(roots[r]), "%s/%s", base, r ? "host" : "proc");
		if (mkdir(roots[r], 0755))
			abort();
		mkdirs(roots[r], DIR "/.debug");
		mkdirs(roots[r], "usr/lib/debug/" DIR);
		for (int i = 0; i < 256; i++) {
			snprintf(rel, sizeof(rel), "usr/lib/debug/.build-id/%02x", i);
			mkdirs(roots[r], rel);
		}
	}
	symtab__set_host_root(roots[1]);
}

static bool write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write(fd, data, size) == (ssize_t)size;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The binary's build ID (hex) and .gnu_debuglink name, as symtab reads
 * them (sections only: enough for the fuzzer to put files there). */
static void names(const uint8_t *data, size_t size, char *build_id, char *dlink)
{
	char *copy = malloc(size + 1); /* libelf may convert it in place */
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	build_id[0] = dlink[0] = 0;
	if (!copy)
		abort();
	memcpy(copy, data, size);
	e = elf_memory(copy, size);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx))
		goto out;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			continue;
		n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n && !strcmp(n, ".gnu_debuglink") && !dlink[0]) {
			size_t l = strnlen(d->d_buf, d->d_size);

			if (l && l <= NAME_MAX && l < d->d_size && !memchr(d->d_buf, '/', l) &&
			    strcmp(d->d_buf, ".") && strcmp(d->d_buf, ".."))
				memcpy(dlink, d->d_buf, l + 1);
		} else if (sh.sh_type == SHT_NOTE) {
			GElf_Nhdr nh;
			size_t off = 0, next, name_off, desc_off;

			while (!build_id[0] && off < d->d_size &&
			       (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > off) {
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz >= 2 &&
				    nh.n_descsz <= 64 && desc_off + nh.n_descsz <= d->d_size)
					for (size_t i = 0; i < nh.n_descsz; i++)
						sprintf(build_id + 2 * i, "%02x",
							((const uint8_t *)d->d_buf)[desc_off + i]);
				off = next;
			}
		}
	}
out:
	elf_end(e);
	free(copy);
}

static void poke(struct symtab *s, size_t size)
{
	struct sym_result r;
	struct sym_frames *f = malloc(sizeof(*f));
	volatile size_t sink = 0;

	if (!f)
		abort();
	sink += strlen(symtab__build_id(s)) + symtab__nr_symbols(s) + symtab__has_lines(s);
	for (uint64_t i = 0; i < 16; i++) {
		uint64_t off = size * i / 16;

		if (!symtab__lookup(s, off, &r))
			sink += strlen(r.name) + (r.vaddr - r.start);
		if (!symtab__lookup_frames(s, off, f))
			for (unsigned k = 0; k < f->n; k++)
				sink += strlen(f->f[k].name) +
					(f->f[k].file ? strlen(f->f[k].file) : 0);
	}
	sink += symtab__mem_size(s);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char exe[PATH_MAX], cand[PATH_MAX] = "", target[PATH_MAX] = "", build_id[129],
			    dlink[NAME_MAX + 1];
	const uint8_t *bin, *dbg;
	size_t nbin, ndbg;
	unsigned flags, place, kind;
	const char *root;
	struct symtab *s;
	int fd;

	if (!base[0])
		setup();
	if (size < 3)
		return 0;
	flags = data[0];
	place = flags & 7;
	root = roots[(flags >> 3) & 1];
	kind = (flags >> 4) & 3;
	nbin = data[1] | data[2] << 8;
	if (nbin > size - 3)
		nbin = size - 3;
	bin = data + 3;
	dbg = bin + nbin;
	ndbg = size - 3 - nbin;

	snprintf(exe, sizeof(exe), "%s/" DIR "/prog", roots[0]);
	if (!write_file(exe, bin, nbin))
		abort();
	names(bin, nbin, build_id, dlink);
	if (place == 0 && strlen(build_id) >= 4)
		snprintf(cand, sizeof(cand), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", root,
			 build_id, build_id + 2);
	else if (place >= 1 && place <= 3 && dlink[0])
		snprintf(cand, sizeof(cand),
			 place == 1   ? "%s/" DIR "/%s"
			 : place == 2 ? "%s/" DIR "/.debug/%s"
				      : "%s/usr/lib/debug/" DIR "/%s",
			 root, dlink);
	/* (a name that is a directory of the tree, or the binary, is left) */
	if (cand[0] && strcmp(cand, exe)) {
		switch (kind) {
		case 0:
			write_file(cand, dbg, ndbg);
			break;
		case 1:
			link(exe, cand);
			break;
		case 2:
			mkfifo(cand, 0644);
			break;
		case 3:
			/* absolute, as the process sees it: resolved inside root */
			snprintf(target, sizeof(target), "%s/pprofd-fuzz/target.debug", root);
			write_file(target, dbg, ndbg);
			symlink("/pprofd-fuzz/target.debug", cand);
			break;
		}
	} else {
		cand[0] = 0;
	}

	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	s = symtab__load(fd, roots[0], "/" DIR "/prog");
	close(fd);
	if (s) {
		poke(s, nbin > ndbg ? nbin : ndbg);
		symtab__put(s);
	}
	if (cand[0])
		unlink(cand); /* fails on a directory: kept */
	if (target[0])
		unlink(target);
	return 0;
}
