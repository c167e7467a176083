// SPDX-License-Identifier: MIT
/*
 * The BPF table unwinder (bpf/unwind.bpf.h) on this process's own stack,
 * loaded and run for real (BPF_PROG_TEST_RUN of a syscall program, in
 * this thread): the maps filled from our own executable mappings' tables,
 * the registers of a point deep in code without frame pointers, below
 * libc's qsort (no frame pointers either), and the frames compared with
 * glibc's backtrace() (libgcc's .eh_frame unwinder) at the same point.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cfi.h"
#include "cpu.skel.h"
#include "log.h"
#include "test.h"
#include "unwind_maps.h"
#include "unwind_rows.h"
#include "unwind_tables.h"
#include "unwind_test.skel.h"

#define POOL_SLOTS (4u << 20)
#define FILES_MAX 256
#define DEPTH 40

struct unwind_test_args {
	uint64_t ip, sp, bp, start_code;
	uint32_t tgid;
	int32_t n;
	uint32_t end;
};

#define START_CODE 0x1000 /* whatever it is: the program is handed the same */

static struct unwind_test_bpf *skel;
static struct unwind_tables *tables;
static struct unwind_tables_stats tst;
static struct unwind_map maps[UNWIND_PROC_MAPS_MAX];
static unsigned nmaps;

/* Our executable mappings, each with its file's table, written as the
 * daemon writes them (daemon/collect/unwind_tables.c). */
static bool fill_maps(void)
{
	struct unwind_tables_conf conf = {
		.fds = {
			.pool = bpf_map__fd(skel->maps.unwind_pool),
			.files = bpf_map__fd(skel->maps.unwind_files),
			.procs = bpf_map__fd(skel->maps.unwind_procs),
		},
		.pool_slots = POOL_SLOTS,
		.file_slots = FILES_MAX,
		.max_procs = 16,
	};
	FILE *mf = fopen("/proc/self/maps", "r");
	char line[4096 + 128];
	bool ok;

	tables = unwind_tables__new(&conf);
	if (!mf || !tables)
		return false;
	while (fgets(line, sizeof(line), mf) && nmaps < UNWIND_PROC_MAPS_MAX) {
		unsigned long long start, end, pgoff;
		char perms[8], path[4096];
		struct unwind_rows *r = NULL;
		struct cfi_table *t = NULL;
		struct file_id key;
		struct stat st;
		uint64_t bias;
		uint32_t slot, gen;
		int fd;

		path[0] = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &start, &end, perms, &pgoff,
			   path) < 4 ||
		    perms[2] != 'x' || path[0] != '/')
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st))
			continue;
		file_id__from_stat(&key, &st);
		t = cfi_table__load(fd);
		r = t ? unwind_rows__new(t) : NULL;
		if (r && !unwind_tables__bias(t, start, pgoff, &bias) &&
		    !unwind_tables__add(tables, &key, r, &slot, &gen))
			maps[nmaps++] = (struct unwind_map){
				.start = start, .end = end, .bias = bias, .file = slot, .gen = gen
			};
		unwind_rows__free(r);
		cfi_table__free(t);
		close(fd);
	}
	fclose(mf);
	ok = nmaps && !unwind_tables__set_proc(tables, getpid(), START_CODE, maps, nmaps);
	unwind_tables__stats(tables, &tst);
	return ok;
}

static void *ref[128];
static int nref;
static struct unwind_test_args got;
static int run_err = -1;
static double walk_ns;

/* The point: registers for the walker, backtrace() for the reference. */
static __attribute__((noinline)) void capture(void)
{
	uint64_t ip, sp, bp;

	asm volatile("lea 0f(%%rip), %0\n0:\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
		     : "=r"(ip), "=r"(sp), "=r"(bp));
	nref = backtrace(ref, 128);
	got = (struct unwind_test_args){
		.ip = ip, .sp = sp, .bp = bp, .start_code = START_CODE, .tgid = getpid()
	};
	{
		/* a syscall program's context is copied back into ctx_in */
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &got, .ctx_size_in = sizeof(got));

		int pfd = bpf_program__fd(skel->progs.unwind_test), sfd;
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);

		run_err = bpf_prog_test_run_opts(pfd, &o);
		/* what the walk costs, as the kernel counts it (SPEC §6) */
		sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		for (int i = 0; sfd >= 0 && i < 1000; i++)
			bpf_prog_test_run_opts(pfd, &o);
		if (sfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &info, &len) && info.run_cnt)
			walk_ns = (double)info.run_time_ns / info.run_cnt;
		if (sfd >= 0)
			close(sfd);
	}
}

/* Without frame pointers, each call a call. */
static __attribute__((noinline, optimize("omit-frame-pointer", "no-optimize-sibling-calls"))) int
deep(int n)
{
	volatile int keep = n;

	if (n > 0)
		return deep(n - 1) + keep;
	capture();
	return keep;
}

static int cmp_deep(const void *a, const void *b)
{
	static bool done;

	if (!done) {
		done = true;
		deep(DEPTH);
	}
	return *(const int *)a - *(const int *)b;
}

static void test_walk_own_stack(void)
{
	int v[64];
	int ndeep = 0, k;

	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof(v[0]), cmp_deep);
	if (!ASSERT_EQ(run_err, 0))
		return;
	ASSERT_TRUE(got.n > DEPTH, "%d frames, end %u", got.n, got.end);
	ASSERT_TRUE(got.end == UNWIND_END_STOP || got.end == UNWIND_END_START, "end %u", got.end);
	/* backtrace's first is its own return address in capture (under ASan,
	 * its interceptor's first); ours is the captured pc there: from
	 * capture's caller on, the same frames */
	for (k = 0; k < 4 && k < nref; k++)
		if ((void *)(uintptr_t)skel->bss->frames[1] == ref[k])
			break;
	ASSERT_TRUE(k < 4 && k < nref, "frame 1 (%#llx) not among backtrace's first",
		    (unsigned long long)skel->bss->frames[1]);
	ASSERT_EQ(got.n - 1, nref - k);
	for (int i = 1; k < 4 && i < got.n && i - 1 + k < nref; i++) {
		unsigned long long f = skel->bss->frames[i];

		if (!ASSERT_TRUE(f == (uintptr_t)ref[i - 1 + k], "frame %d: %#llx vs backtrace %p",
				 i, f, ref[i - 1 + k]))
			break;
	}
	if (getenv("UNWIND_TEST_DUMP"))
		for (int i = 0; i < got.n || i < nref; i++)
			printf("# %2d %#18llx %p\n", i,
			       i < got.n ? (unsigned long long)skel->bss->frames[i] : 0,
			       i < nref ? ref[i] : NULL);
	for (int i = 0; i < nref; i++)
		if (ref[i] >= (void *)deep && ref[i] < (void *)cmp_deep)
			ndeep++;
	printf("# %d frames, end %u; %d in deep(); BPF time %.0f ns a walk (%.0f ns a frame)\n",
	       got.n, got.end, ndeep, walk_ns, got.n > 0 ? walk_ns / got.n : 0);
}

/* An entry made for another image of the process (before an exec) is
 * not used. */
static void test_other_image(void)
{
	struct unwind_test_args a = { .ip = got.ip,
				      .sp = got.sp,
				      .bp = got.bp,
				      .start_code = START_CODE + 0x1000,
				      .tgid = getpid() };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.unwind_test), &o));
	ASSERT_EQ(a.n, -1);
}

/* The CPU sampler's program with the walker on passes the verifier. */
static void test_cpu_program_loads(void)
{
	struct cpu_bpf *c = cpu_bpf__open();

	if (!ASSERT_TRUE(c != NULL))
		return;
	c->rodata->use_tables = true;
	bpf_map__set_max_entries(c->maps.unwind_pool, POOL_SLOTS);
	bpf_map__set_max_entries(c->maps.unwind_files, FILES_MAX);
	bpf_map__set_max_entries(c->maps.unwind_procs, 16);
	ASSERT_OK(cpu_bpf__load(c));
	cpu_bpf__destroy(c);
}

int main(void)
{
	log_max_level = LOG_LVL_WARN;
	elf_version(EV_CURRENT);
	skel = unwind_test_bpf__open();
	/* mmapable, as the daemon makes it: tables written by memcpy */
	if (!skel || bpf_map__set_map_flags(skel->maps.unwind_pool, BPF_F_MMAPABLE) ||
	    bpf_map__set_max_entries(skel->maps.unwind_pool, POOL_SLOTS) ||
	    bpf_map__set_max_entries(skel->maps.unwind_files, FILES_MAX) ||
	    bpf_map__set_max_entries(skel->maps.unwind_procs, 16) || unwind_test_bpf__load(skel)) {
		fprintf(stderr, "cannot load the unwind test program: %s\n", strerror(errno));
		return 1;
	}
	if (!fill_maps()) {
		fprintf(stderr, "cannot fill the unwind maps\n");
		return 1;
	}
	printf("# %u mappings, %u files, %u pool slots\n", nmaps, tst.files, tst.slots_used);
	RUN_TEST(test_walk_own_stack);
	RUN_TEST(test_other_image);
	RUN_TEST(test_cpu_program_loads);
	unwind_tables__free(tables);
	unwind_test_bpf__destroy(skel);
	return TEST_MAIN_END();
}
