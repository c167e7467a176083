// SPDX-License-Identifier: MIT
/*
 * CPU time spent inside libc (built without frame pointers on Debian):
 * copy_fn calls memcpy and memset, scan_fn calls strlen and memchr, on
 * 4 MiB buffers, so nearly every sample's pc is in libc. A profile must
 * still show copy_fn and scan_fn as the callers (a frame-pointer walk
 * skips them: libc's leaf functions make no frame), in the shares the
 * program measures itself, printed at exit:
 *   total copy_fn ns=N
 *   total scan_fn ns=N
 *
 * Usage: cpu_in_libc SECONDS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEN (4u << 20)
static char src[LEN], dst[LEN];
static volatile size_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

__attribute__((noinline)) void copy_fn(void)
{
	memcpy(dst, src, LEN);
	memset(src, dst[7] + 1, LEN - 1);
}

__attribute__((noinline)) void scan_fn(void)
{
	for (int i = 0; i < 3; i++) {
		sink += strlen(src);
		sink += (size_t)memchr(dst, 0x7f, LEN);
	}
}

int main(int argc, char **argv)
{
	uint64_t end = now_ns() + (uint64_t)((argc > 1 ? atof(argv[1]) : 5) * 1e9);
	uint64_t t_copy = 0, t_scan = 0, t0;

	memset(src, 1, LEN - 1);
	printf("pid %d\n", getpid());
	fflush(stdout);
	while ((t0 = now_ns()) < end) {
		copy_fn();
		t_copy += now_ns() - t0;
		t0 = now_ns();
		scan_fn();
		t_scan += now_ns() - t0;
	}
	printf("total copy_fn ns=%llu\n", (unsigned long long)t_copy);
	printf("total scan_fn ns=%llu\n", (unsigned long long)t_scan);
	return 0;
}
