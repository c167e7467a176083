/* SPDX-License-Identifier: MIT */
/*
 * Shared between bpf/heap.bpf.c and the daemon: the records of sampled
 * allocations and of frees of sampled blocks, streamed through a ring
 * buffer, the per-CPU counters, and which allocator entry point a probe is
 * on (its uprobe_multi cookie).
 */
#ifndef PPROFD_HEAP_H
#define PPROFD_HEAP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ustack.h"

#define HEAP_MAX_FRAMES 127
#define HEAP_COMM_LEN 16
#define HEAP_DEFAULT_RATE (512 * 1024) /* mean bytes between samples, as Go */

/* The probed entry point: the uprobe_multi cookie of each offset. */
enum heap_fn {
	HEAP_FN_MALLOC = 1,
	HEAP_FN_CALLOC,
	HEAP_FN_REALLOC,
	HEAP_FN_MEMALIGN, /* memalign and aligned_alloc (one address in glibc) */
	HEAP_FN_VALLOC,
	HEAP_FN_POSIX_MEMALIGN,
	HEAP_FN_FREE,
	/* C++ operators of jemalloc and tcmalloc (HEAP_FN_ALT only): */
	HEAP_FN_NEW,         /* operator new, new[], their nothrow forms (size in rdi) */
	HEAP_FN_NEW_ALIGNED, /* operator new(size, align_val_t), new[], nothrow */
	/* USDT probes of an in-process sampler (preload/pprofd_heap.h): */
	HEAP_FN_USDT_ALLOC, /* pprofd:alloc(ptr, size, rate) or otel_memory:alloc(ptr, size,
			     * weighted_bytes), sampled in the process */
	HEAP_FN_USDT_FREE,  /* pprofd:free(ptr) or otel_memory:free(ptr), a block it sampled */
};

/*
 * The registers a USDT probe's arguments are in (its .note.stapsdt says,
 * site by site), as heap_usdt reads them from pt_regs. Its attach cookie:
 * the enum heap_fn in bits 0-7, then the register of each argument, 8
 * bits each from bit 8.
 */
enum heap_usdt_reg {
	HEAP_USDT_REG_AX,
	HEAP_USDT_REG_BX,
	HEAP_USDT_REG_CX,
	HEAP_USDT_REG_DX,
	HEAP_USDT_REG_SI,
	HEAP_USDT_REG_DI,
	HEAP_USDT_REG_BP,
	HEAP_USDT_REG_SP,
	HEAP_USDT_REG_R8,
	HEAP_USDT_REG_R9,
	HEAP_USDT_REG_R10,
	HEAP_USDT_REG_R11,
	HEAP_USDT_REG_R12,
	HEAP_USDT_REG_R13,
	HEAP_USDT_REG_R14,
	HEAP_USDT_REG_R15,
	HEAP_USDT_REG_NR,
};
#define HEAP_USDT_COOKIE(fn, r0, r1, r2) \
	((__u64)(fn) | (__u64)(r0) << 8 | (__u64)(r1) << 16 | (__u64)(r2) << 24)
#define HEAP_USDT_COOKIE_REG(c, i) (((c) >> (8 + 8 * (i))) & 0xff)
/* Cookie flag: the site is otel_memory's (the OpenTelemetry eBPF
 * profiler's contract), whose alloc's third argument is the bytes the
 * sample stands for (weighted_bytes), computed by the process, not the
 * rate: the record is sent with HEAP_F_WEIGHTED. */
#define HEAP_USDT_WEIGHTED (1ull << 32)

/*
 * Cookie flag: the entry point is jemalloc's or tcmalloc's, not glibc's.
 * Their entry points do not relay to each other the way glibc's do
 * (memalign(a <= 16) and realloc(NULL, n) are allocations of their own),
 * but tcmalloc's posix_memalign calls, and its valloc tail-jumps to, its
 * memalign, and jemalloc's aligned operator new calls its aligned_alloc:
 * so memalign, valloc and aligned new are counted as posix_memalign is,
 * with any allocation entry nested in them skipped.
 */
#define HEAP_FN_ALT 0x80
#define HEAP_FN_MASK 0x7f

enum heap_event_type {
	HEAP_EV_ALLOC = 1, /* a sampled allocation, with its stack */
	HEAP_EV_FREE = 2,  /* a sampled block was freed (free, realloc, realloc to 0) */
};

/* alloc flags */
#define HEAP_F_UNTRACKED (1u << 0)  /* the in-use table was full: its free will not be seen */
#define HEAP_F_USTACK_ERR (1u << 1) /* the stack could not be read */
#define HEAP_F_USTACK (1u << 2)     /* frames[] holds a struct ustack, ustack_len long */
#define HEAP_F_WEIGHTED (1u << 3)   /* `rate` is the sample's weight in bytes (otel_memory) */

/*
 * One record. A free carries no frames and no comm (only the header up to
 * and including `rate` is sent for it).
 *
 * Unbiasing (as Go's pprof): an allocation of `size` bytes is sampled with
 * probability p = 1 - exp(-size / rate), so each sample stands for 1/p
 * allocations and size/p bytes. A HEAP_F_WEIGHTED sample carries in
 * `rate` the bytes it stands for, as the process computed them
 * (otel_memory's weighted_bytes): rate / size allocations. Lost, it is
 * counted as an allocation of that many bytes at rate 1 (it stands for
 * itself).
 */
struct heap_event {
	__u32 type; /* enum heap_event_type */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u16 fn;        /* enum heap_fn that allocated (or freed) */
	__u16 nr_frames; /* user frames in frames[], leaf (the caller of malloc) first */
	__u64 time_ns;   /* bpf_ktime_get_ns() */
	__u64 id;        /* the sample's id; a free names the id of its allocation */
	__u64 ptr;       /* the block */
	__u64 size;      /* bytes asked for */
	__u64 rate;      /* mean sampling interval in bytes when sampled (1: every allocation);
		     * HEAP_F_WEIGHTED: the bytes the sample stands for */
	__u32 flags;
	char comm[HEAP_COMM_LEN];
	__u32 ustack_len; /* HEAP_F_USTACK: a struct ustack_hdr and its data (nr_frames 0) */
	__u64 frames[];
};

/* An allocation's stack as sent: the caller's registers at malloc's
 * return, its rbp chain and a copy of its stack top, so that the daemon
 * unwinds code without frame pointers (gcc -O2's default) by .eh_frame;
 * a sampled allocation is rare (one per 512 KiB), the copy costs it ~1 us. */
#define HEAP_USTACK_MAX (sizeof(struct ustack_hdr) + USTACK_DATA_MAX)

#define HEAP_FREE_EVENT_SIZE (__builtin_offsetof(struct heap_event, flags))

/* What the in-use table keeps per sampled live block. */
struct heap_live {
	__u64 id;
	__u64 size;
};

/*
 * A counting filter in front of the in-use table: slot heap_hint_slot() of
 * the program's live_hint[] counts the tracked blocks that hash there. It
 * goes up before a block enters the table and down after a delete that
 * removed one (in BPF or, for an exited process, in user space), so a zero
 * is never wrong and the free of an untracked block (nearly every free)
 * costs one read of a 64 KiB array that stays in cache, not a hash of the
 * key and a read of the table's 512 KiB of buckets.
 */
#define HEAP_HINT_BITS 14

/* Lost allocations by log2(size / rate) + 8 (clamped to 0..15): enough to
 * unbias them in user space, since a sample's weight depends on size/rate. */
#define HEAP_LOST_BUCKETS 16
/* Frees whose record could not be sent: their sample ids. */
#define HEAP_LOST_FREE_IDS 16

static inline __u32 heap_ilog2(__u64 x)
{
	__u32 e = 0;

	if (x >> 32) {
		x >>= 32;
		e += 32;
	}
	if (x >> 16) {
		x >>= 16;
		e += 16;
	}
	if (x >> 8) {
		x >>= 8;
		e += 8;
	}
	if (x >> 4) {
		x >>= 4;
		e += 4;
	}
	if (x >> 2) {
		x >>= 2;
		e += 2;
	}
	if (x >> 1) {
		e += 1;
	}
	return e;
}

static inline __u32 heap_lost_bucket(__u64 size, __u64 rate)
{
	int b = (int)heap_ilog2(size | 1) - (int)heap_ilog2(rate | 1) + HEAP_LOST_BUCKETS / 2;

	return b < 0 ? 0 : b >= HEAP_LOST_BUCKETS ? HEAP_LOST_BUCKETS - 1 : b;
}

static inline __u32 heap_hint_slot(__u64 ptr, __u32 tgid)
{
	return (__u32)((((ptr >> 4) ^ ((__u64)tgid << 44)) * 0x9e3779b97f4a7c15ull) >>
		       (64 - HEAP_HINT_BITS));
}

enum heap_counter {
	HEAP_CNT_ALLOC_CALLS,   /* allocation entry probes hit */
	HEAP_CNT_FREE_CALLS,    /* free probes hit */
	HEAP_CNT_SAMPLED,       /* allocations chosen at entry */
	HEAP_CNT_RETURNS,       /* return halves run (should equal SAMPLED + posix_memalign calls;
				  * jemalloc/tcmalloc: + memalign, valloc, aligned new calls); an
				  * in-process sampler's alloc probe hit counts as all three of
				  * ALLOC_CALLS, SAMPLED and RETURNS: it is entry and return at
				  * once, the process having sampled it */
	HEAP_CNT_ALLOC_EVENTS,  /* alloc records sent */
	HEAP_CNT_FREE_EVENTS,   /* free records sent (a sampled block freed) */
	HEAP_CNT_ALLOC_FAILED,  /* sampled, but the allocator returned NULL / an error */
	HEAP_CNT_NESTED,        /* malloc called from posix_memalign (or, jemalloc/tcmalloc: any
				  * entry within memalign, valloc, posix_memalign, aligned
				  * new): skipped */
	HEAP_CNT_DROP_RINGBUF,  /* alloc records not sent: the ring was (nearly) full; counted
				  * in the process's heap_lost entry, so its profile says so */
	HEAP_CNT_INUSE_FULL,    /* sampled blocks not tracked: the in-use table was full */
	HEAP_CNT_NO_THREAD,     /* no per-thread state (out of memory): not sampled */
	HEAP_CNT_USTACK_ERR,    /* sent without stack */
	HEAP_CNT_RATE_RAISED,   /* samples drawn at a raised rate: the reader fell behind */
	HEAP_CNT_FREE_DEFERRED, /* free records not sent (ring full): their ids went through
				  * the process's heap_lost entry instead */
	HEAP_CNT_FREE_LOST,     /* ... and not even there (its id list full): in-use overcounts */
	HEAP_CNT_LOST_NO_ENTRY, /* a loss no heap_lost entry could hold (table full, or
				  * lost_gen flipped twice as it entered) */
	HEAP_CNT_NR,
};

/* Per-thread state (task storage). */
struct heap_thread {
	__s64 next;      /* bytes left before the next sample; 0: not drawn yet */
	__u64 pm_memptr; /* posix_memalign in progress: where it stores the block */
	__u64 pm_size;
	__u32 in_pm; /* posix_memalign in progress (its inner malloc is skipped);
			   * jemalloc/tcmalloc: also memalign, valloc, aligned new (any
			   * inner entry) */
	__u16 pm_sampled;
	__u8 pm_shift;   /* the rate shift of posix_memalign's sample */
	__u8 draw_shift; /* `next` was drawn with mean rate << draw_shift */
};

/*
 * Backpressure. When user space falls behind and the ring fills, new
 * countdowns are drawn with a larger mean (rate << shift) and each record
 * carries the rate it was drawn with, so the profile stays unbiased, only
 * coarser. Past HEAP_RING_ALLOC_MAX of the ring, allocations are not sent
 * (the rest is kept for frees, which in-use cannot do without) but counted,
 * per process, in the `lost` map: user space reads it at every drain and
 * puts them in the profile under a frame of their own.
 */
static inline __u32 heap_rate_shift(__u64 used, __u64 ring)
{
	if (used < ring / 2)
		return 0;
	return used < ring / 4 * 3 ? 2 : 4;
}
#define HEAP_RING_ALLOC_MAX(ring) ((ring) / 8 * 7)

struct heap_lost_bucket {
	__u64 n;     /* allocations */
	__u64 bytes; /* their sizes */
	__u64 rates; /* their rates, summed */
};

/*
 * Key of the `lost` map. Programs write the entries of the current
 * generation (lost_gen), each inside it only while lost_busy[gen] counts
 * it. User space flips lost_gen, and reads and deletes the old
 * generation's entries once lost_busy[old] is 0: an entry is never deleted
 * under a program still writing it (its counts lost, or landing in the
 * entry of another process that reuses the freed element). A program that
 * enters and then sees the flip leaves and takes the new generation.
 */
struct heap_lost_key {
	__u32 tgid;
	__u32 gen;
};

/* Value of the `lost` map. */
struct heap_lost {
	struct heap_lost_bucket b[HEAP_LOST_BUCKETS];
	__u64 nr_free_ids; /* frees deferred (may exceed HEAP_LOST_FREE_IDS) */
	__u64 free_ids[HEAP_LOST_FREE_IDS];
};

/* The program's per-CPU state: scratch for one record at its largest, the
 * sample sequence (ids are cpu << 48 | seq) and the counters. */
struct heap_percpu {
	struct heap_event ev;
	__u64 frames[HEAP_USTACK_MAX / 8]; /* ev's: a struct ustack */
	__u64 seq;
	__u64 counters[HEAP_CNT_NR];
};

/*
 * One draw of an exponential distribution of the given mean, integer only
 * (BPF has no floating point), from 32 random bits r:
 *
 *   x = -ln(u) * mean, u = (r + 1) / 2^32 uniform in (0, 1]
 *     = ln 2 * (32 - log2(r + 1)) * mean
 *
 * log2(r + 1) = e + log2(m) with e its integer part and m in [1, 2) (Q30);
 * log2(m)'s fraction bits come one at a time by squaring m: when m^2 >= 2
 * the next bit is 1 and m^2 is halved. 16 bits: the log is off by < 2^-16,
 * so a draw is within mean * 2^-16 (+ 0.0002 %: ln 2 is 45426 / 2^16) of
 * -ln(u) * mean, which goes up to ~22.2 * mean (u = 2^-32). mean is capped at 2^40
 * (1 TiB) so that the product fits. The result is at least 1, as Go's.
 */
static inline __u64 heap_exp_draw(__u32 r, __u64 mean)
{
	__u64 u = (__u64)r + 1, m, nlog, t;
	__u32 e = heap_ilog2(u), frac = 0;

	if (mean > (1ull << 40))
		mean = 1ull << 40;
	m = e <= 30 ? u << (30 - e) : u >> (e - 30); /* [2^30, 2^31) */
	for (int i = 0; i < 16; i++) {
		m = (m * m) >> 30;
		frac <<= 1;
		if (m >= (2ull << 30)) {
			m >>= 1;
			frac |= 1;
		}
	}
	nlog = (32ull << 16) - (((__u64)e << 16) | frac); /* -log2(u), Q16 */
	t = (nlog * 45426) >> 16;                         /* -ln(u), Q16 */
	return ((mean * t) >> 16) + 1;
}

#endif
