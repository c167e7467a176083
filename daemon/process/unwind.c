// SPDX-License-Identifier: MIT
/*
 * A user stack unwound from a struct ustack record: (pc, sp, bp) stepped
 * frame by frame, each step by the module's CFI row for pc when there is
 * one, else by the frame-pointer record at bp.
 *
 * Memory is what the record holds: the copy of [sp, sp + snap_len) and
 * the frame records the BPF walk read ([addr] = the next record's addr,
 * [addr + 8] = ret). When a CFI step needs memory past the copy, bp is
 * usually one of those records (code with frame pointers keeps rbp on its
 * own frame, and libc leaves rbp alone or saves and restores it): the
 * walk goes on through them, which is how the two halves join.
 *
 * The record is hostile: lengths are checked against len, every read is
 * bounds-checked, and sp must grow at every step, so the walk ends.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "unwind.h"
#include "unwind_row.h"

/* Frames are at most this far apart (the BPF walk's rule, stack.bpf.h). */
#define FRAME_MAX_BYTES (1ull << 20)

struct mem {
	const uint8_t *snap;
	uint64_t lo; /* the stack address of snap[0] */
	uint32_t len;
	const uint8_t *fps; /* nr_fp struct ustack_fp, maybe unaligned */
	unsigned nr_fp;
};

struct state {
	uint64_t pc, sp, bp;
	bool bp_ok; /* bp known */
	bool exact; /* pc is where the thread was, not a return address */
};

static void fp_at(const struct mem *m, unsigned i, struct ustack_fp *f)
{
	memcpy(f, m->fps + (size_t)i * sizeof(*f), sizeof(*f));
}

/* The 8 bytes at addr, from the stack copy or the frame records. */
static bool rd(const struct mem *m, uint64_t addr, uint64_t *v)
{
	uint64_t o = addr - m->lo;

	if (addr >= m->lo && o < m->len && m->len - o >= 8) {
		memcpy(v, m->snap + o, 8);
		return true;
	}
	for (unsigned i = 0; i < m->nr_fp; i++) {
		struct ustack_fp f;

		fp_at(m, i, &f);
		if (addr == f.addr + 8) {
			*v = f.ret;
			return true;
		}
		if (addr == f.addr) {
			if (i + 1 == m->nr_fp)
				return false; /* where the BPF walk stopped */
			fp_at(m, i + 1, &f);
			*v = f.addr;
			return true;
		}
	}
	return false;
}

static bool is_record(const struct mem *m, uint64_t addr)
{
	for (unsigned i = 0; i < m->nr_fp; i++) {
		struct ustack_fp f;

		fp_at(m, i, &f);
		if (f.addr == addr)
			return true;
	}
	return false;
}

/* The caller by the frame record at bp, with the BPF walk's rules. */
static bool fp_step(const struct mem *m, struct state *s, uint64_t *ra)
{
	uint64_t nbp = 0;

	if (!s->bp_ok || s->bp < s->sp || (s->bp & 7) || s->bp - s->sp > FRAME_MAX_BYTES ||
	    s->bp > UINT64_MAX - 16)
		return false;
	if (!rd(m, s->bp + 8, ra))
		return false;
	s->bp_ok = rd(m, s->bp, &nbp);
	s->sp = s->bp + 16;
	s->bp = nbp;
	return true;
}

/* The caller by the CFI row of pc: CFA = reg + off, the return address
 * at CFA - 8, rbp per its rule; the caller's sp is the CFA. */
static bool cfi_step(const struct mem *m, const struct cfi_row *r, struct state *s, uint64_t *ra)
{
	uint64_t cfa, nbp = s->bp;
	bool nbp_ok = s->bp_ok;

	if (r->cfa_reg == CFI_REG_SIGNAL) {
		/* the interrupted registers, from the ucontext at sp */
		if (!rd(m, s->sp + UNWIND_SIGFRAME_RIP, ra) ||
		    !rd(m, s->sp + UNWIND_SIGFRAME_RSP, &cfa))
			return false;
		s->bp_ok = rd(m, s->sp + UNWIND_SIGFRAME_RBP, &s->bp);
		s->sp = cfa;
		s->exact = true;
		return true;
	}
	if (r->cfa_reg == CFI_REG_SP)
		cfa = s->sp;
	else if (r->cfa_reg == CFI_REG_BP && s->bp_ok)
		cfa = s->bp;
	else
		return false;
	cfa += (uint64_t)(int64_t)r->cfa_off;
	if (cfa <= s->sp || !rd(m, cfa - 8, ra))
		return false;
	if (r->bp_rule == CFI_BP_AT_CFA)
		nbp_ok = rd(m, cfa + (uint64_t)(int64_t)r->bp_off, &nbp);
	else if (r->bp_rule != CFI_BP_SAME)
		nbp_ok = false;
	s->sp = cfa;
	s->bp = nbp;
	s->bp_ok = nbp_ok;
	return true;
}

int unwind_user(const struct ustack_hdr *h, size_t len, unwind_find_fn find, void *ctx,
		uint64_t *out, unsigned max)
{
	struct state s;
	struct mem m;
	unsigned n;

	if (!h || !ustack_fits(h, len))
		return -EINVAL;
	if ((h->flags & USTACK_F_NO_REGS) || !h->ip || !max)
		return 0;
	if (h->flags & USTACK_F_WALKED) {
		/* the BPF walker's frames (ustack_fits checked their size) */
		n = h->nr_fp < max ? h->nr_fp : max;
		memcpy(out, h + 1, n * sizeof(*out));
		return n;
	}
	m.fps = (const uint8_t *)(h + 1);
	m.nr_fp = h->nr_fp;
	m.snap = m.fps + (size_t)h->nr_fp * sizeof(struct ustack_fp);
	m.lo = h->sp;
	m.len = h->snap_len;
	s = (struct state){ h->ip, h->sp, h->bp, true, true };
	out[0] = h->ip;
	for (n = 1; n < max; n++) {
		const struct cfi_table *t = NULL;
		struct cfi_row row;
		uint64_t off = 0, ra = 0;
		bool ok;

		/* A return address may be just past its call's FDE: look up
		 * the call. Where the thread was (frame 0, or interrupted by
		 * a signal) is exact. */
		if (find)
			t = find(ctx, s.exact ? s.pc : s.pc - 1, &off);
		s.exact = false;
		if (t && !cfi_table__lookup(t, off, &row))
			/* past the copy (or a frame CFI cannot describe): on
			 * through the records, where bp is one */
			ok = cfi_step(&m, &row, &s, &ra) ||
			     (s.bp_ok && is_record(&m, s.bp) && fp_step(&m, &s, &ra));
		else
			ok = fp_step(&m, &s, &ra);
		if (!ok || !ra)
			break;
		s.pc = ra;
		out[n] = ra;
	}
	return (int)n;
}
