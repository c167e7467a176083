/* SPDX-License-Identifier: MIT */
/*
 * The table unwinder (issue 13): walks a user stack frame by frame from
 * the rows of its files' .eh_frame (bpf/unwind_maps.h), so that code
 * without frame pointers (most of a Debian host) has whole stacks, and
 * code with them takes the same path (their rows say rbp-based CFA).
 *
 * One frame: the pc's mapping (a binary search of the process's entry),
 * its file's page entry, then at most UNWIND_PAGE_SEARCH_STEPS probes of
 * the page's rows; the CFA from rsp or rbp, the return address at CFA - 8
 * and, where the row says so, the caller's rbp. A pc in no FDE (hand
 * written code, a PLT without CFI) takes one frame-pointer step; a signal
 * trampoline's (__restore_rt) goes on from the registers the signal
 * interrupted, in the ucontext the kernel left on the stack. Frames are a
 * bpf_loop's iterations: the verifier checks one, not 127.
 */
#ifndef PPROFD_UNWIND_BPF_H
#define PPROFD_UNWIND_BPF_H

#include "stack.bpf.h"
#include "ustack.bpf.h"
#include "unwind_maps.h"

/* Walk user stacks from the tables first (the daemon's unwind_tables). */
const volatile bool use_tables = false;

/* Sized by the daemon before load (unwind_table_bytes, max_processes). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union unwind_slot);
} unwind_pool SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_file);
} unwind_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct unwind_proc);
} unwind_procs SEC(".maps");

/*
 * The rows last found, by (file slot, generation, offset), for every CPU
 * and every object (the maps are shared, daemon/collect/unwind_fds.h): a process's
 * samples return to the same few hundred addresses again and again, and a
 * hit is one memory access where the search of the pool makes a dozen.
 * Those accesses are the walk's cost: cold, each is a trip to memory and
 * often a page walk (measured here: 134-300 ns a dependent load; a cached
 * row in a vmalloc'ed map took ~440 ns, in a kmalloc'ed one ~220 ns). So
 * the cache is sized to stay under 32 KiB with the map's header, which the
 * kernel allocates from its linearly mapped memory (huge pages, no page
 * walk), and an entry is one 8-byte word: the row with its pc replaced by
 * a check of the key, read and written whole, so that no CPU ever sees
 * half of another's entry and an empty entry (check 0) never matches.
 * Entries name the generation: a row is found only for the file it was
 * read from (a slot reused has another generation).
 */
#define UNWIND_ROW_CACHE 4032 /* (32 KiB - struct bpf_array's 312 bytes) / 8 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UNWIND_ROW_CACHE);
	__type(key, __u32);
	__type(value, __u64); /* a union unwind_slot: row.pc holds the check */
} unwind_row_cache SEC(".maps");

/*
 * The key (distinct for every slot < 2^20, gen mod 2^12, offset < 2^32)
 * through splitmix64's finalizer, a bijection: every bit of it moves slot
 * and check, so that two keys in one slot pass each other's check once in
 * 2^31 (where the sample would have one wrong frame).
 */
static __always_inline __u64 unwind_row_hash(__u32 file, __u32 gen, __u64 off)
{
	__u64 h = (__u64)(file & 0xfffff) << 44 | (__u64)(gen & 0xfff) << 32 | (off & 0xffffffff);

	h = (h ^ h >> 30) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ h >> 27) * 0x94d049bb133111ebull;
	return h ^ h >> 31;
}

/*
 * The rows of the last walk on this CPU: two samples of a thread mostly
 * share their outer frames (main down to the loop that runs) and differ
 * in a few innermost ones, so the next walk finds most of its rows here,
 * in order, in a few adjacent lines (8 a line, which the hardware fetches
 * ahead) rather than each in a cold line of the cache above. A walk keeps
 * a cursor in the last one's rows and looks a few entries ahead of it, so
 * that a stack deeper or shallower at its top than the last still meets
 * its common part. The walk writes its own rows into the other buffer;
 * the two swap at its end. An entry is one 8-byte word like the cache's
 * (the row, its pc the key's check), so it is right whatever walk wrote
 * it, even one this walk interrupted.
 */
#define UNWIND_LAST_DEPTHS 128 /* >= USER_MAX_FRAMES, a power of two */
#define UNWIND_LAST_AHEAD 8    /* entries a miss looks ahead of the cursor */

/*
 * The stack is read a window at a time, not a word a frame: each frame's
 * return address is a cold line, and one read after another waits for
 * each in turn (the next address depends on the last), where one copy of
 * the next UNWIND_WINDOW bytes brings the lines of several frames in at
 * once. A window ends at its page's end, so that it never fails where the
 * word it was read for would not. A walk that interrupts another on this
 * CPU (a CPU sample in a lock event's) takes the window over: the walk it
 * interrupted sees another owner after its read and reads the word again,
 * from the stack.
 */
#define UNWIND_WINDOW 1024 /* a power of two, <= a page */

struct unwind_last_walk {
	__u64 rows[2][UNWIND_LAST_DEPTHS]; /* by depth; 0: empty */
	__u32 cur;             /* the buffer this walk writes; the other is the last's */
	__u32 at;              /* this walk's cursor in the last one's rows */
	__u64 walks;           /* walks begun on this CPU: the next one's id */
	__u64 win_owner;       /* the walk whose window[] this is */
	__u64 win_lo, win_len; /* the stack bytes in window[] */
	__u64 window[UNWIND_WINDOW / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_last_walk);
} unwind_last_walk SEC(".maps");

struct unwind_walk {
	__u64 pc, sp, bp;
	struct unwind_last_walk *last;
	__u64 *out; /* USER_MAX_FRAMES of them */
	struct unwind_proc *proc;
	__u32 n;        /* frames in out */
	__u32 end;      /* UNWIND_END_* */
	__u64 id;       /* this walk's, for last's window */
	__u32 map_hint; /* the last frame's mapping */
	bool bp_ok;     /* rbp holds what the rows say it does */
	bool exact;     /* pc is where the thread was (frame 0, or a
				   * signal interrupted it): not a return address */
};

/* The registers a signal interrupted, from the ucontext (UNWIND_SIGFRAME_*). */
struct unwind_sigregs {
	__u64 rbp, rbx, rdx, rax, rcx, rsp, rip;
};
_Static_assert(UNWIND_SIGFRAME_RSP - UNWIND_SIGFRAME_RBP == 40 &&
		       UNWIND_SIGFRAME_RIP - UNWIND_SIGFRAME_RBP == 48,
	       "struct unwind_sigregs follows the sigcontext");

struct unwind_map_search {
	const struct unwind_proc *p;
	__u64 pc;
	__u32 lo, hi;
};

/* One step of the search: a loop body, so that the verifier checks one
 * step and need not follow every index the search could take. */
static long unwind_map_step(__u64 i, void *ctx)
{
	struct unwind_map_search *s = ctx;
	__u32 mid;

	if (s->lo >= s->hi)
		return 1;
	mid = (s->lo + s->hi) / 2;
	if (s->p->maps[mid & (UNWIND_PROC_MAPS_MAX - 1)].start <= s->pc)
		s->lo = mid + 1;
	else
		s->hi = mid;
	return 0;
}

/* The mapping of pc, or NULL; *hint: the last one found, tried first
 * (a caller is most often in the same file as its callee). */
static __always_inline const struct unwind_map *unwind_find_map(const struct unwind_proc *p,
								__u64 pc, __u32 *hint)
{
	struct unwind_map_search s = { .p = p, .pc = pc, .hi = p->nr };
	__u32 i = *hint & (UNWIND_PROC_MAPS_MAX - 1);

	if (s.hi > UNWIND_PROC_MAPS_MAX)
		return NULL;
	if (i < s.hi && p->maps[i].start <= pc && pc < p->maps[i].end)
		return &p->maps[i];
	bpf_loop(UNWIND_PROC_SEARCH_STEPS + 1, unwind_map_step, &s, 0);
	if (!s.lo || s.lo < s.hi)
		return NULL;
	i = (s.lo - 1) & (UNWIND_PROC_MAPS_MAX - 1);
	*hint = i;
	return pc < p->maps[i].end ? &p->maps[i] : NULL;
}

struct unwind_row_search {
	__u64 off;
	__u32 base, lo, hi;
	bool bad;
};

/* One probe of the rows: a loop body, as unwind_map_step. */
static long unwind_row_step(__u64 i, void *ctx)
{
	struct unwind_row_search *s = ctx;
	const union unwind_slot *r;
	__u32 mid, at;

	if (s->lo >= s->hi)
		return 1;
	mid = (s->lo + s->hi) / 2;
	at = s->base + mid;
	r = bpf_map_lookup_elem(&unwind_pool, &at);
	if (!r) {
		s->bad = true;
		return 1;
	}
	if (r->row.pc <= s->off)
		s->lo = mid + 1;
	else
		s->hi = mid;
	return 0;
}

/*
 * The row at offset off of file f: its slot, or NULL for a gap (no page,
 * a page without code). *bad when the tables do not hold together.
 */
static __always_inline const struct unwind_row *unwind_find_row(const struct unwind_file *f,
								__u64 off, bool *bad)
{
	struct unwind_row_search rs = { .off = off };
	const union unwind_slot *s;
	__u64 page = off >> UNWIND_PAGE_SHIFT;
	__u32 idx;

	if (page >= f->npages)
		return NULL;
	idx = f->pool + (__u32)page;
	s = bpf_map_lookup_elem(&unwind_pool, &idx);
	if (!s || !s->page.count) {
		*bad = !s;
		return NULL;
	}
	rs.hi = s->page.count;
	rs.base = f->pool + f->npages + s->page.first;
	bpf_loop(UNWIND_PAGE_SEARCH_STEPS, unwind_row_step, &rs, 0);
	/* the page's first row covers its start, and the search must end */
	if (rs.bad || !rs.lo || rs.lo < rs.hi) {
		*bad = true;
		return NULL;
	}
	idx = rs.base + rs.lo - 1;
	s = bpf_map_lookup_elem(&unwind_pool, &idx);
	if (!s)
		*bad = true;
	return s ? &s->row : NULL;
}

#define UNWIND_ROW_BAD (~0ull) /* no row can be: flags' bits 5-7 are 0 */

/*
 * The row of offset off of file slot file, generation gen, through the
 * caches: its raw 8 bytes, pc not meant to be read (a gap: a row with
 * UNWIND_CFA_GAP), or UNWIND_ROW_BAD when the file's table is gone (gen
 * is not the slot's) or does not hold together. Only a miss reads the
 * file's entry: a row cached under (file, gen) is one of that file's
 * whether or not its table is still loaded, and the entry is a cold line
 * each file a walk meets. A global function: the verifier checks it
 * once, on its own, and the frame loop sees one unknown value back rather
 * than every path through the searches.
 */
__noinline __u64 unwind_row_lookup(__u32 file, __u32 gen, __u64 off, struct unwind_last_walk *last,
				   __u32 depth)
{
	const struct unwind_file *f;
	const struct unwind_row *row;
	union unwind_slot found;
	__u64 h, *cached = NULL, *prev;
	__u32 slot, check, k, at, cur;
	bool bad = false;

	if (!last)
		return UNWIND_ROW_BAD;
	cur = last->cur & 1;
	prev = last->rows[cur ^ 1];
	h = unwind_row_hash(file, gen, off);
	check = (__u32)(h >> 32) | 1;
	depth &= UNWIND_LAST_DEPTHS - 1;
	if (off >> 32)
		goto search; /* no key: neither cache can hold it */
	for (k = 0; k < UNWIND_LAST_AHEAD; k++) {
		at = last->at + k;
		if (at >= UNWIND_LAST_DEPTHS)
			break;
		found.raw = *(volatile __u64 *)&prev[at];
		if (found.row.pc == check) {
			last->at = at + 1;
			goto found;
		}
	}
	slot = (__u32)h % UNWIND_ROW_CACHE;
	cached = bpf_map_lookup_elem(&unwind_row_cache, &slot);
	found.raw = cached ? *(volatile __u64 *)cached : 0;
	if (cached && found.row.pc == check)
		goto found;
search:
	f = bpf_map_lookup_elem(&unwind_files, &file);
	if (!f || !f->gen || f->gen != gen)
		return UNWIND_ROW_BAD;
	row = unwind_find_row(f, off, &bad);
	if (bad)
		return UNWIND_ROW_BAD;
	found.raw = row ? ((const union unwind_slot *)row)->raw
			: ((union unwind_slot){ .row = { .flags = UNWIND_CFA_GAP } }).raw;
	found.row.pc = check;
	if (!cached)
		return found.raw;
	*(volatile __u64 *)cached = found.raw;
found:
	*(volatile __u64 *)&last->rows[cur][depth] = found.raw;
	return found.raw;
}

/* The stack word at addr through walk id's window: 0 or a read's error.
 * A global function, as unwind_row_lookup. */
__noinline long unwind_read_word(struct unwind_last_walk *last, __u64 id, __u64 addr, __u64 *dst)
{
	__u64 d, len;

	if (!last || !dst)
		return -1;
	d = addr - last->win_lo;
	if (*(volatile __u64 *)&last->win_owner != id || d >= last->win_len) {
		len = 4096 - (addr & 4095);
		if (len > UNWIND_WINDOW)
			len = UNWIND_WINDOW;
		if ((addr & 7) || len < 8 || len > UNWIND_WINDOW)
			goto direct;
		*(volatile __u64 *)&last->win_owner = id;
		if (bpf_probe_read_user(last->window, len, (void *)addr)) {
			last->win_len = 0;
			goto direct; /* the word alone may be there */
		}
		last->win_lo = addr;
		last->win_len = len;
		d = 0;
	}
	*dst = *(volatile __u64 *)&last->window[(d / 8) & (UNWIND_WINDOW / 8 - 1)];
	if (*(volatile __u64 *)&last->win_owner == id)
		return 0;
direct:
	return bpf_probe_read_user(dst, sizeof(*dst), (void *)addr);
}

/* One frame record's step by frame pointer: false when rbp is no record. */
static __always_inline bool unwind_fp_step(struct unwind_walk *w, __u64 *cfa, __u64 *ra)
{
	struct fp_frame f;

	if (!w->bp_ok || w->bp < w->sp || (w->bp & 7) || w->bp - w->sp > FP_MAX_FRAME_BYTES ||
	    bpf_probe_read_user(&f, sizeof(f), (void *)w->bp))
		return false;
	*cfa = w->bp + sizeof(f);
	*ra = f.ret;
	w->bp = f.next_fp;
	return true;
}

/* bpf_loop's body: frame i's return address into out, or the end. */
static long unwind_step(__u64 i, void *ctx)
{
	struct unwind_walk *w = ctx;
	const struct unwind_map *m;
	const struct unwind_row *row;
	union unwind_slot r;
	__u64 lookup, cfa, ra;
	__u32 n = w->n;
	int kind;

	if (n >= USER_MAX_FRAMES) {
		w->end = UNWIND_END_DEPTH;
		return 1;
	}
	/* A return address is after its call: look up the call itself. */
	lookup = w->exact ? w->pc : w->pc - 1;
	w->exact = false;
	m = unwind_find_map(w->proc, lookup, &w->map_hint);
	if (!m) {
		w->end = UNWIND_END_NO_MAP;
		return 1;
	}
	if (m->flags & UNWIND_MAP_F_NO_TABLE) {
		w->end = UNWIND_END_NO_TABLE;
		return 1;
	}
	r.raw = unwind_row_lookup(m->file, m->gen, lookup - m->bias, w->last, n - 1);
	if (r.raw == UNWIND_ROW_BAD) {
		w->end = UNWIND_END_NO_TABLE;
		return 1;
	}
	row = &r.row;
	kind = UNWIND_ROW_CFA(row->flags);
	switch (kind) {
	case UNWIND_CFA_SP:
	case UNWIND_CFA_PLT:
		cfa = w->sp + unwind_row_cfa_off(row, w->pc);
		break;
	case UNWIND_CFA_BP:
		if (!w->bp_ok) {
			w->end = UNWIND_END_STOP;
			return 1;
		}
		cfa = w->bp + row->cfa_off;
		break;
	case UNWIND_CFA_GAP:
		if (!unwind_fp_step(w, &cfa, &ra)) {
			w->end = UNWIND_END_STOP;
			return 1;
		}
		goto stepped;
	case UNWIND_CFA_SIGNAL: {
		/* __restore_rt: the interrupted thread's registers, wherever
		 * its stack was (an alternate signal stack is elsewhere) */
		struct unwind_sigregs r;

		if (bpf_probe_read_user(&r, sizeof(r), (void *)(w->sp + UNWIND_SIGFRAME_RBP))) {
			w->end = UNWIND_END_READ;
			return 1;
		}
		w->bp = r.rbp;
		w->bp_ok = true;
		w->exact = true;
		cfa = r.rsp;
		ra = r.rip;
		goto stepped;
	}
	default:
		w->end = UNWIND_END_STOP;
		return 1;
	}
	if (cfa <= w->sp || cfa - w->sp > FP_MAX_FRAME_BYTES) {
		w->end = UNWIND_END_BAD_CFA;
		return 1;
	}
	if (unwind_read_word(w->last, w->id, cfa - 8, &ra)) {
		w->end = UNWIND_END_READ;
		return 1;
	}
	switch (UNWIND_ROW_BP(row->flags)) {
	case UNWIND_BP_AT_CFA:
		if (unwind_read_word(w->last, w->id, cfa + 8 * (__s64)row->bp_off8, &w->bp))
			w->bp_ok = false;
		else
			w->bp_ok = true;
		break;
	case UNWIND_BP_SAME:
		break;
	default:
		w->bp_ok = false;
	}
stepped:
	w->sp = cfa;
	w->pc = ra;
	if (!ra) {
		w->end = UNWIND_END_START;
		return 1;
	}
	w->out[n] = ra;
	w->n = n + 1;
	return 0;
}

/*
 * Walks the user stack of process tgid (its mm's start_code) from
 * ip/sp/bp into out (USER_MAX_FRAMES, ip first); returns the frames
 * written, *end why the walk stopped (UNWIND_END_*), or -1 when the
 * process has no entry (or one of another image).
 */
static __always_inline long unwind_user_stack(__u32 tgid, __u64 start_code, __u64 ip, __u64 sp,
					      __u64 bp, __u64 *out, __u32 *end)
{
	struct unwind_walk w = {
		.pc = ip, .sp = sp, .bp = bp, .out = out, .bp_ok = true, .exact = true
	};

	__u32 zero = 0;

	w.proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	if (!w.proc || !ip || w.proc->start_code != start_code)
		return -1;
	w.last = bpf_map_lookup_elem(&unwind_last_walk, &zero);
	if (!w.last)
		return -1; /* cannot be: an array's one element */
	w.last->at = 0;
	w.id = ++w.last->walks;
	/* out[n - 1] is the frame whose row a step looks up; it writes out[n] */
	out[0] = ip;
	w.n = 1;
	bpf_loop(USER_MAX_FRAMES, unwind_step, &w, 0);
	/* the rows past this walk's depth are an older walk's: still right */
	w.last->cur ^= 1;
	*end = w.end;
	return w.n;
}

/*
 * The current thread's user stack from registers ip/sp/bp, as a struct
 * ustack for the event kinds (heap, mutex, block): walked from the tables
 * where they are on and the walker takes it (USTACK_F_WALKED), the stack
 * copy otherwise (USTACK_F_WALK_MISS where the tables lacked the process
 * or a mapping it reached). data holds USTACK_DATA_MAX bytes; returns
 * the bytes used.
 */
static __always_inline __u32 ustack_capture_current(__u64 ip, __u64 sp, __u64 bp,
						    struct ustack_hdr *h, void *data)
{
	__u32 len, miss = 0;

	if (use_tables && ip) {
		struct task_struct *task = bpf_get_current_task_btf();
		__u32 end = UNWIND_END_NR;
		long n = unwind_user_stack(task->tgid, BPF_CORE_READ(task, mm, start_code), ip, sp,
					   bp, data, &end);

		if (n > 0 && n <= USER_MAX_FRAMES && end != UNWIND_END_NO_MAP &&
		    end != UNWIND_END_NO_TABLE) {
			h->ip = ip;
			h->sp = sp;
			h->bp = bp;
			h->nr_fp = n;
			h->snap_len = 0;
			h->flags = USTACK_F_WALKED;
			return n * 8;
		}
		miss = USTACK_F_WALK_MISS;
	}
	len = ustack_capture_regs(ip, sp, bp, h, data, NULL, USTACK_SNAP_BYTES);
	h->flags |= miss;
	return len;
}

/* The same from the user registers current entered the kernel with. */
static __always_inline __u32 ustack_capture_task_regs(struct task_struct *current_task,
						      struct ustack_hdr *h, void *data)
{
	struct pt_regs *ur = (struct pt_regs *)bpf_task_pt_regs(current_task);

	return ustack_capture_current(BPF_CORE_READ(ur, ip), BPF_CORE_READ(ur, sp),
				      BPF_CORE_READ(ur, bp), h, data);
}

#endif
