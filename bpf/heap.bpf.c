// SPDX-License-Identifier: GPL-2.0
/*
 * Heap profiling: uprobes on the allocator's entry points of the processes
 * asked for, sampling allocations by bytes as Go's MemProfileRate does.
 *
 * Cost. A uprobe hit costs ~0.42 us where the kernel emulates the probed
 * instruction (push, jmp, jcc, call, nop) and ~14.5 us where it must
 * single-step it; a uretprobe adds ~0.25 us. So every entry point is probed
 * once, at an offset whose instruction is emulated (chosen and checked by
 * daemon/collect/heap_sampler.c), and the allocation functions use a uprobe
 * *session* (BPF_TRACE_UPROBE_SESSION): the kernel runs the return half
 * only when the entry half returned 0, i.e. only for the sampled
 * allocations, which need the pointer. An unsampled malloc costs one
 * emulated uprobe and a countdown; a free one emulated uprobe and a lookup
 * in the table of live sampled blocks. No stack walk, no event.
 *
 * Sampling. Each thread counts down bytes from an exponential draw of mean
 * `rate`; the allocation that reaches zero is sampled and a new draw
 * starts, so an allocation of s bytes is sampled with probability
 * 1 - exp(-s / rate) (the exponential is memoryless) and user space
 * unbiases by its inverse, as Go does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "heap.h"
#include "compat.bpf.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "GPL";

_Static_assert(HEAP_USTACK_MAX % 8 == 0, "the stack record fills frames[]");

const volatile __u64 rate = HEAP_DEFAULT_RATE; /* mean bytes between samples; <= 1: all */
const volatile __u64 wakeup_bytes = 0;         /* wake user space past this much data */
const volatile __u64 ring_bytes = 1 << 20;     /* the size of `events` */

/* MALLOC_ALIGNMENT on x86-64: glibc relays memalign(a <= 16) to malloc. */
#define MALLOC_ALIGNMENT 16

/* Session cookies of sampled calls: the size, the rate shift of the
 * sample (heap_rate_shift) above it, and the entry point on top. */
#define COOKIE_FN_SHIFT 56
#define COOKIE_RSHIFT_SHIFT 48
#define COOKIE_SIZE_MASK ((1ull << COOKIE_RSHIFT_SHIFT) - 1)

extern bool bpf_session_is_return(void) __ksym;
extern __u64 *bpf_session_cookie(void) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* set by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heap_percpu);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct heap_thread);
} threads SEC(".maps");

/* Sampled blocks still live, by (tgid, address): what a free must find.
 * Preallocated so that an update never allocates in the probe; bounded,
 * and a full table is counted (the block is reported untracked). */
struct live_key {
	__u64 ptr;
	__u32 tgid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768); /* set by user space before load */
	__type(key, struct live_key);
	__type(value, struct heap_live);
} live SEC(".maps");

/* Losses per process and generation, until user space reads and deletes
 * them (heap.h, struct heap_lost_key). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct heap_lost_key);
	__type(value, struct heap_lost);
} lost SEC(".maps");

/* The generation of `lost` programs write, and how many are inside each;
 * in .bss, where user space flips and reads them. */
volatile __u32 lost_gen;
__u64 lost_busy[2];

/* A zeroed value for new `lost` entries (too big for the BPF stack). */
static struct heap_lost lost_zero;

/* The filter in front of live (heap.h): in .bss, so user space can lower
 * a slot when it deletes an exited process's entries. */
__u32 live_hint[1 << HEAP_HINT_BITS];

static __always_inline struct heap_percpu *percpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline struct heap_thread *thread(void)
{
	return bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline __u64 ring_used(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
}

/* A new countdown for t, its mean raised when the ring fills (heap.h). */
static __always_inline void draw(struct heap_thread *t, struct heap_percpu *pc)
{
	t->draw_shift = heap_rate_shift(ring_used(), ring_bytes);
	if (t->draw_shift)
		pc->counters[HEAP_CNT_RATE_RAISED]++;
	t->next = heap_exp_draw(bpf_get_prandom_u32(), rate << t->draw_shift);
}

/* Whether this allocation of size bytes is sampled (see the top); if so,
 * *shift is the rate shift its countdown was drawn with. */
static __always_inline bool take_sample(struct heap_thread *t, struct heap_percpu *pc, __u64 size,
					__u8 *shift)
{
	*shift = 0;
	if (rate <= 1)
		return true;
	if (size < (__u64)t->next) {
		t->next -= size;
		return false;
	}
	if (!t->next) {
		/* The thread's first allocation: draw its first interval. */
		draw(t, pc);
		if (size < (__u64)t->next) {
			t->next -= size;
			return false;
		}
	}
	*shift = t->draw_shift;
	draw(t, pc);
	return true;
}

/* Enters the current generation of `lost`: its number, or -1 when user
 * space flipped it twice meanwhile (then the loss is not counted there). */
static __always_inline int lost_enter(void)
{
	for (int i = 0; i < 2; i++) {
		__u32 g = lost_gen & 1;

		/* a full barrier: either user space sees us busy in g, or we
		 * see its flip */
		__sync_fetch_and_add(&lost_busy[g], 1);
		if ((lost_gen & 1) == g)
			return g;
		__sync_fetch_and_sub(&lost_busy[g], 1);
	}
	return -1;
}

static __always_inline void lost_leave(int g)
{
	__sync_fetch_and_sub(&lost_busy[g & 1], 1);
}

/* tgid's entry in generation g, created if need be. */
static __always_inline struct heap_lost *lost_entry(struct heap_percpu *pc, __u32 tgid, int g)
{
	struct heap_lost_key k = { .tgid = tgid, .gen = g };
	struct heap_lost *l;

	if (g < 0) {
		pc->counters[HEAP_CNT_LOST_NO_ENTRY]++;
		return NULL;
	}
	l = bpf_map_lookup_elem(&lost, &k);
	if (l)
		return l;
	bpf_map_update_elem(&lost, &k, &lost_zero, BPF_NOEXIST);
	l = bpf_map_lookup_elem(&lost, &k);
	if (!l)
		pc->counters[HEAP_CNT_LOST_NO_ENTRY]++;
	return l;
}

/* A sampled allocation that could not be sent. */
static __always_inline void lose_alloc(struct heap_percpu *pc, __u32 tgid, __u64 size, __u64 srate)
{
	int g = lost_enter();
	struct heap_lost *l = lost_entry(pc, tgid, g);
	__u32 b = heap_lost_bucket(size, srate) & (HEAP_LOST_BUCKETS - 1);

	pc->counters[HEAP_CNT_DROP_RINGBUF]++;
	if (l) {
		__sync_fetch_and_add(&l->b[b].n, 1);
		__sync_fetch_and_add(&l->b[b].bytes, size);
		__sync_fetch_and_add(&l->b[b].rates, srate);
	}
	if (g >= 0)
		lost_leave(g);
}

/* The free of a sampled block whose record could not be sent: its id. */
static __always_inline void defer_free(struct heap_percpu *pc, __u32 tgid, __u64 id)
{
	int g = lost_enter();
	struct heap_lost *l = lost_entry(pc, tgid, g);
	__u64 i;

	if (l) {
		i = __sync_fetch_and_add(&l->nr_free_ids, 1);
		if (i < HEAP_LOST_FREE_IDS) {
			l->free_ids[i & (HEAP_LOST_FREE_IDS - 1)] = id;
			pc->counters[HEAP_CNT_FREE_DEFERRED]++;
		} else {
			pc->counters[HEAP_CNT_FREE_LOST]++;
		}
	}
	if (g >= 0)
		lost_leave(g);
}

static __always_inline void wake_or_not(__u64 *flags)
{
	*flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		*flags = BPF_RB_FORCE_WAKEUP;
}

/* A sampled block is gone (free, or realloc of it): forget it, tell user
 * space. Called for every free, so the miss is one lookup and nothing else. */
static __always_inline void untrack(struct heap_percpu *pc, __u64 ptr, __u32 tgid, __u16 fn)
{
	struct live_key k = { .ptr = ptr, .tgid = tgid };
	struct heap_live *l;
	struct heap_event *ev;
	__u32 slot = heap_hint_slot(ptr, tgid);
	__u64 flags;

	if (!live_hint[slot])
		return;
	l = bpf_map_lookup_elem(&live, &k);
	if (!l)
		return;
	ev = &pc->ev;
	ev->type = HEAP_EV_FREE;
	ev->pid = tgid;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->fn = fn;
	ev->nr_frames = 0;
	ev->time_ns = bpf_ktime_get_ns();
	ev->id = l->id;
	ev->ptr = ptr;
	ev->size = l->size;
	ev->rate = 0;
	if (bpf_map_delete_elem(&live, &k))
		return; /* a concurrent free of the same block took it */
	__sync_fetch_and_add(&live_hint[slot], -1);
	wake_or_not(&flags);
	if (bpf_ringbuf_output(&events, ev, HEAP_FREE_EVENT_SIZE, flags))
		defer_free(pc, tgid, ev->id);
	else
		pc->counters[HEAP_CNT_FREE_EVENTS]++;
}

/* The rate a sample drawn with the rate shifted by shift stands for. */
static __always_inline __u64 shifted_rate(__u8 shift)
{
	return rate <= 1 ? 1 : rate << (shift & 7);
}

/* A sampled allocation, at its return (ctx: the registers there; srate:
 * the mean it was sampled with, or with HEAP_F_WEIGHTED in ev_flags its
 * weight): track the block, send it with its stack. */
static __always_inline void sampled(struct pt_regs *ctx, struct heap_percpu *pc, __u16 fn,
				    __u64 ptr, __u64 size, __u64 srate, __u32 ev_flags)
{
	__u64 id = bpf_get_current_pid_tgid(), flags;
	struct heap_live l;
	struct live_key k = { .ptr = ptr, .tgid = id >> 32 };
	struct heap_event *ev = &pc->ev;
	__u32 slot = heap_hint_slot(ptr, id >> 32);
	/* lost, a weighted sample stands for itself (heap.h) */
	__u64 lsize = (ev_flags & HEAP_F_WEIGHTED) ? srate : size;
	__u64 lrate = (ev_flags & HEAP_F_WEIGHTED) ? 1 : srate;
	long n;

	if (!ptr) {
		pc->counters[HEAP_CNT_ALLOC_FAILED]++;
		return;
	}
	if (ring_used() >= HEAP_RING_ALLOC_MAX(ring_bytes)) {
		/* the rest of the ring is for frees: not tracked, not sent */
		lose_alloc(pc, id >> 32, lsize, lrate);
		return;
	}
	ev->type = HEAP_EV_ALLOC;
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->fn = fn;
	ev->time_ns = bpf_ktime_get_ns();
	ev->id = ((__u64)bpf_get_smp_processor_id() << 48) | (++pc->seq & ((1ull << 48) - 1));
	ev->ptr = ptr;
	ev->size = size;
	ev->rate = srate;
	ev->flags = ev_flags;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));

	l.id = ev->id;
	l.size = size;
	/* Up before the insert, so that a free on another CPU that finds the
	 * entry finds the slot raised too. */
	__sync_fetch_and_add(&live_hint[slot], 1);
	if (bpf_map_update_elem(&live, &k, &l, BPF_ANY)) {
		__sync_fetch_and_add(&live_hint[slot], -1);
		ev->flags |= HEAP_F_UNTRACKED;
		pc->counters[HEAP_CNT_INUSE_FULL]++;
	}

	/* At the return: the caller's pc, sp and rbp, so the stack starts at
	 * the caller of malloc. */
	n = ustack_capture_current(PT_REGS_IP(ctx), PT_REGS_SP(ctx), PT_REGS_FP(ctx),
				   (struct ustack_hdr *)pc->frames,
				   (void *)pc->frames + sizeof(struct ustack_hdr));
	if (n > USTACK_DATA_MAX)
		return; /* for the verifier: cannot happen */
	if (((struct ustack_hdr *)pc->frames)->flags & USTACK_F_SNAP_ERR) {
		ev->flags |= HEAP_F_USTACK_ERR;
		pc->counters[HEAP_CNT_USTACK_ERR]++;
	}
	ev->flags |= HEAP_F_USTACK;
	ev->nr_frames = 0;
	ev->ustack_len = sizeof(struct ustack_hdr) + n;

	wake_or_not(&flags);
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev) + sizeof(struct ustack_hdr) + n, flags)) {
		/* User space will never know this id: a free must not name it. */
		lose_alloc(pc, id >> 32, lsize, lrate);
		if (!(ev->flags & HEAP_F_UNTRACKED) && !bpf_map_delete_elem(&live, &k))
			__sync_fetch_and_add(&live_hint[slot], -1);
		return;
	}
	pc->counters[HEAP_CNT_ALLOC_EVENTS]++;
}

/* jemalloc's and tcmalloc's entry points counted from entry to return,
 * any allocation entry reached in between skipped (see HEAP_FN_ALT). */
static __always_inline bool alt_outer(__u16 fn)
{
	return fn == HEAP_FN_MEMALIGN || fn == HEAP_FN_VALLOC || fn == HEAP_FN_NEW_ALIGNED;
}

static __always_inline int alloc_return(struct pt_regs *ctx, struct heap_percpu *pc)
{
	__u64 *cookie = bpf_session_cookie();
	__u64 c = cookie ? *cookie : 0, ptr = 0;
	__u16 fn = (c >> COOKIE_FN_SHIFT) & HEAP_FN_MASK;
	bool alt = (c >> COOKIE_FN_SHIFT) & HEAP_FN_ALT;
	__u8 shift = (c >> COOKIE_RSHIFT_SHIFT) & 0xff;
	__u64 size = c & COOKIE_SIZE_MASK;
	struct heap_thread *t;

	pc->counters[HEAP_CNT_RETURNS]++;
	if (fn != HEAP_FN_POSIX_MEMALIGN && !(alt && alt_outer(fn))) {
		sampled(ctx, pc, fn, PT_REGS_RC(ctx), size, shifted_rate(shift), 0);
		return 0;
	}
	/* posix_memalign returns 0 and the block in *memptr; jemalloc's and
	 * tcmalloc's memalign, valloc and aligned new (counted the same way)
	 * the block. */
	t = thread();
	if (!t)
		return 0;
	t->in_pm = 0;
	if (!t->pm_sampled)
		return 0;
	if (fn != HEAP_FN_POSIX_MEMALIGN)
		ptr = PT_REGS_RC(ctx);
	else if (PT_REGS_RC(ctx) == 0)
		bpf_probe_read_user(&ptr, sizeof(ptr), (void *)t->pm_memptr);
	sampled(ctx, pc, fn, ptr, t->pm_size, shifted_rate(t->pm_shift), 0);
	return 0;
}

/*
 * Entry (returns 0 to get the return half, 1 not to) and return of
 * malloc, calloc, realloc, memalign/aligned_alloc, valloc, posix_memalign
 * and (jemalloc, tcmalloc) C++ operator new; the attach cookie says which, and whether the allocator is glibc's or
 * jemalloc/tcmalloc (HEAP_FN_ALT). The registers read are the arguments:
 * the probe offsets are before any of them is moved (see heap_sampler.c).
 */
SEC("uprobe.session")
int heap_alloc(struct pt_regs *ctx)
{
	struct heap_percpu *pc = percpu();
	struct heap_thread *t;
	__u64 size, n, *cookie, c;
	__u16 fn;
	__u8 shift;
	bool alt;

	if (!pc)
		return 1;
	if (bpf_session_is_return())
		return alloc_return(ctx, pc);

	c = bpf_get_attach_cookie(ctx);
	fn = c & HEAP_FN_MASK;
	alt = c & HEAP_FN_ALT;
	pc->counters[HEAP_CNT_ALLOC_CALLS]++;
	switch (fn) {
	case HEAP_FN_MALLOC:
	case HEAP_FN_NEW:
		/* jemalloc's and tcmalloc's operator new allocate inline, not
		 * through their malloc: counted here as malloc is. */
		size = PT_REGS_PARM1(ctx);
		break;
	case HEAP_FN_CALLOC:
		n = PT_REGS_PARM1(ctx);
		size = PT_REGS_PARM2(ctx);
		if ((n | size) >> 32) {
			/* Maybe overflows (then glibc fails it). The barrier keeps
			 * clang from turning the test into a 128-bit multiply. */
			__u64 max = ~0ull;

			asm volatile("" : "+r"(max));
			if (n && size > max / n)
				return 1;
		}
		size *= n;
		break;
	case HEAP_FN_REALLOC:
		/* realloc(NULL, n) is glibc's tail jump to malloc, which counts
		 * it with the same [rsp]. Otherwise the old block goes (as Go
		 * would count it: a free, then an allocation of the new size);
		 * realloc(p, 0) frees and allocates nothing (jemalloc's and
		 * tcmalloc's default too). jemalloc's and tcmalloc's
		 * realloc(NULL, n) allocates inline: it is counted here. */
		if (!PT_REGS_PARM1(ctx) && !alt)
			return 1;
		if (PT_REGS_PARM1(ctx))
			untrack(pc, PT_REGS_PARM1(ctx), bpf_get_current_pid_tgid() >> 32, fn);
		size = PT_REGS_PARM2(ctx);
		if (!size)
			return 1;
		break;
	case HEAP_FN_MEMALIGN:
		size = PT_REGS_PARM2(ctx);
		if (alt)
			goto outer;
		/* Small alignments are relayed to malloc by a tail jump, which
		 * counts them with the same [rsp]. */
		if (PT_REGS_PARM1(ctx) <= MALLOC_ALIGNMENT)
			return 1;
		break;
	case HEAP_FN_VALLOC:
		size = PT_REGS_PARM1(ctx);
		if (alt)
			goto outer;
		break;
	case HEAP_FN_NEW_ALIGNED:
		/* jemalloc's calls its aligned_alloc, tcmalloc's does not: the
		 * outer count covers both (aligned new is rare). */
		size = PT_REGS_PARM1(ctx);
		if (alt)
			goto outer;
		return 1;
	case HEAP_FN_POSIX_MEMALIGN:
		/* It *calls* the internal memalign, which relays small
		 * alignments to malloc with [rsp] inside posix_memalign and rbp
		 * clobbered: count it here and have malloc skip it, which
		 * needs this call's end, so posix_memalign (rare) always runs
		 * its return half. */
		t = thread();
		if (!t) {
			pc->counters[HEAP_CNT_NO_THREAD]++;
			return 1;
		}
		t->in_pm = 1;
		t->pm_memptr = PT_REGS_PARM1(ctx);
		t->pm_size = PT_REGS_PARM3(ctx);
		t->pm_sampled = take_sample(t, pc, t->pm_size, &t->pm_shift);
		if (t->pm_sampled)
			pc->counters[HEAP_CNT_SAMPLED]++;
		cookie = bpf_session_cookie();
		if (cookie)
			*cookie = (__u64)fn << COOKIE_FN_SHIFT;
		return 0;
	default:
		return 1;
	}

	t = thread();
	if (!t) {
		pc->counters[HEAP_CNT_NO_THREAD]++;
		return 1;
	}
	if (t->in_pm && (fn == HEAP_FN_MALLOC || alt)) {
		pc->counters[HEAP_CNT_NESTED]++;
		return 1;
	}
	if (!take_sample(t, pc, size, &shift))
		return 1;
	pc->counters[HEAP_CNT_SAMPLED]++;
	cookie = bpf_session_cookie();
	if (!cookie)
		return 1;
	*cookie = ((__u64)fn << COOKIE_FN_SHIFT) | ((__u64)shift << COOKIE_RSHIFT_SHIFT) |
		  (size & COOKIE_SIZE_MASK);
	return 0;

outer:
	/* jemalloc's or tcmalloc's memalign, valloc or aligned new (rare):
	 * counted as posix_memalign is, whatever the alignment, and any
	 * allocation entry it reaches (tcmalloc: valloc -> memalign; jemalloc:
	 * aligned new -> aligned_alloc) is skipped, which needs its end: it
	 * always runs its return half. */
	t = thread();
	if (!t) {
		pc->counters[HEAP_CNT_NO_THREAD]++;
		return 1;
	}
	if (t->in_pm) {
		pc->counters[HEAP_CNT_NESTED]++;
		return 1;
	}
	cookie = bpf_session_cookie();
	if (!cookie)
		return 1;
	*cookie = (__u64)(fn | HEAP_FN_ALT) << COOKIE_FN_SHIFT;
	t->in_pm = 1;
	t->pm_memptr = 0;
	t->pm_size = size;
	t->pm_sampled = take_sample(t, pc, size, &t->pm_shift);
	if (t->pm_sampled)
		pc->counters[HEAP_CNT_SAMPLED]++;
	return 0;
}

/* free: a plain entry uprobe (no return needed). */
SEC("uprobe.multi")
int heap_free(struct pt_regs *ctx)
{
	struct heap_percpu *pc = percpu();
	__u64 ptr = PT_REGS_PARM1(ctx);

	if (!pc)
		return 0;
	pc->counters[HEAP_CNT_FREE_CALLS]++;
	if (ptr)
		untrack(pc, ptr, bpf_get_current_pid_tgid() >> 32, HEAP_FN_FREE);
	return 0;
}

/* The argument register r of a USDT site (enum heap_usdt_reg). Each
 * read its own CO-RE read: plain ctx loads compile to one load at an
 * offset the verifier cannot see (refused). */
static __always_inline __u64 usdt_reg(struct pt_regs *ctx, __u64 r)
{
	switch (r) {
	case HEAP_USDT_REG_AX:
		return BPF_CORE_READ(ctx, ax);
	case HEAP_USDT_REG_BX:
		return BPF_CORE_READ(ctx, bx);
	case HEAP_USDT_REG_CX:
		return BPF_CORE_READ(ctx, cx);
	case HEAP_USDT_REG_DX:
		return BPF_CORE_READ(ctx, dx);
	case HEAP_USDT_REG_SI:
		return BPF_CORE_READ(ctx, si);
	case HEAP_USDT_REG_DI:
		return BPF_CORE_READ(ctx, di);
	case HEAP_USDT_REG_BP:
		return BPF_CORE_READ(ctx, bp);
	case HEAP_USDT_REG_SP:
		return BPF_CORE_READ(ctx, sp);
	case HEAP_USDT_REG_R8:
		return BPF_CORE_READ(ctx, r8);
	case HEAP_USDT_REG_R9:
		return BPF_CORE_READ(ctx, r9);
	case HEAP_USDT_REG_R10:
		return BPF_CORE_READ(ctx, r10);
	case HEAP_USDT_REG_R11:
		return BPF_CORE_READ(ctx, r11);
	case HEAP_USDT_REG_R12:
		return BPF_CORE_READ(ctx, r12);
	case HEAP_USDT_REG_R13:
		return BPF_CORE_READ(ctx, r13);
	case HEAP_USDT_REG_R14:
		return BPF_CORE_READ(ctx, r14);
	default:
		return BPF_CORE_READ(ctx, r15);
	}
}

/*
 * pprofd:alloc(ptr, size, rate) and pprofd:free(ptr), the USDT probes of
 * an in-process sampler (preload/pprofd_heap.h), or otel_memory's alloc(ptr,
 * size, weighted_bytes) and free(ptr): the process sampled the allocation
 * by bytes, so every hit is a sample; its stack is taken at the probe,
 * inside the sampler, whose frames the daemon drops. The attach cookie
 * says which probe, which provider (HEAP_USDT_WEIGHTED) and where its
 * arguments are (HEAP_USDT_COOKIE).
 */
SEC("uprobe.multi")
int heap_usdt(struct pt_regs *ctx)
{
	struct heap_percpu *pc = percpu();
	__u64 c = bpf_get_attach_cookie(ctx), ptr, size, srate;

	if (!pc)
		return 0;
	ptr = usdt_reg(ctx, HEAP_USDT_COOKIE_REG(c, 0));
	if ((c & 0xff) == HEAP_FN_USDT_FREE) {
		pc->counters[HEAP_CNT_FREE_CALLS]++;
		if (ptr)
			untrack(pc, ptr, bpf_get_current_pid_tgid() >> 32, HEAP_FN_USDT_FREE);
		return 0;
	}
	size = usdt_reg(ctx, HEAP_USDT_COOKIE_REG(c, 1));
	srate = usdt_reg(ctx, HEAP_USDT_COOKIE_REG(c, 2));
	/* A probe hit is an entry, a sample and a return at once: the block
	 * is known when the probe fires (heap.h's counters). */
	pc->counters[HEAP_CNT_ALLOC_CALLS]++;
	pc->counters[HEAP_CNT_SAMPLED]++;
	pc->counters[HEAP_CNT_RETURNS]++;
	if (c & HEAP_USDT_WEIGHTED)
		sampled(ctx, pc, HEAP_FN_USDT_ALLOC, ptr, size, srate, HEAP_F_WEIGHTED);
	else
		sampled(ctx, pc, HEAP_FN_USDT_ALLOC, ptr, size, srate ? srate : 1, 0);
	return 0;
}
