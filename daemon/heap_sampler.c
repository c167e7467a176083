// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "heap.skel.h"
#include "heap_sampler.h"
#include "log.h"
#include "safe_open.h"

/*
 * libbpf 1.1 knows neither uprobe_multi nor uprobe sessions: the programs
 * are loaded as kprobe programs with the expected attach type set by hand,
 * and the links made with BPF_LINK_CREATE directly, with the kernel's uapi
 * layout of link_create.uprobe_multi (6.6+; sessions 6.13+) spelled here.
 */
#define ATTACH_UPROBE_MULTI 48   /* BPF_TRACE_UPROBE_MULTI */
#define ATTACH_UPROBE_SESSION 57 /* BPF_TRACE_UPROBE_SESSION */

struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
};

struct heap_sampler {
	struct heap_bpf *skel;
	struct ring_buffer *rb;
	heap_event_fn fn;
	heap_lost_fn lost_fn;
	void *ctx;
	uint64_t malformed;
	int ncpus;
	bool retiring; /* lost_gen flipped: generation `retired` to be read */
	uint32_t retired;
	struct heap_lost_key *keys; /* drain_lost's, max_entries of `lost` */
};

struct heap_target {
	struct heap_sampler *s;
	uint32_t pid;
	int alloc_link, free_link;
	unsigned slow;
	char libc[4096];
};

static const char *const counter_names[HEAP_CNT_NR] = {
	[HEAP_CNT_ALLOC_CALLS] = "alloc_calls",
	[HEAP_CNT_FREE_CALLS] = "free_calls",
	[HEAP_CNT_SAMPLED] = "sampled",
	[HEAP_CNT_RETURNS] = "returns",
	[HEAP_CNT_ALLOC_EVENTS] = "alloc_events",
	[HEAP_CNT_FREE_EVENTS] = "free_events",
	[HEAP_CNT_ALLOC_FAILED] = "alloc_failed",
	[HEAP_CNT_NESTED] = "nested_skipped",
	[HEAP_CNT_DROP_RINGBUF] = "drop_ringbuf",
	[HEAP_CNT_INUSE_FULL] = "inuse_table_full",
	[HEAP_CNT_NO_THREAD] = "no_thread_state",
	[HEAP_CNT_USTACK_ERR] = "ustack_err",
	[HEAP_CNT_RATE_RAISED] = "rate_raised",
	[HEAP_CNT_FREE_DEFERRED] = "free_deferred",
	[HEAP_CNT_FREE_LOST] = "free_lost",
	[HEAP_CNT_LOST_NO_ENTRY] = "lost_no_entry",
};

const char *heap_counter_name(enum heap_counter c)
{
	return c < HEAP_CNT_NR ? counter_names[c] : "?";
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct heap_sampler *s = ctx;
	const struct heap_event *e = data;

	/* Trust nothing, even our own kernel half: sizes must agree. */
	if (size < HEAP_FREE_EVENT_SIZE ||
	    (e->type == HEAP_EV_ALLOC &&
	     (size < sizeof(*e) || e->nr_frames > HEAP_MAX_FRAMES ||
	      size < sizeof(*e) + e->nr_frames * 8ul ||
	      ((e->flags & HEAP_F_USTACK) &&
	       (e->nr_frames || e->ustack_len > size - sizeof(*e) ||
		!ustack_fits((const struct ustack_hdr *)e->frames, e->ustack_len))))) ||
	    (e->type != HEAP_EV_ALLOC && e->type != HEAP_EV_FREE)) {
		s->malformed++;
		return 0;
	}
	s->fn(e, size, s->ctx);
	return 0;
}

struct heap_sampler *heap_sampler__new(const struct heap_sampler_opts *o)
{
	struct heap_sampler *s = calloc(1, sizeof(*s));
	uint64_t rb = o->ringbuf_bytes ? o->ringbuf_bytes : 2 << 20;
	int err;

	if (!s)
		return NULL;
	s->fn = o->fn;
	s->lost_fn = o->lost_fn;
	s->ctx = o->ctx;
	s->ncpus = libbpf_num_possible_cpus();
	s->skel = heap_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_err("heap: cannot open BPF object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->rate = o->rate ? o->rate : HEAP_DEFAULT_RATE;
	s->skel->rodata->wakeup_bytes = rb / 4;
	s->skel->rodata->ring_bytes = rb;
	if ((err = bpf_map__set_max_entries(s->skel->maps.events, rb)) ||
	    (err = bpf_map__set_max_entries(s->skel->maps.live, o->max_live ? o->max_live : 32768)))
		goto fail;
	err = unwind_fds__reuse(o->unwind, s->skel->obj);
	if (err < 0)
		goto fail;
	s->skel->rodata->use_tables = err;
	bpf_program__set_type(s->skel->progs.heap_alloc, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_alloc, ATTACH_UPROBE_SESSION);
	bpf_program__set_type(s->skel->progs.heap_free, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(s->skel->progs.heap_free, ATTACH_UPROBE_MULTI);
	err = heap_bpf__load(s->skel);
	if (err) {
		log_err("heap: cannot load BPF programs (uprobe sessions need Linux 6.13+): %s",
			strerror(-err));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	s->keys = calloc(bpf_map__max_entries(s->skel->maps.lost), sizeof(*s->keys));
	if (!s->rb || !s->keys) {
		err = s->rb ? -ENOMEM : -errno;
		goto fail;
	}
	return s;
fail:
	heap_sampler__free(s);
	errno = -err;
	return NULL;
}

void heap_sampler__free(struct heap_sampler *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	heap_bpf__destroy(s->skel);
	free(s->keys);
	free(s);
}

/* Flips lost_gen, so that BPF counts new losses in fresh entries, and hands
 * on the retired generation's entries, each read and deleted, once no
 * program is inside it (else at the next drain; heap.h, heap_lost_key). */
static void drain_lost(struct heap_sampler *s)
{
	int fd = bpf_map__fd(s->skel->maps.lost);
	unsigned max = bpf_map__max_entries(s->skel->maps.lost), n = 0;
	struct heap_lost l;

	if (!s->retiring) {
		s->retired = s->skel->bss->lost_gen & 1;
		__atomic_store_n(&s->skel->bss->lost_gen, s->retired ^ 1, __ATOMIC_SEQ_CST);
		s->retiring = true;
	}
	if (__atomic_load_n(&s->skel->bss->lost_busy[s->retired], __ATOMIC_SEQ_CST))
		return; /* a program is still writing in it: at the next drain */
	/* every key first: a deleted key would restart the walk */
	while (n < max && !bpf_map_get_next_key(fd, n ? &s->keys[n - 1] : NULL, &s->keys[n]))
		n++;
	for (unsigned i = 0; i < n; i++)
		if (s->keys[i].gen == s->retired &&
		    !bpf_map_lookup_and_delete_elem(fd, &s->keys[i], &l) && s->lost_fn)
			s->lost_fn(s->keys[i].tgid, &l, s->ctx);
	s->retiring = false;
}

int heap_sampler__drain(struct heap_sampler *s)
{
	int n = ring_buffer__consume(s->rb);

	drain_lost(s);
	return n;
}

int heap_sampler__fd(const struct heap_sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

uint64_t heap_sampler__malformed(const struct heap_sampler *s)
{
	return s->malformed;
}

int heap_sampler__counters(const struct heap_sampler *s, uint64_t out[HEAP_CNT_NR])
{
	int fd = bpf_map__fd(s->skel->maps.scratch);
	struct heap_percpu *v = calloc(s->ncpus, sizeof(*v));
	uint32_t zero = 0;

	if (!v)
		return -ENOMEM;
	memset(out, 0, HEAP_CNT_NR * sizeof(*out));
	if (bpf_map_lookup_elem(fd, &zero, v) == 0)
		for (int i = 0; i < s->ncpus; i++)
			for (int c = 0; c < HEAP_CNT_NR; c++)
				out[c] += v[i].counters[c];
	free(v);
	return 0;
}

/* ---- where to probe ---- */

/* Whether the kernel emulates this instruction rather than single-stepping
 * it (arch/x86/kernel/uprobes.c: push, jmp, jcc, call, nop). */
static bool emulated(const uint8_t *b)
{
	if (b[0] >= 0x50 && b[0] <= 0x57) /* push %reg */
		return true;
	if (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57) /* push %r8-15 */
		return true;
	if (b[0] >= 0x70 && b[0] <= 0x7f) /* jcc rel8 */
		return true;
	if (b[0] == 0x0f && ((b[1] >= 0x80 && b[1] <= 0x8f) || b[1] == 0x1f)) /* jcc rel32, nopl */
		return true;
	return b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb || b[0] == 0x90;
}

/*
 * The offset in a function to probe: its first instruction when the kernel
 * emulates it, else the first emulated one after a prefix that we know
 * reads no argument, writes no argument register, rsp or rbp, and that
 * every call of interest passes:
 *
 *   endbr64                      no effect (CET builds)
 *   cmpb $0x0, disp32(%rip)      flags only (glibc's "malloc initialized?"
 *                                test at the top of memalign, valloc,
 *                                posix_memalign)
 *   test %rdi,%rdi; je ...       free only: the jump is free(NULL), which
 *                                has nothing to untrack
 *
 * So at the probe the arguments are still in rdi/rsi/rdx, [rsp] is still
 * the return address and rbp the caller's, as at the entry. In Debian 12's
 * glibc 2.36 this gives: malloc +0 (push %r12), calloc +0 (push %r13),
 * realloc +0 (push %r15), free +9 (push %rbp), memalign = aligned_alloc +7
 * (je), valloc +7 (push %rbx), posix_memalign +7 (push %r12). Anything else
 * falls back to +0: single-stepped (~15 us a call), but still correct.
 */
static uint64_t probe_offset(int fd, uint64_t off, uint64_t size, bool is_free, bool *slow)
{
	uint8_t b[32];
	uint64_t at = 0;

	*slow = false;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		goto fallback;
	if (size > sizeof(b) - 8)
		size = sizeof(b) - 8;
	while (at < size) {
		const uint8_t *p = b + at;

		if (emulated(p))
			return off + at;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
			at += 4;
		else if (p[0] == 0x80 && p[1] == 0x3d && p[6] == 0x00)
			at += 7;
		else if (is_free && at == 0 && p[0] == 0x48 && p[1] == 0x85 && p[2] == 0xff &&
			 p[3] == 0x74)
			at += 5;
		else if (is_free && at == 0 && p[0] == 0x48 && p[1] == 0x85 && p[2] == 0xff &&
			 p[3] == 0x0f && p[4] == 0x84)
			at += 9;
		else
			break;
	}
fallback:
	*slow = true;
	return off;
}

/* x86-64 register numbers (ModRM/REX order) */
#define R_RDX 2
#define R_RSP 4
#define R_RBP 5
#define R_RSI 6
#define R_RDI 7

/*
 * The length of one x86-64 instruction of a small known set that does not
 * branch, does not store to memory and writes at most one general register
 * (its number in *dst, -1 for none: cmp, test), or 0 when it is not one of
 * them. The set: mov/add/or/and/sub/xor/cmp/test between registers or from
 * memory (rip-relative, %fs: too), lea, movzx, movsxd, the immediate forms
 * 0x81/0x83 (add ... cmp) and cmpb $imm8, shifts by an immediate, op-to-%eax imm32 and
 * mov $imm to a register. No operand-size or rep prefix.
 */
static int plain_insn(const uint8_t *p, int *dst)
{
	int i = 0, rex = 0, op, modrm, mod, imm = 0;
	bool w_rm = false, w_reg = false;

	*dst = -1;
	if (p[i] == 0x64) /* %fs: (reads only: stores are refused below) */
		i++;
	if ((p[i] & 0xf0) == 0x40)
		rex = p[i++];
	op = p[i++];
	switch (op) {
	case 0xb8 ... 0xbf: /* mov $imm32 (movabs $imm64 with REX.W), %reg */
		*dst = ((rex & 1) << 3) | (op & 7);
		return i + ((rex & 8) ? 8 : 4);
	case 0x05: case 0x0d: case 0x25: case 0x2d: case 0x35: /* add/or/and/sub/xor $imm32, %eax */
		*dst = 0;
		return i + 4;
	case 0x3d: case 0xa9: /* cmp/test $imm32, %eax */
		return i + 4;
	case 0x01: case 0x09: case 0x21: case 0x29: case 0x31: case 0x89: /* op %reg, r/m */
		w_rm = true;
		break;
	case 0x03: case 0x0b: case 0x23: case 0x2b: case 0x33: case 0x8b: /* op r/m, %reg */
	case 0x8d: case 0x63: /* lea, movsxd */
		w_reg = true;
		break;
	case 0x39: case 0x3b: case 0x85: /* cmp, test */
		break;
	case 0x81: /* add, or, adc, sbb, and, sub, xor, cmp $imm32, r/m */
		imm = 4;
		w_rm = ((p[i] >> 3) & 7) != 7;
		break;
	case 0x83: /* the same, $imm8 */
		imm = 1;
		w_rm = ((p[i] >> 3) & 7) != 7;
		break;
	case 0x80: /* cmpb $imm8, r/m8 (only) */
		if (((p[i] >> 3) & 7) != 7)
			return 0;
		imm = 1;
		break;
	case 0xc1: /* rol ... sar $imm8, r/m */
		imm = 1;
		w_rm = true;
		break;
	case 0x0f: /* movzbl, movzwl */
		if (p[i] != 0xb6 && p[i] != 0xb7)
			return 0;
		op = 0x0f00 | p[i++];
		w_reg = true;
		break;
	default:
		return 0;
	}
	modrm = p[i++];
	mod = modrm >> 6;
	if (mod != 3) {
		if (w_rm)
			return 0; /* a store */
		if ((modrm & 7) == 4) { /* SIB */
			if (mod == 0 && (p[i] & 7) == 5)
				i += 4;
			i++;
		} else if (mod == 0 && (modrm & 7) == 5) {
			i += 4; /* rip-relative */
		}
		if (mod == 1)
			i += 1;
		else if (mod == 2)
			i += 4;
	} else if (op == 0x8d) {
		return 0;
	}
	if (w_rm)
		*dst = ((rex & 1) << 3) | (modrm & 7);
	else if (w_reg)
		*dst = ((rex & 4) << 1) | ((modrm >> 3) & 7);
	return i + imm;
}

/*
 * probe_offset() for jemalloc and tcmalloc, whose entry points often begin
 * with a few plain instructions before their first branch or push
 * (jemalloc's malloc: cmp $0x1000,%rdi; ja; its free: nine movs, shifts
 * and a cmp before a jne; tcmalloc's malloc and free: mov, test, jne): the
 * first emulated instruction after a straight-line prefix of endbr64 and
 * plain_insn()s that write none of the registers in `keep` (the
 * arguments read there) nor rsp or rbp, and store nothing. So every call
 * reaches it with its arguments, [rsp] (the return address the session's
 * return half hooks) and rbp as at the entry. Else +0, single-stepped.
 */
static uint64_t probe_offset_alt(int fd, uint64_t off, uint64_t size, unsigned keep, bool *slow)
{
	uint8_t b[80];
	uint64_t at = 0;

	*slow = false;
	keep |= 1u << R_RSP | 1u << R_RBP;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		goto fallback;
	if (size > sizeof(b) - 16)
		size = sizeof(b) - 16;
	while (at < size) {
		const uint8_t *p = b + at;
		int n, dst;

		if (emulated(p))
			return off + at;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
			at += 4;
			continue;
		}
		n = plain_insn(p, &dst);
		if (!n || (dst >= 0 && (keep >> dst) & 1))
			break;
		at += n;
	}
fallback:
	*slow = true;
	return off;
}

static const struct {
	const char *name;
	enum heap_fn fn;
} probed[] = {
	{ "malloc", HEAP_FN_MALLOC },
	{ "calloc", HEAP_FN_CALLOC },
	{ "realloc", HEAP_FN_REALLOC },
	{ "memalign", HEAP_FN_MEMALIGN },
	{ "aligned_alloc", HEAP_FN_MEMALIGN },
	{ "valloc", HEAP_FN_VALLOC },
	{ "posix_memalign", HEAP_FN_POSIX_MEMALIGN },
	{ "free", HEAP_FN_FREE },
};
#define NR_PROBED (sizeof(probed) / sizeof(probed[0]))

/* jemalloc's and tcmalloc's: the same (malloc first), then the frees
 * (free first); the argument registers each one's probe reads. */
static const struct {
	const char *name;
	enum heap_fn fn;
	unsigned args;
} alt_probed[] = {
	{ "malloc", HEAP_FN_MALLOC, 1u << R_RDI },
	{ "calloc", HEAP_FN_CALLOC, 1u << R_RDI | 1u << R_RSI },
	{ "realloc", HEAP_FN_REALLOC, 1u << R_RDI | 1u << R_RSI },
	{ "memalign", HEAP_FN_MEMALIGN, 1u << R_RDI | 1u << R_RSI },
	{ "aligned_alloc", HEAP_FN_MEMALIGN, 1u << R_RDI | 1u << R_RSI },
	{ "valloc", HEAP_FN_VALLOC, 1u << R_RDI },
	{ "posix_memalign", HEAP_FN_POSIX_MEMALIGN, 1u << R_RDI | 1u << R_RSI | 1u << R_RDX },
	{ "free", HEAP_FN_FREE, 1u << R_RDI },
	{ "sdallocx", HEAP_FN_FREE, 1u << R_RDI },     /* jemalloc: sized free */
	{ "dallocx", HEAP_FN_FREE, 1u << R_RDI },      /* jemalloc */
	{ "free_sized", HEAP_FN_FREE, 1u << R_RDI },   /* C23 */
	{ "free_aligned_sized", HEAP_FN_FREE, 1u << R_RDI },
	{ "tc_free_sized", HEAP_FN_FREE, 1u << R_RDI }, /* tcmalloc */
	/*
	 * C++ operators, which both implement inline rather than through
	 * their malloc and free (jemalloc's aligned new calls its
	 * aligned_alloc: HEAP_FN_NEW_ALIGNED skips it). Those that only
	 * jump to another probed entry (jemalloc's new[] to new, delete to
	 * free@plt) are left to it; tcmalloc's aliases (delete is free) are
	 * probed once.
	 */
	{ "_Znwm", HEAP_FN_NEW, 1u << R_RDI },
	{ "_Znam", HEAP_FN_NEW, 1u << R_RDI },
	{ "_ZnwmRKSt9nothrow_t", HEAP_FN_NEW, 1u << R_RDI },
	{ "_ZnamRKSt9nothrow_t", HEAP_FN_NEW, 1u << R_RDI },
	{ "_ZnwmSt11align_val_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZnamSt11align_val_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", HEAP_FN_NEW_ALIGNED, 1u << R_RDI },
	{ "_ZdlPv", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPv", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvm", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvm", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvmSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvmSt11align_val_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", HEAP_FN_FREE, 1u << R_RDI },
};
#define NR_ALT_PROBED (sizeof(alt_probed) / sizeof(alt_probed[0]))
#define ALT_MALLOC 0 /* alt_probed[] indexes */
#define ALT_FREE 7

/*
 * The allocator's file is the user's: libelf reads it (ELF_C_READ), since
 * a mapping of it (ELF_C_READ_MMAP) would SIGBUS the daemon when the user
 * cuts the file while we read; and only sections up to this size, since
 * what it reads it holds in memory and scans on the event loop: a crafted
 * libc.so.6 at the limit (174,000 symbols) costs 29 ms, an allocator's
 * tail-jump search 41 ms (64 MiB cost 1 s). Real allocators are far under
 * it (libc's .dynsym: 73 KiB); an executable over it (node's .dynstr:
 * 5.3 MiB) is taken not to define malloc itself.
 */
#define ELF_SECTION_MAX (4u << 20)

/* A string table's bytes, when small enough to read and NUL-terminated
 * (then every name in it ends inside it). */
static bool strtab_of(Elf *e, size_t idx, const char **buf, size_t *size)
{
	Elf_Scn *scn = elf_getscn(e, idx);
	Elf_Data *d;
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_STRTAB ||
	    sh.sh_size > ELF_SECTION_MAX || !(d = elf_getdata(scn, NULL)) || !d->d_buf ||
	    !d->d_size || ((const char *)d->d_buf)[d->d_size - 1])
		return false;
	*buf = d->d_buf;
	*size = d->d_size;
	return true;
}

/* The file offsets and sizes of the functions named in names[] defined in
 * an ELF file's .dynsym (offset 0: not defined there); returns how many. */
static int dynsym_offsets_of(int fd, const char *const *names, size_t nnames, uint64_t *off,
			     uint64_t *size)
{
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t nph;
	int found = 0;

	memset(off, 0, nnames * sizeof(*off));
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return -EINVAL;
	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph)) {
		elf_end(e);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(e, scn))) {
		const char *str;
		size_t strsz;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize ||
		    sh.sh_size > ELF_SECTION_MAX || !strtab_of(e, sh.sh_link, &str, &strsz))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value ||
			    sym.st_name >= strsz)
				continue;
			name = str + sym.st_name;
			for (size_t k = 0; k < nnames; k++) {
				if (off[k] || strcmp(name, names[k]))
					continue;
				/* virtual address -> file offset, by its PT_LOAD */
				for (size_t p = 0; p < nph; p++) {
					GElf_Phdr ph;

					if (!gelf_getphdr(e, p, &ph) || ph.p_type != PT_LOAD ||
					    sym.st_value < ph.p_vaddr ||
					    sym.st_value >= ph.p_vaddr + ph.p_filesz)
						continue;
					off[k] = sym.st_value - ph.p_vaddr + ph.p_offset;
					size[k] = sym.st_size;
					found++;
					break;
				}
			}
		}
	}
	elf_end(e);
	return found;
}

static int dynsym_offsets(int fd, uint64_t off[NR_PROBED], uint64_t size[NR_PROBED])
{
	const char *names[NR_PROBED];

	for (size_t k = 0; k < NR_PROBED; k++)
		names[k] = probed[k].name;
	return dynsym_offsets_of(fd, names, NR_PROBED, off, size);
}

static bool is_libc(const char *base)
{
	return !strcmp(base, "libc.so.6") || (!strncmp(base, "libc-", 5) && strstr(base, ".so"));
}

/* The allocators probed in place of glibc's when they are the process's
 * malloc: libjemalloc.so.2, libtcmalloc.so.4, libtcmalloc_minimal.so.4... */
static bool alt_allocator(const char *base)
{
	return !strncmp(base, "libjemalloc", 11) || !strncmp(base, "libtcmalloc", 11);
}

/* Allocators that replace glibc's and are not supported, by their library
 * names. */
static const char *other_allocator(const char *base)
{
	static const char *const libs[] = { "libmimalloc", "libhoard", "libsnmalloc" };

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (!strncmp(base, libs[i], strlen(libs[i])))
			return libs[i];
	return NULL;
}

bool heap_maps__line(struct heap_maps *m, const char *line)
{
	char range[64], perms[8], path[4096] = "";
	unsigned long long pgoff;
	unsigned long ino;
	const char *base, *other;
	int n;

	if (sscanf(line, "%63s %7s %llx %*s %lu %n", range, perms, &pgoff, &ino, &n) < 4)
		return true;
	snprintf(path, sizeof(path), "%s", line + n);
	path[strcspn(path, "\n")] = 0;
	if (path[0] != '/')
		return true;
	if (!m->exe[0])
		snprintf(m->exe, sizeof(m->exe), "%s", path);
	base = strrchr(path, '/') + 1;
	if (!m->alt_ino && alt_allocator(base)) {
		snprintf(m->alt_path, sizeof(m->alt_path), "%s", path);
		snprintf(m->alt_range, sizeof(m->alt_range), "%s", range);
		m->alt_ino = ino;
	}
	if ((other = other_allocator(base))) {
		m->other = other;
		snprintf(m->other_path, sizeof(m->other_path), "%s", path);
		return false;
	}
	if (!m->libc_ino && is_libc(base)) {
		snprintf(m->libc_path, sizeof(m->libc_path), "%s", path);
		snprintf(m->libc_range, sizeof(m->libc_range), "%s", range);
		m->libc_ino = ino;
	}
	return true;
}

/* Opens a file mapped by pid: through its root (containers), or, when that
 * fails or the file was replaced, through map_files. Never blocks, and
 * only regular files (issue 12: a FIFO named libc.so.6 in the process's
 * mount namespace held the daemon in open()). */
static int open_mapped(uint32_t pid, const char *path, const char *range, unsigned long ino,
		       char *out, size_t outlen)
{
	char root[64];
	struct stat st;
	int fd;

	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	snprintf(out, outlen, "%s%s", root, path);
	fd = safe_open(root, path);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino)
		return fd;
	if (fd >= 0)
		close(fd);
	snprintf(out, outlen, "/proc/%u/map_files/%s", pid, range);
	return safe_open_proc(out);
}

static int link_create(int prog_fd, unsigned attach_type, const char *path, const uint64_t *offs,
		       const uint64_t *cookies, unsigned cnt, uint32_t pid)
{
	struct link_create_uprobe_multi a;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = attach_type;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offs;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = cnt;
	a.pid = pid;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}

/* The file offset of a virtual address of an ELF file, by its PT_LOAD;
 * or the reverse (to_vaddr). 0 when none holds it. */
static uint64_t elf_addr(Elf *e, uint64_t a, bool to_vaddr)
{
	size_t nph;

	if (elf_getphdrnum(e, &nph))
		return 0;
	for (size_t p = 0; p < nph; p++) {
		GElf_Phdr ph;
		uint64_t from, to;

		if (!gelf_getphdr(e, p, &ph) || ph.p_type != PT_LOAD)
			continue;
		from = to_vaddr ? ph.p_offset : ph.p_vaddr;
		to = to_vaddr ? ph.p_vaddr : ph.p_offset;
		if (a >= from && a < from + ph.p_filesz)
			return a - from + to;
	}
	return 0;
}

/* The name of the symbol whose GOT slot (a virtual address) a PLT stub
 * jumps through: its JUMP_SLOT or GLOB_DAT relocation's symbol. */
static bool got_slot_symbol(Elf *e, uint64_t slot, char *name, size_t namelen)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh, dsh;
		Elf_Scn *dyn;
		Elf_Data *d, *dd;
		const char *str;
		size_t strsz;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize ||
		    sh.sh_size > ELF_SECTION_MAX)
			continue;
		dyn = elf_getscn(e, sh.sh_link);
		if (!dyn || !gelf_getshdr(dyn, &dsh) || dsh.sh_type != SHT_DYNSYM ||
		    dsh.sh_size > ELF_SECTION_MAX || !strtab_of(e, dsh.sh_link, &str, &strsz))
			continue;
		d = elf_getdata(scn, NULL);
		dd = elf_getdata(dyn, NULL);
		for (size_t i = 0; d && dd && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym sym;

			if (!gelf_getrela(d, i, &r) || r.r_offset != slot ||
			    (GELF_R_TYPE(r.r_info) != R_X86_64_JUMP_SLOT &&
			     GELF_R_TYPE(r.r_info) != R_X86_64_GLOB_DAT) ||
			    !gelf_getsym(dd, GELF_R_SYM(r.r_info), &sym) || sym.st_name >= strsz)
				continue;
			snprintf(name, namelen, "%s", str + sym.st_name);
			return true;
		}
	}
	return false;
}

/*
 * Whether the function at file offset off only jumps elsewhere: its first
 * instruction (after endbr64) a jmp. Then *to is the target's file offset
 * and, when the target is a PLT stub (jmp *slot(%rip), maybe after endbr64
 * and bnd), name is the symbol it goes to ("" otherwise). jemalloc's
 * new[] is `jmp new`, its delete `jmp free@plt`.
 */
static bool tail_jump(int fd, uint64_t off, uint64_t *to, char *name, size_t namelen)
{
	uint8_t b[16];
	uint64_t at = 0;
	Elf *e;
	bool ok = false;

	name[0] = 0;
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b))
		return false;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		at = 4;
	if (b[at] == 0xe9)
		*to = off + at + 5 + (int64_t)(int32_t)(b[at + 1] | b[at + 2] << 8 |
							b[at + 3] << 16 | (uint32_t)b[at + 4] << 24);
	else if (b[at] == 0xeb)
		*to = off + at + 2 + (int64_t)(int8_t)b[at + 1];
	else
		return false;

	/* A PLT stub? (direct jumps stay in one segment: file offsets do) */
	if (pread(fd, b, sizeof(b), *to) != (ssize_t)sizeof(b))
		return true;
	at = 0;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		at = 4;
	if (b[at] == 0xf2) /* bnd */
		at++;
	if (b[at] != 0xff || b[at + 1] != 0x25)
		return true;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e) {
		uint64_t va = elf_addr(e, *to, true);
		int32_t disp = (int32_t)(b[at + 2] | b[at + 3] << 8 | b[at + 4] << 16 |
					 (uint32_t)b[at + 5] << 24);

		ok = va && got_slot_symbol(e, va + at + 6 + disp, name, namelen);
		elf_end(e);
	}
	if (!ok)
		name[0] = 0;
	return true;
}

/*
 * Which entry of alt_probed[] (exported at off[]) entry k's calls all
 * reach with the same [rsp] and arguments, by a jump as its first
 * instruction, directly or through the PLT (in a library that is the
 * process's malloc, its free@plt binds to its own free), following chains;
 * k when none: then k must be probed itself. Only an entry of the same
 * kind qualifies (new[] -> new, delete -> free).
 */
static size_t jumps_to(int fd, const uint64_t *off, size_t k)
{
	size_t at = k;

	for (int hops = 0; hops < 4; hops++) {
		char name[128];
		uint64_t to;
		size_t j, next = NR_ALT_PROBED;

		if (!tail_jump(fd, off[at], &to, name, sizeof(name)))
			return at;
		for (j = 0; j < NR_ALT_PROBED && next == NR_ALT_PROBED; j++)
			if (off[j] && alt_probed[j].fn == alt_probed[k].fn &&
			    (off[j] == to || (name[0] && !strcmp(name, alt_probed[j].name))))
				next = j;
		if (next == NR_ALT_PROBED || next == at)
			return at;
		at = next;
	}
	return k;
}

_Static_assert(NR_ALT_PROBED <= HEAP_PROBE_SITES_MAX && NR_PROBED <= HEAP_PROBE_SITES_MAX,
	       "struct heap_probe_sites holds every entry point");

/*
 * jemalloc's or tcmalloc's entry points in the file open as fd: the
 * allocation functions (C++ new too), cookies flagged HEAP_FN_ALT, and the
 * frees (free, sdallocx, delete, ...). Aliases (tcmalloc's aligned_alloc
 * is its memalign, delete its free) are probed once, and entries that only
 * jump to another probed one not at all.
 */
int heap_probe_sites_alt(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps)
{
	uint64_t off[NR_ALT_PROBED], size[NR_ALT_PROBED], seen[NR_ALT_PROBED];
	const char *names[NR_ALT_PROBED];
	unsigned nseen = 0;

	memset(ps, 0, sizeof(*ps));
	for (size_t k = 0; k < NR_ALT_PROBED; k++)
		names[k] = alt_probed[k].name;
	if (dynsym_offsets_of(fd, names, NR_ALT_PROBED, off, size) <= 0 || !off[ALT_MALLOC] ||
	    !off[ALT_FREE])
		return -ENOENT;
	for (size_t k = 0; k < NR_ALT_PROBED; k++) {
		bool is_free = alt_probed[k].fn == HEAP_FN_FREE, slow, dup = false;
		uint64_t o, *offs = is_free ? ps->free_offs : ps->alloc_offs;
		uint64_t *cookies = is_free ? ps->free_cookies : ps->alloc_cookies;
		unsigned *n = is_free ? &ps->nr_free : &ps->nr_alloc;
		size_t to;

		if (!off[k])
			continue;
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen[j] == off[k];
		if (dup)
			continue;
		seen[nseen++] = off[k];
		if ((to = jumps_to(fd, off, k)) != k) {
			log_debug("heap: pid %u: %s jumps to %s: counted there", pid,
				  alt_probed[k].name, alt_probed[to].name);
			continue;
		}
		o = probe_offset_alt(fd, off[k], size[k], alt_probed[k].args, &slow);
		if (slow) {
			ps->slow++;
			log_warn("heap: %s: %s+0 is single-stepped (unknown code), slower", lib,
				 alt_probed[k].name);
		}
		offs[*n] = o;
		cookies[(*n)++] = is_free ? HEAP_FN_FREE : alt_probed[k].fn | HEAP_FN_ALT;
		log_debug("heap: pid %u: %s at %s+%#llx", pid, alt_probed[k].name, lib,
			  (unsigned long long)(o - off[k]));
	}
	return 0;
}

/* glibc's entry points in the file open as fd: malloc ... posix_memalign
 * (memalign and aligned_alloc are one function there) and free. */
int heap_probe_sites_libc(int fd, const char *lib, uint32_t pid, struct heap_probe_sites *ps)
{
	uint64_t off[NR_PROBED], size[NR_PROBED];
	bool slow;

	memset(ps, 0, sizeof(*ps));
	if (dynsym_offsets(fd, off, size) <= 0 || !off[0] || !off[NR_PROBED - 1])
		return -ENOENT;
	for (size_t k = 0; k + 1 < NR_PROBED; k++) {
		bool dup = false;
		uint64_t o;

		if (!off[k])
			continue;
		o = probe_offset(fd, off[k], size[k], false, &slow);
		/* memalign and aligned_alloc are one function in glibc */
		for (unsigned j = 0; j < ps->nr_alloc; j++)
			dup |= ps->alloc_offs[j] == o;
		if (dup)
			continue;
		if (slow) {
			ps->slow++;
			log_warn("heap: %s: %s+0 is single-stepped (unknown code), slower", lib,
				 probed[k].name);
		}
		ps->alloc_offs[ps->nr_alloc] = o;
		ps->alloc_cookies[ps->nr_alloc++] = probed[k].fn;
		log_debug("heap: pid %u: %s at %s+%#llx", pid, probed[k].name, lib,
			  (unsigned long long)(o - off[k]));
	}
	ps->free_offs[0] = probe_offset(fd, off[NR_PROBED - 1], size[NR_PROBED - 1], true, &slow);
	ps->free_cookies[0] = HEAP_FN_FREE;
	ps->nr_free = 1;
	ps->slow += slow;
	if (slow)
		log_warn("heap: %s: free+0 is single-stepped (unknown code), slower", lib);
	return 0;
}

/* Attaches the session program at ps's allocation functions and the free
 * program at its frees, in t->libc for t->pid. 0, or -errno with err set. */
static int attach_sites(struct heap_target *t, const struct heap_probe_sites *ps, char *err,
			size_t errlen)
{
	int e;

	t->slow = ps->slow;
	t->alloc_link = link_create(bpf_program__fd(t->s->skel->progs.heap_alloc),
				    ATTACH_UPROBE_SESSION, t->libc, ps->alloc_offs, ps->alloc_cookies,
				    ps->nr_alloc, t->pid);
	if (t->alloc_link < 0) {
		e = errno;
		snprintf(err, errlen, "process %u: cannot attach uprobes to %s: %s", t->pid,
			 t->libc, strerror(e));
		return -e;
	}
	t->free_link = link_create(bpf_program__fd(t->s->skel->progs.heap_free),
				   ATTACH_UPROBE_MULTI, t->libc, ps->free_offs, ps->free_cookies,
				   ps->nr_free, t->pid);
	if (t->free_link < 0) {
		e = errno;
		snprintf(err, errlen, "process %u: cannot attach %s to %s: %s", t->pid,
			 ps->nr_free == 1 ? "a uprobe" : "uprobes", t->libc, strerror(e));
		return -e;
	}
	return 0;
}

struct heap_target *heap_sampler__attach_pid(struct heap_sampler *s, uint32_t pid, char *err,
					     size_t errlen)
{
	struct heap_target *t = calloc(1, sizeof(*t));
	char maps[64], line[4096 + 256];
	struct heap_maps m = { 0 };
	struct heap_probe_sites ps;
	int e = 0, fd = -1;
	FILE *f;

	if (!t)
		return NULL;
	t->s = s;
	t->pid = pid;
	t->alloc_link = t->free_link = -1;
	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	f = fopen(maps, "re");
	if (!f) {
		e = ESRCH;
		snprintf(err, errlen, "no process %u", pid);
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!heap_maps__line(&m, line)) {
			e = EOPNOTSUPP;
			snprintf(err, errlen,
				 "process %u uses %s (%s), not glibc's malloc: not supported", pid,
				 m.other, m.other_path);
			fclose(f);
			goto fail;
		}
	}
	fclose(f);
	if (!m.libc_ino) {
		e = ENOENT;
		snprintf(err, errlen,
			 "process %u does not use glibc's malloc (no libc.so.6 mapped: a static "
			 "binary, or another C library)",
			 pid);
		goto fail;
	}
	/* An executable that defines malloc itself (a linked-in allocator)
	 * takes precedence over libc's. */
	if (m.exe[0] && strcmp(m.exe, m.libc_path)) {
		char p[4200];
		struct stat st;
		uint64_t xo[NR_PROBED], xs[NR_PROBED];

		snprintf(p, sizeof(p), "/proc/%u/exe", pid);
		fd = safe_open_proc(p);
		if (fd >= 0 && fstat(fd, &st) == 0 && dynsym_offsets(fd, xo, xs) > 0 && xo[0]) {
			e = EOPNOTSUPP;
			snprintf(err, errlen,
				 "process %u defines its own malloc in %s, not glibc's: not supported",
				 pid, m.exe);
			goto fail;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
	}

	/*
	 * jemalloc or tcmalloc, linked or LD_PRELOADed: the dynamic linker
	 * binds malloc to the first definition in the executable (refused
	 * above), the preloaded objects, then DT_NEEDED breadth-first, where
	 * libc comes late; so when one of them is mapped and exports malloc,
	 * it is the process's malloc (a dlopen()ed one with RTLD_LOCAL would
	 * not be: not told apart here). One mapped without malloc (a
	 * prefixed build: je_malloc) leaves glibc's in place.
	 */
	if (m.alt_ino) {
		fd = open_mapped(pid, m.alt_path, m.alt_range, m.alt_ino, t->libc, sizeof(t->libc));
		if (fd >= 0 && !heap_probe_sites_alt(fd, t->libc, pid, &ps)) {
			int r = attach_sites(t, &ps, err, errlen);

			if (r) {
				e = -r;
				goto fail;
			}
			close(fd);
			log_info("heap: profiling pid %u through %s (%u probes single-stepped)", pid,
				 t->libc, t->slow);
			return t;
		}
		log_info("heap: pid %u maps %s, which does not export malloc and free: probing "
			 "glibc's", pid, m.alt_path);
		if (fd >= 0)
			close(fd);
		fd = -1;
		t->libc[0] = 0;
	}

	fd = open_mapped(pid, m.libc_path, m.libc_range, m.libc_ino, t->libc, sizeof(t->libc));
	if (fd < 0 || heap_probe_sites_libc(fd, t->libc, pid, &ps)) {
		e = fd < 0 ? -fd : ENOENT;
		snprintf(err, errlen, "process %u: cannot read malloc/free from %s%s%s", pid,
			 m.libc_path, fd < 0 ? ": " : "", fd < 0 ? strerror(-fd) : "");
		goto fail;
	}
	e = -attach_sites(t, &ps, err, errlen);
	if (e)
		goto fail;
	close(fd);
	log_info("heap: profiling pid %u through %s (%u probes single-stepped)", pid, t->libc,
		 t->slow);
	return t;
fail:
	if (fd >= 0)
		close(fd);
	heap_target__free(t);
	errno = e ? e : EINVAL;
	return NULL;
}

/* The process's entries in the live table, so that a reused pid does not
 * find blocks that are not its own. */
static void forget_live(struct heap_sampler *s, uint32_t pid)
{
	struct lk {
		uint64_t ptr;
		uint32_t tgid, pad;
	} k, *prev = NULL, *del = NULL;
	int fd = bpf_map__fd(s->skel->maps.live);
	size_t n = 0, cap = 0;

	/* Collect first: deleting the cursor would restart the walk. */
	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		if (k.tgid == pid) {
			if (n == cap) {
				struct lk *d = realloc(del, (cap = cap ? 2 * cap : 256) * sizeof(*d));

				if (!d)
					break;
				del = d;
			}
			del[n++] = k;
		}
		prev = &k;
	}
	for (size_t i = 0; i < n; i++)
		if (!bpf_map_delete_elem(fd, &del[i]))
			__atomic_fetch_sub(&s->skel->bss->live_hint[heap_hint_slot(del[i].ptr, pid)], 1,
					   __ATOMIC_RELAXED);
	free(del);
}

void heap_target__free(struct heap_target *t)
{
	if (!t)
		return;
	if (t->alloc_link >= 0)
		close(t->alloc_link);
	if (t->free_link >= 0)
		close(t->free_link);
	if (t->alloc_link >= 0 || t->free_link >= 0)
		forget_live(t->s, t->pid);
	free(t);
}

const char *heap_target__libc(const struct heap_target *t)
{
	return t->libc;
}

unsigned heap_target__slow_probes(const struct heap_target *t)
{
	return t->slow;
}
