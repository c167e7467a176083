// SPDX-License-Identifier: MIT
/*
 * .eh_frame (x86-64) to a sorted table of unwind rows.
 *
 * The format is the one the LSB and DWARF define: CIEs and FDEs, each FDE
 * a pc range and a CFA program run from its CIE's initial instructions.
 * We run every program once at load and keep, per pc, only the CFA rule,
 * the rbp rule and whether the return address is where x86-64 puts it
 * (CFA - 8): identical neighbours merged, a row is a 32-bit pc and a
 * 16-bit index into the few distinct rules (6 bytes). The .eh_frame bytes
 * themselves are read into a temporary buffer and freed.
 *
 * Every input is hostile: each read is bounds-checked (a reader that
 * fails stays failed), each count and each program's length is capped,
 * and the CFA ops run in one load are budgeted, so a crafted file costs a
 * bounded time and memory and gives an error or a partial table.
 *
 * This file finds .eh_frame, collects its FDEs, builds the table and looks
 * rows up; CIEs and CFA programs are cfi_program.c's, the bounded reader
 * cfi_int.h's.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi.h"
#include "cfi_int.h"
#include "elf_file.h"
#include "log.h"
#include "upper_bound.h"

/* Row i holds from pcs[i] up to pcs[i + 1], with rule rules[idx[i]]: six
 * bytes a row, the pcs alone for the binary search. */
struct cfi_table {
	uint64_t base; /* the vaddr that pcs count from */
	uint32_t *pcs;
	uint16_t *idx;
	struct crule *rules;
	uint32_t nrows, nrules, nsegs;
	struct elf_seg segs[SEGS_MAX];
	double bp_share; /* see cfi_table__bp_share: counted once, at load */
};

/* ---- finding .eh_frame ---- */

struct ehf {
	uint64_t off, size, vaddr;
};

static bool vaddr_to_off(const struct cfi_table *t, uint64_t va, uint64_t *off, uint64_t *room)
{
	for (uint32_t i = 0; i < t->nsegs; i++) {
		const struct elf_seg *g = &t->segs[i];

		if (va - g->vaddr < g->filesz) {
			*off = va - g->vaddr + g->off;
			*room = g->filesz - (va - g->vaddr);
			return true;
		}
	}
	return false;
}

/* Through PT_GNU_EH_FRAME: the header's eh_frame_ptr; the size is unknown,
 * so up to the end of its segment (the walk stops at the terminator). */
static int find_via_hdr(int fd, const struct cfi_table *t, const GElf_Phdr *ph, struct ehf *out)
{
	uint8_t h[4 + 8];
	struct rd r = { h, h + sizeof(h), h, ph->p_vaddr, false };
	uint64_t va, room;
	ssize_t n;

	n = pread(fd, h, sizeof(h), (off_t)ph->p_offset);
	if (n < 4 + 4 || ph->p_offset > INT64_MAX)
		return -ENOENT;
	r.end = h + n;
	if (rd_u8(&r) != 1)
		return -ENOENT;
	{
		uint8_t ptr_enc = rd_u8(&r);

		rd_u8(&r); /* fde_count_enc */
		rd_u8(&r); /* table_enc */
		va = rd_ptr(&r, ptr_enc, true, ph->p_vaddr);
	}
	if (r.err || !vaddr_to_off(t, va, &out->off, &room))
		return -ENOENT;
	out->vaddr = va;
	out->size = room;
	return 0;
}

static int find_eh_frame(const struct elf_file *f, struct cfi_table *t, struct ehf *out)
{
	GElf_Phdr hdr_ph;
	GElf_Shdr sh;

	/* the file's segments with bytes in it (ELF_FILE_SEGS_IN_FILE) */
	t->nsegs = f->nsegs < SEGS_MAX ? f->nsegs : SEGS_MAX;
	if (!t->nsegs)
		return -ENOEXEC;
	memcpy(t->segs, f->segs, t->nsegs * sizeof(*t->segs));
	/* The section when there are section headers: its exact size. */
	if (elf_file__find_section_named(f, ".eh_frame", &sh)) {
		if (sh.sh_type == SHT_NOBITS)
			return -ENOENT; /* a separate debug file: nothing here */
		out->off = sh.sh_offset;
		out->size = sh.sh_size;
		out->vaddr = sh.sh_addr;
		return out->size ? 0 : -ENOENT;
	}
	if (elf_file__last_phdr(f, PT_GNU_EH_FRAME, &hdr_ph))
		return find_via_hdr(f->fd, t, &hdr_ph, out);
	return -ENOENT;
}

/* ---- loading ---- */

static int fde_cmp(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Walks the CIE/FDE records of buf and collects the FDEs (unsorted). */
static int collect_fdes(const uint8_t *buf, size_t len, uint64_t vaddr, struct cie *cache,
			struct fde **out, uint32_t *nout)
{
	struct fde *v = NULL;
	uint32_t n = 0, cap = 0;
	size_t off = 0;

	while (len - off >= 4 && n < FDES_MAX) {
		struct rd r = { buf + off, buf + len, buf, vaddr, false };
		uint64_t length, id, lo, range;
		const uint8_t *end, *idp;
		bool dwarf64 = false;
		struct cie *c;
		size_t cie_off;

		length = rd_uN(&r, 4);
		if (!length)
			break; /* the terminator */
		if (length == 0xffffffff) {
			length = rd_uN(&r, 8);
			dwarf64 = true;
		}
		if (r.err || length > (uint64_t)(r.end - r.p))
			break; /* truncated: keep what we have */
		end = r.p + length;
		r.end = end;
		off = (size_t)(end - buf);
		idp = r.p;
		id = rd_uN(&r, dwarf64 ? 8 : 4);
		if (r.err || id == 0)
			continue; /* a CIE: parsed when an FDE names it */
		if (id > (uint64_t)(idp - buf))
			continue;
		cie_off = (size_t)(idp - buf) - id;
		c = &cache[(cie_off / 4) % CIE_CACHE];
		if (c->off != cie_off || !c->insns_end)
			cfi_parse_cie(c, buf, len, vaddr, cie_off);
		if (!c->ok)
			continue;
		lo = rd_ptr(&r, c->fde_enc, false, 0);
		range = rd_ptr(&r, c->fde_enc & 0x0f, false, 0);
		if (c->aug_z)
			rd_skip(&r, rd_uleb(&r));
		if (r.err || !range || range > UINT32_MAX || lo + range < lo)
			continue;
		if (n == cap) {
			uint32_t ncap = cap ? cap * 2 : 256;
			struct fde *nv;

			if (ncap > FDES_MAX)
				ncap = FDES_MAX;
			nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = (struct fde){ lo, lo + range, (uint32_t)(r.p - buf), (uint32_t)(end - r.p),
				       (uint32_t)cie_off };
	}
	*out = v;
	*nout = n;
	return 0;
}

/* Takes *p, an array grown by doubling, as a copy of its first n bytes
 * (or as it is, when there is no memory for the copy). */
static void *exact(void *p, size_t n)
{
	void **pp = p, *old = *pp, *q = malloc(n ? n : 1);

	*pp = NULL;
	if (!q)
		return old;
	memcpy(q, old, n);
	free(old);
	return q;
}

/* Hands the built rows to the table. A cut table ends where the last
 * FDE that fit ended: a row left open would claim every pc above it. */
static int finish(struct cfi_table *t, struct builder *b)
{
	if (b->full) {
		b->full = false;
		b->nrows = b->ck_n ? b->ck_n - 1 : 0;
		if (b->ck_n)
			cfi_emit(b, b->ck_hi, (struct crule){ .cfa = ROW_GAP, .bp = CFI_BP_UNDEF });
	}
	if (!b->nrows)
		return -ENOENT;
	t->nrows = b->nrows;
	t->nrules = b->nrules;
	t->pcs = exact(&b->pcs, b->nrows * sizeof(*t->pcs));
	t->idx = exact(&b->idx, b->nrows * sizeof(*t->idx));
	t->rules = exact(&b->rules, b->nrules * sizeof(*t->rules));
	return 0;
}

static int build_rows(struct cfi_table *t, const uint8_t *buf, size_t len, uint64_t vaddr,
		      struct fde *fdes, uint32_t n, struct cie *cache)
{
	struct builder b = { 0 };
	uint64_t covered = 0;
	uint32_t bad = 0, used = 0;
	int err;

	qsort(fdes, n, sizeof(*fdes), fde_cmp);
	t->base = b.base = fdes[0].lo;
	for (uint32_t i = 0; i < n && !b.full && b.ops <= OPS_MAX; i++) {
		const struct fde *f = &fdes[i];
		struct cie *c = &cache[(f->cie / 4) % CIE_CACHE];
		struct regs s;
		struct rd r;
		uint64_t loc = f->lo;

		/* overlapping FDEs: the first one wins */
		if ((used && f->lo < covered) || f->hi - t->base > UINT32_MAX) {
			bad++;
			continue;
		}
		if (c->off != f->cie || !c->insns_end)
			cfi_parse_cie(c, buf, len, vaddr, f->cie);
		if (!c->ok) {
			bad++;
			continue;
		}
		if (!c->init_state) {
			uint64_t dummy;

			memset(&c->init, 0, sizeof(c->init));
			c->init.cfa_how = CFA_EXPR; /* until the CIE defines it */
			r = c->at;
			r.p = c->insns;
			r.end = c->insns_end;
			c->init_state =
				cfi_run_program(&b, c, r, NULL, &c->init, &c->init, &dummy) ? 1 : 2;
		}
		if (c->init_state != 1) {
			bad++;
			continue;
		}
		s = c->init;
		r = c->at;
		r.p = buf + f->off;
		r.end = r.p + f->len;
		b.fde_rows = 0;
		if (c->signal) {
			/* its rules are expressions into the ucontext: one row says so */
			cfi_emit(&b, loc,
				 (struct crule){ .cfa = CFI_REG_SIGNAL, .bp = CFI_BP_UNDEF });
		} else if (!cfi_run_program(&b, c, r, f, &c->init, &s, &loc)) {
			/* what the program did not say is unknown */
			cfi_emit(&b, loc,
				 (struct crule){ .cfa = CFI_REG_NONE, .bp = CFI_BP_UNDEF });
			bad++;
		} else if (loc < f->hi) {
			cfi_emit(&b, loc, cfi_to_rule(&s));
		}
		cfi_emit(&b, f->hi, (struct crule){ .cfa = ROW_GAP, .bp = CFI_BP_UNDEF });
		if (!b.full) {
			b.ck_n = b.nrows;
			b.ck_hi = f->hi;
		}
		covered = f->hi;
		used++;
	}
	if (bad || b.full || b.ops > OPS_MAX)
		log_debug("cfi: %u of %u FDEs unusable%s", bad, n,
			  b.full || b.ops > OPS_MAX ? ", table cut" : "");
	err = finish(t, &b);
	free(b.pcs);
	free(b.idx);
	free(b.rules);
	free(b.slots);
	return err;
}

/* The share of the code bytes whose CFA is rbp-based (cfi.h). */
static double count_bp_share(const struct cfi_table *t)
{
	uint64_t bp = 0, all = 0;

	for (uint32_t i = 0; i + 1 < t->nrows; i++) {
		const struct crule *r = &t->rules[t->idx[i]];
		uint32_t n = t->pcs[i + 1] - t->pcs[i];

		if (r->cfa == ROW_GAP)
			continue;
		all += n;
		if (r->cfa == CFI_REG_BP)
			bp += n;
	}
	return all ? (double)bp / all : 0;
}

/* What .eh_frame says of a file: its bytes and its FDEs (unsorted), read
 * with the CIEs in cache. */
struct eh_read {
	struct elf_file f;
	uint8_t *buf;
	size_t len;
	struct ehf ehf;
	struct cie *cache;
	struct fde *fdes;
	uint32_t nfdes;
};

static void eh_read__free(struct eh_read *r)
{
	elf_file__close(&r->f);
	free(r->fdes);
	free(r->cache);
	free(r->buf);
}

/* Reads the .eh_frame of the ELF file open at fd (t takes its segments);
 * 0 or -errno, and *r to free either way. */
static int eh_read(int fd, struct cfi_table *t, struct eh_read *r)
{
	int err;

	*r = (struct eh_read){ .f = { .fd = -1 } };
	/* ELF_C_READ: headers and nothing else are read, through fd, which
	 * stays ours. */
	err = elf_file__open(&r->f, fd,
			     ELF_FILE_EXEC | ELF_FILE_X86_64 | ELF_FILE_SEGS_IN_FILE |
				     ELF_FILE_HDRS_64K);
	if (err)
		return err;
	err = find_eh_frame(&r->f, t, &r->ehf);
	if (err)
		return err;
	if (r->ehf.off > (uint64_t)r->f.st.st_size)
		return -ENOENT;
	if (r->ehf.size > (uint64_t)r->f.st.st_size - r->ehf.off)
		r->ehf.size = (uint64_t)r->f.st.st_size - r->ehf.off; /* truncated file */
	if (r->ehf.size > EH_FRAME_MAX)
		r->ehf.size = EH_FRAME_MAX;
	r->buf = malloc(r->ehf.size ? r->ehf.size : 1);
	r->cache = calloc(CIE_CACHE, sizeof(*r->cache));
	if (!r->buf || !r->cache)
		return -ENOMEM;
	while (r->len < r->ehf.size) {
		ssize_t got = pread(fd, r->buf + r->len, r->ehf.size - r->len,
				    (off_t)(r->ehf.off + r->len));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		r->len += (size_t)got;
	}
	return collect_fdes(r->buf, r->len, r->ehf.vaddr, r->cache, &r->fdes, &r->nfdes);
}

struct cfi_table *cfi_table__load(int fd)
{
	struct cfi_table *t = calloc(1, sizeof(*t));
	struct eh_read r;
	int err;

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	err = eh_read(fd, t, &r);
	if (!err)
		err = r.nfdes ? build_rows(t, r.buf, r.len, r.ehf.vaddr, r.fdes, r.nfdes, r.cache)
			      : -ENOENT;
	if (!err)
		t->bp_share = count_bp_share(t);
	eh_read__free(&r);
	if (err) {
		cfi_table__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

int cfi__fde_ranges(int fd, struct cfi_range **out, uint32_t *n)
{
	struct cfi_table *scratch = calloc(1, sizeof(*scratch));
	struct cfi_range *v = NULL;
	struct eh_read r;
	uint32_t m = 0;
	int err;

	*out = NULL;
	*n = 0;
	if (!scratch)
		return -ENOMEM;
	err = eh_read(fd, scratch, &r);
	if (!err && r.nfdes) {
		qsort(r.fdes, r.nfdes, sizeof(*r.fdes), fde_cmp);
		v = malloc(r.nfdes * sizeof(*v));
		if (!v)
			err = -ENOMEM;
	}
	for (uint32_t i = 0; !err && i < r.nfdes; i++)
		if (!m || r.fdes[i].lo != v[m - 1].lo) /* duplicates: the first, the shortest */
			v[m++] = (struct cfi_range){ r.fdes[i].lo, r.fdes[i].hi };
	eh_read__free(&r);
	free(scratch);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = m;
	return 0;
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->pcs);
	free(t->idx);
	free(t->rules);
	free(t);
}

size_t cfi_table__mem_size(const struct cfi_table *t)
{
	if (!t)
		return 0;
	return sizeof(*t) + (size_t)t->nrows * (sizeof(*t->pcs) + sizeof(*t->idx)) +
	       (size_t)t->nrules * sizeof(*t->rules);
}

size_t cfi_table__nr_rows(const struct cfi_table *t)
{
	return t ? t->nrows : 0;
}

double cfi_table__bp_share(const struct cfi_table *t)
{
	return t ? t->bp_share : 0;
}

uint64_t cfi_table__base(const struct cfi_table *t)
{
	return t && t->nrows ? t->base : 0;
}

int cfi_table__row(const struct cfi_table *t, size_t i, uint64_t *vaddr, struct cfi_table_row *row)
{
	const struct crule *r;

	if (!t || i >= t->nrows)
		return -ERANGE;
	r = &t->rules[t->idx[i]];
	*vaddr = t->base + t->pcs[i];
	row->kind = r->cfa;
	row->cfa_off = r->cfa_off;
	row->bp_rule = r->bp;
	row->bp_off = r->bp == CFI_BP_AT_CFA || r->cfa == ROW_PLT ? r->bp_off : 0;
	return 0;
}

/* ---- lookups ---- */

int cfi_table__lookup(const struct cfi_table *t, uint64_t file_offset, struct cfi_row *row)
{
	const struct crule *r;
	uint32_t rel;
	uint64_t va;
	size_t lo;

	if (!t || !t->nrows || !elf_seg__off_to_vaddr(t->segs, t->nsegs, file_offset, &va) ||
	    va < t->base || va - t->base > UINT32_MAX)
		return -ENOENT;
	rel = (uint32_t)(va - t->base);
	lo = UPPER_BOUND(t->pcs, t->nrows, , rel); /* the first row past rel */
	if (!lo)
		return -ENOENT;
	r = &t->rules[t->idx[lo - 1]];
	if (r->cfa == ROW_GAP)
		return -ENOENT;
	row->cfa_reg = r->cfa;
	row->cfa_off = r->cfa_off;
	row->bp_rule = r->bp;
	row->bp_off = r->bp == CFI_BP_AT_CFA ? r->bp_off : 0;
	if (r->cfa == ROW_PLT) {
		/* The entry's second instruction pushed: 8 more. */
		row->cfa_reg = CFI_REG_SP;
		row->cfa_off = r->cfa_off + ((va & 15) >= (uint64_t)r->bp_off ? 8 : 0);
	}
	return 0;
}

/*
 * A loader maps a segment from its offset rounded down to a page, so a
 * mapping's pgoff may be before p_offset, and a page may hold the end of
 * one segment and the start of the next (python3's RO data and RW data).
 * The segment whose mapping starts at pgoff comes first, then one holding
 * pgoff (a mapping split by mprotect); executable ones first in each.
 */
#define MAP_PAGE 4096ull

static const struct elf_seg *mapped_seg(const struct cfi_table *t, uint64_t pgoff)
{
	for (int pass = 0; pass < 4; pass++)
		for (uint32_t i = 0; i < t->nsegs; i++) {
			const struct elf_seg *g = &t->segs[i];
			bool exec_pass = !(pass & 1);

			if (exec_pass != !!(g->flags & PF_X))
				continue;
			if (pass < 2 ? (g->off & ~(MAP_PAGE - 1)) == pgoff
				     : pgoff - g->off < g->filesz)
				return g;
		}
	return NULL;
}

int cfi_table__load_bias(const struct cfi_table *t, uint64_t map_start, uint64_t pgoff,
			 uint64_t *bias)
{
	const struct elf_seg *g = t ? mapped_seg(t, pgoff) : NULL;

	if (!g)
		return -ENOENT;
	/* vaddr - offset holds over the whole page-aligned mapping; it wraps
	 * for a hostile segment, and then pcs only miss the table */
	*bias = map_start - (pgoff - g->off + g->vaddr);
	return 0;
}
