// SPDX-License-Identifier: MIT
/*
 * An ELF file open for the symbolizer (symtab_elf.h): its section headers
 * and build ID read once, bounded; and the separate debug file that holds
 * what a stripped one lacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "safe_open.h"
#include "symtab.h"
#include "symtab_elf.h"

#define NOTES_MAX (1u << 20)      /* bytes of notes scanned for the build ID */
#define DEBUGLINK_MAX 255         /* bytes of a .gnu_debuglink file name */
#define CRC_FILE_MAX (1ULL << 30) /* a larger debug file is not checksummed */

void elfi_close(struct elfi *e)
{
	if (e->elf)
		elf_end(e->elf);
	free(e->secs);
	if (e->fd >= 0)
		close(e->fd);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

static void hexify(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool notes_build_id(Elf_Data *d, char *out)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!d || !d->d_buf)
		return false;
	while (off < d->d_size && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > off) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
		    nh.n_descsz <= BUILD_ID_MAX && name_off + 4 <= d->d_size &&
		    desc_off <= d->d_size && nh.n_descsz <= d->d_size - desc_off &&
		    !memcmp((char *)d->d_buf + name_off, "GNU", 4)) {
			hexify((unsigned char *)d->d_buf + desc_off, nh.n_descsz, out);
			return true;
		}
		off = next;
	}
	return false;
}

static void read_build_id(struct elfi *e)
{
	Elf_Scn *scn = NULL;
	size_t nph;

	e->build_id[0] = '\0';
	/* Sections first: a debug file's program headers may point at nothing. */
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || sh.sh_size > NOTES_MAX)
			continue;
		if (notes_build_id(elf_getdata(scn, NULL), e->build_id))
			return;
	}
	if (elf_getphdrnum(e->elf, &nph))
		return;
	for (size_t i = 0; i < nph && i < SECS_MAX; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(e->elf, i, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz ||
		    ph.p_filesz > NOTES_MAX)
			continue;
		d = elf_getdata_rawchunk(e->elf, ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (notes_build_id(d, e->build_id))
			return;
	}
}

int elfi_open(struct elfi *e, int fd)
{
	size_t n;

	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &e->eh))
		return -ENOEXEC;
	if (e->eh.e_type != ET_EXEC && e->eh.e_type != ET_DYN)
		return -ENOEXEC;
	if (elf_getshdrnum(e->elf, &n))
		n = 0;
	if (n > SECS_MAX)
		n = SECS_MAX;
	if (n) {
		e->secs = calloc(n, sizeof(*e->secs));
		if (!e->secs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		Elf_Scn *scn = elf_getscn(e->elf, i);
		GElf_Shdr sh;

		if (scn && gelf_getshdr(scn, &sh)) {
			e->secs[i].addr = sh.sh_addr;
			e->secs[i].size = sh.sh_size;
			e->secs[i].flags = sh.sh_flags;
		}
	}
	e->nsecs = n;
	read_build_id(e);
	return 0;
}

Elf_Scn *find_section(const struct elfi *e, uint32_t type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

Elf_Scn *find_section_named(const struct elfi *e, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(e->elf, shstrndx, sh->sh_name); /* bounds-checked */
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Length of the name at off, cut to SYM_NAME_MAX; -1 when it is not a
 * NUL-terminated string inside the table or is empty. */
/* ---- the separate debug file ---- */

static bool is_host_root(const char *root)
{
	return !root || !root[0] || !strcmp(root, "/");
}

/* Where the host's debug files are looked up: / (NULL), unless a test
 * says otherwise. */
static const char *host_root;

void symtab__set_host_root(const char *root)
{
	host_root = root;
}

static bool crc_matches(int fd, uint32_t want)
{
	enum { CHUNK = 128 << 10 };
	unsigned char *buf;
	uLong crc = crc32(0, Z_NULL, 0);
	off_t off = 0;
	struct stat st;
	ssize_t r;

	if (fstat(fd, &st) || (uint64_t)st.st_size > CRC_FILE_MAX)
		return false;
	buf = malloc(CHUNK);
	if (!buf)
		return false;
	while ((r = pread(fd, buf, CHUNK, off)) > 0) {
		crc = crc32(crc, buf, (uInt)r);
		off += r;
	}
	free(buf);
	return r == 0 && (uint32_t)crc == want;
}

struct debuglink {
	char name[DEBUGLINK_MAX + 1];
	uint32_t crc;
};

static bool read_debuglink(const struct elfi *e, struct debuglink *dl)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section_named(e, ".gnu_debuglink", &sh);
	Elf_Data *d;
	const unsigned char *p;
	size_t len, crc_off;

	if (!scn || sh.sh_type == SHT_NOBITS || sh.sh_size > 4096)
		return false;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return false;
	p = d->d_buf;
	len = strnlen((const char *)p, d->d_size);
	crc_off = (len + 4) & ~(size_t)3;
	if (len == 0 || len > DEBUGLINK_MAX || crc_off + 4 > d->d_size)
		return false;
	memcpy(dl->name, p, len);
	dl->name[len] = '\0';
	/* A bare file name: never a path out of the search directories. */
	if (strchr(dl->name, '/') || !strcmp(dl->name, ".") || !strcmp(dl->name, ".."))
		return false;
	if (e->eh.e_ident[EI_DATA] == ELFDATA2MSB)
		dl->crc = (uint32_t)p[crc_off] << 24 | p[crc_off + 1] << 16 | p[crc_off + 2] << 8 |
			  p[crc_off + 3];
	else
		dl->crc = (uint32_t)p[crc_off + 3] << 24 | p[crc_off + 2] << 16 |
			  p[crc_off + 1] << 8 | p[crc_off];
	return true;
}

/* Takes fd; true when it is exe's debug file and has a .symtab. */
static bool try_debug_file(struct elfi *dbg, int fd, const struct elfi *exe, const struct stat *mst,
			   const struct debuglink *dl)
{
	struct stat st;
	GElf_Shdr sh;

	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && st.st_dev == mst->st_dev && st.st_ino == mst->st_ino) {
		close(fd);
		return false;
	}
	if (elfi_open(dbg, fd) || gelf_getclass(dbg->elf) != gelf_getclass(exe->elf) ||
	    dbg->eh.e_machine != exe->eh.e_machine || !find_section(dbg, SHT_SYMTAB, &sh))
		goto no;
	if (exe->build_id[0] && dbg->build_id[0]) {
		if (strcmp(exe->build_id, dbg->build_id))
			goto no;
	} else if (dl && !crc_matches(fd, dl->crc)) {
		goto no;
	}
	return true;
no:
	elfi_close(dbg);
	return false;
}

/* Tries path inside root, then on the host. */
bool try_path(struct elfi *dbg, const char *root, const char *path, const struct elfi *exe,
	      const struct stat *mst, const struct debuglink *dl)
{
	if (!is_host_root(root) && try_debug_file(dbg, safe_open(root, path), exe, mst, dl))
		return true;
	return try_debug_file(dbg, safe_open(host_root, path), exe, mst, dl);
}

bool find_debug_file(struct elfi *dbg, const struct elfi *exe, const struct stat *mst,
		     const char *root, const char *path)
{
	static const char *const fmts[] = { "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s" };
	char buf[PATH_MAX], dir[PATH_MAX];
	struct debuglink dl;
	const char *slash;

	if (strlen(exe->build_id) >= 4) {
		snprintf(buf, sizeof(buf), "/usr/lib/debug/.build-id/%.2s/%s.debug", exe->build_id,
			 exe->build_id + 2);
		if (try_path(dbg, root, buf, exe, mst, NULL))
			return true;
	}
	if (!path || path[0] != '/' || !read_debuglink(exe, &dl))
		return false;
	slash = strrchr(path, '/');
	if ((size_t)(slash - path) >= sizeof(dir))
		return false;
	memcpy(dir, path, slash - path);
	dir[slash - path] = '\0';
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		if ((size_t)snprintf(buf, sizeof(buf), fmts[i], dir, dl.name) >= sizeof(buf))
			continue;
		if (try_path(dbg, root, buf, exe, mst, &dl))
			return true;
	}
	return false;
}
