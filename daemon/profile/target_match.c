// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_sites.h"
#include "proc_text.h"
#include "safe_open.h"
#include "target_match.h"

/* Whether pid maps the in-process heap sampler. */
static bool maps_preloaded(uint32_t pid)
{
	struct heap_maps *m = malloc(sizeof(*m));
	bool hit = m && !heap_maps__read(pid, m) && m->usdt_ino;

	free(m);
	return hit;
}

bool target_matches(const struct config_target *t, uint32_t pid, const char *comm)
{
	char path[64], buf[4096], *text;
	size_t len;
	ssize_t n;
	bool hit;

	switch (t->kind) {
	case TARGET_COMM:
		if (comm)
			return !strcmp(comm, t->value);
		read_proc_comm(pid, buf, sizeof(buf));
		return buf[0] && !strcmp(buf, t->value);
	case TARGET_EXE:
		snprintf(path, sizeof(path), "/proc/%u/exe", pid);
		n = readlink(path, buf, sizeof(buf) - 1);
		if (n <= 0)
			return false;
		buf[n] = 0;
		return !strcmp(buf, t->value);
	case TARGET_PRELOADED:
		return maps_preloaded(pid);
	case TARGET_CGROUP:
		/* cgroup v2: the target names it or a parent */
		snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
		if (read_file(path, PROC_CGROUP_MAX, false, &text, &len) < 0)
			return false;
		hit = proc_cgroup_under(text, len, t->value);
		free(text);
		return hit;
	}
	return false;
}

bool targets_match(const struct config_target *t, size_t n, uint32_t pid, const char *comm)
{
	for (size_t i = 0; i < n; i++)
		if (target_matches(&t[i], pid, comm))
			return true;
	return false;
}

void for_each_process(void (*fn)(void *ctx, uint32_t pid), void *ctx)
{
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (!*end && pid && pid <= UINT32_MAX)
			fn(ctx, pid);
	}
	closedir(d);
}
