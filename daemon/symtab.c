// SPDX-License-Identifier: MIT
/*
 * Function symbols of ELF files, kernel symbols from kallsyms, demangling.
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

#include "clock.h"
#include "dwlines.h"
#include "hashtab.h"
#include "loader.h"
#include "log.h"
#include "safe_open.h"
#include "symtab.h"
#include "elf_seg.h"

#define SYMS_MAX (8u << 20)        /* symbols kept per file */
#define SYM_NAME_MAX 4096          /* longer names are cut (and stay mangled) */
#define STRTAB_MAX (1u << 30)      /* a larger string table is ignored */
#define NAMES_MAX (1u << 30)       /* the name blob of one file */
#define SEGS_MAX 64                /* PT_LOAD segments used */
#define SECS_MAX (1u << 20)        /* section headers looked at */
#define NOTES_MAX (1u << 20)       /* bytes of notes scanned for the build ID */
#define BUILD_ID_MAX 64            /* bytes */
#define DEBUGLINK_MAX 255          /* bytes of a .gnu_debuglink file name */
#define CRC_FILE_MAX (1ULL << 30)  /* a larger debug file is not checksummed */
#define WALK_BACK 4                /* earlier symbols tried for nested ones */
#define DEMANGLE_IN_MAX 4096
#define DEMANGLE_OUT_MAX 16384
#define DEMANGLE_BOUND_MAX (8u << 20) /* see demangle_bound() */
#define DEMANGLED_MAX (16u << 20)     /* demangled names kept per file */
#define KSYMS_MAX (8u << 20)
#define KSYM_EXTENT_MAX (1u << 20) /* no kernel function is larger */

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct sym {
	uint64_t start;
	uint32_t size;
	uint32_t name; /* offset into names */
};

/* Demangled names live in chunks that never move: lookups hand out pointers. */
struct arena {
	struct arena *next;
	size_t used, cap;
	char data[];
};

typedef const char *_Atomic dem_slot;

struct symtab {
	atomic_int refs;
	uint32_t nsyms, nsegs;
	struct sym *syms;
	char *names;
	size_t names_len;
	struct elf_seg *segs;
	char *path;
	size_t mem;             /* as loaded */
	atomic_size_t dem_mem;  /* the demangled names since */
	char build_id[2 * BUILD_ID_MAX + 1];
	/*
	 * Lookups take a const symtab, but demangled names are made on first
	 * use: dem[i] is symbol i's (or its raw name when it does not
	 * demangle), NULL until then. Readers need no lock; writers take it.
	 */
	pthread_mutex_t dem_lock;
	dem_slot *_Atomic dem;
	struct arena *arena;
	size_t arena_bytes;
	bool arena_full_logged;
	/*
	 * DWARF: dw_fd is the file that holds it, open until the first
	 * symtab__has_lines() loads it (under dw_lock, as every lookup). When
	 * the cache's thread has been asked to (dw_queued), lookups do not
	 * wait for it: they go without lines until it is done (dw_tried).
	 */
	pthread_mutex_t dw_lock;
	int dw_fd;
	atomic_bool dw_tried, dw_queued;
	struct dwlines *_Atomic dw;
	atomic_size_t dw_mem;
};

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
static bool lines_pending(const struct symtab *s)
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

/* ---- the cache ---- */

/* Loads waiting for the loader thread at most; more are put off (EBUSY). */
#define SYM_QUEUE_MAX 64

struct centry {
	struct symtab_key key;
	struct symtab *s; /* NULL: the file failed to load with err, or loads */
	int err;
	bool loading; /* in the loader thread: neither counted nor evicted */
	/* Loaded in the thread, and not yet asked for since: kept for the
	 * mapping that waits for it (SETTLED_KEEP_NS at most), or a file
	 * over the budget on its own would be evicted as soon as it is in,
	 * and loaded again, for ever. */
	uint64_t settled_ns;
	size_t bytes;
	struct centry *prev, *next; /* LRU list, most recent first */
};

struct symtab_cache {
	pthread_mutex_t lock;
	struct hashtab ht;
	struct centry lru; /* sentinel */
	size_t max_files, max_bytes, bytes;
	struct loader *ld; /* NULL: loads run in symtab_cache__get */
	/* DWARF in a thread of its own: libc6-dbg's takes a second under
	 * ASan, and symbols must not queue behind it. */
	struct loader *lines_ld;
	struct symtab_cache_stats st;
};

/*
 * A file for the loader thread to load: it reads fd (and the debug files
 * found from root and path) and writes s and err, nothing else.
 */
struct sym_job {
	struct loader_job job;
	struct symtab_key key; /* its entry, found again when it is done */
	int fd;
	char *root, *path;
	struct symtab *s; /* loaded; or, for a lines job, the symtab whose DWARF it loads */
	int err;
	bool lines;
};

static bool centry_eq(const void *item, const void *key)
{
	return !memcmp(&((const struct centry *)item)->key, key, sizeof(struct symtab_key));
}

struct symtab_cache *symtab_cache__new(size_t max_files)
{
	struct symtab_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->lru.prev = c->lru.next = &c->lru;
	c->max_files = max_files ? max_files : 1;
	c->max_bytes = SIZE_MAX;
	return c;
}

static void lru_unlink(struct centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push_front(struct symtab_cache *c, struct centry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void cache_drop(struct symtab_cache *c, struct centry *e)
{
	hashtab__remove(&c->ht, hash_bytes(&e->key, sizeof(e->key), 0), centry_eq, &e->key);
	lru_unlink(e);
	c->bytes -= e->bytes;
	c->st.files--;
	symtab__put(e->s);
	free(e);
}

/* Another reference than the cache's: a mapping still uses the file. */
static bool entry_held(const struct centry *e)
{
	return e->s && atomic_load_explicit(&e->s->refs, memory_order_relaxed) > 1;
}

/* Evicts from the cold end, but keeps the most recent file even when it
 * alone is over budget: reloading it on every use would be worse. Files
 * being loaded stay: their loads would only start again. Files a mapping
 * holds stay too: dropping them frees nothing, and the next process that
 * maps one would load a second copy (whose DWARF the total limit refuses);
 * they go to the warm end, being in use, and a pass looks at TRIM_STEPS
 * entries at most, since held files can keep the cache over its budget. */
#define TRIM_STEPS 64
#define SETTLED_KEEP_NS (10ull * 1000000000)

static void cache_trim(struct symtab_cache *c)
{
	struct centry *e = c->lru.prev, *newest = c->lru.next;

	for (unsigned steps = 0; (c->st.files > c->max_files || c->bytes > c->max_bytes) &&
				 e != &c->lru && e != newest && steps < TRIM_STEPS;
	     steps++) {
		struct centry *prev = e->prev;

		if (entry_held(e) || (e->settled_ns && mono_ns() - e->settled_ns < SETTLED_KEEP_NS)) {
			lru_unlink(e);
			lru_push_front(c, e);
		} else if (!e->loading) {
			cache_drop(c, e);
			c->st.evictions++;
		}
		e = prev;
	}
}

static void job_drop(struct loader_job *job)
{
	struct sym_job *j = (struct sym_job *)job;

	if (j->fd >= 0)
		close(j->fd);
	symtab__put(j->s);
	free(j->root);
	free(j->path);
	free(j);
}

void symtab_cache__free(struct symtab_cache *c)
{
	if (!c)
		return;
	loader__free(c->ld, job_drop);
	loader__free(c->lines_ld, job_drop);
	while (c->lru.next != &c->lru)
		cache_drop(c, c->lru.next);
	hashtab__free(&c->ht);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void symtab_cache__set_max_bytes(struct symtab_cache *c, size_t max_bytes)
{
	pthread_mutex_lock(&c->lock);
	c->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
	cache_trim(c);
	pthread_mutex_unlock(&c->lock);
}

/* Failures that say something about the file, not about us right now. */
static bool err_is_permanent(int err)
{
	return err == ENOEXEC || err == EINVAL;
}

static struct centry *entry_find(struct symtab_cache *c, const struct symtab_key *key)
{
	return hashtab__find(&c->ht, hash_bytes(key, sizeof(*key), 0), centry_eq, key);
}

/* Counts e as it is now (demangled names and DWARF grow after the load). */
static void entry_recount(struct symtab_cache *c, struct centry *e)
{
	size_t nb = sizeof(*e) + (e->s ? symtab__mem_size(e->s) : 0);

	c->bytes += nb - e->bytes;
	e->bytes = nb;
}

/* A hit: e's symtab (a new reference), or NULL + errno its error. */
static struct symtab *entry_use(struct symtab_cache *c, struct centry *e)
{
	c->st.hits++;
	e->settled_ns = 0;
	lru_unlink(e);
	lru_push_front(c, e);
	entry_recount(c, e);
	cache_trim(c); /* e is the most recent: it stays */
	if (!e->s) {
		errno = e->err ? e->err : ENOENT;
		return NULL;
	}
	return symtab__get(e->s);
}

/* A new entry for key at the front, holding s (taken) or err. */
static struct centry *entry_add(struct symtab_cache *c, const struct symtab_key *key,
				struct symtab *s, int err)
{
	struct centry *e = calloc(1, sizeof(*e));

	if (!e || hashtab__insert(&c->ht, hash_bytes(key, sizeof(*key), 0), e)) {
		free(e);
		return NULL;
	}
	e->key = *key;
	e->s = s;
	e->err = err;
	e->bytes = sizeof(*e);
	c->bytes += e->bytes;
	c->st.files++;
	lru_push_front(c, e);
	return e;
}

static int key_of(struct symtab_cache *c, int fd, struct symtab_key *key)
{
	struct stat st;

	if (fstat(fd, &st)) {
		int err = errno;

		pthread_mutex_lock(&c->lock);
		c->st.failures++;
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	*key = (struct symtab_key){ st.st_dev, st.st_ino, (uint64_t)st.st_size,
				    (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec };
	return 0;
}

/* ---- the loader thread ---- */

static void job_run(struct loader_job *job)
{
	struct sym_job *j = (struct sym_job *)job;

	if (j->lines) {
		symtab__has_lines(j->s);
		return;
	}
	j->s = symtab__load(j->fd, j->root, j->path);
	j->err = j->s ? 0 : errno;
	close(j->fd);
	j->fd = -1;
}

int symtab_cache__start_loader(struct symtab_cache *c)
{
	if (c->ld)
		return 0;
	c->ld = loader__new("pprofd-sym", SYM_QUEUE_MAX);
	if (c->ld)
		c->lines_ld = loader__new("pprofd-dwarf", SYM_QUEUE_MAX);
	if (c->ld && !c->lines_ld) {
		int err = errno;

		loader__free(c->ld, job_drop);
		c->ld = NULL;
		errno = err;
	}
	return c->ld ? 0 : -errno;
}

int symtab_cache__fd(const struct symtab_cache *c)
{
	return c->ld ? loader__fd(c->ld) : -1;
}

/* What loading e's file gave goes into e (under the lock); a passing
 * failure drops e, so that the file is tried again. */
static void entry_settle(struct symtab_cache *c, struct centry *e, struct symtab *s, int err)
{
	e->loading = false;
	if (!s) {
		c->st.failures++;
		if (!err_is_permanent(err)) {
			cache_drop(c, e);
			return;
		}
	}
	e->s = s;
	e->err = err;
	e->settled_ns = mono_ns();
	entry_recount(c, e);
	cache_trim(c);
}

/* Lines jobs that are done: their symtabs have them now (or never will). */
static unsigned collect_lines(struct symtab_cache *c)
{
	struct loader_job *list = c->lines_ld ? loader__take(c->lines_ld) : NULL;
	unsigned n = 0;

	while (list) {
		struct loader_job *next = list->next;

		job_drop(list);
		list = next;
		n++;
	}
	return n;
}

unsigned symtab_cache__collect(struct symtab_cache *c)
{
	struct loader_job *list;
	unsigned n = collect_lines(c);

	if (!c->ld || !(list = loader__take(c->ld)))
		return n;
	pthread_mutex_lock(&c->lock);
	for (struct loader_job *l = list; l; l = l->next) {
		struct sym_job *j = (struct sym_job *)l;
		struct centry *e = entry_find(c, &j->key);

		if (e && e->loading) {
			entry_settle(c, e, j->s, j->err);
			j->s = NULL; /* the entry's now */
			n++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	while (list) {
		struct loader_job *next = list->next;

		job_drop(list);
		list = next;
	}
	return n;
}

/* Hands the load of key's file to the thread, under the lock: its entry
 * (loading), or NULL + errno (EBUSY: SYM_QUEUE_MAX loads wait). */
static struct centry *load_start(struct symtab_cache *c, const struct symtab_key *key, int fd,
				 const char *root, const char *path)
{
	struct sym_job *j = calloc(1, sizeof(*j));
	struct centry *e = NULL;
	int err = ENOMEM;

	if (!j)
		goto fail;
	j->job.run = job_run;
	j->key = *key;
	j->root = strdup(root ? root : "/");
	j->path = path ? strdup(path) : NULL;
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0)
		err = errno;
	if (!j->root || (path && !j->path) || j->fd < 0 || !(e = entry_add(c, key, NULL, 0)))
		goto fail;
	e->loading = true;
	if (loader__submit(c->ld, &j->job))
		return e;
	err = EBUSY;
	c->st.deferred++;
	cache_drop(c, e);
fail:
	if (j)
		job_drop(&j->job);
	errno = err;
	return NULL;
}

/* The file's symtab, waiting for its load until deadline (0: not at all);
 * the lock is held at the call and at the return. */
static struct symtab *find_locked(struct symtab_cache *c, const struct symtab_key *key,
				  uint64_t deadline_ns)
{
	for (;;) {
		struct centry *e = entry_find(c, key);

		if (!e) {
			errno = ESTALE;
			return NULL;
		}
		if (!e->loading)
			return entry_use(c, e);
		if (!c->ld || !deadline_ns || mono_ns() >= deadline_ns) {
			errno = EAGAIN;
			return NULL;
		}
		pthread_mutex_unlock(&c->lock);
		if (loader__wait(c->ld, deadline_ns))
			symtab_cache__collect(c);
		pthread_mutex_lock(&c->lock);
	}
}

struct symtab *symtab_cache__find(struct symtab_cache *c, const struct symtab_key *key,
				  uint64_t deadline_ns)
{
	struct symtab *s;
	int err;

	pthread_mutex_lock(&c->lock);
	s = find_locked(c, key, deadline_ns);
	err = errno;
	pthread_mutex_unlock(&c->lock);
	if (!s)
		errno = err;
	return s;
}

static struct symtab *cache_get(struct symtab_cache *c, int fd, const char *root, const char *path,
				struct symtab_key *key, bool wait)
{
	struct symtab *s = NULL;
	int err;

	err = key_of(c, fd, key);
	if (err) {
		errno = err;
		return NULL;
	}
	/* Loading under the lock keeps two threads from loading one file twice. */
	pthread_mutex_lock(&c->lock);
	if (entry_find(c, key)) {
		s = find_locked(c, key, wait ? UINT64_MAX : 0);
		goto out;
	}
	c->st.misses++;
	if (c->ld && !wait) {
		if (load_start(c, key, fd, root, path))
			errno = EAGAIN;
		goto out;
	}
	s = symtab__load(fd, root, path);
	err = s ? 0 : errno;
	if (!s) {
		c->st.failures++;
		if (!err_is_permanent(err))
			goto out;
	}
	if (entry_add(c, key, symtab__get(s), err))
		cache_trim(c);
	else
		symtab__put(s); /* the entry's reference */
out:
	err = errno;
	pthread_mutex_unlock(&c->lock);
	if (!s)
		errno = err ? err : ENOENT;
	return s;
}

struct symtab *symtab_cache__get(struct symtab_cache *c, int fd, const char *root, const char *path)
{
	struct symtab_key key;

	return cache_get(c, fd, root, path, &key, true);
}

struct symtab *symtab_cache__get_nowait(struct symtab_cache *c, int fd, const char *root,
					const char *path, struct symtab_key *key)
{
	return cache_get(c, fd, root, path, key, false);
}

void symtab_cache__want_lines(struct symtab_cache *c, struct symtab *s)
{
	struct sym_job *j;

	/* queued first: once it is, the thread may be changing dw_fd */
	if (!c->lines_ld || !s || atomic_load_explicit(&s->dw_queued, memory_order_acquire) ||
	    !lines_pending(s))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->job.run = job_run;
	j->lines = true;
	j->fd = -1;
	j->s = symtab__get(s);
	atomic_store_explicit(&s->dw_queued, true, memory_order_release);
	if (loader__submit(c->lines_ld, &j->job))
		return;
	/* the queue is full: asked again at the next frame */
	atomic_store_explicit(&s->dw_queued, false, memory_order_release);
	job_drop(&j->job);
}

bool symtab_cache__await_lines(struct symtab_cache *c, struct symtab *s, uint64_t deadline_ns)
{
	if (!s)
		return false;
	if (!c->lines_ld)
		return symtab__has_lines(s); /* no thread: here */
	symtab_cache__want_lines(c, s);
	if (!atomic_load_explicit(&s->dw_queued, memory_order_acquire)) {
		/* none to load, or the queue is full (asked again next time) */
		errno = lines_pending(s) ? EAGAIN : 0;
		return symtab__lines_ready(s);
	}
	while (!atomic_load_explicit(&s->dw_tried, memory_order_acquire) && deadline_ns &&
	       mono_ns() < deadline_ns) {
		if (loader__wait(c->lines_ld, deadline_ns))
			collect_lines(c);
	}
	errno = atomic_load_explicit(&s->dw_tried, memory_order_acquire) ? 0 : EAGAIN;
	return symtab__lines_ready(s);
}

void symtab_cache__recount(struct symtab_cache *c)
{
	pthread_mutex_lock(&c->lock);
	for (struct centry *e = c->lru.next; e != &c->lru; e = e->next)
		entry_recount(c, e);
	cache_trim(c);
	pthread_mutex_unlock(&c->lock);
}

void symtab_cache__stats(const struct symtab_cache *c, struct symtab_cache_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*st = c->st;
	st->bytes = c->bytes;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
	st->queued = c->ld ? loader__queued(c->ld) : 0;
}

/* ---- kallsyms ---- */

struct ksym {
	uint64_t addr;
	uint32_t name;
	uint32_t key; /* larger is preferred among aliases */
};

struct kallsyms {
	struct ksym *v;
	size_t n;
	char *names;
	size_t names_len;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->key > y->key ? -1 : x->key < y->key;
}

static int names_append(char **blob, size_t *len, size_t *cap, const char *p, size_t n,
			const char *mod, size_t mn)
{
	size_t need = n + (mn ? mn + 3 : 0) + 1;

	if (*len + need > *cap) {
		size_t nc = *cap ? *cap * 2 : 1 << 16;
		char *nb;

		while (nc < *len + need)
			nc *= 2;
		nb = realloc(*blob, nc);
		if (!nb)
			return -ENOMEM;
		*blob = nb;
		*cap = nc;
	}
	memcpy(*blob + *len, p, n);
	*len += n;
	if (mn) {
		(*blob)[(*len)++] = ' ';
		(*blob)[(*len)++] = '[';
		memcpy(*blob + *len, mod, mn);
		*len += mn;
		(*blob)[(*len)++] = ']';
	}
	(*blob)[(*len)++] = '\0';
	return 0;
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *k = calloc(1, sizeof(*k));
	size_t cap = 0, ncap = 0, lines = 0, len = 0, zeros = 0, m = 0;
	char *line = NULL;
	ssize_t r;
	FILE *f;
	int err = 0;

	if (!k)
		return NULL;
	f = fopen(path, "re");
	if (!f) {
		err = errno;
		goto fail;
	}
	while ((r = getline(&line, &len, f)) > 0) {
		char *p = line, *end, *name, *mod = NULL;
		size_t nl, ml = 0;
		uint64_t addr;
		char type;

		if (++lines > KSYMS_MAX)
			break;
		if (line[r - 1] == '\n')
			line[--r] = '\0';
		addr = strtoull(p, &end, 16);
		if (end == p || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (!addr) {
			zeros++;
			continue;
		}
		name = end + 3;
		nl = strcspn(name, "\t ");
		if (!nl || nl > 512)
			continue;
		if (name[nl] == '\t' && name[nl + 1] == '[') {
			mod = name + nl + 2;
			ml = strcspn(mod, "]");
			if (mod[ml] != ']' || ml > 128)
				ml = 0;
		}
		if (k->n >= ncap) {
			size_t nc = ncap ? ncap * 2 : 4096;
			struct ksym *nv = realloc(k->v, nc * sizeof(*nv));

			if (!nv) {
				err = ENOMEM;
				goto fail;
			}
			k->v = nv;
			ncap = nc;
		}
		if (k->names_len + nl + ml + 4 > NAMES_MAX)
			break;
		k->v[k->n].addr = addr;
		k->v[k->n].name = (uint32_t)k->names_len;
		/* Global over weak over local, then plain names over _-prefixed
		 * ones, then the first listed. */
		k->v[k->n].key = (uint32_t)(type == 'T') << 26 | (uint32_t)(type == 'W') << 25 |
				 (uint32_t)(type == 't') << 24 | (uint32_t)(name[0] != '_') << 23 |
				 (uint32_t)(KSYMS_MAX - lines);
		if (names_append(&k->names, &k->names_len, &cap, name, nl, mod, ml)) {
			err = ENOMEM;
			goto fail;
		}
		k->n++;
	}
	free(line);
	line = NULL;
	fclose(f);
	f = NULL;
	if (!k->n) {
		/* All zero: kptr_restrict hides the addresses from us. */
		err = zeros ? EPERM : ENOENT;
		goto fail;
	}
	qsort(k->v, k->n, sizeof(*k->v), ksym_cmp);
	for (size_t i = 0; i < k->n; i++)
		if (!m || k->v[m - 1].addr != k->v[i].addr)
			k->v[m++] = k->v[i];
	k->n = m;
	return k;
fail:
	free(line);
	if (f)
		fclose(f);
	kallsyms__free(k);
	errno = err;
	return NULL;
}

void kallsyms__free(struct kallsyms *k)
{
	if (!k)
		return;
	free(k->v);
	free(k->names);
	free(k);
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *sym_start)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* No sizes in kallsyms: the nearest below, if not absurdly far. */
	if (!lo || addr - k->v[lo - 1].addr >= KSYM_EXTENT_MAX)
		return NULL;
	if (sym_start)
		*sym_start = k->v[lo - 1].addr;
	return k->names + k->v[lo - 1].name;
}

void kallsyms__range(const struct kallsyms *k, uint64_t *lo, uint64_t *hi)
{
	*lo = k->n ? k->v[0].addr : 0;
	*hi = k->n ? k->v[k->n - 1].addr : 0;
}

/* ---- demangling ---- */

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Rust legacy symbols escape what C++ identifiers cannot hold ($LT$ for <,
 * .. for ::, $u20$ for a space); __cxa_demangle leaves those as they are. */
static void rust_unescape(char *s)
{
	static const struct {
		const char *esc;
		char c;
	} tbl[] = { { "$SP$", '@' }, { "$BP$", '*' }, { "$RF$", '&' }, { "$LT$", '<' },
		    { "$GT$", '>' }, { "$LP$", '(' }, { "$RP$", ')' }, { "$C$", ',' } };
	char *w = s;

	for (const char *r = s; *r;) {
		bool done = false;

		if (r[0] == '_' && r[1] == '$' && (r == s || (r >= s + 2 && r[-1] == ':' && r[-2] == ':'))) {
			r++; /* "_$" starts a component that begins with an escape */
			continue;
		}
		if (r[0] == '$') {
			for (size_t i = 0; i < sizeof(tbl) / sizeof(tbl[0]); i++) {
				size_t n = strlen(tbl[i].esc);

				if (!strncmp(r, tbl[i].esc, n)) {
					*w++ = tbl[i].c;
					r += n;
					done = true;
					break;
				}
			}
			if (!done && r[1] == 'u' && is_hex(r[2]) && is_hex(r[3]) && r[4] == '$') {
				int v = (r[2] <= '9' ? r[2] - '0' : r[2] - 'a' + 10) * 16 +
					(r[3] <= '9' ? r[3] - '0' : r[3] - 'a' + 10);

				if (v >= 0x20 && v < 0x7f) {
					*w++ = (char)v;
					r += 5;
					done = true;
				}
			}
		} else if (r[0] == '.' && r[1] == '.') {
			*w++ = ':';
			*w++ = ':';
			r += 2;
			done = true;
		}
		if (!done)
			*w++ = *r++;
	}
	*w = '\0';
}

/* Strips Rust's "::h<16 hex>" hash; true when the name had one. */
static bool strip_rust_hash(char *d)
{
	char *p = d;

	while ((p = strstr(p, "::h"))) {
		char *q = p + 3;
		int i = 0;

		while (i < 16 && is_hex(q[i]))
			i++;
		if (i == 16 && (q[16] == '\0' || q[16] == ' ')) {
			memmove(p, q + 16, strlen(q + 16) + 1);
			return true;
		}
		p += 3;
	}
	return false;
}

/*
 * An upper bound on the length of __cxa_demangle's output for name, to turn
 * away "demangler bombs": names of a few hundred bytes whose back-references
 * (S<n>_, T<n>_) nest so that the output doubles with each one, up to
 * gigabytes and minutes of CPU in the demangler, which has no limit of its
 * own. A reference may repeat all the output so far, so it doubles the
 * bound (so do ctor/dtor names, which repeat their class's name); a source
 * name prints as itself plus at most 32 ("(anonymous namespace)"), literal
 * digits as themselves, anything else as at most 32 characters. Loose for
 * heavily templated names, which then stay mangled (pprof demangles a name
 * it is given mangled), but never below the real length.
 */
static uint64_t demangle_bound(const char *s, uint64_t limit)
{
	uint64_t b = 0;
	size_t ident = 0; /* characters of a source name still to come */
	char prev = 0;

	while (*s && b <= limit) {
		const char *p = s + 1;

		if (*s == 'S' || *s == 'T') {
			while ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z'))
				p++;
			if (*p == '_') {
				b = 2 * b + 32;
				ident = ident > (size_t)(p + 1 - s) ? ident - (p + 1 - s) : 0;
				prev = '_';
				s = p + 1;
				continue;
			}
		}
		if (!ident && (*s == 'C' || *s == 'D') && s[1] >= '0' && s[1] <= '9') {
			b = 2 * b + 32;
			prev = s[1];
			s += 2;
			continue;
		}
		if (!ident && *s >= '0' && *s <= '9') {
			size_t v = 0, left;

			p = s;
			while (*p >= '0' && *p <= '9' && v < (1u << 20))
				v = v * 10 + (*p++ - '0');
			left = strnlen(p, v + 1);
			/* A length is followed by its name; an index or a
			 * discriminator (A10_, Ut3_, fp2_, _12_) by '_'. */
			if (*p != 'E' && v <= left && !(*p == '_' && prev && strchr("AEFpt_hvn", prev)))
				ident = v;
			b += 32 * (p - s);
			prev = p[-1];
			s = p;
			continue;
		}
		b += ident ? 1 : 32;
		if (ident)
			ident--;
		prev = *s++;
	}
	return b;
}

/*
 * C++ and Rust legacy (_ZN...17h<hash>E) names go through libstdc++'s
 * __cxa_demangle. Rust v0 names (_R...) are left mangled: libstdc++ has no
 * demangler for them and they are still rare in distributed binaries.
 */
char *demangle(const char *name)
{
	char *d;
	int status;

	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	if (strnlen(name, DEMANGLE_IN_MAX + 1) > DEMANGLE_IN_MAX)
		return NULL;
	if (demangle_bound(name, DEMANGLE_BOUND_MAX) > DEMANGLE_BOUND_MAX)
		return NULL;
	d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status)
		return free(d), NULL;
	if (strlen(d) > DEMANGLE_OUT_MAX)
		d[DEMANGLE_OUT_MAX] = '\0';
	if (name[2] == 'N' && strip_rust_hash(d))
		rust_unescape(d);
	return d;
}
