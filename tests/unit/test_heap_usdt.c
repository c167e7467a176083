// SPDX-License-Identifier: MIT
/*
 * The heap USDT probes of a file (daemon/collect/heap_usdt.c): the
 * argument specs, and the sites of libpprofd_heap.so (provider pprofd) and
 * libotel_heap.so (otel_memory) as built, against `readelf -n` and the
 * bytes at each site (a 5-byte nop) and semaphore.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "heap_usdt.h"
#include "test.h"

static void test_arg_reg(void)
{
	ASSERT_EQ(heap_usdt_arg_reg("8@%rdx"), HEAP_USDT_REG_DX);
	ASSERT_EQ(heap_usdt_arg_reg("-8@%r12"), HEAP_USDT_REG_R12);
	ASSERT_EQ(heap_usdt_arg_reg("8@%rax"), HEAP_USDT_REG_AX);
	ASSERT_EQ(heap_usdt_arg_reg("8@%r15"), HEAP_USDT_REG_R15);
	/* not a whole 64-bit register: not read */
	ASSERT_EQ(heap_usdt_arg_reg("4@%eax"), -1);
	ASSERT_EQ(heap_usdt_arg_reg("8@-8(%rbp)"), -1);
	ASSERT_EQ(heap_usdt_arg_reg("8@$42"), -1);
	ASSERT_EQ(heap_usdt_arg_reg("8@%rip"), -1);
	ASSERT_EQ(heap_usdt_arg_reg("8@%r1"), -1);
	ASSERT_EQ(heap_usdt_arg_reg(""), -1);
}

/* A library the build made: build/ (the ASan build's tests too). */
static const char *library(const char *name)
{
	static char path[256];
	const char *const dirs[] = { "build", "../build" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (!access(path, R_OK))
			return path;
	}
	return NULL;
}

/* name's sites against readelf -n: as many alloc and free probes of
 * provider, each a 5-byte nop with a semaphore 0 in the file, alloc's
 * cookies flagged HEAP_USDT_WEIGHTED when weighted (otel_memory's). */
static void check_library(const char *name, const char *provider, bool weighted)
{
	const char *lib = library(name);
	struct heap_usdt_sites us;
	unsigned readelf_alloc = 0, readelf_free = 0;
	char cmd[320], line[512], err[200] = "", want[64], prov[64] = "";
	FILE *p;
	int fd;

	if (!ASSERT_TRUE(lib, "build/%s not built (make)", name))
		return;
	fd = open(lib, O_RDONLY | O_CLOEXEC);
	if (!ASSERT_TRUE(fd >= 0))
		return;
	ASSERT_TRUE(!heap_usdt_sites(fd, &us, err, sizeof(err)), "%s", err);
	ASSERT_EQ(us.n, us.nr_alloc + us.nr_free);
	snprintf(cmd, sizeof(cmd), "readelf -n %s", lib);
	snprintf(want, sizeof(want), "Provider: %s", provider);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		if (strstr(line, "Provider: "))
			snprintf(prov, sizeof(prov), "%s", strstr(line, "Provider: "));
		if (strncmp(prov, want, strlen(want)) || prov[strlen(want)] != '\n')
			continue;
		readelf_alloc += strstr(line, "Name: alloc") != NULL;
		readelf_free += strstr(line, "Name: free") != NULL;
	}
	if (p)
		pclose(p);
	ASSERT_TRUE(readelf_alloc && readelf_free, "readelf -n: no %s probes in %s", provider, lib);
	ASSERT_EQ(us.nr_alloc, readelf_alloc);
	ASSERT_EQ(us.nr_free, readelf_free);
	for (unsigned i = 0; i < us.n; i++) {
		static const unsigned char nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
		unsigned char b[5];
		unsigned short sem = 1;
		uint64_t c = us.cookies[i], fn = c & 0xff;

		ASSERT_TRUE(fn == HEAP_FN_USDT_ALLOC || fn == HEAP_FN_USDT_FREE);
		ASSERT_EQ(!!(c & HEAP_USDT_WEIGHTED), weighted);
		ASSERT_EQ((c & ~HEAP_USDT_WEIGHTED) >> 32, 0);
		for (int a = 0; a < (fn == HEAP_FN_USDT_ALLOC ? 3 : 1); a++)
			ASSERT_TRUE(HEAP_USDT_COOKIE_REG(c, a) < HEAP_USDT_REG_NR);
		ASSERT_EQ(pread(fd, b, 5, us.offs[i]), 5);
		ASSERT_TRUE(!memcmp(b, nop5, 5),
			    "site %u at file offset 0x%llx is not a 5-byte nop", i,
			    (unsigned long long)us.offs[i]);
		/* the semaphore, in the file's data: 0 until someone attaches */
		ASSERT_TRUE(us.ref_ctrs[i] != 0);
		ASSERT_EQ(pread(fd, &sem, 2, us.ref_ctrs[i]), 2);
		ASSERT_EQ(sem, 0);
	}
	close(fd);
}

static void test_library(void)
{
	check_library("libpprofd_heap.so", "pprofd", false);
}

/* The same library built to fire otel_memory:alloc(ptr, size,
 * weighted_bytes) and otel_memory:free(ptr), under another name. */
static void test_otel_library(void)
{
	check_library("libotel_heap.so", "otel_memory", true);
}

/* A file without the probes, and one that is no ELF file at all. */
static void test_none(void)
{
	struct heap_usdt_sites us;
	char err[200] = "";
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);

	if (!ASSERT_TRUE(fd >= 0))
		return;
	ASSERT_EQ(heap_usdt_sites(fd, &us, err, sizeof(err)), -ENOENT);
	ASSERT_TRUE(strstr(err, "no pprofd:alloc"), "%s", err);
	close(fd);
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ASSERT_EQ(heap_usdt_sites(fd, &us, err, sizeof(err)), -ENOEXEC);
		close(fd);
	}
}

int main(void)
{
	RUN_TEST(test_arg_reg);
	RUN_TEST(test_library);
	RUN_TEST(test_otel_library);
	RUN_TEST(test_none);
	return TEST_MAIN_END();
}
