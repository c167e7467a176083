// SPDX-License-Identifier: MIT
/*
 * Unwinding benchmark (daemon/symbolize/cfi.c, daemon/process/unwind.c):
 *  - loading the CFI table of a file (libc by default): median of N loads;
 *  - unwinding one real stack through libc: a ustack record captured in a
 *    qsort comparator (tests/unit/ustack_self.h), unwound N times with the
 *    tables already loaded, once with a plain lookup over /proc/self/maps
 *    and once through procs__cfi_for (the daemon's path: mapping search,
 *    CFI cache), and with frame pointers only for comparison.
 *
 *   unwind [-n N] [FILE]
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_cache.h"
#include "log.h"
#include "procs.h"
#include "symtab.h"
#include "unwind.h"
#include "ustack_self.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static unsigned char rec[USTACK_SELF_BYTES];
static size_t rec_len;
static volatile int captured;
static int data[8];

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
	void (*q)(void *, size_t, size_t, int (*)(const void *, const void *)) =
		dlsym(dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD), "qsort");

	for (int i = 0; i < 8; i++)
		data[i] = 8 - i;
	q(data, 8, sizeof(int), cmp_capture);
	return data[0] + captured;
}

/* This process's executable mappings and their tables, for a plain find. */
struct self {
	struct mapping *maps;
	int n;
	struct cfi_table **t;
};

static const struct cfi_table *find_self(void *ctx, uint64_t pc, uint64_t *off)
{
	struct self *s = ctx;

	for (int i = 0; i < s->n; i++)
		if (pc >= s->maps[i].start && pc < s->maps[i].end) {
			*off = s->maps[i].pgoff + (pc - s->maps[i].start);
			return s->t[i];
		}
	return NULL;
}

struct pctx {
	struct procs *p;
	struct image *img;
};

static const struct cfi_table *find_procs(void *ctx, uint64_t pc, uint64_t *off)
{
	struct pctx *c = ctx;

	return procs__cfi_for(c->p, c->img, pc, off, true);
}

static double time_unwind(unwind_find_fn find, void *ctx, unsigned n, int *frames)
{
	uint64_t out[128];
	double t0 = now();

	for (unsigned i = 0; i < n; i++)
		*frames = unwind_user((const void *)rec, rec_len, find, ctx, out, 128);
	return (now() - t0) / n * 1e9;
}

int main(int argc, char **argv)
{
	const char *file = "/lib/x86_64-linux-gnu/libc.so.6";
	unsigned n = 20000, loads = 50;
	double *ms, ns;
	struct cfi_table *t = NULL;
	struct self s = { 0 };
	char buf[1 << 16];
	int opt, fd, frames = 0;
	ssize_t len;

	log_max_level = LOG_LVL_WARN;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		n = (unsigned)atoi(optarg);
	}
	if (optind < argc)
		file = argv[optind];

	/* loading */
	ms = calloc(loads, sizeof(*ms));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !ms) {
		perror(file);
		return 1;
	}
	for (unsigned i = 0; i < loads; i++) {
		double t0 = now();

		cfi_table__free(t);
		t = cfi_table__load(fd);
		ms[i] = (now() - t0) * 1e3;
		if (!t) {
			perror("cfi_table__load");
			return 1;
		}
	}
	close(fd);
	qsort(ms, loads, sizeof(*ms), cmp_double);
	printf("cfi load   %s: %.2f ms (median of %u; min %.2f), %zu rows, %zu bytes\n", file,
	       ms[loads / 2], loads, ms[0], cfi_table__nr_rows(t), cfi_table__mem_size(t));
	cfi_table__free(t);

	/* unwinding */
	sort_caller();
	fd = open("/proc/self/maps", O_RDONLY);
	len = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	s.n = len > 0 ? parse_proc_maps(buf, (size_t)len, &s.maps, 4096) : -1;
	if (!captured || s.n <= 0 || !(s.t = calloc(s.n, sizeof(*s.t))))
		return 1;
	for (int i = 0; i < s.n; i++)
		if (s.maps[i].path[0] == '/' &&
		    (fd = open(s.maps[i].path, O_RDONLY | O_CLOEXEC)) >= 0) {
			s.t[i] = cfi_table__load(fd);
			close(fd);
		}
	time_unwind(find_self, &s, n / 10, &frames); /* warm */
	ns = time_unwind(find_self, &s, n, &frames);
	printf("unwind     %d frames through libc: %.0f ns (%.0f ns a frame), tables loaded, maps lookup\n",
	       frames, ns, ns / frames);
	{
		struct file_cache *fc = file_cache__new(
			&(struct file_cache_limits){ .max_files = 64, .table_bytes = 8 << 20 });
		struct procs *p = procs__new(16, fc);
		struct pctx c = { p, NULL };

		procs__use_tables(p, true);
		c.img = procs__image_at(p, (uint32_t)getpid(), 1);
		time_unwind(find_procs, &c, n / 10, &frames);
		ns = time_unwind(find_procs, &c, n, &frames);
		printf("unwind     %d frames through libc: %.0f ns (%.0f ns a frame), via procs__cfi_for\n",
		       frames, ns, ns / frames);
		procs__free(p);
		file_cache__free(fc);
	}
	ns = time_unwind(NULL, NULL, n, &frames);
	printf("unwind     %d frames with frame pointers only: %.0f ns\n", frames, ns);
	return 0;
usage:
	fprintf(stderr, "usage: unwind [-n N] [FILE]\n");
	return 2;
}
