// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf_map.h"
#include "test.h"

#define T(s) s, sizeof(s) - 1

static const char *name_at(struct perf_map *m, uint64_t addr)
{
	uint64_t start = 0;

	return perf_map__lookup(m, addr, &start);
}

static const char lines[] = "7f0000001000 100 JS:*hot /tmp/a.js:1:2\n"
			    "0x7f0000000000 0x40 LazyCompile:~cold\r\n"
			    "zz 10 not hex\n"
			    "1000 0 an empty range\n"
			    "1000 10\n"
			    "ffffffffffffffff 10 wraps\n"
			    "2000 10 a\x01"
			    "b\x7f"
			    "c\n"
			    "3000 10 partial";

static void test_lines(void)
{
	struct perf_map *m = perf_map__new();
	struct perf_map_stats st;
	uint64_t start = 0;

	ASSERT_TRUE(m);
	ASSERT_TRUE(!name_at(m, 0x1000), "empty");
	/* complete lines are taken, the partial last one is not */
	ASSERT_EQ(perf_map__feed(m, T(lines)), strrchr(lines, '\n') + 1 - lines);
	ASSERT_STREQ(perf_map__lookup(m, 0x7f00000010ff, &start), "JS:*hot /tmp/a.js:1:2");
	ASSERT_EQ(start, 0x7f0000001000ull);
	ASSERT_TRUE(!name_at(m, 0x7f0000001100), "past its end");
	ASSERT_STREQ(name_at(m, 0x7f0000000000), "LazyCompile:~cold"); /* no \r */
	ASSERT_TRUE(!name_at(m, 0x7f0000000040), "between the two");
	ASSERT_STREQ(name_at(m, 0x2005), "a?b?c"); /* no control characters */
	ASSERT_TRUE(!name_at(m, 0x3000), "a partial line waits for its end");
	perf_map__stats(m, &st);
	ASSERT_EQ(st.entries, 3);
	ASSERT_EQ(st.bad_lines, 4);
	perf_map__free(m);
}

static void test_latest_wins(void)
{
	struct perf_map *m = perf_map__new();
	char name[PERF_MAP_NAME_MAX + 100];

	/* code replaced in place, and a smaller piece inside an older one */
	perf_map__feed(m, T("5000 100 old\n4000 10 below\n5000 100 new\n5040 10 inner\n"));
	ASSERT_STREQ(name_at(m, 0x5000), "new");
	ASSERT_STREQ(name_at(m, 0x5045), "inner");
	ASSERT_STREQ(name_at(m, 0x5050), "new");
	ASSERT_STREQ(name_at(m, 0x4005), "below");
	/* a long name is cut */
	memset(name, 'x', sizeof(name));
	memcpy(name, "6000 1 ", 7);
	name[sizeof(name) - 1] = '\n';
	perf_map__feed(m, name, sizeof(name));
	ASSERT_EQ(strlen(name_at(m, 0x6000)), PERF_MAP_NAME_MAX);
	perf_map__free(m);
}

/* Past PERF_MAP_MAX_ENTRIES lines are counted, not kept. */
static void test_limits(void)
{
	struct perf_map *m = perf_map__new();
	size_t n = PERF_MAP_MAX_ENTRIES + 10, len = 0;
	struct perf_map_stats st;
	char *text = malloc(n * 32);

	if (!ASSERT_TRUE(m && text))
		return;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%zx 10 f%zu\n", 0x10000 + i * 16, i);
	ASSERT_EQ(perf_map__feed(m, text, len), len);
	perf_map__stats(m, &st);
	ASSERT_EQ(st.entries, PERF_MAP_MAX_ENTRIES);
	ASSERT_EQ(st.dropped, 10);
	ASSERT_STREQ(name_at(m, 0x10000 + 16 * 5), "f5");
	ASSERT_TRUE(!name_at(m, 0x10000 + 16 * (n - 1)), "past the limit");
	free(text);
	perf_map__free(m);
}

/* Read as it grows, from its start when rewritten or replaced. */
static void test_update(void)
{
	char path[] = "/tmp/pprofd-test-perfmap-XXXXXX";
	struct perf_map *m = perf_map__new();
	struct perf_map_stats st;
	int fd = mkstemp(path), rfd;
	char *big;

	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(write(fd, T("1000 10 one\n2000 10 tw")) > 0);
	rfd = open(path, O_RDONLY);
	ASSERT_OK(perf_map__update(m, rfd));
	ASSERT_STREQ(name_at(m, 0x1000), "one");
	ASSERT_TRUE(!name_at(m, 0x2000), "its line is still being written");
	ASSERT_TRUE(write(fd, T("o\n3000 10 three\n")) > 0);
	ASSERT_OK(perf_map__update(m, rfd));
	ASSERT_STREQ(name_at(m, 0x2000), "two");
	ASSERT_STREQ(name_at(m, 0x3000), "three");
	perf_map__stats(m, &st);
	ASSERT_EQ(st.entries, 3);
	/* rewritten shorter: read again from its start */
	ASSERT_OK(ftruncate(fd, 0));
	ASSERT_TRUE(pwrite(fd, T("4000 10 four\n"), 0) > 0);
	ASSERT_OK(perf_map__update(m, rfd));
	ASSERT_TRUE(!name_at(m, 0x1000), "the old lines went");
	ASSERT_STREQ(name_at(m, 0x4000), "four");
	/* a line longer than any read: skipped, the next one taken */
	big = malloc(200000);
	ASSERT_TRUE(big);
	memset(big, 'y', 200000);
	big[199999] = '\n';
	ASSERT_TRUE(write(fd, big, 200000) == 200000);
	ASSERT_TRUE(write(fd, T("5000 10 five\n")) > 0);
	ASSERT_OK(perf_map__update(m, rfd));
	ASSERT_STREQ(name_at(m, 0x5000), "five");
	perf_map__stats(m, &st);
	ASSERT_EQ(st.entries, 2);
	ASSERT_EQ(st.bad_lines, 1);
	free(big);
	close(rfd);
	close(fd);
	unlink(path);
	perf_map__free(m);
}

/* Another user's file in /tmp, named for a process: not read. */
static void test_open_refuses(void)
{
	struct perf_map *m = perf_map__new();
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	unlink(path);
	ASSERT_EQ(perf_map__open(m, getpid()), -ENOENT);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ASSERT_TRUE(fd >= 0);
	if (geteuid() == 0) {
		/* owned by nobody, for a process of root's */
		ASSERT_OK(fchown(fd, 65534, 65534));
		ASSERT_EQ(perf_map__open(m, getpid()), -EPERM);
		ASSERT_OK(fchown(fd, 0, 0));
	}
	close(fd);
	fd = perf_map__open(m, getpid());
	ASSERT_TRUE(fd >= 0, "our own");
	close(fd);
	unlink(path);
	/* a symlink someone else made: not followed */
	if (geteuid() == 0) {
		ASSERT_OK(symlink("/etc/passwd", path));
		ASSERT_OK(lchown(path, 65534, 65534));
		ASSERT_TRUE(perf_map__open(m, getpid()) < 0, "a user's symlink");
		unlink(path);
	}
	perf_map__free(m);
}

int main(void)
{
	RUN_TEST(test_lines);
	RUN_TEST(test_latest_wins);
	RUN_TEST(test_limits);
	RUN_TEST(test_update);
	RUN_TEST(test_open_refuses);
	return TEST_MAIN_END();
}
