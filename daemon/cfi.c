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
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi.h"
#include "elf_seg.h"
#include "log.h"

#define EH_FRAME_MAX (32u << 20)  /* bytes of .eh_frame read (libLLVM's: 5 MiB) */
#define FDES_MAX (1u << 20)       /* FDEs used per file */
#define ROWS_MAX (1u << 22)       /* rows kept per file (24 MiB) */
#define RULES_MAX 65535           /* distinct rules per file (a u16 index) */
#define FDE_ROWS_MAX 65536        /* rows of one FDE; the rest is unknown */
#define PROG_MAX (1u << 20)       /* bytes of one CFA program run; the rest is unknown */
#define OPS_MAX (1u << 26)        /* CFA ops run in one load */
#define STATE_DEPTH_MAX 16        /* remember_state nesting */
#define AUG_MAX 8                 /* augmentation string length */
#define SEGS_MAX 16               /* PT_LOAD segments used */
#define SECS_MAX (1u << 16)       /* section headers looked at */
#define CIE_CACHE 64              /* parsed CIEs kept while loading */

/* DW_EH_PE_* pointer encodings */
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30
#define PE_INDIRECT 0x80
#define PE_OMIT 0xff

/* x86-64 DWARF register numbers */
#define DW_RBP 6
#define DW_RSP 7
#define DW_RA 16

/* Row kinds beyond CFI_REG_*: in the table, never from a lookup. */
#define ROW_PLT CFI_ROW_PLT /* CFA = rsp + cfa_off + ((pc & 15) >= bp_off ? 8 : 0) */
#define ROW_GAP CFI_ROW_GAP /* no FDE covers this pc */

/* A rule as the table keeps it. Few are distinct (a few hundred in libc):
 * rows refer to them by a 16-bit index. */
struct crule {
	int32_t cfa_off;
	int16_t bp_off; /* ROW_PLT: the threshold on pc & 15 */
	uint8_t cfa;    /* CFI_REG_SP/BP/NONE/SIGNAL, ROW_PLT, ROW_GAP */
	uint8_t bp;     /* CFI_BP_* */
};

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

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_ok;

static void elf_init(void)
{
	elf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* ---- bounded reading ---- */

/* A cursor over [p, end); base is the buffer's start, at vaddr. Once err
 * is set every read returns 0 and the cursor stays. */
struct rd {
	const uint8_t *p, *end, *base;
	uint64_t vaddr;
	bool err;
};

static uint64_t rd_uN(struct rd *r, unsigned n)
{
	uint64_t v = 0;

	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint8_t rd_u8(struct rd *r)
{
	return (uint8_t)rd_uN(r, 1);
}

/* LEB128 of at most 10 bytes: longer ones are malformed, not slow. */
static uint64_t rd_leb(struct rd *r, bool sign)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (r->err || r->p >= r->end || shift >= 70) {
			r->err = true;
			return 0;
		}
		b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (sign && shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	return rd_leb(r, false);
}

static int64_t rd_sleb(struct rd *r)
{
	return (int64_t)rd_leb(r, true);
}

static void rd_skip(struct rd *r, uint64_t n)
{
	if (r->err || n > (uint64_t)(r->end - r->p)) {
		r->err = true;
		return;
	}
	r->p += n;
}

/* A pointer in encoding enc (DW_EH_PE_*). datarel is relative to
 * data_base, when there is one. Indirect pointers are read as their
 * address: only personality routines use them, and we skip those. */
static uint64_t rd_ptr(struct rd *r, uint8_t enc, bool have_data_base, uint64_t data_base)
{
	uint64_t field = r->vaddr + (uint64_t)(r->p - r->base), v;

	switch (enc & 0x0f) {
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		v = rd_uN(r, 8);
		break;
	case PE_ULEB128:
		v = rd_uleb(r);
		break;
	case PE_UDATA2:
		v = rd_uN(r, 2);
		break;
	case PE_UDATA4:
		v = rd_uN(r, 4);
		break;
	case PE_SLEB128:
		v = (uint64_t)rd_sleb(r);
		break;
	case PE_SDATA2:
		v = (uint64_t)(int64_t)(int16_t)rd_uN(r, 2);
		break;
	case PE_SDATA4:
		v = (uint64_t)(int64_t)(int32_t)rd_uN(r, 4);
		break;
	default:
		r->err = true;
		return 0;
	}
	switch (enc & 0x70) {
	case 0:
		return v;
	case PE_PCREL:
		return v + field;
	case PE_DATAREL:
		if (have_data_base)
			return v + data_base;
		/* fallthrough */
	default: /* textrel, funcrel, aligned: not used on x86-64 */
		r->err = true;
		return 0;
	}
}

/* ---- CIEs ---- */

enum { RULE_SAME, RULE_UNDEF, RULE_AT_CFA, RULE_OTHER };
enum { CFA_REG, CFA_PLT, CFA_EXPR };

/* What one CFA program step knows: the CFA, rbp's rule and the return
 * address's rule (other registers do not matter to us). */
struct rule {
	uint8_t how;
	int64_t off;
};

struct regs {
	uint8_t cfa_how;
	uint8_t plt_k;
	uint64_t cfa_reg;
	int64_t cfa_off;
	struct rule bp, ra;
};

struct cie {
	uint32_t off; /* in the .eh_frame buffer; 0 in the cache: empty */
	bool ok;
	bool aug_z;
	bool signal; /* "S": its FDEs are signal trampolines */
	uint8_t fde_enc;
	uint64_t caf; /* code alignment factor */
	int64_t daf;  /* data alignment factor */
	const uint8_t *insns, *insns_end;
	struct rd at; /* to read the instructions (vaddr-aware) */
	uint8_t init_state; /* 0: initial instructions not run, 1: ran, 2: failed */
	struct regs init;   /* the state they leave */
};

/* Parses the CIE at off of buf (len bytes, at vaddr). */
static void parse_cie(struct cie *c, const uint8_t *buf, size_t len, uint64_t vaddr, size_t off)
{
	struct rd r = { buf + off, buf + len, buf, vaddr, false };
	uint64_t length, id, ra;
	char aug[AUG_MAX + 1];
	unsigned version, n = 0;
	const uint8_t *end;
	bool dwarf64 = false;

	memset(c, 0, sizeof(*c));
	c->off = (uint32_t)off;
	c->fde_enc = PE_ABSPTR;
	length = rd_uN(&r, 4);
	if (length == 0xffffffff) {
		length = rd_uN(&r, 8);
		dwarf64 = true;
	}
	if (r.err || !length || length > (uint64_t)(r.end - r.p))
		return;
	end = r.p + length;
	r.end = end;
	id = rd_uN(&r, dwarf64 ? 8 : 4);
	if (id != 0)
		return; /* an FDE, not a CIE */
	version = rd_u8(&r);
	if (version != 1 && version != 3 && version != 4)
		return;
	for (;;) {
		uint8_t ch = rd_u8(&r);

		if (r.err || n == AUG_MAX)
			return;
		aug[n++] = (char)ch;
		if (!ch)
			break;
	}
	if (version == 4) {
		if (rd_u8(&r) != 8 || rd_u8(&r) != 0) /* address and segment sizes */
			return;
	}
	c->caf = rd_uleb(&r);
	c->daf = rd_sleb(&r);
	ra = version == 1 ? rd_u8(&r) : rd_uleb(&r);
	if (r.err || ra != DW_RA)
		return;
	if (aug[0] == 'z') {
		uint64_t alen = rd_uleb(&r);
		struct rd a = r;

		if (r.err || alen > (uint64_t)(r.end - r.p))
			return;
		a.end = r.p + alen;
		rd_skip(&r, alen);
		c->aug_z = true;
		for (const char *s = aug + 1; *s; s++) {
			if (*s == 'R') {
				c->fde_enc = rd_u8(&a);
			} else if (*s == 'P') {
				uint8_t penc = rd_u8(&a);

				/* the personality routine: read to skip it */
				rd_ptr(&a, penc & 0x7f, true, 0);
			} else if (*s == 'L') {
				rd_u8(&a);
			} else if (*s == 'S') {
				c->signal = true;
			} else if (*s == 'B') {
				/* aarch64's B key: no data */
			} else {
				break; /* unknown: the length lets us skip the rest */
			}
			if (a.err)
				return;
		}
	} else if (aug[0]) {
		return; /* "eh" and others: layout unknown */
	}
	if (r.err || c->fde_enc == PE_OMIT || (c->fde_enc & PE_INDIRECT))
		return;
	c->insns = r.p;
	c->insns_end = end;
	c->at = r;
	c->ok = true;
}

/* ---- running CFA programs ---- */

struct fde {
	uint64_t lo, hi;
	uint32_t off; /* of the FDE's instructions in the buffer */
	uint32_t len; /* of its instructions */
	uint32_t cie; /* the CIE's offset */
};

/* The table being built: rows as they will be kept, rules interned as
 * they come (slots: a hash of rule index + 1, 0 empty). */
struct builder {
	uint64_t base;
	uint32_t *pcs;
	uint16_t *idx;
	uint32_t nrows, cap;
	struct crule *rules;
	uint32_t nrules, rcap;
	uint32_t *slots;
	uint32_t nslots;
	uint32_t fde_rows;
	uint64_t ops; /* run in this load */
	bool full;    /* out of rows, rules or memory: the table is cut */
	/* where the last FDE that fit ended: rows up to ck_n, the last a gap at ck_hi */
	uint32_t ck_n;
	uint64_t ck_hi;
};

static struct crule to_rule(const struct regs *s)
{
	struct crule r = { .cfa = CFI_REG_NONE, .bp = CFI_BP_UNDEF };

	if (s->ra.how != RULE_AT_CFA || s->ra.off != -8)
		return r; /* not a plain call frame: we cannot unwind it */
	if (s->cfa_how == CFA_PLT) {
		if (s->bp.how != RULE_SAME)
			return r;
		r.cfa = ROW_PLT;
		r.cfa_off = (int32_t)s->cfa_off;
		r.bp_off = s->plt_k;
		r.bp = CFI_BP_SAME;
		return r;
	}
	if (s->cfa_how != CFA_REG || s->cfa_off < INT32_MIN || s->cfa_off > INT32_MAX)
		return r;
	if (s->cfa_reg == DW_RSP)
		r.cfa = CFI_REG_SP;
	else if (s->cfa_reg == DW_RBP)
		r.cfa = CFI_REG_BP;
	else
		return r;
	r.cfa_off = (int32_t)s->cfa_off;
	if (s->bp.how == RULE_SAME) {
		r.bp = CFI_BP_SAME;
	} else if (s->bp.how == RULE_AT_CFA && s->bp.off >= INT16_MIN && s->bp.off <= INT16_MAX) {
		r.bp = CFI_BP_AT_CFA;
		r.bp_off = (int16_t)s->bp.off;
	}
	return r;
}

static bool same_rule(const struct crule *a, const struct crule *b)
{
	return a->cfa == b->cfa && a->cfa_off == b->cfa_off && a->bp == b->bp &&
	       a->bp_off == b->bp_off;
}

static uint32_t rule_hash(const struct crule *r)
{
	uint64_t k;

	memcpy(&k, r, sizeof(k));
	k *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(k >> 32);
}

static bool grow_slots(struct builder *b)
{
	uint32_t n = b->nslots ? b->nslots * 2 : 256, *sl = calloc(n, sizeof(*sl));

	if (!sl)
		return false;
	for (uint32_t i = 0; i < b->nrules; i++) {
		uint32_t h = rule_hash(&b->rules[i]) & (n - 1);

		while (sl[h])
			h = (h + 1) & (n - 1);
		sl[h] = i + 1;
	}
	free(b->slots);
	b->slots = sl;
	b->nslots = n;
	return true;
}

/* The index of rule r, added when new; -1 when there is no room. */
static int intern(struct builder *b, const struct crule *r)
{
	uint32_t h;

	if (2 * (b->nrules + 1) > b->nslots && !grow_slots(b))
		return -1;
	h = rule_hash(r) & (b->nslots - 1);
	while (b->slots[h]) {
		if (same_rule(&b->rules[b->slots[h] - 1], r))
			return (int)(b->slots[h] - 1);
		h = (h + 1) & (b->nslots - 1);
	}
	if (b->nrules == RULES_MAX)
		return -1;
	if (b->nrules == b->rcap) {
		uint32_t cap = b->rcap ? b->rcap * 2 : 64;
		struct crule *nr = realloc(b->rules, cap * sizeof(*nr));

		if (!nr)
			return -1;
		b->rules = nr;
		b->rcap = cap;
	}
	b->rules[b->nrules] = *r;
	b->slots[h] = ++b->nrules;
	return (int)(b->nrules - 1);
}

static bool append_row(struct builder *b, uint32_t pc, uint16_t idx)
{
	if (b->nrows == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 1024;
		uint32_t *np;
		uint16_t *ni;

		if (cap > ROWS_MAX)
			cap = ROWS_MAX;
		if (b->nrows == cap)
			return false;
		np = realloc(b->pcs, cap * sizeof(*np));
		if (np)
			b->pcs = np;
		ni = np ? realloc(b->idx, cap * sizeof(*ni)) : NULL;
		if (ni)
			b->idx = ni;
		if (!np || !ni)
			return false;
		b->cap = cap;
	}
	b->pcs[b->nrows] = pc;
	b->idx[b->nrows++] = idx;
	return true;
}

/* Appends the rule that holds from vaddr pc on. A row at the same pc as the
 * last one replaces it; one that says what the last says is not kept. */
static void emit(struct builder *b, uint64_t pc, struct crule cr)
{
	uint32_t rel = (uint32_t)(pc - b->base), n = b->nrows;
	int idx;

	if (b->full)
		return;
	idx = intern(b, &cr);
	if (idx < 0) {
		b->full = true;
		return;
	}
	if (n && b->pcs[n - 1] == rel) {
		b->idx[n - 1] = (uint16_t)idx;
		if (n > 1 && b->idx[n - 2] == idx)
			b->nrows--;
		return;
	}
	if (n && b->idx[n - 1] == idx)
		return;
	if (!append_row(b, rel, (uint16_t)idx)) {
		b->full = true;
		return;
	}
	b->fde_rows++;
}

static bool mul_off(uint64_t v, int64_t factor, int64_t *out)
{
	if (v > INT64_MAX)
		return false;
	return !__builtin_mul_overflow((int64_t)v, factor, out);
}

static void set_rule(struct regs *s, uint64_t reg, uint8_t how, int64_t off)
{
	struct rule *ru = reg == DW_RBP ? &s->bp : reg == DW_RA ? &s->ra : NULL;

	if (ru) {
		ru->how = how;
		ru->off = off;
	}
}

static void set_offset_rule(struct regs *s, uint64_t reg, uint64_t v, int64_t factor, bool neg)
{
	int64_t off;

	if (!mul_off(v, factor, &off) || (neg && off == INT64_MIN))
		set_rule(s, reg, RULE_OTHER, 0);
	else
		set_rule(s, reg, RULE_AT_CFA, neg ? -off : off);
}

/* The expression ld writes for a lazy .plt: rsp + N, plus 8 once pc & 15
 * reaches K (past the entry's push):
 *   DW_OP_breg7 N; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litK;
 *   DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus */
static bool plt_expr(const uint8_t *p, uint64_t len, struct regs *s)
{
	struct rd r = { p, p + len, p, 0, false };
	int64_t n;
	uint8_t k;

	if (rd_u8(&r) != 0x77)
		return false;
	n = rd_sleb(&r);
	if (rd_u8(&r) != 0x80 || rd_sleb(&r) != 0 || rd_u8(&r) != 0x3f || rd_u8(&r) != 0x1a)
		return false;
	k = rd_u8(&r);
	if (k < 0x30 || k > 0x3f)
		return false;
	if (rd_u8(&r) != 0x2a || rd_u8(&r) != 0x33 || rd_u8(&r) != 0x24 || rd_u8(&r) != 0x22)
		return false;
	if (r.err || r.p != r.end || n < 0 || n > 4096)
		return false;
	s->cfa_how = CFA_PLT;
	s->cfa_off = n;
	s->plt_k = k - 0x30;
	return true;
}

/*
 * Runs one CFA program. With fde NULL it is a CIE's initial instructions:
 * no rows, loc never moves. Otherwise rows are emitted for [fde->lo,
 * fde->hi). init is the CIE's state (what DW_CFA_restore goes back to).
 * Returns false when the program was malformed or cut: the caller marks
 * the rest of the range unknown.
 */
static bool run_program(struct builder *b, const struct cie *c, struct rd r, const struct fde *fde,
			const struct regs *init, struct regs *s, uint64_t *locp)
{
	struct regs stack[STATE_DEPTH_MAX];
	unsigned depth = 0;
	uint64_t loc = fde ? fde->lo : 0;
	bool cut = (size_t)(r.end - r.p) > PROG_MAX;

	*locp = loc;
	if (cut)
		r.end = r.p + PROG_MAX;
	while (r.p < r.end) {
		uint8_t op = rd_u8(&r), low = op & 0x3f;
		uint64_t reg, v, delta = 0;
		int64_t so;

		if (++b->ops > OPS_MAX)
			return false;
		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			delta = low;
			goto advance;
		case 0x80: /* offset */
			set_offset_rule(s, low, rd_uleb(&r), c->daf, false);
			goto next;
		case 0xc0: /* restore */
			if (low == DW_RBP)
				s->bp = init->bp;
			else if (low == DW_RA)
				s->ra = init->ra;
			goto next;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: /* set_loc */
			if (!fde)
				return false;
			v = rd_ptr(&r, c->fde_enc, false, 0);
			if (r.err || v < loc || v > fde->hi)
				return false;
			delta = v - loc;
			goto advance_abs;
		case 0x02: /* advance_loc1 */
			delta = rd_uN(&r, 1);
			goto advance;
		case 0x03: /* advance_loc2 */
			delta = rd_uN(&r, 2);
			goto advance;
		case 0x04: /* advance_loc4 */
			delta = rd_uN(&r, 4);
			goto advance;
		case 0x05: /* offset_extended */
			reg = rd_uleb(&r);
			set_offset_rule(s, reg, rd_uleb(&r), c->daf, false);
			break;
		case 0x06: /* restore_extended */
			reg = rd_uleb(&r);
			if (reg == DW_RBP)
				s->bp = init->bp;
			else if (reg == DW_RA)
				s->ra = init->ra;
			break;
		case 0x07: /* undefined */
			set_rule(s, rd_uleb(&r), RULE_UNDEF, 0);
			break;
		case 0x08: /* same_value */
			set_rule(s, rd_uleb(&r), RULE_SAME, 0);
			break;
		case 0x09: /* register */
			reg = rd_uleb(&r);
			v = rd_uleb(&r);
			set_rule(s, reg, v == reg ? RULE_SAME : RULE_OTHER, 0);
			break;
		case 0x0a: /* remember_state */
			if (depth == STATE_DEPTH_MAX)
				return false;
			stack[depth++] = *s;
			break;
		case 0x0b: /* restore_state */
			if (!depth)
				return false;
			*s = stack[--depth];
			break;
		case 0x0c: /* def_cfa */
			s->cfa_how = CFA_REG;
			s->cfa_reg = rd_uleb(&r);
			v = rd_uleb(&r);
			s->cfa_off = v > INT64_MAX ? INT64_MAX : (int64_t)v;
			break;
		case 0x0d: /* def_cfa_register */
			s->cfa_reg = rd_uleb(&r);
			if (s->cfa_how == CFA_PLT)
				s->cfa_how = CFA_EXPR;
			break;
		case 0x0e: /* def_cfa_offset */
			v = rd_uleb(&r);
			s->cfa_off = v > INT64_MAX ? INT64_MAX : (int64_t)v;
			if (s->cfa_how == CFA_PLT)
				s->cfa_how = CFA_EXPR;
			break;
		case 0x0f: /* def_cfa_expression */
			v = rd_uleb(&r);
			if (r.err || v > (uint64_t)(r.end - r.p))
				return false;
			if (!plt_expr(r.p, v, s))
				s->cfa_how = CFA_EXPR;
			rd_skip(&r, v);
			break;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			reg = rd_uleb(&r);
			v = rd_uleb(&r);
			rd_skip(&r, v);
			set_rule(s, reg, RULE_OTHER, 0);
			break;
		case 0x11: /* offset_extended_sf */
			reg = rd_uleb(&r);
			so = rd_sleb(&r);
			if (so < 0 && so != INT64_MIN)
				set_offset_rule(s, reg, (uint64_t)-so, c->daf, true);
			else
				set_offset_rule(s, reg, so == INT64_MIN ? UINT64_MAX : (uint64_t)so,
						c->daf, false);
			break;
		case 0x12: /* def_cfa_sf */
			s->cfa_how = CFA_REG;
			s->cfa_reg = rd_uleb(&r);
			so = rd_sleb(&r);
			if (__builtin_mul_overflow(so, c->daf, &s->cfa_off))
				s->cfa_off = INT64_MAX;
			break;
		case 0x13: /* def_cfa_offset_sf */
			so = rd_sleb(&r);
			if (__builtin_mul_overflow(so, c->daf, &s->cfa_off))
				s->cfa_off = INT64_MAX;
			if (s->cfa_how == CFA_PLT)
				s->cfa_how = CFA_EXPR;
			break;
		case 0x14: /* val_offset */
		case 0x15: /* val_offset_sf */
			reg = rd_uleb(&r);
			rd_leb(&r, op == 0x15);
			set_rule(s, reg, RULE_OTHER, 0);
			break;
		case 0x2e: /* GNU_args_size */
			rd_uleb(&r);
			break;
		case 0x2f: /* GNU_negative_offset_extended */
			reg = rd_uleb(&r);
			set_offset_rule(s, reg, rd_uleb(&r), c->daf, true);
			break;
		default:
			return false;
		}
		goto next;
advance:
		if (!fde || __builtin_mul_overflow(delta, c->caf, &delta))
			return false;
advance_abs:
		if (r.err)
			return false;
		/* the state so far holds from loc up to the new loc */
		emit(b, loc, to_rule(s));
		if (b->fde_rows > FDE_ROWS_MAX)
			return false;
		if (delta >= fde->hi - loc) {
			*locp = fde->hi; /* the rest describes pcs past the range */
			return true;
		}
		loc += delta;
		*locp = loc;
next:
		if (r.err)
			return false;
	}
	return !cut;
}

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

static int find_eh_frame(int fd, Elf *elf, struct cfi_table *t, struct ehf *out)
{
	GElf_Phdr hdr_ph = { 0 };
	bool have_hdr = false;
	size_t nph, shstrndx, nsec;
	Elf_Scn *scn = NULL;
	unsigned seen = 0;

	if (elf_getphdrnum(elf, &nph))
		return -ENOEXEC;
	for (size_t i = 0; i < nph && i < SECS_MAX; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_GNU_EH_FRAME) {
			hdr_ph = ph;
			have_hdr = true;
		} else if (ph.p_type == PT_LOAD && ph.p_filesz && t->nsegs < SEGS_MAX) {
			t->segs[t->nsegs++] = (struct elf_seg){.off = ph.p_offset,
								.filesz = ph.p_filesz,
								.vaddr = ph.p_vaddr,
								.memsz = ph.p_memsz,
								.flags = ph.p_flags};
		}
	}
	if (!t->nsegs)
		return -ENOEXEC;
	/* The section when there are section headers: its exact size. */
	if (!elf_getshdrstrndx(elf, &shstrndx) && !elf_getshdrnum(elf, &nsec)) {
		while ((scn = elf_nextscn(elf, scn)) && ++seen < SECS_MAX) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh))
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!name || strcmp(name, ".eh_frame"))
				continue;
			if (sh.sh_type == SHT_NOBITS)
				return -ENOENT; /* a separate debug file: nothing here */
			out->off = sh.sh_offset;
			out->size = sh.sh_size;
			out->vaddr = sh.sh_addr;
			return out->size ? 0 : -ENOENT;
		}
	}
	if (have_hdr)
		return find_via_hdr(fd, t, &hdr_ph, out);
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
			parse_cie(c, buf, len, vaddr, cie_off);
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
			emit(b, b->ck_hi, (struct crule){ .cfa = ROW_GAP, .bp = CFI_BP_UNDEF });
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
			parse_cie(c, buf, len, vaddr, f->cie);
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
			c->init_state = run_program(&b, c, r, NULL, &c->init, &c->init, &dummy) ? 1 : 2;
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
			emit(&b, loc, (struct crule){ .cfa = CFI_REG_SIGNAL, .bp = CFI_BP_UNDEF });
		} else if (!run_program(&b, c, r, f, &c->init, &s, &loc)) {
			/* what the program did not say is unknown */
			emit(&b, loc, (struct crule){ .cfa = CFI_REG_NONE, .bp = CFI_BP_UNDEF });
			bad++;
		} else if (loc < f->hi) {
			emit(&b, loc, to_rule(&s));
		}
		emit(&b, f->hi, (struct crule){ .cfa = ROW_GAP, .bp = CFI_BP_UNDEF });
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

struct cfi_table *cfi_table__load(int fd)
{
	struct cie *cache = NULL;
	struct fde *fdes = NULL;
	struct cfi_table *t = NULL;
	uint8_t *buf = NULL;
	struct ehf ehf;
	GElf_Ehdr eh;
	uint32_t nfdes = 0;
	struct stat st;
	Elf *elf = NULL;
	ssize_t got = 0;
	int err;

	pthread_once(&elf_once, elf_init);
	if (!elf_ok) {
		errno = ENOSYS;
		return NULL;
	}
	if (elf_file_check(fd, &st))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto out;
	}
	/* ELF_C_READ: headers and nothing else are read, through fd, which
	 * libelf leaves open for us and forgets at elf_end(). */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = -ENOEXEC;
	if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 ||
	    !gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		goto out;
	err = find_eh_frame(fd, elf, t, &ehf);
	if (err)
		goto out;
	if (ehf.off > (uint64_t)st.st_size) {
		err = -ENOENT;
		goto out;
	}
	if (ehf.size > (uint64_t)st.st_size - ehf.off)
		ehf.size = (uint64_t)st.st_size - ehf.off; /* truncated file */
	if (ehf.size > EH_FRAME_MAX)
		ehf.size = EH_FRAME_MAX;
	err = -ENOMEM;
	buf = malloc(ehf.size ? ehf.size : 1);
	cache = calloc(CIE_CACHE, sizeof(*cache));
	if (!buf || !cache)
		goto out;
	while ((uint64_t)got < ehf.size) {
		ssize_t r = pread(fd, buf + got, ehf.size - got, (off_t)(ehf.off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	err = collect_fdes(buf, (size_t)got, ehf.vaddr, cache, &fdes, &nfdes);
	if (err)
		goto out;
	err = -ENOENT;
	if (nfdes)
		err = build_rows(t, buf, (size_t)got, ehf.vaddr, fdes, nfdes, cache);
	if (!err)
		t->bp_share = count_bp_share(t);
out:
	if (elf)
		elf_end(elf);
	free(fdes);
	free(cache);
	free(buf);
	if (err) {
		cfi_table__free(t);
		errno = -err;
		return NULL;
	}
	return t;
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
	uint32_t lo = 0, hi, rel;
	const struct crule *r;
	uint64_t va;

	if (!t || !t->nrows || !elf_seg__off_to_vaddr(t->segs, t->nsegs, file_offset, &va) ||
	    va < t->base || va - t->base > UINT32_MAX)
		return -ENOENT;
	rel = (uint32_t)(va - t->base);
	hi = t->nrows;
	while (lo < hi) { /* the first row past rel */
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->pcs[mid] <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
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
