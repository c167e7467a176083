// SPDX-License-Identifier: MIT
/*
 * DWARF line numbers and inline frames through libdw.
 *
 * Loading reads the file's debug sections into memory (libelf in read mode,
 * never mmap: a file truncated under us must not SIGBUS the daemon), after
 * checking their total size, then builds a sorted table of the address
 * ranges of the compile units. A lookup finds the unit by binary search,
 * walks that unit's DIE tree down the scopes that contain the address
 * (bounded in depth and in DIEs visited) and asks libdw's line table for
 * the line. libdw decodes a unit's line table on first use and keeps it;
 * that memory is counted as it appears.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dwlines.h"
#include "elf_file.h"
#include "log.h"
#include "upper_bound.h"

#define UNITS_MAX (1u << 20)      /* compile units kept */
#define RANGES_PER_UNIT_MAX 65536 /* address ranges read per unit */
#define RANGES_MAX (4u << 20)     /* address ranges kept in all */
#define DEPTH_MAX 64              /* DIE nesting followed */
#define VISITS_MAX 200000         /* DIEs looked at per lookup */
#define SECS_MAX (1u << 16)       /* section headers looked at */
#define MEM_MAX (24u << 20)       /* sections plus decoded tables of one file */
/* Of every file together. The symbol cache's budget does not bound it
 * (mappings hold their files beyond it), and SPEC §6's RSS target does:
 * one -dbg library's DWARF (libc6-dbg: 14 MiB read) fits; a file that
 * would go over is refused (counted as over the limit) while it is held. */
#define TOTAL_MAX (20u << 20)
#define LINE_ROW_BYTES 48 /* libdw's Dwarf_Line, for accounting */
#define FILE_ENTRY_BYTES 32
#define WALK_BACK 4

struct urange {
	uint64_t lo, hi;
	uint64_t die_off; /* the unit's DIE */
	uint32_t unit;    /* index, for the per-unit accounting bits */
};

struct dwlines {
	Elf *elf;
	Dwarf *dw;
	/* the dwz file its DWARF refers to (.gnu_debugaltlink), or NULL */
	Elf *alt_elf;
	Dwarf *alt_dw;
	struct urange *r;
	size_t nr;
	uint32_t nunits;
	uint8_t *counted; /* per unit: its line table and files are in mem */
	size_t mem;
	bool full_logged;
};

static atomic_uint_fast64_t st_loaded, st_failed, st_over_limit, st_lookups, st_lookup_errors;
static atomic_size_t total_mem; /* every loaded file's mem */

void dwlines__stats(struct dwlines_stats *st)
{
	st->loaded = atomic_load(&st_loaded);
	st->failed = atomic_load(&st_failed);
	st->over_limit = atomic_load(&st_over_limit);
	st->lookups = atomic_load(&st_lookups);
	st->lookup_errors = atomic_load(&st_lookup_errors);
	st->bytes = atomic_load(&total_mem);
}

void dwlines__count_over_limit(void)
{
	atomic_fetch_add(&st_over_limit, 1);
}

/* Sections libdw would inflate and keep, that line tables and inline
 * frames never read: locations, macros, name indexes, CFI. libc6-dbg's
 * .debug_loclists alone is 1.4 MiB inflated. */
static bool unused_section(const char *name)
{
	static const char *const unused[] = { "loc",          "loclists",     "macro",
					      "macinfo",      "pubnames",     "pubtypes",
					      "gnu_pubnames", "gnu_pubtypes", "names",
					      "aranges",      "frame" };

	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		if (!strcmp(name + 7, unused[i]))
			return true;
	return false;
}

/* The next section after scn named .debug_* or .zdebug* (GNU's older
 * compression) with bytes in the file: its header and name. The three
 * passes below share it; SECS_MAX headers are looked at, counted in *n. */
static Elf_Scn *next_debug(Elf *elf, size_t shstrndx, Elf_Scn *scn, size_t *n, GElf_Shdr *sh,
			   const char **name)
{
	while ((scn = elf_nextscn(elf, scn)) && (*n)++ < SECS_MAX)
		if (gelf_getshdr(scn, sh) && (*name = elf_strptr(elf, shstrndx, sh->sh_name)) &&
		    (!strncmp(*name, ".debug_", 7) || !strncmp(*name, ".zdebug", 7)) &&
		    sh->sh_type != SHT_NOBITS && sh->sh_size)
			return scn;
	return NULL;
}

/* Hides the unused debug sections from libdw as NOBITS (the in-memory
 * headers of a file read, not mapped: it skips those). */
static bool hide_unused(Elf *elf)
{
	size_t shstrndx, n = 0;
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = next_debug(elf, shstrndx, scn, &n, &sh, &name))) {
		if (name[1] == 'z' || !unused_section(name))
			continue;
		sh.sh_type = SHT_NOBITS;
		if (!gelf_update_shdr(scn, &sh))
			return false;
	}
	return true;
}

/*
 * The bytes of the debug sections libdw will read and keep (inflated);
 * SIZE_MAX when they cannot be bounded; has_info/has_line for the two we
 * need. *peak: the most held at once, while one compressed section is
 * inflated beside the others (libelf then frees its compressed bytes).
 */
static size_t debug_bytes(Elf *elf, int fd, bool *has_info, bool *has_line, size_t *peak)
{
	size_t shstrndx, total = 0, most_packed = 0, n = 0;
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr sh;
	GElf_Ehdr eh;

	*has_info = *has_line = false;
	*peak = 0;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = next_debug(elf, shstrndx, scn, &n, &sh, &name))) {
		uint64_t size;

		if (name[1] == 'z')
			return *peak = SIZE_MAX; /* GNU compression: size only inside the data */
		if (unused_section(name))
			continue;
		size = sh.sh_size;
		if (sh.sh_flags & SHF_COMPRESSED) {
			/* The header gives the decompressed size: read it ourselves,
			 * native byte order only. */
			unsigned char hdr[sizeof(Elf64_Chdr)];
			bool is64 = gelf_getclass(elf) == ELFCLASS64;
			size_t hl = is64 ? sizeof(Elf64_Chdr) : sizeof(Elf32_Chdr);

			if (eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
							    ? ELFDATA2LSB
							    : ELFDATA2MSB) ||
			    sh.sh_size < hl ||
			    pread(fd, hdr, hl, (off_t)sh.sh_offset) != (ssize_t)hl)
				return *peak = SIZE_MAX;
			if (is64) {
				Elf64_Chdr c;

				memcpy(&c, hdr, sizeof(c));
				size = c.ch_size;
			} else {
				Elf32_Chdr c;

				memcpy(&c, hdr, sizeof(c));
				size = c.ch_size;
			}
			if (sh.sh_size > most_packed)
				most_packed = sh.sh_size;
		}
		if (size > SIZE_MAX / 4 || total + size < total)
			return *peak = SIZE_MAX;
		total += size;
		if (!strcmp(name, ".debug_info"))
			*has_info = true;
		else if (!strcmp(name, ".debug_line"))
			*has_line = true;
	}
	/* the peak must not wrap */
	if (total > SIZE_MAX / 2 || most_packed > SIZE_MAX / 2)
		return *peak = SIZE_MAX;
	*peak = total + most_packed;
	return total;
}

bool dwlines__probe(int fd, size_t *bytes)
{
	bool info, line;
	Elf *elf;
	size_t peak;

	*bytes = 0;
	if (!elf_file__init() || !(elf = elf_begin(fd, ELF_C_READ, NULL)))
		return false;
	debug_bytes(elf, fd, &info, &line, &peak);
	elf_end(elf);
	*bytes = peak; /* what a load needs */
	return peak == SIZE_MAX || (info && line);
}

/*
 * libdw (0.188) runs strlen() on offsets into .debug_str and .debug_line_str
 * without checking that the section ends with a NUL (found by fuzzing:
 * read_srclines reads past a cut .debug_line_str). So every string section
 * must end with one; compressed ones are inflated first (their size was
 * checked), which libdw then finds done.
 */
static bool strings_terminated(Elf *elf)
{
	size_t shstrndx, n = 0;
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = next_debug(elf, shstrndx, scn, &n, &sh, &name))) {
		size_t len = strlen(name);
		Elf_Data *data;

		if (name[1] == 'z' ||
		    !((sh.sh_flags & SHF_STRINGS) || (len > 4 && !strcmp(name + len - 4, "_str")) ||
		      strstr(name, "_str.")))
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return false;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || !data->d_size ||
		    ((const char *)data->d_buf)[data->d_size - 1] != '\0')
			return false;
	}
	return true;
}

static int urange_cmp(const void *a, const void *b)
{
	const struct urange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? 1 : x->hi > y->hi ? -1 : 0;
}

static int add_range(struct dwlines *d, size_t *cap, uint64_t lo, uint64_t hi, uint64_t off,
		     uint32_t unit)
{
	if (hi <= lo)
		return 0;
	if (d->nr >= RANGES_MAX)
		return -E2BIG;
	if (d->nr == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct urange *nv = realloc(d->r, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->r = nv;
		*cap = nc;
	}
	d->r[d->nr++] = (struct urange){ lo, hi, off, unit };
	return 0;
}

/* The address ranges of every compile unit. */
static int read_units(struct dwlines *d)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0;
	int err = 0;

	while (d->nunits < UNITS_MAX && dwarf_next_unit(d->dw, off, &next, &hsize, NULL, NULL, NULL,
							NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Addr base, start, end;
		ptrdiff_t ro = 0;
		unsigned k = 0;
		int tag;

		if (next <= off)
			break;
		if (dwarf_offdie(d->dw, off + hsize, &cu) &&
		    ((tag = dwarf_tag(&cu)) == DW_TAG_compile_unit || tag == DW_TAG_partial_unit)) {
			while (k++ < RANGES_PER_UNIT_MAX &&
			       (ro = dwarf_ranges(&cu, ro, &base, &start, &end)) > 0) {
				err = add_range(d, &cap, start, end, off + hsize, d->nunits);
				if (err)
					break;
			}
			d->nunits++;
		}
		if (err)
			break;
		off = next;
	}
	if (err == -ENOMEM)
		return err;
	if (!d->nr)
		return -ENODATA;
	qsort(d->r, d->nr, sizeof(*d->r), urange_cmp);
	d->counted = calloc(d->nunits, 1);
	return d->counted ? 0 : -ENOMEM;
}

/* The section of that name (the first SECS_MAX looked at), or NULL. */
static Elf_Scn *section_named(Elf *elf, const char *want, GElf_Shdr *sh)
{
	size_t shstrndx, n = 0;
	Elf_Scn *scn = NULL;
	const char *name;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) && n++ < SECS_MAX) {
		if (gelf_getshdr(scn, sh) && (name = elf_strptr(elf, shstrndx, sh->sh_name)) &&
		    !strcmp(name, want))
			return scn;
	}
	return NULL;
}

bool dwlines__altlink(int fd, char *name, size_t name_size, char *build_id, size_t id_size)
{
	const char *p, *nul;
	Elf_Data *data;
	bool found = false;
	GElf_Shdr sh;
	Elf_Scn *scn;
	size_t idlen;
	Elf *elf;

	if (!elf_file__init() || !(elf = elf_begin(fd, ELF_C_READ, NULL)))
		return false;
	scn = section_named(elf, ".gnu_debugaltlink", &sh);
	/* "PATH\0" then the build ID's bytes */
	if (scn && sh.sh_type != SHT_NOBITS && sh.sh_size <= 4096 &&
	    (data = elf_getdata(scn, NULL)) && data->d_buf) {
		p = data->d_buf;
		nul = memchr(p, 0, data->d_size);
		idlen = nul ? data->d_size - (size_t)(nul + 1 - p) : 0;
		if (nul && nul > p && (size_t)(nul - p) < name_size && idlen >= 2 && idlen <= 64 &&
		    2 * idlen < id_size) {
			memcpy(name, p, (size_t)(nul - p) + 1);
			for (size_t i = 0; i < idlen; i++)
				snprintf(build_id + 2 * i, 3, "%02x", (unsigned char)nul[1 + i]);
			found = true;
		}
	}
	elf_end(elf);
	return found;
}

/*
 * The dwz file at alt_fd into d, under the same bounds as the main file's
 * (its bytes added to *bytes): 0, or -errno. libdw never looks for it
 * itself: it would open the path the file names, as root, outside the
 * process's root, whatever it is (a FIFO would block the thread).
 */
static int load_alt(struct dwlines *d, int alt_fd, size_t max_bytes, size_t *bytes)
{
	bool info, line;
	size_t b, peak;
	int afd = fcntl(alt_fd, F_DUPFD_CLOEXEC, 3);

	if (afd < 0)
		return -errno;
	d->alt_elf = elf_begin(afd, ELF_C_READ, NULL);
	if (!d->alt_elf) {
		close(afd);
		return -EINVAL;
	}
	b = debug_bytes(d->alt_elf, afd, &info, &line, &peak);
	if (peak == SIZE_MAX || peak > max_bytes || *bytes > max_bytes - peak) {
		elf_cntl(d->alt_elf, ELF_C_FDDONE);
		close(afd);
		return -EFBIG;
	}
	if (!strings_terminated(d->alt_elf) || !hide_unused(d->alt_elf) ||
	    !(d->alt_dw = dwarf_begin_elf(d->alt_elf, DWARF_C_READ, NULL))) {
		elf_cntl(d->alt_elf, ELF_C_FDDONE);
		close(afd);
		return -EINVAL;
	}
	elf_cntl(d->alt_elf, ELF_C_FDDONE);
	close(afd);
	*bytes += b;
	return 0;
}

struct dwlines *dwlines__load(int fd, int alt_fd, size_t max_bytes)
{
	GElf_Shdr alt_sh;
	struct dwlines *d;
	bool info, line;
	size_t bytes, peak, total;
	int err = -ENODATA, dfd;

	if (!elf_file__init()) {
		errno = ENOSYS;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (!d || dfd < 0) {
		err = d ? -errno : -ENOMEM;
		goto fail;
	}
	d->elf = elf_begin(dfd, ELF_C_READ, NULL);
	if (!d->elf) {
		err = -EINVAL;
		goto fail;
	}
	bytes = debug_bytes(d->elf, dfd, &info, &line, &peak);
	total = atomic_load(&total_mem);
	if (peak > max_bytes) {
		err = -EFBIG;
		goto fail;
	}
	if (total > TOTAL_MAX || peak > TOTAL_MAX - total) {
		err = -ENOSPC;
		goto fail;
	}
	if (!info || !line)
		goto fail;
	if (!strings_terminated(d->elf) || !hide_unused(d->elf)) {
		err = -EINVAL;
		goto fail;
	}
	if (section_named(d->elf, ".gnu_debugaltlink", &alt_sh)) {
		/* without its dwz file, names and files would be missing */
		err = alt_fd < 0 ? -ENOENT : load_alt(d, alt_fd, max_bytes, &bytes);
		total = atomic_load(&total_mem);
		if (!err && (total > TOTAL_MAX || bytes > TOTAL_MAX - total))
			err = -ENOSPC;
		if (err)
			goto fail;
	}
	d->dw = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
	if (!d->dw) {
		err = -EINVAL;
		goto fail;
	}
	if (d->alt_dw)
		dwarf_setalt(d->dw, d->alt_dw);
	/* libdw has read every debug section: nothing more from the file. */
	elf_cntl(d->elf, ELF_C_FDDONE);
	close(dfd);
	dfd = -1;
	err = read_units(d);
	if (err)
		goto fail;
	d->mem = sizeof(*d) + bytes + d->nr * sizeof(*d->r) + d->nunits;
	atomic_fetch_add(&total_mem, d->mem);
	atomic_fetch_add(&st_loaded, 1);
	return d;
fail:
	if (err == -EFBIG || err == -ENOSPC)
		atomic_fetch_add(&st_over_limit, 1);
	else
		atomic_fetch_add(&st_failed, 1);
	if (dfd >= 0 && d && d->elf)
		elf_cntl(d->elf, ELF_C_FDDONE);
	dwlines__free(d);
	if (dfd >= 0)
		close(dfd);
	errno = -err;
	return NULL;
}

void dwlines__free(struct dwlines *d)
{
	if (!d)
		return;
	atomic_fetch_sub(&total_mem, d->mem);
	if (d->dw)
		dwarf_end(d->dw);
	if (d->alt_dw)
		dwarf_end(d->alt_dw);
	if (d->alt_elf)
		elf_end(d->alt_elf);
	if (d->elf)
		elf_end(d->elf);
	free(d->r);
	free(d->counted);
	free(d);
}

size_t dwlines__mem_size(const struct dwlines *d)
{
	return d ? d->mem : 0;
}

size_t dwlines__nr_units(const struct dwlines *d)
{
	return d ? d->nunits : 0;
}

/* ---- lookups ---- */

struct walk {
	uint64_t pc;
	unsigned visits;
	Dwarf_Die chain[DWL_FRAMES_MAX]; /* subprogram, then inlined, outer first */
	int n;
	bool cut; /* deeper frames than kept */
};

static bool is_scope(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_with_stmt:
	case DW_TAG_entry_point:
		return true;
	}
	return false;
}

/* Finds the scopes of parent's children that contain pc, outer first.
 * 1 when one did, 0 when none, -errno when the walk was cut off. */
static int walk(struct walk *w, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;
	int r;

	if (depth >= DEPTH_MAX)
		return 0;
	if (dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag;

		if (++w->visits > VISITS_MAX)
			return -E2BIG;
		tag = dwarf_tag(&child);
		if (is_scope(tag)) {
			if (dwarf_haspc(&child, w->pc) <= 0)
				continue;
			if (tag == DW_TAG_subprogram)
				w->n = 0; /* a nested function: its own chain */
			if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
				if (w->n < DWL_FRAMES_MAX)
					w->chain[w->n++] = child;
				else
					w->cut = true;
			}
			r = walk(w, &child, depth + 1);
			return r < 0 ? r : 1;
		}
		if (tag == DW_TAG_namespace || tag == DW_TAG_module) {
			r = walk(w, &child, depth + 1);
			if (r)
				return r;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static const char *attr_string(Dwarf_Die *die, unsigned name)
{
	Dwarf_Attribute a;

	if (!dwarf_attr_integrate(die, name, &a))
		return NULL;
	return dwarf_formstring(&a);
}

static int64_t attr_udata(Dwarf_Die *die, unsigned name, bool *ok)
{
	Dwarf_Attribute a;
	Dwarf_Word v;

	*ok = false;
	if (!dwarf_attr(die, name, &a) || dwarf_formudata(&a, &v) || v > INT32_MAX)
		return 0;
	*ok = true;
	return (int64_t)v;
}

static const struct urange *find_unit(const struct dwlines *d, uint64_t va)
{
	size_t lo = UPPER_BOUND(d->r, d->nr, .lo, va);

	for (size_t i = lo, k = 0; i > 0 && k < WALK_BACK; i--, k++)
		if (va - d->r[i - 1].lo < d->r[i - 1].hi - d->r[i - 1].lo)
			return &d->r[i - 1];
	return NULL;
}

int dwlines__lookup(struct dwlines *d, uint64_t va, struct dwl_frame *out, int max)
{
	const struct urange *u;
	struct walk w;
	Dwarf_Die cu;
	Dwarf_Line *ln;
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	const char *lfile = NULL;
	int lline = 0, r, n = 0;

	if (!d || max <= 0)
		return 0;
	atomic_fetch_add_explicit(&st_lookups, 1, memory_order_relaxed);
	u = find_unit(d, va);
	if (!u)
		return 0;
	if (!d->counted[u->unit] && (d->mem > MEM_MAX || atomic_load(&total_mem) > TOTAL_MAX)) {
		/* libdw would decode one more unit's line table: over budget */
		if (!d->full_logged) {
			atomic_fetch_add(&st_over_limit, 1);
			log_info("dwlines: %zu MiB of DWARF tables for one file, %zu MiB in all: "
				 "no more units decoded",
				 d->mem >> 20, atomic_load(&total_mem) >> 20);
		}
		d->full_logged = true;
		return 0;
	}
	if (!dwarf_offdie(d->dw, u->die_off, &cu))
		return 0;

	ln = dwarf_getsrc_die(&cu, va);
	if (ln) {
		lfile = dwarf_linesrc(ln, NULL, NULL);
		if (dwarf_lineno(ln, &lline) || lline < 0)
			lline = 0;
	}
	if (dwarf_getsrcfiles(&cu, &files, &nfiles))
		files = NULL, nfiles = 0;
	if (!d->counted[u->unit]) {
		Dwarf_Lines *lines;
		size_t nl = 0;

		size_t grown = nfiles * FILE_ENTRY_BYTES;

		d->counted[u->unit] = 1;
		if (!dwarf_getsrclines(&cu, &lines, &nl))
			grown += nl * LINE_ROW_BYTES;
		d->mem += grown;
		atomic_fetch_add(&total_mem, grown);
	}

	memset(&w, 0, sizeof(w));
	w.pc = va;
	r = walk(&w, &cu, 0);
	if (r < 0) {
		atomic_fetch_add_explicit(&st_lookup_errors, 1, memory_order_relaxed);
		w.n = 0; /* a partial chain could be wrong: the line alone */
	}
	if (w.cut || w.n > max)
		w.n = 0; /* deeper than kept: the line alone, never a wrong chain */
	if (!w.n) {
		if (!ln)
			return r < 0 ? r : 0;
		out[0] = (struct dwl_frame){ .file = lfile, .line = lline };
		return 1;
	}
	/* Innermost first: its line is the line table's; each outer frame's is
	 * where the frame inside it was inlined (call_file:call_line). */
	for (int i = w.n - 1; i >= 0 && n < max; i--, n++) {
		Dwarf_Die *die = &w.chain[i];
		struct dwl_frame *f = &out[n];
		int dl = 0;

		memset(f, 0, sizeof(*f));
		f->name = attr_string(die, DW_AT_name);
		f->linkage = attr_string(die, DW_AT_linkage_name);
		if (!f->linkage)
			f->linkage = attr_string(die, DW_AT_MIPS_linkage_name);
		f->decl_file = dwarf_decl_file(die);
		if (!dwarf_decl_line(die, &dl) && dl > 0)
			f->decl_line = dl;
		if (i == w.n - 1) {
			f->file = lfile;
			f->line = lline;
		} else {
			Dwarf_Die *inner = &w.chain[i + 1];
			bool ok;
			int64_t idx = attr_udata(inner, DW_AT_call_file, &ok);

			if (ok && files && (uint64_t)idx < nfiles)
				f->file = dwarf_filesrc(files, (size_t)idx, NULL, NULL);
			f->line = attr_udata(inner, DW_AT_call_line, &ok);
		}
	}
	return n;
}
