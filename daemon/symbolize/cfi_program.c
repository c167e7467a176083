// SPDX-License-Identifier: MIT
/*
 * CIEs parsed and CFA programs run into the rows of a table being built
 * (cfi_int.h): the DWARF call frame instructions x86-64 code uses, each
 * bounded, an unknown one making the rest of its FDE unknown.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"
#include "cfi_int.h"

/* ---- CIEs ---- */

/* Parses the CIE at off of buf (len bytes, at vaddr). */
void cfi_parse_cie(struct cie *c, const uint8_t *buf, size_t len, uint64_t vaddr, size_t off)
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

struct crule cfi_to_rule(const struct regs *s)
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
void cfi_emit(struct builder *b, uint64_t pc, struct crule cr)
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
bool cfi_run_program(struct builder *b, const struct cie *c, struct rd r, const struct fde *fde,
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
		cfi_emit(b, loc, cfi_to_rule(s));
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
