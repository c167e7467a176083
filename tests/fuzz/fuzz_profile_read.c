// SPDX-License-Identifier: MIT
/*
 * libFuzzer: pprofctl's profile reader (client/profile_read.c) on any bytes,
 * gzip or plain, and then both reports on what it accepted, as a user would
 * run them on a hostile file. An error or a report, never a crash; what the
 * reader hands out must hold up: every frame a valid name, every sample one
 * value per sample type, the error message a terminated string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile_read.h"
#include "report.h"

static char path[64];
static int fd = -1;

static void cleanup(void)
{
	if (fd >= 0)
		unlink(path);
}

static void check(const struct profile *p)
{
	size_t i, j;

	if (p->default_type >= (int)p->nr_types || (p->nr_types && p->default_type < 0))
		abort();
	for (i = 0; i < p->nr_samples; i++) {
		const struct prof_sample *s = &p->samples[i];

		if (p->nr_types && !s->values)
			abort();
		for (j = 0; j < s->nr_frames; j++)
			if (PROF_NAME(s->frames[j]) >= p->nr_names)
				abort();
	}
	for (i = 0; i < p->nr_names; i++)
		if (!p->names[i].str)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *top[] = { "top", path, "--nodefraction=0", NULL };
	char *fg[] = { "flamegraph", path, "-o", "/dev/null", NULL };
	struct profile *p;
	char err[256];
	size_t nr_types;
	int ret;

	if (fd < 0) {
		strcpy(path, "/tmp/fuzz-profile-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0 || !freopen("/dev/null", "w", stdout))
			abort();
		atexit(cleanup);
	}
	memset(err, 'x', sizeof(err));
	ret = profile_parse(data, size, &p, err, sizeof(err));
	if (!memchr(err, 0, sizeof(err)))
		abort();
	if (ret) {
		if (p || !err[0] || ret >= 0)
			abort();
		return 0;
	}
	check(p);
	nr_types = p->nr_types;
	profile_sample_index(p, "1", err, sizeof(err));
	profile_sample_index(p, "inuse_space", err, sizeof(err));
	profile_free(p);

	/* the reports, through the command lines a user types */
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	ret = cmd_top(3, top) | cmd_flamegraph(4, fg);
	if (ret && nr_types)
		abort(); /* the reader took it: the reports must too */
	return 0;
}
