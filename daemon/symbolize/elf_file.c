// SPDX-License-Identifier: MIT
/*
 * An ELF file open for its readers (elf_file.h): libelf set up once, the
 * file checked once, its program headers walked once for the PT_LOAD
 * segments, its section infos and build ID read when asked; each walk
 * bounded.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elf_file.h"

#define NOTES_MAX (1u << 20) /* bytes of notes scanned for the build ID */

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_ok;

static void elf_init(void)
{
	elf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

bool elf_file__init(void)
{
	pthread_once(&elf_once, elf_init);
	return elf_ok;
}

void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	free(f->secs);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
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

static void read_build_id(struct elf_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	f->build_id[0] = '\0';
	/* Sections first: a debug file's program headers may point at nothing. */
	while ((scn = elf_file__next_section(f, scn, SHT_NOTE, &sh))) {
		if (sh.sh_size > NOTES_MAX)
			continue;
		if (notes_build_id(elf_getdata(scn, NULL), f->build_id))
			return;
	}
	for (size_t i = 0; i < f->nphdrs; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(f->elf, i, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz ||
		    ph.p_filesz > NOTES_MAX)
			continue;
		d = elf_getdata_rawchunk(f->elf, ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (notes_build_id(d, f->build_id))
			return;
	}
}

static int read_sections(struct elf_file *f)
{
	size_t n;

	if (elf_getshdrnum(f->elf, &n))
		n = 0;
	if (n > ELF_FILE_SECS_MAX)
		n = ELF_FILE_SECS_MAX;
	if (n) {
		f->secs = calloc(n, sizeof(*f->secs));
		if (!f->secs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		Elf_Scn *scn = elf_getscn(f->elf, i);
		GElf_Shdr sh;

		if (scn && gelf_getshdr(scn, &sh)) {
			f->secs[i].addr = sh.sh_addr;
			f->secs[i].size = sh.sh_size;
			f->secs[i].flags = sh.sh_flags;
		}
	}
	f->nsecs = n;
	return 0;
}

/* The PT_LOAD segments among the program headers looked at; none when
 * there are no program headers to read. */
static void read_segments(struct elf_file *f, unsigned flags)
{
	bool in_file = flags & ELF_FILE_SEGS_IN_FILE;

	for (size_t i = 0; i < f->nphdrs && f->nsegs < ELF_FILE_SEGS_MAX; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, i, &ph) || ph.p_type != PT_LOAD ||
		    !(in_file ? ph.p_filesz : ph.p_memsz))
			continue;
		f->segs[f->nsegs++] = (struct elf_seg){ .off = ph.p_offset,
							.filesz = ph.p_filesz,
							.vaddr = ph.p_vaddr,
							.memsz = ph.p_memsz,
							.flags = ph.p_flags };
	}
}

/* What flags take of a file whose ELF header is eh. */
static bool accepted(Elf *elf, const GElf_Ehdr *eh, unsigned flags)
{
	if ((flags & ELF_FILE_X86_64) &&
	    (gelf_getclass(elf) != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	     eh->e_ident[EI_DATA] != ELFDATA2LSB))
		return false;
	return !(flags & ELF_FILE_EXEC) || eh->e_type == ET_EXEC || eh->e_type == ET_DYN;
}

int elf_file__open(struct elf_file *f, int fd, unsigned flags)
{
	size_t nph;
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (!elf_file__init())
		return -ENOSYS;
	if (fstat(fd, &f->st))
		return -errno;
	if (!S_ISREG(f->st.st_mode))
		return -EINVAL;
	f->fd = fd;
	f->scns_max = flags & ELF_FILE_HDRS_64K ? ELF_FILE_HDRS_64K_MAX : SIZE_MAX;
	err = -ENOEXEC;
	f->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &f->eh) ||
	    !accepted(f->elf, &f->eh, flags))
		goto fail;
	if (flags & ELF_FILE_SECTIONS) {
		err = read_sections(f);
		if (err)
			goto fail;
	}
	if (!elf_getphdrnum(f->elf, &nph)) {
		size_t max = flags & ELF_FILE_HDRS_64K ? ELF_FILE_HDRS_64K_MAX : ELF_FILE_PHDRS_MAX;

		f->nphdrs = nph < max ? nph : max;
	}
	read_segments(f, flags);
	if (flags & ELF_FILE_BUILD_ID)
		read_build_id(f);
	return 0;
fail:
	elf_file__close(f);
	return err;
}

Elf_Scn *elf_file__next_section(const struct elf_file *f, Elf_Scn *scn, uint32_t type,
				GElf_Shdr *sh)
{
	while ((scn = elf_nextscn(f->elf, scn)) && elf_ndxscn(scn) < f->scns_max)
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

Elf_Scn *elf_file__find_section_named(const struct elf_file *f, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(f->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(f->elf, scn)) && elf_ndxscn(scn) < f->scns_max) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(f->elf, shstrndx, sh->sh_name); /* bounds-checked */
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

uint64_t elf_file__addr(const struct elf_file *f, uint64_t a, bool to_vaddr)
{
	for (uint32_t i = 0; i < f->nsegs; i++) {
		const struct elf_seg *g = &f->segs[i];
		uint64_t from = to_vaddr ? g->off : g->vaddr, to = to_vaddr ? g->vaddr : g->off;

		if (a >= from && a < from + g->filesz)
			return a - from + to;
	}
	return 0;
}

bool elf_file__last_phdr(const struct elf_file *f, uint32_t type, GElf_Phdr *ph)
{
	bool found = false;

	for (size_t i = 0; i < f->nphdrs; i++) {
		GElf_Phdr p;

		if (gelf_getphdr(f->elf, (int)i, &p) && p.p_type == type) {
			*ph = p;
			found = true;
		}
	}
	return found;
}
