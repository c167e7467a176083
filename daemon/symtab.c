// SPDX-License-Identifier: MIT
/*
 * Function symbols of ELF files: loaded, with their separate debug files and
 * DWARF, and looked up (the cache of them is symtab_cache.c, kernel
 * symbols kallsyms.c, demangling demangle.c).
 *
 * A loaded symtab is one sorted array of 16-byte symbols plus one blob of
 * raw names; demangled names are made on first lookup and kept, since a
 * profile touches few of a binary's functions and demangling all of them up
 * front would cost several times the whole load.
 *
 * Every input is hostile: each size, offset, count and string read from a
 * file is checked before use, and every allocation is bounded by a cap or
 * by the file's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dwlines.h"
#include "log.h"
#include "safe_open.h"
#include "symtab.h"
#include "symtab_int.h"
#include "elf_seg.h"

#define SYMS_MAX (8u << 20)        /* symbols kept per file */
#define SYM_NAME_MAX 4096          /* longer names are cut (and stay mangled) */
#define STRTAB_MAX (1u << 30)      /* a larger string table is ignored */
#define NAMES_MAX (1u << 30)       /* the name blob of one file */
#define SEGS_MAX 64                /* PT_LOAD segments used */
#define SECS_MAX (1u << 20)        /* section headers looked at */
#define NOTES_MAX (1u << 20)       /* bytes of notes scanned for the build ID */
#define DEBUGLINK_MAX 255          /* bytes of a .gnu_debuglink file name */
#define CRC_FILE_MAX (1ULL << 30)  /* a larger debug file is not checksummed */
#define WALK_BACK 4                /* earlier symbols tried for nested ones */
#define DEMANGLED_MAX (16u << 20)     /* demangled names kept per file */

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_ok;

static void elf_init(void)
{
	elf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* ---- loading ---- */

/* Files whose symbols were cut at SYMS_MAX or NAMES_MAX, for the status. */
static atomic_uint_fast64_t st_syms_over_limit;

uint64_t symtab__over_limit(void)
{
	return atomic_load(&st_syms_over_limit);
}

/* Counted always; logged at the first and at each power of two, so that a
 * user loading many such files cannot flood the log. */
static void count_over_limit(const char *path, uint32_t kept)
{
	uint64_t n = atomic_fetch_add(&st_syms_over_limit, 1) + 1;

	if (!(n & (n - 1)))
		log_info("symtab: %s: symbol table cut at %u symbols (limit %u symbols, %u MiB of "
			 "names); %" PRIu64 " files cut so far", path ? path : "?", kept, SYMS_MAX,
			 NAMES_MAX >> 20, n);
}

/* A symbol while loading: name is a table number (bit 31) and an offset. */
struct tsym {
	uint64_t start;
	uint64_t size; /* or, with RANK_IMPLICIT, the room up to its section's end */
	uint32_t name;
	uint16_t len;
	uint8_t rank;
	uint32_t idx; /* in its symbol table */
};

#define NAME_TBL 0x80000000u
#define RANK_SIZED 0x10u
#define RANK_IMPLICIT 0x20u /* not compared: lower bits order the choice */

struct strtab {
	const char *p;
	size_t len;
};

struct secinfo {
	uint64_t addr, size, flags;
};

/* One opened ELF file and what we need from its section headers. */
struct elfi {
	int fd;
	Elf *elf;
	GElf_Ehdr eh;
	struct secinfo *secs;
	size_t nsecs;
	char build_id[2 * BUILD_ID_MAX + 1];
};

struct loader {
	struct tsym *v;
	size_t n;
	struct strtab tabs[2]; /* 0: .symtab (this file or its debug file), 1: .dynsym */
	const struct elf_seg *segs;
	uint32_t nsegs;
	bool capped;
};

static void elfi_close(struct elfi *e)
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

static int elfi_open(struct elfi *e, int fd)
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

static Elf_Scn *find_section(const struct elfi *e, uint32_t type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

static Elf_Scn *find_section_named(const struct elfi *e, const char *name, GElf_Shdr *sh)
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
static long name_len(const struct strtab *t, uint32_t off)
{
	size_t rem, n;
	const char *q;

	if (off >= t->len)
		return -1;
	rem = t->len - off;
	n = rem < SYM_NAME_MAX + 1 ? rem : SYM_NAME_MAX + 1;
	q = memchr(t->p + off, '\0', n);
	if (q)
		return q > t->p + off ? q - (t->p + off) : -1;
	return rem > SYM_NAME_MAX ? SYM_NAME_MAX : -1;
}

static const struct elf_seg *seg_of_vaddr(const struct loader *ld, uint64_t va, bool exec)
{
	for (uint32_t i = 0; i < ld->nsegs; i++) {
		const struct elf_seg *g = &ld->segs[i];

		if ((!exec || (g->flags & PF_X)) && va - g->vaddr < g->memsz)
			return g;
	}
	return NULL;
}

static uint32_t bind_rank(unsigned bind)
{
	return bind == STB_GLOBAL || bind == STB_GNU_UNIQUE ? 2 : bind == STB_WEAK ? 1 : 0;
}

/* Adds the function symbols of e's first section of sh_type as table tbl. */
static int read_symbols(struct loader *ld, struct elfi *e, uint32_t sh_type, unsigned tbl)
{
	bool is64 = gelf_getclass(e->elf) == ELFCLASS64;
	size_t entsz = is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	struct strtab *st = &ld->tabs[tbl];
	GElf_Shdr sh, strsh;
	Elf_Scn *scn, *strscn;
	Elf_Data *d, *sd;
	size_t count, room;
	struct tsym *nv;

	scn = find_section(e, sh_type, &sh);
	if (!scn)
		return 0;
	if (sh.sh_link == 0 || sh.sh_link >= e->nsecs || !(strscn = elf_getscn(e->elf, sh.sh_link)) ||
	    !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB ||
	    strsh.sh_size > STRTAB_MAX)
		return 0;
	/* Check the sizes before libelf reads anything into memory. */
	if (sh.sh_entsize != entsz || sh.sh_size / entsz > 2ULL * SYMS_MAX)
		return 0;
	d = elf_getdata(scn, NULL);
	sd = elf_getdata(strscn, NULL);
	if (!d || !d->d_buf || !sd || !sd->d_buf)
		return 0;
	st->p = sd->d_buf;
	st->len = sd->d_size;
	count = d->d_size / entsz;

	room = SYMS_MAX - ld->n;
	nv = realloc(ld->v, (ld->n + (count < room ? count : room) + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ld->v = nv;

	for (size_t i = 1; i < count; i++) { /* entry 0 is always null */
		uint64_t value, size, limit = 0;
		unsigned type, bind, shndx;
		const struct secinfo *sec = NULL;
		const char *name;
		uint32_t rank;
		long nl;
		uint32_t noff;

		if (is64) {
			const Elf64_Sym *s = (const Elf64_Sym *)d->d_buf + i;

			value = s->st_value;
			size = s->st_size;
			type = ELF64_ST_TYPE(s->st_info);
			bind = ELF64_ST_BIND(s->st_info);
			shndx = s->st_shndx;
			noff = s->st_name;
		} else {
			const Elf32_Sym *s = (const Elf32_Sym *)d->d_buf + i;

			value = s->st_value;
			size = s->st_size;
			type = ELF32_ST_TYPE(s->st_info);
			bind = ELF32_ST_BIND(s->st_info);
			shndx = s->st_shndx;
			noff = s->st_name;
		}
		if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
			continue;
		if (shndx == SHN_UNDEF || !value || noff >= NAME_TBL)
			continue;
		if (shndx < e->nsecs && shndx < SHN_LORESERVE)
			sec = &e->secs[shndx];
		if (type == STT_NOTYPE) {
			/* Assembly labels: only in code, and not local or mapping ones. */
			if (!sec || !(sec->flags & SHF_EXECINSTR))
				continue;
		} else if (sec && !(sec->flags & SHF_ALLOC)) {
			continue;
		}
		nl = name_len(st, noff);
		if (nl <= 0)
			continue;
		name = st->p + noff;
		if (type == STT_NOTYPE && (name[0] == '$' || (name[0] == '.' && name[1] == 'L')))
			continue;
		if (e->eh.e_machine == EM_ARM && type == STT_FUNC)
			value &= ~1ULL; /* the Thumb bit */

		if (!size) {
			/* Unsized: it reaches at most to its section's (or its
			 * segment's) end, and (later) to the next symbol. */
			if (sec) {
				if (value - sec->addr >= sec->size)
					continue;
				limit = sec->addr + sec->size;
			} else {
				const struct elf_seg *g = seg_of_vaddr(ld, value, true);

				if (!g)
					continue;
				limit = g->vaddr + g->memsz;
			}
			size = limit - value;
			rank = RANK_IMPLICIT;
		} else {
			rank = RANK_SIZED;
		}
		rank |= bind_rank(bind) << 1 | (type != STT_NOTYPE);
		if (ld->n >= SYMS_MAX) {
			ld->capped = true;
			break;
		}
		ld->v[ld->n++] = (struct tsym){ value, size, noff | (tbl ? NAME_TBL : 0), (uint16_t)nl,
						(uint8_t)rank, (uint32_t)i };
	}
	return 0;
}

/*
 * Order by address, then best first: sized, global, typed, larger, from
 * .symtab, and then (as llvm-symbolizer does, which matters for the many
 * aliases identical-code folding leaves) the one listed last.
 */
static int tsym_cmp(const void *a, const void *b)
{
	const struct tsym *x = a, *y = b;
	unsigned rx = x->rank & ~RANK_IMPLICIT, ry = y->rank & ~RANK_IMPLICIT;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if ((x->name & NAME_TBL) != (y->name & NAME_TBL))
		return x->name & NAME_TBL ? 1 : -1;
	return x->idx > y->idx ? -1 : x->idx < y->idx;
}

/*
 * Moves the best of each run of one address (tsym_cmp's first) to the
 * run's front, which is all finish() keeps: one pass, however many aliases
 * a file puts at one address (a quadratic sort of 150,000 of them held the
 * daemon for seconds).
 */
static void best_of_runs(struct tsym *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t best = i, j = i + 1;

		for (; j < n && v[j].start == v[i].start; j++)
			if (tsym_cmp(&v[j], &v[best]) < 0)
				best = j;
		if (best != i) {
			struct tsym t = v[i];

			v[i] = v[best];
			v[best] = t;
		}
		i = j;
	}
}

/*
 * LSD radix sort on the address (11 bits a pass), then the best alias of
 * each address to the front: linear, and several times faster than qsort()
 * on the ~10^5-10^6 symbols of a large binary, which dominates load time.
 * Only each address's first entry is ordered: finish() keeps no other.
 */
static int sort_tsyms(struct tsym *v, size_t n)
{
	enum { BITS = 11, BUCKETS = 1 << BITS };
	struct tsym *tmp, *src = v, *dst, *t;
	uint64_t all_or = 0, all_and = ~0ULL;
	size_t *cnt;

	if (n < 64) {
		if (n)
			qsort(v, n, sizeof(*v), tsym_cmp);
		return 0;
	}
	tmp = malloc(n * sizeof(*tmp));
	cnt = malloc(BUCKETS * sizeof(*cnt));
	if (!tmp || !cnt) {
		free(tmp);
		free(cnt);
		qsort(v, n, sizeof(*v), tsym_cmp); /* O(n log n) too */
		return 0;
	}
	dst = tmp;
	for (size_t i = 0; i < n; i++) {
		all_or |= v[i].start;
		all_and &= v[i].start;
	}
	for (unsigned shift = 0; shift < 64; shift += BITS) {
		size_t sum = 0;

		/* Skip passes over digits that are the same in every key. */
		if (!(((all_or ^ all_and) >> shift) & (BUCKETS - 1)))
			continue;
		memset(cnt, 0, BUCKETS * sizeof(*cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(src[i].start >> shift) & (BUCKETS - 1)]++;
		for (size_t b = 0; b < BUCKETS; b++) {
			size_t c = cnt[b];

			cnt[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i].start >> shift) & (BUCKETS - 1)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(cnt);
	best_of_runs(v, n);
	return 0;
}

static const char *tsym_name(const struct loader *ld, uint32_t ref)
{
	return ld->tabs[ref & NAME_TBL ? 1 : 0].p + (ref & ~NAME_TBL);
}

/* Sorts, keeps one symbol per address, bounds the unsized ones by their
 * successor and copies the names into s. */
static int finish(struct loader *ld, struct symtab *s)
{
	size_t n = 0, m = 0, total = 0, cap;
	struct tsym *v = ld->v;

	sort_tsyms(v, ld->n);
	for (size_t i = 0; i < ld->n; i++)
		if (!n || v[n - 1].start != v[i].start)
			v[n++] = v[i];
	/* Each name is counted once per address, so this only trips on files
	 * that point many symbols at one long string. */
	cap = 2 * (ld->tabs[0].len + ld->tabs[1].len) + (1u << 20);
	if (cap > NAMES_MAX)
		cap = NAMES_MAX;
	for (size_t i = 0; i < n; i++) {
		struct tsym t = v[i];

		if (t.rank & RANK_IMPLICIT && i + 1 < n && v[i + 1].start - t.start < t.size)
			t.size = v[i + 1].start - t.start;
		if (!t.size)
			continue;
		if (total + t.len + 1 > cap) {
			ld->capped = true;
			break;
		}
		total += t.len + 1;
		v[m++] = t;
	}
	n = m;
	s->syms = malloc((n ? n : 1) * sizeof(*s->syms));
	s->names = malloc(total ? total : 1);
	if (!s->syms || !s->names)
		return -ENOMEM;
	total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = v[i].len;

		memcpy(s->names + total, tsym_name(ld, v[i].name), len);
		s->names[total + len] = '\0';
		s->syms[i].start = v[i].start;
		s->syms[i].size = v[i].size > UINT32_MAX ? UINT32_MAX : (uint32_t)v[i].size;
		s->syms[i].name = (uint32_t)total;
		total += len + 1;
	}
	s->nsyms = (uint32_t)n;
	s->names_len = total;
	return 0;
}

static int read_segments(struct elfi *e, struct symtab *s)
{
	struct elf_seg segs[SEGS_MAX];
	size_t nph;

	if (elf_getphdrnum(e->elf, &nph))
		return -ENOEXEC;

	for (size_t i = 0; i < nph && i < SECS_MAX && s->nsegs < SEGS_MAX; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, i, &ph) || ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		segs[s->nsegs++] = (struct elf_seg){ ph.p_offset, ph.p_filesz, ph.p_vaddr, ph.p_memsz,
						 ph.p_flags };
	}
	if (!s->nsegs)
		return -ENOEXEC;
	s->segs = malloc(s->nsegs * sizeof(*s->segs));
	if (!s->segs)
		return -ENOMEM;
	memcpy(s->segs, segs, s->nsegs * sizeof(*s->segs));
	return 0;
}

/* ---- separate debug info ---- */

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
static bool try_path(struct elfi *dbg, const char *root, const char *path, const struct elfi *exe,
		     const struct stat *mst, const struct debuglink *dl)
{
	if (!is_host_root(root) && try_debug_file(dbg, safe_open(root, path), exe, mst, dl))
		return true;
	return try_debug_file(dbg, safe_open(host_root, path), exe, mst, dl);
}

static bool find_debug_file(struct elfi *dbg, const struct elfi *exe, const struct stat *mst,
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

/* ---- DWARF ---- */

/* Keeps fd open in s when it holds loadable DWARF; true when it has some. */
static bool keep_dwarf_fd(struct symtab *s, int fd, const char *path)
{
	size_t bytes;

	if (fd < 0 || !dwlines__probe(fd, &bytes))
		return false;
	if (bytes > DWL_BYTES_MAX) {
		dwlines__count_over_limit();
		log_info("symtab: %s: debug info too large or unreadable (%zu MiB, limit %u MiB): "
			 "no line numbers", path ? path : "?", bytes == SIZE_MAX ? 0 : bytes >> 20,
			 DWL_BYTES_MAX >> 20);
		return true;
	}
	s->dw_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return true;
}

/* Where the file's DWARF is: in it, in the debug file found for its
 * symbols, else in /usr/lib/debug/.build-id/xx/yyyy.debug (one open). */
static void find_dwarf(struct symtab *s, int fd, const struct elfi *exe, const struct elfi *dbg,
		       const struct stat *st, const char *root, const char *path)
{
	struct elfi d2 = { .fd = -1 };
	char buf[PATH_MAX];

	if (keep_dwarf_fd(s, fd, path))
		return;
	if (dbg->elf) {
		keep_dwarf_fd(s, dbg->fd, path);
		return;
	}
	if (strlen(exe->build_id) < 4)
		return;
	snprintf(buf, sizeof(buf), "/usr/lib/debug/.build-id/%.2s/%s.debug", exe->build_id,
		 exe->build_id + 2);
	if (try_path(&d2, root, buf, exe, st, NULL))
		keep_dwarf_fd(s, d2.fd, path);
	elfi_close(&d2);
}

bool symtab__has_lines(const struct symtab *cs)
{
	struct symtab *s = (struct symtab *)cs; /* only the lazy DWARF changes */
	struct dwlines *d;

	if (!s)
		return false;
	d = atomic_load_explicit(&s->dw, memory_order_acquire);
	if (d || atomic_load_explicit(&s->dw_tried, memory_order_acquire))
		return d != NULL;
	pthread_mutex_lock(&s->dw_lock);
	if (!atomic_load_explicit(&s->dw_tried, memory_order_relaxed)) {
		if (s->dw_fd >= 0) {
			d = dwlines__load(s->dw_fd, DWL_BYTES_MAX);
			if (!d && errno == EFBIG)
				log_info("symtab: %s: debug info over %u MiB: no line numbers", s->path,
					 DWL_BYTES_MAX >> 20);
			else if (!d && errno != ENODATA)
				log_debug("symtab: %s: no line numbers: %s", s->path, strerror(errno));
			close(s->dw_fd);
			s->dw_fd = -1;
			if (d) {
				atomic_store_explicit(&s->dw_mem, dwlines__mem_size(d), memory_order_relaxed);
				atomic_store_explicit(&s->dw, d, memory_order_release);
			}
		}
		atomic_store_explicit(&s->dw_tried, true, memory_order_release);
	}
	d = atomic_load_explicit(&s->dw, memory_order_relaxed);
	pthread_mutex_unlock(&s->dw_lock);
	return d != NULL;
}

bool symtab__lines_ready(const struct symtab *s)
{
	return s && atomic_load_explicit(&s->dw, memory_order_acquire);
}

/* Whether the file's DWARF has yet to be tried (then it may have lines). */
bool symtab__lines_pending(const struct symtab *s)
{
	return s->dw_fd >= 0 && !atomic_load_explicit(&s->dw_tried, memory_order_acquire);
}

/* name demangled into out->buf, or NULL. */
static const char *frame_demangle(struct sym_frames *out, const char *linkage)
{
	char *d = demangle(linkage);
	const char *r = NULL;
	size_t len;

	if (!d)
		return NULL;
	len = strlen(d) + 1;
	if (len <= sizeof(out->buf) - out->used) {
		r = memcpy(out->buf + out->used, d, len);
		out->used += len;
	}
	free(d);
	return r;
}

int symtab__lookup_frames(const struct symtab *cs, uint64_t file_offset, struct sym_frames *out)
{
	struct symtab *s = (struct symtab *)cs;
	struct dwl_frame df[DWL_FRAMES_MAX];
	struct sym_result sym;
	struct dwlines *d;
	int k;

	out->n = 0;
	out->used = 0;
	if (symtab__lookup(s, file_offset, &sym))
		return -ENOENT;
	out->start = sym.start;
	out->vaddr = sym.vaddr;
	out->f[0] = (struct sym_frame){ .name = sym.name, .raw_name = sym.raw_name };
	out->n = 1;
	if (!symtab__lines_ready(s) && atomic_load_explicit(&s->dw_queued, memory_order_acquire))
		return 0; /* the thread is loading them: not now */
	if (!symtab__has_lines(s))
		return 0;
	d = atomic_load_explicit(&s->dw, memory_order_acquire);
	pthread_mutex_lock(&s->dw_lock);
	k = dwlines__lookup(d, sym.vaddr, df, DWL_FRAMES_MAX < SYM_FRAMES_MAX ? DWL_FRAMES_MAX : SYM_FRAMES_MAX);
	atomic_store_explicit(&s->dw_mem, dwlines__mem_size(d), memory_order_relaxed);
	pthread_mutex_unlock(&s->dw_lock);
	if (k <= 0)
		return 0;
	for (int i = 0; i < k; i++) {
		struct sym_frame *f = &out->f[i];

		if (i == k - 1) {
			/* the function the code is in: the symbol's name */
			f->name = sym.name;
			f->raw_name = sym.raw_name;
		} else {
			const char *raw = df[i].linkage ? df[i].linkage : df[i].name;
			const char *dem = df[i].linkage ? frame_demangle(out, df[i].linkage) : NULL;

			f->raw_name = raw ? raw : "??";
			f->name = dem ? dem : df[i].name ? df[i].name : f->raw_name;
		}
		f->file = df[i].file;
		f->line = df[i].line;
		f->decl_file = df[i].decl_file;
		f->decl_line = df[i].decl_line;
	}
	out->n = (unsigned)k;
	return 0;
}

void symtab__dwarf_stats(struct symtab_dwarf_stats *st)
{
	struct dwlines_stats d;

	dwlines__stats(&d);
	*st = (struct symtab_dwarf_stats){ d.loaded, d.failed, d.over_limit, d.lookups, d.lookup_errors };
}

/* ---- the symtab ---- */

struct symtab *symtab__load(int fd, const char *root, const char *path)
{
	struct elfi exe = { .fd = -1 }, dbg = { .fd = -1 };
	struct loader ld = { 0 };
	bool skip_dynsym = false;
	struct symtab *s;
	struct stat st;
	GElf_Shdr sh, dsh;
	int err, dfd;

	pthread_once(&elf_once, elf_init);
	if (!elf_ok) {
		errno = ENOSYS;
		return NULL;
	}
	if (elf_file_check(fd, &st))
		return NULL;
	/* libelf reads through its own descriptor, which elfi_close() closes. */
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(dfd);
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->dem_lock, NULL);
	pthread_mutex_init(&s->dw_lock, NULL);
	s->dw_fd = -1;
	err = elfi_open(&exe, dfd);
	if (err)
		goto fail;
	err = read_segments(&exe, s);
	if (err)
		goto fail;
	memcpy(s->build_id, exe.build_id, sizeof(s->build_id));
	ld.segs = s->segs;
	ld.nsegs = s->nsegs;

	if (find_section(&exe, SHT_SYMTAB, &sh)) {
		err = read_symbols(&ld, &exe, SHT_SYMTAB, 0);
		/* Linkers write every dynamic symbol into .symtab too, so a
		 * .symtab at least as long as .dynsym holds them all; reading
		 * .dynsym as well would add a third to a large file's load. */
		if (find_section(&exe, SHT_DYNSYM, &dsh) && dsh.sh_size <= sh.sh_size)
			skip_dynsym = true;
	} else if (find_debug_file(&dbg, &exe, &st, root, path)) {
		err = read_symbols(&ld, &dbg, SHT_SYMTAB, 0);
	}
	if (!err && !skip_dynsym)
		err = read_symbols(&ld, &exe, SHT_DYNSYM, 1);
	if (!err)
		err = finish(&ld, s);
	if (err)
		goto fail;
	if (ld.capped)
		count_over_limit(path, s->nsyms);
	s->path = strdup(path ? path : "");
	if (!s->path) {
		err = -ENOMEM;
		goto fail;
	}
	s->mem = sizeof(*s) + s->nsyms * sizeof(*s->syms) + s->names_len +
		 s->nsegs * sizeof(*s->segs) + strlen(s->path) + 1;
	if (s->nsyms)
		find_dwarf(s, fd, &exe, &dbg, &st, root, path);
	free(ld.v);
	elfi_close(&dbg);
	elfi_close(&exe);
	return s;
fail:
	free(ld.v);
	elfi_close(&dbg);
	elfi_close(&exe); /* closes dfd: elfi_open() took it */
	symtab__put(s);
	errno = -err;
	return NULL;
}

struct symtab *symtab__get(struct symtab *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void symtab__put(struct symtab *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	while (s->arena) {
		struct arena *a = s->arena;

		s->arena = a->next;
		free(a);
	}
	free((void *)s->dem);
	pthread_mutex_destroy(&s->dem_lock);
	dwlines__free(s->dw);
	if (s->dw_fd >= 0)
		close(s->dw_fd);
	pthread_mutex_destroy(&s->dw_lock);
	free(s->syms);
	free(s->names);
	free(s->segs);
	free(s->path);
	free(s);
}

const char *symtab__build_id(const struct symtab *s)
{
	return s->build_id;
}

const char *symtab__path(const struct symtab *s)
{
	return s->path ? s->path : "";
}

bool symtab__has_functions(const struct symtab *s)
{
	return s->nsyms > 0;
}

size_t symtab__nr_symbols(const struct symtab *s)
{
	return s->nsyms;
}

size_t symtab__mem_size(const struct symtab *s)
{
	return s->mem + atomic_load_explicit(&s->dem_mem, memory_order_relaxed) +
	       atomic_load_explicit(&s->dw_mem, memory_order_relaxed);
}


/* A copy of d in s's arena (called with dem_lock held), or NULL. */
static const char *arena_dup(struct symtab *s, const char *d)
{
	size_t len = strlen(d) + 1;
	struct arena *a = s->arena;
	char *p;

	if (!a || a->cap - a->used < len) {
		/* Chunks grow so that a file with three C++ frames stays small. */
		size_t cap = a ? (a->cap < (256u << 10) ? a->cap * 2 : a->cap) : 4096 - sizeof(*a);

		if (cap < len)
			cap = len;
		if (s->arena_bytes + cap > DEMANGLED_MAX) {
			if (!s->arena_full_logged)
				log_debug("symtab: %s: %u MiB of demangled names, keeping the rest mangled",
					  s->path, DEMANGLED_MAX >> 20);
			s->arena_full_logged = true;
			return NULL;
		}
		s->arena_bytes += cap;
		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->next = s->arena;
		a->used = 0;
		a->cap = cap;
		s->arena = a;
		atomic_fetch_add_explicit(&s->dem_mem, sizeof(*a) + cap, memory_order_relaxed);
	}
	p = a->data + a->used;
	memcpy(p, d, len);
	a->used += len;
	return p;
}

static const char *demangled_name(const struct symtab *cs, uint32_t idx, const char *raw)
{
	struct symtab *s = (struct symtab *)cs; /* only the lazy names change */
	dem_slot *dem = atomic_load_explicit(&s->dem, memory_order_acquire);
	const char *n;
	char *d;

	if (raw[0] != '_' || raw[1] != 'Z')
		return raw; /* C, or Rust v0 which demangle() leaves alone */
	if (dem && (n = atomic_load_explicit(&dem[idx], memory_order_acquire)))
		return n;
	pthread_mutex_lock(&s->dem_lock);
	dem = atomic_load_explicit(&s->dem, memory_order_relaxed);
	if (!dem) {
		dem = calloc(s->nsyms, sizeof(*dem));
		if (!dem) {
			pthread_mutex_unlock(&s->dem_lock);
			return raw;
		}
		atomic_fetch_add_explicit(&s->dem_mem, s->nsyms * sizeof(*dem), memory_order_relaxed);
		atomic_store_explicit(&s->dem, dem, memory_order_release);
	}
	n = atomic_load_explicit(&dem[idx], memory_order_relaxed);
	if (!n) {
		d = s->arena_full_logged ? NULL : demangle(raw);
		n = d ? arena_dup(s, d) : raw;
		free(d);
		if (n)
			atomic_store_explicit(&dem[idx], n, memory_order_release);
		else
			n = raw; /* out of memory or over budget: mangled this time */
	}
	pthread_mutex_unlock(&s->dem_lock);
	return n;
}

int symtab__lookup(const struct symtab *s, uint64_t file_offset, struct sym_result *res)
{
	const struct sym *v;
	uint64_t va;
	size_t lo = 0, hi;

	if (!s || !s->nsyms || !elf_seg__off_to_vaddr(s->segs, s->nsegs, file_offset, &va))
		return -ENOENT;
	v = s->syms;
	hi = s->nsyms;
	while (lo < hi) { /* first symbol above va */
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].start <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest below, else a larger one it is nested in. */
	for (size_t i = lo, k = 0; i > 0 && k < WALK_BACK; i--, k++) {
		const struct sym *y = &v[i - 1];

		if (va - y->start < y->size) {
			res->raw_name = s->names + y->name;
			res->name = demangled_name(s, (uint32_t)(i - 1), res->raw_name);
			res->start = y->start;
			res->vaddr = va;
			return 0;
		}
	}
	return -ENOENT;
}

