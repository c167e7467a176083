// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <unistd.h>
#include <string.h>

#include "proc_text.h"
#include "test.h"

#define T(s) s, sizeof(s) - 1

static const char status[] = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\n"
			     "Ngid:\t0\nPid:\t4243\nPPid:\t1\nTracerPid:\t0\n"
			     "Uid:\t1000\t1000\t1001\t1000\nGid:\t100\t100\t100\t100\n"
			     "NStgid:\t7\nThreads:\t3\n";

static void test_status(void)
{
	uid_t uids[4] = { 0 };
	uint32_t tgid = 0;
	unsigned threads = 0;

	ASSERT_OK(proc_status_uids(T(status), uids));
	ASSERT_EQ(uids[0], 1000);
	ASSERT_EQ(uids[2], 1001);
	ASSERT_EQ(uids[3], 1000);
	ASSERT_OK(proc_status_threads(T(status), &tgid, &threads));
	ASSERT_EQ(tgid, 4242); /* not NStgid's */
	ASSERT_EQ(threads, 3);
	/* cut before Threads; a line that only ends in "Uid:" */
	ASSERT_EQ(proc_status_threads(status, strstr(status, "NStgid") - status, &tgid, &threads),
		  -ENOENT);
	ASSERT_EQ(proc_status_uids(T("Name:\tx Uid: 1 2 3 4\nUid:\t1 2\n"), uids), -ENOENT);
	/* the text need not end with a NUL, nor with a newline */
	ASSERT_OK(proc_status_uids("Uid:\t5 6 7 8"
				   "garbage",
				   12, uids));
	ASSERT_EQ(uids[3], 8);
}

/* The target names the process's cgroup v2 or one of its parents. */
static void test_cgroup(void)
{
	static const struct {
		const char *file, *target;
		bool want;
	} cases[] = {
		{ "0::/system.slice/app.service\n", "/system.slice/app.service", true },
		{ "0::/system.slice/app.service\n", "/system.slice", true },
		{ "0::/system.slice/app.service\n", "/system", false },
		{ "0::/system.slice/app.service\n", "/", true },
		{ "0::/\n", "/", true },
		{ "0::/system.slice\n", "/system.slice/app.service", false },
		{ "1:cpu:/system.slice\n0::/user.slice\n", "/system.slice", false }, /* v1 lines */
		{ "4:memory:/x\n0::/x/y", "/x", true }, /* no final newline */
		{ "", "/", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_TRUE(proc_cgroup_under(cases[i].file, strlen(cases[i].file),
					      cases[i].target) == cases[i].want,
			    "case %zu: %s in %s", i, cases[i].target, cases[i].file);
}

/* The unit and container of a process, as systemd and the container
 * runtimes name their cgroups. */
static void test_cgroup_labels(void)
{
	static const char id[] = "4f1c9a7e2b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";
	static const struct {
		const char *text, *service, *container;
	} cases[] = {
		{ "0::/system.slice/nginx.service\n", "nginx.service", "" },
		{ "0::/system.slice/docker-%s.scope\n", "", "C" },
		{ "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
		  "cri-containerd-%s.scope\n",
		  "", "C" },
		{ "0::/machine.slice/libpod-%s.scope/container\n", "", "C" },
		{ "0::/system.slice/crio-%s.scope\n", "", "C" },
		/* conmon's: no container; its scope's name is over the 63 bytes */
		{ "0::/system.slice/crio-conmon-%s.scope\n", "", "" },
		{ "0::/docker/%s\n", "", "C" },
		{ "12:cpu:/\n1:name=systemd:/system.slice/cron.service\n0::/\n", "", "" },
		{ "12:cpu:/\n1:name=systemd:/system.slice/cron.service\n", "cron.service", "" },
		{ "0::/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope\n",
		  "user@1000.service", "" },
		{ "0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope", "" },
		{ "0::/system.slice/docker-%s.scope/x.service\n", "x.service", "C" },
		{ "0::/\n", "", "" },
		{ "", "", "" },
		{ "0::/system.slice/docker-4f1c.scope\n", "docker-4f1c.scope", "" }, /* no id */
	};
	char text[512], want[256], service[64], container[65];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), cases[i].text, id);
		proc_cgroup_labels(text, strlen(text), service, sizeof(service), container,
				   sizeof(container));
		snprintf(want, sizeof(want), cases[i].service, id);
		ASSERT_TRUE(!strcmp(service, want), "%s: service '%s', want '%s'", text, service,
			    want);
		ASSERT_TRUE(!strcmp(container, strcmp(cases[i].container, "C") ? "" : id),
			    "%s: container '%s'", text, container);
	}
	/* a unit name longer than the buffer is not cut into another name */
	proc_cgroup_labels(T("0::/system.slice/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			     "aaaaaaaaaaaaaaaaaaaa.service\n"),
			   service, 16, container, sizeof(container));
	ASSERT_STREQ(service, "");
}

static void test_cap_eff(void)
{
	static const char ok[] = "Name:\tx\nCapPrm:\t0000000000000001\nCapEff:\t0000000000080000\n"
				 "CapBnd:\t000001ffffffffff\n";
	uint64_t caps = 0;

	ASSERT_OK(proc_status_cap_eff(ok, sizeof(ok) - 1, &caps));
	ASSERT_EQ(caps, 1ull << CAP_SYS_PTRACE);
	/* the line cut short by the end of what was read: not trusted */
	ASSERT_EQ(proc_status_cap_eff(ok, 50, &caps), -ENOENT);
	ASSERT_EQ(proc_status_cap_eff(ok, 33, &caps), -ENOENT);
	ASSERT_EQ(proc_status_cap_eff("Name:\tx\nCapEff:\tzz\n", 19, &caps), -ENOENT);
	ASSERT_EQ(proc_status_cap_eff("Name:\tx\nCapEff:\t0123456789abcdef0\n", 34, &caps),
		  -ENOENT);
	ASSERT_EQ(proc_status_cap_eff("CapEff:\tffffffff\n", 17, &caps),
		  -ENOENT); /* not a line start */
	ASSERT_EQ(proc_status_cap_eff("", 0, &caps), -ENOENT);
}

static void test_own_status(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	uint64_t caps;

	close(fd);
	ASSERT_TRUE(n > 0, "read /proc/self/status");
	ASSERT_OK(proc_status_cap_eff(buf, n, &caps));
}

static void test_stat_start_code(void)
{
	/* a comm with ") (" and spaces: fields count from the last ')' */
	static const char stat[] =
		"1234 (a) (b c) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 "
		"100 12345678 300 18446744073709551615 94558512345088 94558512400000 "
		"140724000000000 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	char buf[4096];
	uint64_t sc = 0;
	int fd;
	ssize_t n;

	ASSERT_OK(proc_stat_start_code(stat, strlen(stat), &sc));
	ASSERT_EQ(sc, 94558512345088ull);
	ASSERT_TRUE(proc_stat_start_code(stat, 40, &sc) == -ENOENT, "cut before field 26");
	ASSERT_TRUE(proc_stat_start_code("1 x S 2", 7, &sc) == -ENOENT, "no comm");
	ASSERT_TRUE(proc_stat_start_code("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 1 1 1 "
					 "99999999999999999999999 2\n",
					 78, &sc) == -ENOENT,
		    "over 64 bits");
	/* the state and the flags, through the same comm */
	{
		char st = 0;
		uint64_t fl = 0;

		ASSERT_OK(proc_stat_state(stat, strlen(stat), &st));
		ASSERT_EQ(st, 'S');
		ASSERT_OK(proc_stat_flags(stat, strlen(stat), &fl));
		ASSERT_EQ(fl, 4194560);
		ASSERT_TRUE(proc_stat_state("1 (x)", 5, &st) == -ENOENT, "no state");
		ASSERT_TRUE(proc_stat_state("1 (x) SS 1", 10, &st) == -ENOENT, "a state of two");
		ASSERT_TRUE(proc_stat_flags("1 (x) S 1 1 1 0 -1 4x 0", 23, &fl) == -ENOENT,
			    "not a number");
		ASSERT_TRUE(proc_stat_flags("1 (x) S 1 1 1 0 -1", 18, &fl) == -ENOENT, "cut");
	}
	fd = open("/proc/self/stat", O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ASSERT_TRUE(n > 0);
	ASSERT_OK(proc_stat_start_code(buf, n, &sc));
	{
		char st = 0;
		uint64_t fl = 0;

		ASSERT_OK(proc_stat_state(buf, n, &st));
		ASSERT_EQ(st, 'R'); /* reading it */
		ASSERT_OK(proc_stat_flags(buf, n, &fl));
		ASSERT_TRUE(!(fl & PROC_PF_KTHREAD), "we are no kernel thread");
		fd = open("/proc/2/stat", O_RDONLY); /* kthreadd, where there is one */
		n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0 && memmem(buf, n, "(kthreadd)", 10)) {
			ASSERT_OK(proc_stat_flags(buf, n, &fl));
			ASSERT_TRUE(fl & PROC_PF_KTHREAD, "kthreadd is a kernel thread");
		}
	}
	ASSERT_TRUE(sc <= (uint64_t)(uintptr_t)test_stat_start_code, "our code starts below us");
}

static void test_nspid(void)
{
	uint32_t ns = 0;

	ASSERT_OK(proc_status_nspid(T("Pid:\t9\nNSpid:\t4242\t17\t3\nThreads:\t1\n"), &ns));
	ASSERT_EQ(ns, 3); /* the innermost namespace's */
	ASSERT_OK(proc_status_nspid(T("NSpid:\t4242"), &ns));
	ASSERT_EQ(ns, 4242);
	ASSERT_EQ(proc_status_nspid(T("NSpid:\t12 x3\n"), &ns), -ENOENT);
	ASSERT_EQ(proc_status_nspid(T("NSpid:\t99999999999\n"), &ns), -ENOENT);
	ASSERT_EQ(proc_status_nspid(T("NSpid:\t\n"), &ns), -ENOENT);
	ASSERT_EQ(proc_status_nspid(T("Pid:\t9\n"), &ns), -ENOENT);
}

int main(void)
{
	RUN_TEST(test_status);
	RUN_TEST(test_cgroup);
	RUN_TEST(test_cgroup_labels);
	RUN_TEST(test_cap_eff);
	RUN_TEST(test_own_status);
	RUN_TEST(test_stat_start_code);
	RUN_TEST(test_nspid);
	return TEST_MAIN_END();
}
