// SPDX-License-Identifier: MIT
/*
 * An ELF file's function symbols loaded into a symtab (symtab.h): from its
 * .symtab and .dynsym, or its separate debug file (build ID, debuglink),
 * or its MiniDebugInfo (minidebug.h), or else its FDEs (add_fde_names);
 * where its DWARF is, for the lines loaded later.
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

#include "cfi.h"
#include "dwlines.h"
#include "log.h"
#include "minidebug.h"
#include "safe_open.h"
#include "symtab.h"
#include "symtab_elf.h"
#include "symtab_int.h"

#define SYMS_MAX (8u << 20)   /* symbols kept per file */
#define SYM_NAME_MAX 4096     /* longer names are cut (and stay mangled) */
#define STRTAB_MAX (1u << 30) /* a larger string table is ignored */
#define NAMES_MAX (1u << 30)  /* the name blob of one file */

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
			 "names); %" PRIu64 " files cut so far",
			 path ? path : "?", kept, SYMS_MAX, NAMES_MAX >> 20, n);
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

struct loader {
	struct tsym *v;
	size_t n;
	struct strtab tabs[2]; /* 0: .symtab (this file or its debug file), 1: .dynsym */
	const struct elf_seg *segs;
	uint32_t nsegs;
	bool capped;
};

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
static int read_symbols(struct loader *ld, struct elf_file *e, uint32_t sh_type, unsigned tbl)
{
	bool is64 = gelf_getclass(e->elf) == ELFCLASS64;
	size_t entsz = is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	struct strtab *st = &ld->tabs[tbl];
	GElf_Shdr sh, strsh;
	Elf_Scn *scn, *strscn;
	Elf_Data *d, *sd;
	size_t count, room;
	struct tsym *nv;

	scn = elf_file__find_section(e, sh_type, &sh);
	if (!scn)
		return 0;
	if (sh.sh_link == 0 || sh.sh_link >= e->nsecs ||
	    !(strscn = elf_getscn(e->elf, sh.sh_link)) || !gelf_getshdr(strscn, &strsh) ||
	    strsh.sh_type != SHT_STRTAB || strsh.sh_size > STRTAB_MAX)
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
		const struct elf_sec *sec = NULL;
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
		ld->v[ld->n++] =
			(struct tsym){ value,        size,          noff | (tbl ? NAME_TBL : 0),
				       (uint16_t)nl, (uint8_t)rank, (uint32_t)i };
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

/*
 * The functions that have no symbol (a file stripped to .dynsym keeps none
 * of its static functions), named by the FDE .eh_frame has for each:
 * "liblzma.so.5+0x15b40", the FDE's start (the file's address, as
 * addr2line and readelf take it), so that two addresses of one function
 * share a name and two functions never do. Only what no symbol covers, and
 * up to the next symbol. 0, or -ENOMEM (no .eh_frame: nothing to add).
 */
static int add_fde_names(struct symtab *s, int fd, const char *path)
{
	const char *base = path && strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct cfi_range *r;
	struct sym *syms;
	uint32_t nr, add = 0, n = 0, j = 0;
	size_t room, blen, total;
	char *names;
	int err = cfi__fde_ranges(fd, &r, &nr);

	if (err)
		return err == -ENOMEM ? err : 0;
	if (!base || !*base)
		base = "code";
	blen = strlen(base);
	room = blen + sizeof("+0x") + 16;
	for (uint32_t i = 0; i < nr; i++)
		add += r[i].hi - r[i].lo <= UINT32_MAX;
	if (s->nsyms + (uint64_t)add > SYMS_MAX || s->names_len + (uint64_t)add * room > NAMES_MAX)
		add = 0; /* (as for symbols: over the limits, not named) */
	syms = malloc(((size_t)s->nsyms + add + 1) * sizeof(*syms));
	names = malloc(s->names_len + (size_t)add * room + 1);
	if (!syms || !names) {
		free(syms);
		free(names);
		free(r);
		return -ENOMEM;
	}
	memcpy(names, s->names, s->names_len);
	total = s->names_len;
	for (uint32_t i = 0; i < nr && add; i++) {
		uint64_t lo = r[i].lo, hi = r[i].hi;

		for (; j < s->nsyms && s->syms[j].start <= lo; j++)
			syms[n++] = s->syms[j];
		if (n && lo - syms[n - 1].start < syms[n - 1].size)
			continue; /* a symbol has it */
		if (j < s->nsyms && s->syms[j].start < hi)
			hi = s->syms[j].start;
		if (hi - lo > UINT32_MAX || (n && syms[n - 1].start == lo))
			continue;
		syms[n++] = (struct sym){ lo, (uint32_t)(hi - lo), (uint32_t)total };
		total += (size_t)snprintf(names + total, room, "%s+0x%" PRIx64, base, lo) + 1;
		s->fde_names++;
	}
	for (; j < s->nsyms; j++)
		syms[n++] = s->syms[j];
	free(r);
	free(s->syms);
	free(s->names);
	s->syms = syms;
	s->nsyms = n;
	s->names = names;
	s->names_len = total;
	return 0;
}

/* The file's segments with memory (as elf_file__open() keeps them). */
static int copy_segments(const struct elf_file *e, struct symtab *s)
{
	if (!e->nsegs)
		return -ENOEXEC;
	s->segs = malloc(e->nsegs * sizeof(*s->segs));
	if (!s->segs)
		return -ENOMEM;
	memcpy(s->segs, e->segs, e->nsegs * sizeof(*s->segs));
	s->nsegs = e->nsegs;
	return 0;
}

/* ---- where the DWARF is ---- */

/* Keeps fd open in s when it holds loadable DWARF, and the dwz file it
 * refers to, if any; true when it has some. */
static bool keep_dwarf_fd(struct symtab *s, int fd, const char *root, const char *path)
{
	size_t bytes;

	if (fd < 0 || !dwlines__probe(fd, &bytes))
		return false;
	if (bytes > DWL_BYTES_MAX) {
		dwlines__count_over_limit();
		log_info("symtab: %s: debug info too large or unreadable (%zu MiB, limit %u MiB): "
			 "no line numbers",
			 path ? path : "?", bytes == SIZE_MAX ? 0 : bytes >> 20,
			 DWL_BYTES_MAX >> 20);
		return true;
	}
	s->dw_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	s->dw_alt_fd = find_dwz_file(fd, root);
	return true;
}

/* Where the file's DWARF is: in it, in the debug file found for its
 * symbols, else in /usr/lib/debug/.build-id/xx/yyyy.debug (one open). */
static bool find_dwarf(struct symtab *s, int fd, const struct elf_file *exe,
		       const struct elf_file *dbg, const char *root, const char *path)
{
	struct elf_file d2 = { .fd = -1 };
	bool found = false;

	if (keep_dwarf_fd(s, fd, root, path))
		return true;
	if (dbg->elf)
		return keep_dwarf_fd(s, dbg->fd, root, path);
	if (find_build_id_file(&d2, exe, root))
		found = keep_dwarf_fd(s, d2.fd, root, path);
	close_debug_file(&d2);
	return found;
}

/* ---- the load ---- */

struct symtab *symtab__load(int fd, const char *root, const char *path)
{
	struct elf_file exe, dbg = { .fd = -1 };
	struct loader ld = { 0 };
	bool skip_dynsym = false, stripped = false, dwarf;
	struct symtab *s;
	GElf_Shdr sh, dsh;
	int err;

	/* libelf reads through fd, which stays the caller's. */
	err = elf_file__open(&exe, fd, ELF_FILE_EXEC | ELF_FILE_SECTIONS | ELF_FILE_BUILD_ID);
	if (err) {
		errno = -err;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		elf_file__close(&exe);
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->dem_lock, NULL);
	pthread_mutex_init(&s->dw_lock, NULL);
	s->dw_fd = s->dw_alt_fd = -1;
	err = copy_segments(&exe, s);
	if (err)
		goto fail;
	memcpy(s->build_id, exe.build_id, sizeof(s->build_id));
	ld.segs = s->segs;
	ld.nsegs = s->nsegs;

	if (elf_file__find_section(&exe, SHT_SYMTAB, &sh)) {
		err = read_symbols(&ld, &exe, SHT_SYMTAB, 0);
		/* Linkers write every dynamic symbol into .symtab too, so a
		 * .symtab at least as long as .dynsym holds them all; reading
		 * .dynsym as well would add a third to a large file's load. */
		if (elf_file__find_section(&exe, SHT_DYNSYM, &dsh) && dsh.sh_size <= sh.sh_size)
			skip_dynsym = true;
	} else if (find_debug_file(&dbg, &exe, root, path)) {
		err = read_symbols(&ld, &dbg, SHT_SYMTAB, 0);
	} else if (!minidebug__open(&dbg, &exe)) {
		/* its static functions' names, as the distribution kept them */
		err = read_symbols(&ld, &dbg, SHT_SYMTAB, 0);
		s->minidebug = true;
	} else {
		stripped = true;
	}
	if (!err && !skip_dynsym)
		err = read_symbols(&ld, &exe, SHT_DYNSYM, 1);
	if (!err)
		err = finish(&ld, s);
	if (!err && stripped)
		err = add_fde_names(s, fd, path);
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
	/* (no DWARF looked for where there are no symbols: lines need functions) */
	dwarf = s->nsyms && find_dwarf(s, fd, &exe, &dbg, root, path);
	s->wants_debug = s->build_id[0] && (stripped || s->minidebug || !dwarf);
	free(ld.v);
	close_debug_file(&dbg);
	elf_file__close(&exe);
	return s;
fail:
	free(ld.v);
	close_debug_file(&dbg);
	elf_file__close(&exe);
	symtab__put(s);
	errno = -err;
	return NULL;
}
