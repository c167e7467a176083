// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the small /proc/PID text parsers. The kernel writes these
 * files, but a process chooses much of what is in them (its name, its
 * cgroup's path, the paths of the files it maps). The first byte picks
 * the parser, the rest is the file:
 *
 *   0  /proc/PID/status: the Uid line (requests' may_read)
 *   1  /proc/PID/status: Tgid and Threads (threads snapshots)
 *   2  /proc/PID/cgroup: "TARGET\nFILE", whether the process is in the
 *      cgroup v2 TARGET or below it (heap_target / lock_target cgroup:)
 *   3  /proc/PID/maps, cut in lines as fgets cuts them, through the heap
 *      sampler's search for the process's allocator (heap_maps__line)
 *   4  /proc/PID/status: CapEff (a control client's CAP_SYS_PTRACE)
 *   5  /proc/PID/stat: startcode (the table unwinder's image check)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap_sites.h"
#include "log.h"
#include "proc_text.h"

/* The buffer heap_sampler__attach_pid reads each line into. */
#define MAPS_LINE_MAX (4096 + 256)

static bool has_line(const char *text, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text, *end = text + len; p < end;) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) >= n && !memcmp(p, prefix, n))
			return true;
		p = eol + 1;
	}
	return false;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static void maps(const char *text, size_t len)
{
	static struct heap_maps m;
	static char line[MAPS_LINE_MAX];
	const char *p = text, *end = text + len;
	bool ok = true;

	memset(&m, 0, sizeof(m));
	while (ok && p < end) {
		/* fgets: up to a newline (kept) or sizeof(line) - 1 bytes */
		size_t n = end - p;
		const char *eol = memchr(p, '\n', n);

		if (eol)
			n = eol + 1 - p;
		if (n > sizeof(line) - 1)
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		p += n;
		ok = heap_maps__line(&m, line);
	}
	if (!terminated(m.exe, sizeof(m.exe)) || !terminated(m.libc_path, sizeof(m.libc_path)) ||
	    !terminated(m.alt_path, sizeof(m.alt_path)) ||
	    !terminated(m.other_path, sizeof(m.other_path)) ||
	    !terminated(m.libc_range, sizeof(m.libc_range)) ||
	    !terminated(m.alt_range, sizeof(m.alt_range)) ||
	    !terminated(m.exec_path, sizeof(m.exec_path)) ||
	    !terminated(m.exec_range, sizeof(m.exec_range)) ||
	    (m.exec_ino && m.exec_path[0] != '/'))
		abort();
	if (!ok != (m.other != NULL))
		abort();
	/* whatever was found is an absolute path, the executable first */
	if ((m.libc_ino && m.libc_path[0] != '/') || (m.alt_ino && m.alt_path[0] != '/') ||
	    (m.other && m.other_path[0] != '/') || ((m.libc_ino || m.alt_ino) && m.exe[0] != '/'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1, *nl;
	size_t len = size - 1;
	uid_t uids[4];
	uint32_t tgid;
	uint64_t caps;
	unsigned threads;
	char *target;

	if (!size)
		return 0;
	log_max_level = LOG_LVL_ERR;
	switch (data[0] % 8) {
	case 0:
		if (!proc_status_uids(text, len, uids) && !has_line(text, len, "Uid:"))
			abort();
		break;
	case 1:
		if (!proc_status_threads(text, len, &tgid, &threads) &&
		    (!has_line(text, len, "Tgid:") || !has_line(text, len, "Threads:")))
			abort();
		break;
	case 2:
		nl = memchr(text, '\n', len);
		if (!nl)
			nl = text + len;
		target = strndup(text, nl - text);
		if (!target)
			abort();
		text = nl < text + len ? nl + 1 : nl;
		len = (const char *)data + size - text;
		if (proc_cgroup_under(text, len, target) && !has_line(text, len, "0::"))
			abort();
		free(target);
		break;
	case 3:
		maps(text, len);
		break;
	case 4:
		if (!proc_status_cap_eff(text, len, &caps) && !memmem(text, len, "\nCapEff:\t", 9))
			abort();
		break;
	case 5:
		if (!proc_stat_start_code(text, len, &caps) && !memchr(text, ')', len))
			abort();
		{
			char st;

			if (!proc_stat_state(text, len, &st) && !memchr(text, ')', len))
				abort();
			if (!proc_stat_flags(text, len, &caps) && !memchr(text, ')', len))
				abort();
		}
		break;
	case 6:
		if (!proc_status_nspid(text, len, &tgid) &&
		    (!tgid || !has_line(text, len, "NSpid:")))
			abort();
		break;
	case 7: {
		char service[32], container[65];

		proc_cgroup_labels(text, len, service, sizeof(service), container,
				   sizeof(container));
		if (strlen(service) >= sizeof(service) || (container[0] && strlen(container) != 64))
			abort();
		break;
	}
	}
	return 0;
}
