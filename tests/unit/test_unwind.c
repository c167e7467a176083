// SPDX-License-Identifier: MIT
/*
 * unwind: real stacks of this process, captured in process exactly as
 * ustack_capture() would (tests/unit/ustack_self.h), unwound with the CFI
 * tables of the files in /proc/self/maps:
 *  - through libc's qsort (no frame pointers; msort_with_tmp uses rbp as
 *    a plain register) from inside the comparator: the frames of the
 *    program that called qsort are found, and without CFI they are not;
 *  - from a function without a frame pointer at the bottom of a stack
 *    deeper than the copy: CFI finds its caller, which the frame-pointer
 *    walk skips, and the walk goes on through the BPF records to main;
 * the same through procs__cfi_for() (the daemon's lookup: /proc maps,
 * files opened in the process's root, the bounded CFI cache), also when
 * the cache evicts at every step or refuses a table over its budget;
 * and synthetic records: lengths beyond len, joins, loops, limits.
 * Built with frame pointers and without sibling calls (see the Makefile).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_cache.h"
#include "log.h"
#include "procs.h"
#include "symtab.h"
#include "test.h"
#include "unwind.h"
#include "ustack_self.h"

#define MAX_FRAMES 128

/* ---- this process's modules ---- */

struct self {
	struct mapping *maps;
	int n;
	struct cfi_table **cfi;
	struct symtab **sym;
	bool *tried;
	unsigned finds;
};

static char *slurp_proc(const char *path, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !b) {
		free(b);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((r = read(fd, b + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);

			if (!nb)
				break;
			b = nb;
		}
	}
	close(fd);
	*len = n;
	return b;
}

static bool self_open(struct self *s)
{
	size_t len;
	char *text = slurp_proc("/proc/self/maps", &len);

	memset(s, 0, sizeof(*s));
	if (!text)
		return false;
	s->n = parse_proc_maps(text, len, &s->maps, 4096);
	free(text);
	if (s->n <= 0)
		return false;
	s->cfi = calloc(s->n, sizeof(*s->cfi));
	s->sym = calloc(s->n, sizeof(*s->sym));
	s->tried = calloc(s->n, sizeof(*s->tried));
	return s->cfi && s->sym && s->tried;
}

static void self_close(struct self *s)
{
	for (int i = 0; i < s->n; i++) {
		cfi_table__free(s->cfi[i]);
		symtab__put(s->sym[i]);
		free(s->maps[i].path);
	}
	free(s->maps);
	free(s->cfi);
	free(s->sym);
	free(s->tried);
}

static int self_map(const struct self *s, uint64_t pc)
{
	for (int i = 0; i < s->n; i++)
		if (pc >= s->maps[i].start && pc < s->maps[i].end)
			return i;
	return -1;
}

static void self_load(struct self *s, int i)
{
	int fd;

	if (s->tried[i])
		return;
	s->tried[i] = true;
	if (s->maps[i].path[0] != '/')
		return;
	fd = open(s->maps[i].path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	s->cfi[i] = cfi_table__load(fd);
	s->sym[i] = symtab__load(fd, "/", s->maps[i].path);
	close(fd);
}

static const struct cfi_table *find_self(void *ctx, uint64_t pc, uint64_t *off)
{
	struct self *s = ctx;
	int i = self_map(s, pc);

	s->finds++;
	if (i < 0)
		return NULL;
	self_load(s, i);
	*off = s->maps[i].pgoff + (pc - s->maps[i].start);
	return s->cfi[i];
}

/* "function" for this executable, "[libc.so.6] function" elsewhere, "?". */
static void name_of(struct self *s, uint64_t addr, char *buf, size_t sz)
{
	int i = self_map(s, addr);
	struct sym_result r;
	const char *base;

	snprintf(buf, sz, "?");
	if (i < 0)
		return;
	self_load(s, i);
	base = strrchr(s->maps[i].path, '/');
	base = base ? base + 1 : s->maps[i].path;
	if (s->sym[i] &&
	    !symtab__lookup(s->sym[i], s->maps[i].pgoff + (addr - s->maps[i].start), &r)) {
		if (strstr(base, "test_unwind"))
			snprintf(buf, sz, "%s", r.name);
		else
			snprintf(buf, sz, "[%s] %s", base, r.name);
	} else {
		snprintf(buf, sz, "[%s] +%#llx", base,
			 (unsigned long long)(s->maps[i].pgoff + (addr - s->maps[i].start)));
	}
}

/* Names of the frames (return addresses looked up at addr - 1). */
static void names(struct self *s, const uint64_t *pcs, int n, char (*out)[128], const char *tag)
{
	for (int i = 0; i < n; i++) {
		name_of(s, i ? pcs[i] - 1 : pcs[i], out[i], sizeof(out[i]));
		printf("# %s #%d %#llx %s\n", tag, i, (unsigned long long)pcs[i], out[i]);
	}
}

static int index_of(char (*nm)[128], int n, int from, const char *want, bool prefix)
{
	for (int i = from; i < n; i++)
		if (prefix ? !strncmp(nm[i], want, strlen(want)) : !strcmp(nm[i], want))
			return i;
	return -1;
}

/* ---- a stack through libc's qsort ---- */

static unsigned char rec[USTACK_SELF_BYTES];
static size_t rec_len;
static volatile int captured;
static int sort_data[8];
/* libc's own qsort: under ASan, plain qsort is the sanitizer's */
static void (*libc_qsort)(void *, size_t, size_t, int (*)(const void *, const void *));

__attribute__((noinline, noclone)) int cmp_capture(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (!captured) {
		uint64_t ip, sp, bp;

		USTACK_SELF_REGS(ip, sp, bp);
		rec_len = ustack_self_fill(ip, sp, bp, rec);
		captured = 1;
	}
	return (x > y) - (x < y);
}

__attribute__((noinline, noclone)) int sort_caller(void)
{
	for (int i = 0; i < 8; i++)
		sort_data[i] = 8 - i;
	libc_qsort(sort_data, 8, sizeof(int), cmp_capture);
	return sort_data[0] + captured; /* not a tail call */
}

__attribute__((noinline, noclone)) static void test_unwind_through_qsort(void)
{
	const struct ustack_hdr *h = (const void *)rec;
	static uint64_t cfi[MAX_FRAMES], fp[MAX_FRAMES]; /* off the stack: it is what we copy */
	char(*ncfi)[128] = calloc(MAX_FRAMES, 128), (*nfp)[128] = calloc(MAX_FRAMES, 128);
	int n, nf, i_cmp, i_libc, i_caller, i_test, i_main;
	struct self s;

	captured = 0;
	ASSERT_EQ(sort_caller(), 2);
	if (!ASSERT_TRUE(captured && rec_len > sizeof(*h) && self_open(&s)) || !ncfi || !nfp)
		goto out_free;
	ASSERT_EQ(h->snap_len, USTACK_SNAP_BYTES);
	n = unwind_user(h, rec_len, find_self, &s, cfi, MAX_FRAMES);
	nf = unwind_user(h, rec_len, NULL, NULL, fp, MAX_FRAMES);
	if (!ASSERT_TRUE(n > 0 && nf > 0, "unwound %d, %d frames", n, nf))
		goto out;
	printf("# record: %u frame records, %u stack bytes\n", h->nr_fp, h->snap_len);
	names(&s, cfi, n, ncfi, "cfi");
	names(&s, fp, nf, nfp, "fp ");
	/* comparator -> msort_with_tmp (libc) ... -> sort_caller -> the test -> main */
	i_cmp = index_of(ncfi, n, 0, "cmp_capture", false);
	i_libc = index_of(ncfi, n, i_cmp + 1, "[libc.so.6]", true);
	i_caller = index_of(ncfi, n, i_libc + 1, "sort_caller", false);
	i_test = index_of(ncfi, n, i_caller + 1, "test_unwind_through_qsort", false);
	i_main = index_of(ncfi, n, i_test + 1, "main", false);
	ASSERT_EQ(i_cmp, 0);
	ASSERT_EQ(i_libc, 1);
	ASSERT_TRUE(i_caller > i_libc, "sort_caller found after libc: %d", i_caller);
	ASSERT_TRUE(i_test == i_caller + 1, "the test function right after: %d", i_test);
	ASSERT_TRUE(i_main == i_test + 1, "main right after: %d", i_main);
	/* every frame between the comparator and sort_caller is libc's */
	for (int i = i_libc; i > 0 && i < i_caller; i++)
		ASSERT_TRUE(!strncmp(ncfi[i], "[libc.so.6]", 11), "frame %d: %s", i, ncfi[i]);
	/* frame pointers alone stop in libc: the program's frames are lost */
	ASSERT_EQ(index_of(nfp, nf, 0, "cmp_capture", false), 0);
	ASSERT_EQ(index_of(nfp, nf, 0, "sort_caller", false), -1);
	ASSERT_EQ(index_of(nfp, nf, 0, "main", false), -1);
	ASSERT_TRUE(n > nf + 3, "cfi %d frames, fp %d", n, nf);
out:
	self_close(&s);
out_free:
	free(ncfi);
	free(nfp);
}

/* ---- a leaf without frame pointer under a stack deeper than the copy ---- */

void leaf_nofp(void);
void leaf_capture(uint64_t ip, uint64_t sp, uint64_t bp);

/* Like a libc syscall wrapper: no frame pointer, rbp left alone, CFI. */
__asm__(".text\n"
	".globl leaf_nofp\n"
	".type leaf_nofp,@function\n"
	"leaf_nofp:\n"
	".cfi_startproc\n"
	"push %rbx\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbx,-16\n"
	"sub $32,%rsp\n"
	".cfi_def_cfa_offset 48\n"
	"lea 0(%rip),%rdi\n"
	"mov %rsp,%rsi\n"
	"mov %rbp,%rdx\n"
	"call leaf_capture@PLT\n"
	"add $32,%rsp\n"
	".cfi_def_cfa_offset 16\n"
	"pop %rbx\n"
	".cfi_def_cfa_offset 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size leaf_nofp, .-leaf_nofp\n");

__attribute__((noinline, noclone)) void leaf_capture(uint64_t ip, uint64_t sp, uint64_t bp)
{
	rec_len = ustack_self_fill(ip, sp, bp, rec);
}

__attribute__((noinline, noclone)) int deep(int n)
{
	volatile char pad[160];

	pad[0] = (char)n;
	pad[159] = 1;
	if (n == 0)
		leaf_nofp();
	else
		deep(n - 1);
	return pad[0] + pad[159]; /* not a tail call */
}

#define DEPTH 12

__attribute__((noinline, noclone)) static void test_unwind_joins_fp_records(void)
{
	const struct ustack_hdr *h = (const void *)rec;
	const struct ustack_fp *fps = (const void *)(h + 1);
	static uint64_t cfi[MAX_FRAMES], fp[MAX_FRAMES]; /* off the stack: it is what we copy */
	char(*ncfi)[128] = calloc(MAX_FRAMES, 128), (*nfp)[128] = calloc(MAX_FRAMES, 128);
	int n, nf, deeps_cfi = 0, deeps_fp = 0;
	bool from_records = false;
	struct self s;

	rec_len = 0;
	ASSERT_EQ(deep(DEPTH), DEPTH + 1);
	if (!ASSERT_TRUE(rec_len > sizeof(*h) && self_open(&s)) || !ncfi || !nfp)
		goto out_free;
	n = unwind_user(h, rec_len, find_self, &s, cfi, MAX_FRAMES);
	nf = unwind_user(h, rec_len, NULL, NULL, fp, MAX_FRAMES);
	if (!ASSERT_TRUE(n > 0 && nf > 0, "unwound %d, %d frames", n, nf))
		goto out;
	printf("# record: %u frame records, %u stack bytes\n", h->nr_fp, h->snap_len);
	names(&s, cfi, n, ncfi, "cfi");
	names(&s, fp, nf, nfp, "fp ");
	ASSERT_STREQ(ncfi[0], "leaf_nofp");
	for (int i = 0; i < n; i++)
		deeps_cfi += !strcmp(ncfi[i], "deep");
	for (int i = 0; i < nf; i++)
		deeps_fp += !strcmp(nfp[i], "deep");
	/* CFI finds leaf_nofp's caller, deep(0); the rbp walk skips it */
	ASSERT_EQ(deeps_cfi, DEPTH + 1);
	ASSERT_EQ(deeps_fp, DEPTH);
	ASSERT_STREQ(ncfi[1], "deep");
	/* past that, the same frames: the records, joined where the copy ends */
	if (ASSERT_EQ(n, nf + 1))
		for (int i = 1; i < nf; i++)
			ASSERT_TRUE(cfi[i + 1] == fp[i], "frame %d: %#llx vs %#llx", i,
				    (unsigned long long)cfi[i + 1], (unsigned long long)fp[i]);
	ASSERT_TRUE(index_of(ncfi, n, 0, "test_unwind_joins_fp_records", false) > DEPTH);
	ASSERT_TRUE(index_of(ncfi, n, 0, "main", false) > DEPTH);
	/* and main's return address was past the copy: only the records had it */
	for (unsigned i = 0; i < h->nr_fp; i++) {
		char nm[128];

		name_of(&s, fps[i].ret - 1, nm, sizeof(nm));
		if (!strcmp(nm, "main"))
			from_records = fps[i].addr + 8 >= h->sp + h->snap_len;
	}
	ASSERT_TRUE(from_records, "main's frame lies past the %u bytes copied", h->snap_len);
out:
	self_close(&s);
out_free:
	free(ncfi);
	free(nfp);
}

/* ---- synthetic records ---- */

struct synth {
	struct ustack_hdr h;
	unsigned char data[USTACK_DATA_MAX];
};

static size_t synth_make(struct synth *r, uint64_t ip, uint64_t sp, uint64_t bp,
			 const struct ustack_fp *fps, unsigned nfp, const uint64_t *snap,
			 unsigned nsnap)
{
	memset(r, 0, sizeof(*r));
	r->h.ip = ip;
	r->h.sp = sp;
	r->h.bp = bp;
	r->h.nr_fp = nfp;
	r->h.snap_len = nsnap * 8;
	if (nfp)
		memcpy(r->data, fps, nfp * sizeof(*fps));
	if (nsnap)
		memcpy(r->data + nfp * sizeof(*fps), snap, nsnap * 8);
	return sizeof(r->h) + nfp * sizeof(*fps) + nsnap * 8;
}

static void test_unwind_malformed(void)
{
	static struct synth r;
	const struct ustack_fp fps[2] = { { 0x2000, 0x401000 }, { 0x3000, 0x402000 } };
	const uint64_t snap[4] = { 0, 0, 0, 0 };
	uint64_t out[8];
	size_t len = synth_make(&r, 0x400000, 0x1000, 0x2000, fps, 2, snap, 4);

	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), 3);
	/* every length is checked against len */
	ASSERT_EQ(unwind_user(&r.h, len - 1, NULL, NULL, out, 8), -EINVAL);
	ASSERT_EQ(unwind_user(&r.h, sizeof(r.h) - 1, NULL, NULL, out, 8), -EINVAL);
	ASSERT_EQ(unwind_user(NULL, len, NULL, NULL, out, 8), -EINVAL);
	r.h.nr_fp = 3;
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), -EINVAL);
	r.h.nr_fp = 0xffff;
	ASSERT_EQ(unwind_user(&r.h, sizeof(r), NULL, NULL, out, 8), -EINVAL);
	r.h.nr_fp = 2;
	r.h.snap_len = 40;
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), -EINVAL);
	r.h.snap_len = 0xffff;
	ASSERT_EQ(unwind_user(&r.h, sizeof(r), NULL, NULL, out, 8), -EINVAL);
	r.h.snap_len = 32;
	/* no registers, no room */
	r.h.flags = USTACK_F_NO_REGS;
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), 0);
	r.h.flags = 0;
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 0), 0);
	out[1] = 0;
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 1), 1);
	ASSERT_EQ(out[0], 0x400000);
	ASSERT_EQ(out[1], 0);
}

/* A stack the BPF walker took is its frames, as they are; its count is
 * checked against len as the copy's sizes are. */
static void test_unwind_walked(void)
{
	static struct synth r;
	const uint64_t pcs[3] = { 0x401234, 0x402345, 0x403456 };
	uint64_t out[8];
	size_t len = synth_make(&r, pcs[0], 0x1000, 0x2000, NULL, 0, pcs, 3);

	r.h.nr_fp = 3;
	r.h.snap_len = 0;
	r.h.flags = USTACK_F_WALKED;
	ASSERT_TRUE(ustack_fits(&r.h, len));
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), 3);
	ASSERT_EQ(out[0], pcs[0]);
	ASSERT_EQ(out[2], pcs[2]);
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 2), 2);
	ASSERT_EQ(unwind_user(&r.h, len - 1, NULL, NULL, out, 8), -EINVAL);
	r.h.nr_fp = USTACK_MAX_FP + 1;
	ASSERT_EQ(unwind_user(&r.h, sizeof(r), NULL, NULL, out, 8), -EINVAL);
	/* a walked stack has no copy */
	r.h.nr_fp = 2;
	r.h.snap_len = 8;
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), -EINVAL);
}

/* A frame record in the copy leads to the BPF's records, which go on. */
static void test_unwind_synthetic_join(void)
{
	static struct synth r;
	const struct ustack_fp fps[3] = { { 0x1010, 0x401111 },
					  { 0x2000, 0x402222 },
					  { 0x3000, 0x403333 } };
	/* the copy: [0x1000, 0x1020); the record at 0x1010 -> 0x2000 */
	const uint64_t snap[4] = { 0xdead, 0xbeef, 0x2000, 0x401111 };
	uint64_t out[8];
	size_t len = synth_make(&r, 0x400000, 0x1000, 0x1010, fps, 3, snap, 4);
	int n = unwind_user(&r.h, len, NULL, NULL, out, 8);

	if (ASSERT_EQ(n, 4)) {
		ASSERT_EQ(out[0], 0x400000);
		ASSERT_EQ(out[1], 0x401111);
		ASSERT_EQ(out[2], 0x402222);
		ASSERT_EQ(out[3], 0x403333); /* the last record's ret, then [0x3000] is unknown */
	}
	/* max holds */
	ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 2), 2);
	/* a zero return address ends the stack */
	{
		const struct ustack_fp z[2] = { { 0x1010, 0x401111 }, { 0x2000, 0 } };

		len = synth_make(&r, 0x400000, 0x1000, 0x1010, z, 2, snap, 4);
		ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, 8), 2);
	}
}

/* Records and copies that point back: sp must grow, the walk ends. */
static void test_unwind_loops(void)
{
	static struct synth r;
	uint64_t out[MAX_FRAMES];
	size_t len;

	{ /* a frame record pointing at itself */
		const uint64_t snap[4] = { 0x1000, 0x401111, 0, 0 };

		len = synth_make(&r, 0x400000, 0x1000, 0x1000, NULL, 0, snap, 4);
		ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, MAX_FRAMES), 2);
	}
	{ /* records in a cycle */
		const struct ustack_fp fps[3] = { { 0x2000, 0x401111 },
						  { 0x3000, 0x402222 },
						  { 0x2000, 0x403333 } };

		len = synth_make(&r, 0x400000, 0x1000, 0x2000, fps, 3, NULL, 0);
		ASSERT_TRUE(unwind_user(&r.h, len, NULL, NULL, out, MAX_FRAMES) <= 3);
	}
	{ /* bp below sp, misaligned, far away */
		const struct ustack_fp fps[1] = { { 0x800, 0x401111 } };

		len = synth_make(&r, 0x400000, 0x1000, 0x800, fps, 1, NULL, 0);
		ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, MAX_FRAMES), 1);
		len = synth_make(&r, 0x400000, 0x1000, 0x1004, NULL, 0, NULL, 0);
		ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, MAX_FRAMES), 1);
	}
	{ /* a record at the top of the address space */
		const struct ustack_fp fps[1] = { { UINT64_MAX - 7, 0x401111 } };

		len = synth_make(&r, 0x400000, UINT64_MAX - 1023, UINT64_MAX - 7, fps, 1, NULL, 0);
		ASSERT_EQ(unwind_user(&r.h, len, NULL, NULL, out, MAX_FRAMES), 1);
	}
}

/* The real records, cut anywhere: never more than they hold, never a crash. */
static void test_unwind_truncated_real(void)
{
	static unsigned char copy[USTACK_SELF_BYTES];
	struct ustack_hdr *h = (void *)copy;
	uint64_t out[MAX_FRAMES];
	struct self s;
	int full;

	captured = 0;
	sort_caller();
	if (!ASSERT_TRUE(captured && self_open(&s)))
		return;
	memcpy(copy, rec, rec_len);
	full = unwind_user(h, rec_len, find_self, &s, out, MAX_FRAMES);
	for (unsigned cut = 0; cut <= USTACK_SNAP_BYTES; cut += 8) {
		int n;

		h->snap_len = cut;
		n = unwind_user(h, rec_len, find_self, &s, out, MAX_FRAMES);
		ASSERT_TRUE(n >= 1 && n <= full, "copy of %u bytes: %d frames (full %d)", cut, n,
			    full);
	}
	self_close(&s);
}

/* ---- through procs and the CFI cache ---- */

struct pctx {
	struct procs *p;
	struct image *img;
};

static const struct cfi_table *find_procs(void *ctx, uint64_t pc, uint64_t *off)
{
	struct pctx *c = ctx;

	return procs__cfi_for(c->p, c->img, pc, off, true);
}

/* A file cache of table_bytes of unwind tables, loading them for
 * load_budget_ns a second while it evicts. */
static struct file_cache *tables_cache(size_t table_bytes, uint64_t load_budget_ns)
{
	return file_cache__new(&(struct file_cache_limits){
		.max_files = 64, .table_bytes = table_bytes, .table_load_ns_sec = load_budget_ns });
}

/* The qsort stack unwound through procs with a cache of max_bytes of
 * tables; returns the frame count, or -1. */
static int unwind_via_procs(size_t max_bytes, uint64_t load_budget_ns, uint64_t *out,
			    struct file_cache_stats *cst, struct procs_stats *pst)
{
	struct file_cache *fc = tables_cache(max_bytes, load_budget_ns);
	struct procs *p = procs__new(16, fc);
	struct pctx ctx = { p, NULL };
	int n = -1;

	if (!fc || !p)
		goto out;
	procs__use_tables(p, true);
	ctx.img = procs__image_at(p, (uint32_t)getpid(), 1);
	if (ctx.img)
		n = unwind_user((const void *)rec, rec_len, find_procs, &ctx, out, MAX_FRAMES);
	/* again: now from the cache (or reloaded, when it evicts) */
	if (n > 0 &&
	    unwind_user((const void *)rec, rec_len, find_procs, &ctx, out, MAX_FRAMES) != n)
		n = -2;
	file_cache__stats(fc, cst);
	procs__stats(p, pst);
out:
	procs__free(p);
	file_cache__free(fc);
	return n;
}

/* Room for one table of two (both_bytes) and 1 ns of loading a second:
 * the executable's and libc's tables evict each other, and from the first
 * eviction on, loads are put off (counted; those frames by frame
 * pointers) and asked for again by the next unwind, not given up on. */
static void test_budget_when_evicting(int nref, size_t both_bytes)
{
	static uint64_t out[MAX_FRAMES];
	struct file_cache *fc = tables_cache(both_bytes - 1, 1);
	struct procs *p = procs__new(16, fc);
	struct file_cache_stats st;
	struct image *img;
	int n;

	if (!ASSERT_TRUE(fc && p))
		goto out;
	procs__use_tables(p, true);
	img = procs__image_at(p, (uint32_t)getpid(), 1);
	if (!ASSERT_TRUE(img != NULL))
		goto out;
	procs__unwind_user(p, img, (const void *)rec, rec_len, out, MAX_FRAMES, true);
	n = procs__unwind_user(p, img, (const void *)rec, rec_len, out, MAX_FRAMES, true);
	file_cache__stats(fc, &st);
	/* this binary's own frames have frame pointers: they may all be there */
	ASSERT_TRUE(n > 0 && n <= nref, "%d frames with loads put off, %d without", n, nref);
	ASSERT_TRUE(st.cfi.evictions >= 1, "evictions %llu", (unsigned long long)st.cfi.evictions);
	ASSERT_TRUE(st.cfi.deferred >= 2, "deferred %llu", (unsigned long long)st.cfi.deferred);
out:
	procs__free(p);
	file_cache__free(fc);
}

static void test_unwind_via_procs(void)
{
	static uint64_t ref[MAX_FRAMES], out[MAX_FRAMES];
	struct file_cache_stats st;
	struct procs_stats pst;
	struct self s;
	size_t both_bytes;
	int nref, n;

	captured = 0;
	sort_caller();
	if (!ASSERT_TRUE(captured && self_open(&s)))
		return;
	nref = unwind_user((const void *)rec, rec_len, find_self, &s, ref, MAX_FRAMES);
	self_close(&s);

	/* roomy: the same frames, each file loaded once */
	n = unwind_via_procs(64 << 20, 0, out, &st, &pst);
	if (ASSERT_EQ(n, nref))
		ASSERT_TRUE(!memcmp(out, ref, n * sizeof(*out)), "the frames differ");
	ASSERT_EQ(st.cfi.misses, 2); /* this executable and libc */
	ASSERT_EQ(st.cfi.files, 2);
	ASSERT_EQ(st.cfi.evictions, 0);
	ASSERT_EQ(st.cfi.failures, 0);
	ASSERT_TRUE(st.cfi.bytes > 100000, "cache bytes %zu", st.cfi.bytes);
	ASSERT_EQ(pst.files.cfi_fail, 0);
	both_bytes = st.cfi.bytes;
	printf("# via procs: %d frames, %zu files, %zu bytes cached\n", n, st.cfi.files,
	       st.cfi.bytes);

	/* room for one table at a time: evicted and reloaded at every step,
	 * same frames */
	n = unwind_via_procs(both_bytes - 1, 0, out, &st, &pst);
	if (ASSERT_EQ(n, nref))
		ASSERT_TRUE(!memcmp(out, ref, n * sizeof(*out)), "the frames differ");
	ASSERT_TRUE(st.cfi.evictions >= 4, "evictions %llu", (unsigned long long)st.cfi.evictions);
	ASSERT_EQ(st.cfi.files, 1);

	/* a budget libc's table does not fit: refused once, counted; libc's
	 * frames are then unwound by frame pointers, which lose the caller */
	n = unwind_via_procs(both_bytes / 4, 0, out, &st, &pst);
	ASSERT_TRUE(n > 0 && n < nref, "%d frames without libc's table, %d with", n, nref);
	ASSERT_EQ(st.cfi.too_big, 1);
	ASSERT_EQ(st.cfi.failures, 1);
	ASSERT_TRUE(st.cfi.bytes <= both_bytes / 4, "cache bytes %zu", st.cfi.bytes);

	/* a loading budget of 1 ns a second binds only while tables are
	 * evicted: first loads all go through */
	n = unwind_via_procs(64 << 20, 1, out, &st, &pst);
	ASSERT_EQ(n, nref);
	ASSERT_EQ(st.cfi.misses, 2);
	ASSERT_EQ(st.cfi.deferred, 0);
	test_budget_when_evicting(nref, both_bytes);
}

/* A CFI cache with its loader thread, the procs that use it, and our own
 * image in them: *nref, the frames of the captured stack unwound here. */
struct loader_fix {
	struct file_cache *fc;
	struct procs *p;
	struct image *img;
	int nref;
};

static bool loader_fix_open(struct loader_fix *f, uint64_t *ref, uint64_t wait_budget)
{
	struct self s;

	f->fc = tables_cache(64 << 20, 0);
	f->p = procs__new(16, f->fc);
	f->img = NULL;
	captured = 0;
	sort_caller();
	if (!ASSERT_TRUE(captured && self_open(&s) && f->fc && f->p))
		return false;
	f->nref = unwind_user((const void *)rec, rec_len, find_self, &s, ref, MAX_FRAMES);
	self_close(&s);
	procs__use_tables(f->p, true);
	procs__set_wait_budget(f->p, wait_budget);
	if (!ASSERT_OK(file_cache__start_loaders(f->fc)) ||
	    !ASSERT_TRUE(file_cache__tables_fd(f->fc) >= 0, "no loader fd"))
		return false;
	f->img = procs__image_at(f->p, (uint32_t)getpid(), 1);
	return ASSERT_TRUE(f->img != NULL);
}

static void loader_fix_close(struct loader_fix *f)
{
	procs__free(f->p);
	file_cache__free(f->fc);
}

/* Until the loads are in (the fd says so) and the stack is whole: polls
 * taken, 100 when it never was. */
static int poll_until_whole(struct loader_fix *f, uint64_t *out, bool wait)
{
	int polls = 0;

	while (polls < 100) {
		struct pollfd pfd = { .fd = file_cache__tables_fd(f->fc), .events = POLLIN };

		polls++;
		if (poll(&pfd, 1, 100) == 1 && file_cache__collect_tables(f->fc) &&
		    procs__unwind_user(f->p, f->img, (const void *)rec, rec_len, out, MAX_FRAMES,
				       wait) == f->nref)
			break;
	}
	return polls;
}

/* Loads in the thread: a stack unwound while they run is walked by frame
 * pointer where a table is missing (cfi_not_ready), and whole once the
 * thread's fd says they are in. */
static void test_unwind_loader(void)
{
	static uint64_t ref[MAX_FRAMES], out[MAX_FRAMES];
	struct loader_fix f;
	struct file_cache_stats cst;
	struct procs_stats pst;
	int n;

	if (!loader_fix_open(&f, ref, LOADER_WAIT_NS))
		goto out;
	n = procs__unwind_user(f.p, f.img, (const void *)rec, rec_len, out, MAX_FRAMES, false);
	procs__stats(f.p, &pst);
	ASSERT_TRUE(n > 0 && n < f.nref, "%d frames while loading, %d loaded", n, f.nref);
	ASSERT_TRUE(pst.files.cfi_not_ready >= 1, "cfi_not_ready %llu",
		    (unsigned long long)pst.files.cfi_not_ready);
	ASSERT_TRUE(poll_until_whole(&f, out, false) < 100, "never whole without waiting");
	ASSERT_TRUE(!memcmp(out, ref, f.nref * sizeof(*out)), "the frames differ");
	file_cache__stats(f.fc, &cst);
	ASSERT_EQ(cst.cfi.misses, 2);
	ASSERT_EQ(cst.cfi.files, 2);
	ASSERT_EQ(cst.cfi.queued, 0);
out:
	loader_fix_close(&f);
}

/* A caller that waits for loads already in the thread: the whole stack at
 * once. And a cache freed with loads still queued or running. */
static void test_unwind_loader_wait(void)
{
	static uint64_t ref[MAX_FRAMES], out[MAX_FRAMES];
	struct loader_fix f;
	struct file_cache_stats cst;
	int n;

	/* however slow the machine */
	if (!loader_fix_open(&f, ref, UINT64_MAX))
		goto out;
	/* queued by one that does not wait, then waited for */
	procs__unwind_user(f.p, f.img, (const void *)rec, rec_len, out, MAX_FRAMES, false);
	n = procs__unwind_user(f.p, f.img, (const void *)rec, rec_len, out, MAX_FRAMES, true);
	ASSERT_EQ(n, f.nref);
	file_cache__stats(f.fc, &cst);
	ASSERT_EQ(cst.cfi.misses, 2);
	ASSERT_TRUE(cst.cfi.waits >= 1, "waits %llu", (unsigned long long)cst.cfi.waits);
	loader_fix_close(&f);

	/* freed while its loads are queued or running: nothing leaks (ASan) */
	if (loader_fix_open(&f, ref, UINT64_MAX))
		procs__unwind_user(f.p, f.img, (const void *)rec, rec_len, out, MAX_FRAMES, false);
out:
	loader_fix_close(&f);
}

/* A caller that may wait, on a loop whose wait budget is 1 us a second:
 * the loads go on in the thread, the stack is walked by frame pointer
 * meanwhile (cfi_not_ready), and whole once they are in. */
static void test_unwind_loader_wait_bounded(void)
{
	static uint64_t ref[MAX_FRAMES], out[MAX_FRAMES];
	struct loader_fix f;
	struct procs_stats pst;
	int n;

	if (!loader_fix_open(&f, ref, 1000))
		goto out;
	n = procs__unwind_user(f.p, f.img, (const void *)rec, rec_len, out, MAX_FRAMES, true);
	procs__stats(f.p, &pst);
	ASSERT_TRUE(n > 0 && n < f.nref, "%d frames within the budget, %d loaded", n, f.nref);
	ASSERT_TRUE(pst.files.cfi_not_ready >= 1, "cfi_not_ready %llu",
		    (unsigned long long)pst.files.cfi_not_ready);
	ASSERT_TRUE(poll_until_whole(&f, out, true) < 100, "never whole");
out:
	loader_fix_close(&f);
}

int main(void)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

	log_max_level = LOG_LVL_WARN;
	libc_qsort = libc ? dlsym(libc, "qsort") : NULL;
	if (!libc_qsort) {
		fprintf(stderr, "no qsort in libc.so.6\n");
		return 1;
	}
	RUN_TEST(test_unwind_through_qsort);
	RUN_TEST(test_unwind_joins_fp_records);
	RUN_TEST(test_unwind_malformed);
	RUN_TEST(test_unwind_walked);
	RUN_TEST(test_unwind_synthetic_join);
	RUN_TEST(test_unwind_loops);
	RUN_TEST(test_unwind_truncated_real);
	RUN_TEST(test_unwind_via_procs);
	RUN_TEST(test_unwind_loader);
	RUN_TEST(test_unwind_loader_wait);
	RUN_TEST(test_unwind_loader_wait_bounded);
	return TEST_MAIN_END();
}
