/* SPDX-License-Identifier: MIT */
/*
 * The .eh_frame loader's insides, shared by its two files (cfi.c: finding
 * .eh_frame, FDEs, the table; cfi_program.c: CIEs and CFA programs): its
 * limits, the bounded reader, the rule and builder types. Not for other
 * modules: they have cfi.h.
 */
#ifndef PPROFD_CFI_INT_H
#define PPROFD_CFI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfi.h"

#define EH_FRAME_MAX (32u << 20) /* bytes of .eh_frame read (libLLVM's: 5 MiB) */
#define FDES_MAX (1u << 20)      /* FDEs used per file */
#define ROWS_MAX (1u << 22)      /* rows kept per file (24 MiB) */
#define RULES_MAX 65535          /* distinct rules per file (a u16 index) */
#define FDE_ROWS_MAX 65536       /* rows of one FDE; the rest is unknown */
#define PROG_MAX (1u << 20)      /* bytes of one CFA program run; the rest is unknown */
#define OPS_MAX (1u << 26)       /* CFA ops run in one load */
#define STATE_DEPTH_MAX 16       /* remember_state nesting */
#define AUG_MAX 8                /* augmentation string length */
#define SEGS_MAX 16              /* PT_LOAD segments used */
#define CIE_CACHE 64             /* parsed CIEs kept while loading */

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

/* ---- bounded reading ---- */

/* A cursor over [p, end); base is the buffer's start, at vaddr. Once err
 * is set every read returns 0 and the cursor stays. */
struct rd {
	const uint8_t *p, *end, *base;
	uint64_t vaddr;
	bool err;
};

static inline uint64_t rd_uN(struct rd *r, unsigned n)
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

static inline uint8_t rd_u8(struct rd *r)
{
	return (uint8_t)rd_uN(r, 1);
}

/* LEB128 of at most 10 bytes: longer ones are malformed, not slow. */
static inline uint64_t rd_leb(struct rd *r, bool sign)
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

static inline uint64_t rd_uleb(struct rd *r)
{
	return rd_leb(r, false);
}

static inline int64_t rd_sleb(struct rd *r)
{
	return (int64_t)rd_leb(r, true);
}

static inline void rd_skip(struct rd *r, uint64_t n)
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
static inline uint64_t rd_ptr(struct rd *r, uint8_t enc, bool have_data_base, uint64_t data_base)
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
	struct rd at;       /* to read the instructions (vaddr-aware) */
	uint8_t init_state; /* 0: initial instructions not run, 1: ran, 2: failed */
	struct regs init;   /* the state they leave */
};

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

/* cfi_program.c's, each described there */
void cfi_parse_cie(struct cie *c, const uint8_t *buf, size_t len, uint64_t vaddr, size_t off);
struct crule cfi_to_rule(const struct regs *s);
void cfi_emit(struct builder *b, uint64_t pc, struct crule cr);
bool cfi_run_program(struct builder *b, const struct cie *c, struct rd r, const struct fde *fde,
		     const struct regs *init, struct regs *s, uint64_t *locp);

#endif
