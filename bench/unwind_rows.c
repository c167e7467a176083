// SPDX-License-Identifier: MIT
/*
 * The BPF unwind rows of files (daemon/collect/unwind_rows.c): for each, the CFI
 * table's rows, the BPF rows and pages it becomes, the densest page, what
 * did not fit, the bytes the BPF maps would hold (rows and page values;
 * keys not counted), and the median time of N loads of the CFI table and,
 * separately, of N conversions.
 *
 *   unwind_rows [-n N] [FILE...]   (default: libc, python3, libLLVM-*)
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfi.h"
#include "log.h"
#include "unwind_rows.h"

#define RUNS_MAX 101

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static struct cfi_table *load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct cfi_table *t;

	if (fd < 0)
		return NULL;
	t = cfi_table__load(fd);
	close(fd);
	return t;
}

static int measure(const char *path, int runs)
{
	double load_ms[RUNS_MAX], conv_ms[RUNS_MAX], t0;
	struct cfi_table *t = NULL;
	struct unwind_rows *ur = NULL;
	struct unwind_rows_stats st;

	for (int i = 0; i < runs; i++) {
		cfi_table__free(t);
		t0 = now_ms();
		t = load(path);
		load_ms[i] = now_ms() - t0;
		if (!t) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	for (int i = 0; i < runs; i++) {
		unwind_rows__free(ur);
		t0 = now_ms();
		ur = unwind_rows__new(t);
		conv_ms[i] = now_ms() - t0;
		if (!ur) {
			fprintf(stderr, "%s: conversion: %s\n", path, strerror(errno));
			cfi_table__free(t);
			return -1;
		}
	}
	unwind_rows__stats(ur, &st);
	printf("%-44s %9zu %9u %6u %5u %5u %4u %4u %10zu %8.2f %8.2f\n", path,
	       cfi_table__nr_rows(t), st.rows, st.pages, st.max_page_rows, st.cfa_unfit,
	       st.bp_unfit, st.pages_cut, st.bytes, median(load_ms, runs), median(conv_ms, runs));
	unwind_rows__free(ur);
	cfi_table__free(t);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 5, opt, err = 0;
	glob_t g = { 0 };

	log_max_level = LOG_LVL_WARN;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		char *end;

		if (opt != 'n' || (runs = (int)strtol(optarg, &end, 10), *end) || runs < 1 ||
		    runs > RUNS_MAX) {
			fprintf(stderr, "usage: %s [-n 1..%d] [FILE...]\n", argv[0], RUNS_MAX);
			return 2;
		}
	}
	printf("%-44s %9s %9s %6s %5s %5s %4s %4s %10s %8s %8s\n", "file", "cfi rows", "rows",
	       "pages", "max/p", "cfa!", "bp!", "cut", "bytes", "load ms", "conv ms");
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			err |= measure(argv[i], runs);
		return err ? 1 : 0;
	}
	err |= measure("/usr/lib/x86_64-linux-gnu/libc.so.6", runs);
	err |= measure("/usr/bin/python3", runs);
	/* libLLVM-14.so.1 and libLLVM-14.0.6.so.1 are one file: once */
	if (!glob("/usr/lib/x86_64-linux-gnu/libLLVM-*.so.1", 0, NULL, &g))
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char real[PATH_MAX], seen[PATH_MAX];
			bool dup = false;

			if (!realpath(g.gl_pathv[i], real))
				continue;
			for (size_t k = 0; k < i && !dup; k++)
				dup = realpath(g.gl_pathv[k], seen) && !strcmp(seen, real);
			if (!dup)
				err |= measure(g.gl_pathv[i], runs);
		}
	globfree(&g);
	return err ? 1 : 0;
}
