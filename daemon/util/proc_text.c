// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proc_text.h"

/* The next line of [*p, end), without its newline: [*line, *line_end).
 * false at the end. */
static bool next_line(const char **p, const char *end, const char **line, const char **line_end)
{
	const char *eol;

	if (*p >= end)
		return false;
	eol = memchr(*p, '\n', end - *p);
	if (!eol)
		eol = end;
	*line = *p;
	*line_end = eol;
	*p = eol < end ? eol + 1 : end;
	return true;
}

/* A line copied NUL-terminated for sscanf, cut at size - 1 bytes (the
 * lines wanted are short: a longer one is no match anyway). */
static const char *copy_line(const char *s, const char *e, char *buf, size_t size)
{
	size_t n = (size_t)(e - s) < size - 1 ? (size_t)(e - s) : size - 1;

	memcpy(buf, s, n);
	buf[n] = 0;
	return buf;
}

int proc_status_uids(const char *text, size_t len, uid_t uids[4])
{
	const char *p = text, *end = text + len, *s, *e;
	char line[256];

	while (next_line(&p, end, &s, &e)) {
		unsigned a, b, c, d;

		if (sscanf(copy_line(s, e, line, sizeof(line)), "Uid: %u %u %u %u", &a, &b, &c,
			   &d) == 4) {
			uids[0] = a, uids[1] = b, uids[2] = c, uids[3] = d;
			return 0;
		}
	}
	return -ENOENT;
}

int proc_status_threads(const char *text, size_t len, uint32_t *tgid, unsigned *threads)
{
	const char *p = text, *end = text + len, *s, *e;
	char line[128];
	int found = 0;

	while (next_line(&p, end, &s, &e)) {
		copy_line(s, e, line, sizeof(line));
		if (sscanf(line, "Tgid: %" SCNu32, tgid) == 1)
			found |= 1;
		else if (sscanf(line, "Threads: %u", threads) == 1)
			found |= 2;
	}
	return found == 3 ? 0 : -ENOENT;
}

int proc_status_nspid(const char *text, size_t len, uint32_t *nspid)
{
	const char *p = text, *end = text + len, *s, *e;

	while (next_line(&p, end, &s, &e)) {
		uint64_t last = 0;
		bool in_number = false;

		if (e - s < 6 || memcmp(s, "NSpid:", 6))
			continue;
		/* the last number: the innermost namespace's pid */
		for (const char *q = s + 6; q < e; q++) {
			if (*q >= '0' && *q <= '9') {
				last = (in_number ? last * 10 : 0) + (uint64_t)(*q - '0');
				in_number = true;
				if (last > UINT32_MAX)
					return -ENOENT;
			} else if (*q == ' ' || *q == '\t') {
				in_number = false;
			} else {
				return -ENOENT;
			}
		}
		if (!last)
			return -ENOENT;
		*nspid = (uint32_t)last;
		return 0;
	}
	return -ENOENT;
}

bool proc_cgroup_under(const char *text, size_t len, const char *cgroup)
{
	const char *p = text, *end = text + len, *s, *e;
	size_t l = strlen(cgroup);

	while (next_line(&p, end, &s, &e)) {
		size_t n;

		/* cgroup v2: "0::/path" */
		if (e - s < 3 || memcmp(s, "0::", 3))
			continue;
		s += 3;
		n = e - s;
		if (n >= l && !memcmp(s, cgroup, l) &&
		    (n == l || s[l] == '/' || (l == 1 && cgroup[0] == '/')))
			return true;
	}
	return false;
}

/* Whether [s, e) ends with suffix. */
static bool ends_with(const char *s, const char *e, const char *suffix)
{
	size_t n = strlen(suffix);

	return (size_t)(e - s) >= n && !memcmp(e - n, suffix, n);
}

/* The container id a cgroup path component names, as docker, containerd,
 * CRI-O and podman name them: "<64 hex>", "docker-<id>.scope",
 * "cri-containerd-<id>.scope", "crio-<id>.scope", "libpod-<id>.scope"
 * (never conmon's, "crio-conmon-<id>.scope", "libpod-conmon-<id>.scope"). */
static bool container_of(const char *s, const char *e, const char **id)
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-",
						"containerd-" };

	if (ends_with(s, e, ".scope")) {
		e -= 6;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t n = strlen(prefixes[i]);

			if ((size_t)(e - s) > n && !memcmp(s, prefixes[i], n)) {
				s += n;
				break;
			}
		}
	}
	if (e - s != 64)
		return false;
	for (const char *q = s; q < e; q++)
		if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')))
			return false;
	*id = s;
	return true;
}

void proc_cgroup_labels(const char *text, size_t len, char *service, size_t service_len,
			char *container, size_t container_len)
{
	const char *p = text, *end = text + len, *s, *e, *path = NULL, *path_end = NULL;

	if (service_len)
		service[0] = 0;
	if (container_len)
		container[0] = 0;
	/* cgroup v2's line; else (a v1 host) systemd's own hierarchy */
	while (next_line(&p, end, &s, &e)) {
		if (e - s >= 3 && !memcmp(s, "0::", 3)) {
			path = s + 3, path_end = e;
			break;
		}
		if (!path) {
			const char *q = memmem(s, e - s, ":name=systemd:", 14);

			if (q)
				path = q + 14, path_end = e;
		}
	}
	if (!path)
		return;
	/* the deepest of each: a unit inside a slice, a container's scope */
	for (const char *c = path; c < path_end;) {
		const char *ce = memchr(c, '/', path_end - c), *id;
		size_t n;

		if (!ce)
			ce = path_end;
		n = ce - c;
		if (container_of(c, ce, &id)) {
			if (container_len > 64)
				memcpy(container, id, 64), container[64] = 0;
		} else if ((ends_with(c, ce, ".service") || ends_with(c, ce, ".scope")) &&
			   n < service_len && !memchr(c, '\n', n)) {
			/* a .service over a .scope: a session's scope inside
			 * user@.service is the user's session, not a unit */
			if (ends_with(c, ce, ".service") ||
			    !ends_with(service, service + strlen(service), ".service")) {
				memcpy(service, c, n);
				service[n] = 0;
			}
		}
		c = ce + 1;
	}
}

int proc_status_cap_eff(const char *text, size_t len, uint64_t *caps)
{
	static const char key[] = "\nCapEff:\t";
	const char *end = text + len;

	for (const char *p = text; p < end; p++) {
		uint64_t v = 0;
		int digits = 0;

		if ((size_t)(end - p) < sizeof(key) - 1 || memcmp(p, key, sizeof(key) - 1))
			continue;
		for (p += sizeof(key) - 1; p < end && digits < 16; p++, digits++) {
			int d = *p >= '0' && *p <= '9'   ? *p - '0'
				: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
							 : -1;

			if (d < 0)
				break;
			v = v << 4 | (uint64_t)d;
		}
		if (digits == 0 || p == end || *p != '\n')
			return -ENOENT;
		*caps = v;
		return 0;
	}
	return -ENOENT;
}

/* Field n (from 3: the state) of /proc/PID/stat: [*f, *f_end). The comm
 * (field 2) may hold spaces and parentheses: fields count from its last ')'. */
static bool stat_field(const char *text, size_t len, int n, const char **f, const char **f_end)
{
	const char *p = NULL, *end = text + len;
	int field = 2;

	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p || p + 1 >= end || p[1] != ' ')
		return false;
	for (p += 2, field = 3; p < end && field < n; p++)
		if (*p == ' ')
			field++;
	if (field != n || p >= end)
		return false;
	*f = p;
	for (*f_end = p; *f_end < end && **f_end != ' ' && **f_end != '\n'; (*f_end)++)
		;
	return *f_end > *f;
}

/* Field n as a decimal number. */
static int stat_number(const char *text, size_t len, int n, uint64_t *out)
{
	const char *p, *end;
	uint64_t v = 0;

	if (!stat_field(text, len, n, &p, &end) || end - p > 20)
		return -ENOENT;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return -ENOENT;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int proc_stat_start_code(const char *text, size_t len, uint64_t *start_code)
{
	return stat_number(text, len, 26, start_code);
}

int proc_stat_flags(const char *text, size_t len, uint64_t *flags)
{
	return stat_number(text, len, 9, flags);
}

int proc_stat_state(const char *text, size_t len, char *state)
{
	const char *p, *end;

	if (!stat_field(text, len, 3, &p, &end) || end - p != 1)
		return -ENOENT;
	*state = *p;
	return 0;
}
