// SPDX-License-Identifier: MIT
/*
 * libpprofd_heap.so: the in-process allocation sampler a process preloads
 * (LD_PRELOAD) so that heap profiling costs it nanoseconds, not a trapped
 * uprobe per call (pprofd_heap.h has the probe contract).
 *
 * It interposes the malloc family and C++'s operator new and delete over
 * whatever allocator comes next (glibc's, jemalloc, tcmalloc: found with
 * dlsym(RTLD_NEXT)). While nobody is attached (the probes' semaphores are
 * 0) a call costs one load and a branch more than the allocator. While
 * pprofd is attached, each thread counts down an exponential draw of mean
 * rate bytes, as Go's MemProfileRate does; the allocation that crosses it
 * fires pprofd:alloc and is remembered in a lock-free table, whose frees
 * (and reallocations) fire pprofd:free.
 *
 * Safe where allocators are re-entered: during dlsym (a static arena
 * serves the allocations dlsym makes before the real allocator is known),
 * in signal handlers and across fork (no lock is taken; a child fires no
 * probe: forked_child), at thread exit
 * (no destructor; the TLS block is static: initial-exec), before and
 * after main.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pprofd_heap.h"

/* The probe sites: 5-byte nops, which the kernel turns into calls rather
 * than traps (sys/sdt.h's one-byte nop must single-step or be emulated). */
__asm__(".macro pprofd_nop5\n\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n.endm\n");
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#undef _SDT_NOP
#define _SDT_NOP pprofd_nop5

/*
 * The probes; a test that includes this file counts them instead. Built
 * with -DPPROFD_HEAP_OTEL (build/libotel_heap.so, a test of pprofd's
 * reading of them) the library fires the OpenTelemetry eBPF profiler's
 * otel_memory:alloc(ptr, size, weighted_bytes) and otel_memory:free(ptr)
 * instead, the weight computed here: ALLOC_ARG3 is the alloc probe's third
 * argument for a sample of n bytes.
 */
#ifdef PPROFD_HEAP_OTEL
#define ALLOC_SEMAPHORE otel_memory_alloc_semaphore
#define FREE_SEMAPHORE otel_memory_free_semaphore
#define ALLOC_ARG3(n) otel_weight(n)
#ifndef FIRE_ALLOC
#define FIRE_ALLOC(ptr, size, weight) STAP_PROBE3(otel_memory, alloc, ptr, size, weight)
#define FIRE_FREE(ptr) STAP_PROBE1(otel_memory, free, ptr)
#endif
#else
#define ALLOC_SEMAPHORE pprofd_alloc_semaphore
#define FREE_SEMAPHORE pprofd_free_semaphore
#define ALLOC_ARG3(n) rate
#ifndef FIRE_ALLOC
#define FIRE_ALLOC(ptr, size, rate) STAP_PROBE3(pprofd, alloc, ptr, size, rate)
#define FIRE_FREE(ptr) STAP_PROBE1(pprofd, free, ptr)
#endif
#endif

#define EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Non-zero while someone is attached to the probe (the kernel counts). */
__extension__ unsigned short ALLOC_SEMAPHORE
	__attribute__((unused, section(".probes"), visibility("hidden")));
__extension__ unsigned short FREE_SEMAPHORE
	__attribute__((unused, section(".probes"), visibility("hidden")));

/* The allocator that comes next. */
static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
} real;

static uint64_t rate = PPROFD_HEAP_DEFAULT_RATE;

struct thread_state {
	int64_t left;    /* bytes until the next sample */
	uint64_t rng;    /* xorshift64*; 0: the thread has not drawn yet */
	unsigned busy;   /* inside an operator new: its malloc is not counted */
	bool in_resolve; /* dlsym runs: allocations come from the arena */
};
static __thread struct thread_state ts __attribute__((tls_model("initial-exec")));

/* ---- the arena of the allocations made while the allocator is looked up -- */

#define ARENA_BYTES (256 * 1024)
static _Alignas(16) unsigned char arena[ARENA_BYTES];
static atomic_size_t arena_used;

/* A block of the arena, 16-aligned, its size in the 16 bytes before it;
 * never freed (dlsym's few allocations). */
static void *arena_alloc(size_t n, size_t align)
{
	size_t at, start;

	if (align < 16)
		align = 16;
	if (n > ARENA_BYTES || align > 4096)
		return NULL;
	do {
		at = atomic_load(&arena_used);
		start = (at + 16 + align - 1) & ~(align - 1);
		if (start + n > ARENA_BYTES)
			return NULL;
	} while (!atomic_compare_exchange_weak(&arena_used, &at, start + n));
	memcpy(arena + start - sizeof(size_t), &n, sizeof(size_t));
	return arena + start;
}

static bool in_arena(const void *p)
{
	return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_BYTES;
}

static size_t arena_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - sizeof(size_t), sizeof(n));
	return n;
}

/* Looks the next allocator up (once; a thread that comes meanwhile waits). */
static void resolve(void)
{
	static atomic_int state; /* 0 not yet, 1 looking, 2 done */
	int expect = 0;

	if (atomic_load_explicit(&state, memory_order_acquire) == 2)
		return;
	if (!atomic_compare_exchange_strong(&state, &expect, 1)) {
		while (atomic_load_explicit(&state, memory_order_acquire) != 2)
			;
		return;
	}
	ts.in_resolve = true;
	real.free = dlsym(RTLD_NEXT, "free");
	real.calloc = dlsym(RTLD_NEXT, "calloc");
	real.realloc = dlsym(RTLD_NEXT, "realloc");
	real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real.memalign = dlsym(RTLD_NEXT, "memalign");
	real.valloc = dlsym(RTLD_NEXT, "valloc");
	real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	/* last: its being set says every other one is */
	atomic_store_explicit((_Atomic(void *) *)&real.malloc, dlsym(RTLD_NEXT, "malloc"),
			      memory_order_release);
	ts.in_resolve = false;
	atomic_store_explicit(&state, 2, memory_order_release);
}

/*
 * A forked child is not the process pprofd attached to, and must not
 * reach a probe site: its memory is a copy of the parent's, semaphores
 * raised, and its text may hold the call a 5-byte nop became (kernel 6.x
 * optimizes a uprobe so) into a trampoline page that fork does not copy.
 * Measured here: the child's first sampled malloc jumped to an unmapped
 * address and died (SIGSEGV). Zeroed, the child samples nothing until
 * someone attaches to it, which raises them again.
 */
static void forked_child(void)
{
	__atomic_store_n(&ALLOC_SEMAPHORE, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&FREE_SEMAPHORE, 0, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void init(void)
{
	const char *env = getenv(PPROFD_HEAP_RATE_ENV);
	char *end;

	resolve();
	pthread_atfork(NULL, NULL, forked_child);
	if (env && *env) {
		unsigned long long v = strtoull(env, &end, 10);

		if (!*end && v > 0 && v < (1ull << 40))
			rate = v;
	}
}

/* ---- the sampled blocks: a lock-free set of addresses ------------------- */

#define LIVE_SLOTS (1u << 16)
#define LIVE_PROBES 64
#define TOMBSTONE ((uintptr_t)1)
static _Atomic uintptr_t live[LIVE_SLOTS];
static atomic_ulong live_full; /* sampled blocks not remembered: the set was full */

static size_t slot_of(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 48) & (LIVE_SLOTS - 1);
}

static void live_add(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	size_t i = slot_of(p);

	for (unsigned k = 0; k < LIVE_PROBES; k++, i = (i + 1) & (LIVE_SLOTS - 1)) {
		uintptr_t have = atomic_load_explicit(&live[i], memory_order_relaxed);

		if (have == p)
			return;
		if ((have == 0 || have == TOMBSTONE) &&
		    atomic_compare_exchange_strong(&live[i], &have, p))
			return;
	}
	atomic_fetch_add_explicit(&live_full, 1, memory_order_relaxed);
}

/* Whether ptr was a sampled block (it is not any more). */
static bool live_take(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	size_t i = slot_of(p);

	for (unsigned k = 0; k < LIVE_PROBES; k++, i = (i + 1) & (LIVE_SLOTS - 1)) {
		uintptr_t have = atomic_load_explicit(&live[i], memory_order_relaxed);

		if (have == 0)
			return false;
		if (have == p)
			return atomic_compare_exchange_strong(&live[i], &have, TOMBSTONE);
	}
	return false;
}

/* ---- sampling ------------------------------------------------------------ */

static uint64_t next_random(void)
{
	uint64_t x = ts.rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ts.rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* An exponential draw of mean rate: the bytes until the next sample. */
static int64_t draw(void)
{
	double u = ((next_random() >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
	double d = -log(u) * (double)rate;

	return d < 1 ? 1 : d > (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)d;
}

#ifdef PPROFD_HEAP_OTEL
/* The bytes a sample of n bytes stands for, as Go unbiases it:
 * n / (1 - exp(-n / rate)), rounded. */
static uint64_t otel_weight(size_t n)
{
	return n ? (uint64_t)llround((double)n / -expm1(-(double)n / (double)rate)) : 0;
}
#endif

/* n bytes at p crossed the thread's countdown (or it has none yet). */
static __attribute__((noinline)) void crossed(void *p, size_t n)
{
	if (!ts.rng) { /* the thread's first: start its countdown */
		ts.rng = ((uint64_t)(uintptr_t)&ts ^ __builtin_ia32_rdtsc()) | 1;
		ts.left = draw() - (int64_t)n;
		if (ts.left > 0)
			return;
	}
	ts.left = draw();
	if (!p)
		return;
	{
		/* in registers: a reader of the probe's arguments needs no
		 * symbol (a memory operand would name rate) */
		uint64_t a = (uintptr_t)p, b = n, r = ALLOC_ARG3(n);

		__asm__("" : "+r"(a), "+r"(b), "+r"(r));
		FIRE_ALLOC(a, b, r);
	}
	live_add(p);
}

/* Every allocation passes here: one load and a branch while nobody is
 * attached. */
static inline void *account(void *p, size_t n)
{
	if (likely(!ALLOC_SEMAPHORE) || ts.busy)
		return p;
	ts.left -= (int64_t)(n > INT64_MAX ? INT64_MAX : n);
	if (likely(ts.left > 0))
		return p;
	crossed(p, n);
	return p;
}

static inline void unaccount(void *p)
{
	if (unlikely(FREE_SEMAPHORE) && p && live_take(p)) {
		uint64_t a = (uintptr_t)p;

		__asm__("" : "+r"(a));
		FIRE_FREE(a);
	}
}

/* ---- the malloc family --------------------------------------------------- */

static bool ready(void)
{
	if (likely(atomic_load_explicit((_Atomic(void *) *)&real.malloc, memory_order_acquire)))
		return true;
	if (ts.in_resolve)
		return false;
	resolve();
	return real.malloc != NULL;
}

EXPORT void *malloc(size_t n)
{
	if (unlikely(!ready()))
		return arena_alloc(n, 16);
	return account(real.malloc(n), n);
}

EXPORT void free(void *p)
{
	if (unlikely(!p || in_arena(p)))
		return;
	unaccount(p);
	if (likely(real.free != NULL))
		real.free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;

	if (unlikely(!ready())) {
		if (__builtin_mul_overflow(n, size, &total))
			return NULL;
		return arena_alloc(total, 16); /* zero: the arena is never reused */
	}
	if (__builtin_mul_overflow(n, size, &total))
		total = SIZE_MAX;
	return account(real.calloc(n, size), total);
}

EXPORT void *realloc(void *old, size_t n)
{
	void *p;

	if (unlikely(!ready() || in_arena(old))) {
		p = ready() ? malloc(n) : arena_alloc(n, 16);
		if (p && old) {
			size_t was = arena_size(old);

			memcpy(p, old, was < n ? was : n);
		}
		return p;
	}
	unaccount(old);
	p = real.realloc(old, n);
	return n ? account(p, n) : p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int err;

	if (unlikely(!ready())) {
		*out = arena_alloc(n, align);
		return *out ? 0 : ENOMEM;
	}
	err = real.posix_memalign(out, align, n);
	if (!err)
		account(*out, n);
	return err;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (unlikely(!ready()))
		return arena_alloc(n, align);
	return account(real.aligned_alloc(align, n), n);
}

EXPORT void *memalign(size_t align, size_t n)
{
	if (unlikely(!ready()))
		return arena_alloc(n, align);
	return account(real.memalign(align, n), n);
}

EXPORT void *valloc(size_t n)
{
	if (unlikely(!ready()))
		return arena_alloc(n, 4096);
	return account(real.valloc(n), n);
}

EXPORT void *pvalloc(size_t n)
{
	if (unlikely(!ready()))
		return arena_alloc(n, 4096);
	return account(real.pvalloc(n), n);
}

/* ---- C++'s operator new and delete -------------------------------------- */

/*
 * Each forwards to the next definition (libstdc++'s, or an allocator's
 * own) and counts the block here; the malloc that the next one may call
 * is not counted again (busy). An exception thrown by it passes through
 * (built with -fexceptions); busy is restored on the way out.
 */
static unsigned *busy_enter(void)
{
	ts.busy++;
	return &ts.busy;
}

static void busy_leave(unsigned **b)
{
	(**b)--;
}

#define NEW_OP(sym, params, args, size)                                                  \
	EXPORT void *new_##sym params __asm__(#sym);                                     \
	void *new_##sym params                                                           \
	{                                                                                \
		static void *(*next)params;                                              \
		void *p;                                                                 \
		if (unlikely(!next))                                                     \
			next = dlsym(RTLD_NEXT, #sym);                                   \
		if (unlikely(!next))                                                     \
			return malloc(size);                                             \
		{                                                                        \
			__attribute__((cleanup(busy_leave))) unsigned *b = busy_enter(); \
			p = next args;                                                   \
		}                                                                        \
		return account(p, size);                                                 \
	}
#define DELETE_OP(sym, params, args)                   \
	EXPORT void delete_##sym params __asm__(#sym); \
	void delete_##sym params                       \
	{                                              \
		static void(*next) params;             \
		if (!p || in_arena(p))                 \
			return;                        \
		if (unlikely(!next))                   \
			next = dlsym(RTLD_NEXT, #sym); \
		unaccount(p);                          \
		if (likely(next))                      \
			next args;                     \
		else                                   \
			free(p);                       \
	}

typedef struct nothrow_t nothrow_t; /* std::nothrow_t, passed by reference */

NEW_OP(_Znwm, (size_t n), (n), n)
NEW_OP(_Znam, (size_t n), (n), n)
NEW_OP(_ZnwmRKSt9nothrow_t, (size_t n, const nothrow_t *t), (n, t), n)
NEW_OP(_ZnamRKSt9nothrow_t, (size_t n, const nothrow_t *t), (n, t), n)
NEW_OP(_ZnwmSt11align_val_t, (size_t n, size_t a), (n, a), n)
NEW_OP(_ZnamSt11align_val_t, (size_t n, size_t a), (n, a), n)
NEW_OP(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t n, size_t a, const nothrow_t *t), (n, a, t), n)
NEW_OP(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t n, size_t a, const nothrow_t *t), (n, a, t), n)
DELETE_OP(_ZdlPv, (void *p), (p))
DELETE_OP(_ZdaPv, (void *p), (p))
DELETE_OP(_ZdlPvm, (void *p, size_t n), (p, n))
DELETE_OP(_ZdaPvm, (void *p, size_t n), (p, n))
DELETE_OP(_ZdlPvRKSt9nothrow_t, (void *p, const nothrow_t *t), (p, t))
DELETE_OP(_ZdaPvRKSt9nothrow_t, (void *p, const nothrow_t *t), (p, t))
DELETE_OP(_ZdlPvSt11align_val_t, (void *p, size_t a), (p, a))
DELETE_OP(_ZdaPvSt11align_val_t, (void *p, size_t a), (p, a))
DELETE_OP(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t a), (p, n, a))
DELETE_OP(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t a), (p, n, a))
DELETE_OP(_ZdlPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t a, const nothrow_t *t), (p, a, t))
DELETE_OP(_ZdaPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t a, const nothrow_t *t), (p, a, t))
