// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "output.h"
#include "test.h"

static void test_sanitize(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "bash", "bash" },
		{ "kworker/0:1H", "kworker_0_1H" },
		{ "my app", "my_app" },
		{ "", "unknown" },
		{ ".", "_" },
		{ "..", "_." },
		{ "...", "_.." },
		{ ".x", "_x" },
		{ "a.b-c_d", "a.b-c_d" },
		{ "../../etc", "_._.._etc" },
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sanitize_comm(cases[i].in, out, sizeof(out));
		ASSERT_STREQ(out, cases[i].want);
	}
}

static char *tmpdir(void)
{
	static char d[64];

	snprintf(d, sizeof(d), "/tmp/pprofd-output.XXXXXX");
	return mkdtemp(d);
}

/* Files land under <comm>-<pid>/ with mode 0600, directories 0700; a second
 * file with the same name gets a suffix instead of replacing the first. */
static void test_write(void)
{
	char *dir = tmpdir(), path[4096], path2[4096], cmd[256];
	struct stat st;

	ASSERT_OK(output__write(dir, "my/app", 42, "cpu", 0, "hello", 5, path, sizeof(path)));
	ASSERT_TRUE(strstr(path, "/my_app-42/cpu-19700101T000000Z.pb.gz") != NULL, "%s", path);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, 5);
	*strrchr(path, '/') = 0;
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0700);
	ASSERT_OK(output__write(dir, "my/app", 42, "cpu", 0, "again", 5, path2, sizeof(path2)));
	ASSERT_TRUE(strstr(path2, "cpu-19700101T000000Z-2.pb.gz") != NULL, "%s", path2);
	/* an unwritable place is an error, not a crash */
	ASSERT_TRUE(output__write("/proc/nonexistent", "x", 1, "cpu", 0, "x", 1, NULL, 0) < 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_OK(system(cmd));
}

static void make_file(const char *dir, const char *sub, const char *name, size_t size, time_t mtime)
{
	char p[4096];
	struct utimbuf ut = { mtime, mtime };
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	f = fopen(p, "w");
	for (size_t i = 0; i < size; i++)
		fputc('x', f);
	fclose(f);
	utime(p, &ut);
}

/* Age first, then size, oldest first; emptied directories go too; files
 * that are not profiles are left alone. */
static void test_retention(void)
{
	char *dir = tmpdir(), p[4096], cmd[256];
	time_t now = time(NULL);
	struct retention_result rr;
	struct stat st;

	make_file(dir, "a-1", "cpu-1.pb.gz", 1000, now - 10 * 86400); /* too old */
	make_file(dir, "b-2", "cpu-2.pb.gz", 1000, now - 300);        /* oldest young */
	make_file(dir, "b-2", "cpu-3.pb.gz", 1000, now - 200);
	make_file(dir, "c-3", "cpu-4.pb.gz", 1000, now - 100);
	make_file(dir, "c-3", "notes.txt", 1000, now - 10 * 86400); /* not ours */
	ASSERT_OK(output__retention(dir, 7 * 86400, 2000, &rr));
	ASSERT_EQ(rr.files_removed, 2);
	ASSERT_EQ(rr.bytes_kept, 2000);
	snprintf(p, sizeof(p), "%s/a-1", dir);
	ASSERT_TRUE(stat(p, &st) < 0, "emptied directory a-1 should be gone");
	snprintf(p, sizeof(p), "%s/b-2/cpu-2.pb.gz", dir);
	ASSERT_TRUE(stat(p, &st) < 0, "oldest file should be gone");
	snprintf(p, sizeof(p), "%s/b-2/cpu-3.pb.gz", dir);
	ASSERT_OK(stat(p, &st));
	snprintf(p, sizeof(p), "%s/c-3/notes.txt", dir);
	ASSERT_OK(stat(p, &st));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_OK(system(cmd));
}

/* A <comm>-<pid> entry that is a symlink, or a directory of another owner
 * or mode, is neither written through nor cleaned under; the output
 * directory itself must be root's and not writable by others. */
static void test_planted(void)
{
	char *dir = tmpdir(), *other, p[4096], q[4096], why[256], cmd[256];
	static char od[64];
	struct retention_result rr;
	struct stat st;

	snprintf(od, sizeof(od), "/tmp/pprofd-other.XXXXXX");
	other = mkdtemp(od);
	snprintf(p, sizeof(p), "%s/victim-7", dir);
	ASSERT_OK(symlink(other, p));
	ASSERT_EQ(output__write(dir, "victim", 7, "cpu", 0, "x", 1, NULL, 0), -EPERM);
	snprintf(q, sizeof(q), "%s/old.pb.gz", other);
	make_file(other, "", "old.pb.gz", 10, 1000);
	snprintf(p, sizeof(p), "%s/loose-8", dir);
	ASSERT_OK(mkdir(p, 0777));
	ASSERT_OK(chmod(p, 0777));
	ASSERT_EQ(output__write(dir, "loose", 8, "cpu", 0, "x", 1, NULL, 0), -EPERM);
	ASSERT_OK(output__retention(dir, 1, 1, &rr));
	ASSERT_EQ(rr.refused, 2);
	ASSERT_EQ(rr.files_removed, 0);
	ASSERT_OK(stat(q, &st)); /* not deleted through the symlink */
	ASSERT_OK(output__check_dir(dir, why, sizeof(why)));
	ASSERT_OK(chmod(dir, 0777));
	ASSERT_EQ(output__check_dir(dir, why, sizeof(why)), -EPERM);
	ASSERT_TRUE(strstr(why, "mode 0777") != NULL, "%s", why);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, other);
	ASSERT_OK(system(cmd));
}

/* A process named ".x" is written as "_x-<pid>", and retention covers
 * every entry, a leading '.' or not. */
static void test_dot_names(void)
{
	char *dir = tmpdir(), path[4096], cmd[256];
	struct retention_result rr;

	ASSERT_OK(output__write(dir, ".x", 9, "cpu", 0, "hello", 5, path, sizeof(path)));
	ASSERT_TRUE(strstr(path, "/_x-9/") != NULL, "%s", path);
	make_file(dir, ".y-10", "cpu-1.pb.gz", 100, time(NULL) - 100);
	ASSERT_OK(output__retention(dir, 0, 1, &rr));
	ASSERT_EQ(rr.files_removed, 2);
	ASSERT_EQ(rr.bytes_kept, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_OK(system(cmd));
}

/* Runs fn with stderr (the log) going to a file; returns what was logged. */
static char *logged(void (*fn)(struct output_health *), struct output_health *h)
{
	static char buf[4096];
	char path[] = "/tmp/pprofd-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	buf[0] = 0;
	if (!ASSERT_TRUE(fd >= 0 && saved >= 0))
		return buf;
	fflush(stderr);
	dup2(fd, 2);
	fn(h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return buf;
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

/* Three windows of a full disk (many files each), one window where some
 * writes work and some do not, then the disk is read-only, then fine. */
static void full_then_fine(struct output_health *h)
{
	for (int w = 0; w < 3; w++) {
		for (int i = 0; i < 50; i++)
			output_health__result(h, "/d", -ENOSPC);
		output_health__window_end(h, "/d");
	}
	output_health__result(h, "/d", 0);
	output_health__result(h, "/d", -ENOSPC);
	output_health__window_end(h, "/d");
	output_health__result(h, "/d", -EROFS);
	output_health__result(h, "/d", -EROFS);
	output_health__window_end(h, "/d");
	output_health__window_end(h, "/d"); /* a window without writes changes nothing */
	output_health__result(h, "/d", 0);
	output_health__result(h, "/d", 0);
	output_health__window_end(h, "/d");
	output_health__result(h, "/d", 0);
	output_health__window_end(h, "/d");
}

static void test_health(void)
{
	struct output_health h = { 0 };
	const char *log = logged(full_then_fine, &h);

	ASSERT_EQ(count(log, "\n"), 3);
	ASSERT_EQ(count(log, "<3>output: cannot write profiles to /d: No space left on device"), 1);
	ASSERT_EQ(count(log, "<3>output: cannot write profiles to /d: Read-only file system"), 1);
	ASSERT_EQ(count(log, "<6>output: /d writable again (153 profiles could not be written)"),
		  1);
	ASSERT_EQ(h.err, 0);
	ASSERT_EQ(h.failed, 0);
}

int main(void)
{
	RUN_TEST(test_sanitize);
	RUN_TEST(test_write);
	RUN_TEST(test_retention);
	RUN_TEST(test_planted);
	RUN_TEST(test_dot_names);
	RUN_TEST(test_health);
	return TEST_MAIN_END();
}
