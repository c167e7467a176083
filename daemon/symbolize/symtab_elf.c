// SPDX-License-Identifier: MIT
/*
 * The separate debug file that holds what a stripped ELF file lacks
 * (symtab_elf.h): by build ID, then by .gnu_debuglink, each candidate
 * checked against the file.
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
#include "dwlines.h"
#include "symtab_elf.h"

#define DEBUGLINK_MAX 255         /* bytes of a .gnu_debuglink file name */
#define CRC_FILE_MAX (1ULL << 30) /* a larger debug file is not checksummed */

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

/* Where debuginfod's fetches land (debuginfod.h), or NULL. */
static const char *debug_cache;

void symtab__set_debug_cache(const char *dir)
{
	debug_cache = dir;
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

static bool read_debuglink(const struct elf_file *e, struct debuglink *dl)
{
	GElf_Shdr sh;
	Elf_Scn *scn = elf_file__find_section_named(e, ".gnu_debuglink", &sh);
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

/* Takes fd; true when it is exe's debug file and has a .symtab: then dbg
 * holds it, open on fd (close_debug_file() closes both). */
static bool try_debug_file(struct elf_file *dbg, int fd, const struct elf_file *exe,
			   const struct debuglink *dl)
{
	struct stat st;
	GElf_Shdr sh;

	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && st.st_dev == exe->st.st_dev && st.st_ino == exe->st.st_ino) {
		close(fd);
		return false;
	}
	if (elf_file__open(dbg, fd, ELF_FILE_EXEC | ELF_FILE_SECTIONS | ELF_FILE_BUILD_ID) ||
	    gelf_getclass(dbg->elf) != gelf_getclass(exe->elf) ||
	    dbg->eh.e_machine != exe->eh.e_machine || !elf_file__find_section(dbg, SHT_SYMTAB, &sh))
		goto no;
	if (exe->build_id[0] && dbg->build_id[0]) {
		if (strcmp(exe->build_id, dbg->build_id))
			goto no;
	} else if (dl && !crc_matches(fd, dl->crc)) {
		goto no;
	}
	return true;
no:
	elf_file__close(dbg);
	close(fd);
	return false;
}

void close_debug_file(struct elf_file *dbg)
{
	int fd = dbg->fd;

	elf_file__close(dbg);
	if (fd >= 0)
		close(fd);
}

/* Tries path inside root, then on the host. */
bool try_path(struct elf_file *dbg, const char *root, const char *path, const struct elf_file *exe,
	      const struct debuglink *dl)
{
	if (!is_host_root(root) && try_debug_file(dbg, safe_open(root, path), exe, dl))
		return true;
	return try_debug_file(dbg, safe_open(host_root, path), exe, dl);
}

/* Takes fd: kept when it is an ELF file with this build ID, else closed. */
static int dwz_if_ours(int fd, const char *build_id)
{
	struct elf_file f;
	bool ours;

	if (fd < 0)
		return -1;
	ours = !elf_file__open(&f, fd, ELF_FILE_BUILD_ID) && !strcmp(f.build_id, build_id);
	elf_file__close(&f); /* f only: fd stays */
	if (!ours) {
		close(fd);
		return -1;
	}
	return fd;
}

int find_dwz_file(int dwarf_fd, const char *root)
{
	char name[PATH_MAX], id[2 * BUILD_ID_MAX + 1], buf[PATH_MAX];
	const char *paths[2] = { buf, name };
	int fd;

	if (!dwlines__altlink(dwarf_fd, name, sizeof(name), id, sizeof(id)) || strlen(id) < 4)
		return -1;
	/* by build ID first, as Debian's -dbgsym packages link them; then the
	 * path it names when absolute (a relative one is dwz's own layout) */
	snprintf(buf, sizeof(buf), "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
	for (int i = 0; i < 2; i++) {
		if (paths[i][0] != '/')
			continue;
		if (!is_host_root(root) && (fd = dwz_if_ours(safe_open(root, paths[i]), id)) >= 0)
			return fd;
		if ((fd = dwz_if_ours(safe_open(host_root, paths[i]), id)) >= 0)
			return fd;
	}
	return -1;
}

bool find_build_id_file(struct elf_file *dbg, const struct elf_file *exe, const char *root)
{
	char buf[PATH_MAX];

	if (strlen(exe->build_id) < 4)
		return false;
	snprintf(buf, sizeof(buf), "/usr/lib/debug/.build-id/%.2s/%s.debug", exe->build_id,
		 exe->build_id + 2);
	if (try_path(dbg, root, buf, exe, NULL))
		return true;
	/* pprofd's own directory: on the host, never inside root */
	return debug_cache &&
	       (size_t)snprintf(buf, sizeof(buf), "%s/%s/debuginfo", debug_cache, exe->build_id) <
		       sizeof(buf) &&
	       try_debug_file(dbg, safe_open(NULL, buf), exe, NULL);
}

bool find_debug_file(struct elf_file *dbg, const struct elf_file *exe, const char *root,
		     const char *path)
{
	static const char *const fmts[] = { "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s" };
	char buf[PATH_MAX], dir[PATH_MAX];
	struct debuglink dl;
	const char *slash;

	if (find_build_id_file(dbg, exe, root))
		return true;
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
		if (try_path(dbg, root, buf, exe, &dl))
			return true;
	}
	return false;
}
