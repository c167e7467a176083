// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf_map.h"
#include "proc_text.h"
#include "safe_open.h"

/* Lines looked at below an address for the latest that covers it: code
 * replaced in place has its lines side by side once sorted. */
#define LOOKUP_BACK 32
/* Bytes read a pread; a line longer than this is skipped. */
#define READ_CHUNK (64u << 10)

struct pm_entry {
	uint64_t start, end;
	uint32_t name; /* offset in names */
	uint32_t seq;  /* its line's order in the file: later lines win */
};

struct perf_map {
	struct pm_entry *e;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	bool sorted;
	bool skipping; /* inside a line longer than READ_CHUNK: to its end */
	bool full;     /* PERF_MAP_MAX_BYTES read: the rest is not */
	/* the file read so far */
	bool have_file;
	bool have_ids; /* the process's ids below, read once */
	uint32_t nspid;
	uid_t euid;
	dev_t dev;
	ino_t ino;
	off_t offset;
	struct perf_map_stats st;
};

struct perf_map *perf_map__new(void)
{
	struct perf_map *m = calloc(1, sizeof(*m));

	if (m)
		m->sorted = true;
	return m;
}

void perf_map__free(struct perf_map *m)
{
	if (!m)
		return;
	free(m->e);
	free(m->names);
	free(m);
}

static void forget_all(struct perf_map *m)
{
	m->n = m->names_len = 0;
	m->sorted = true;
	m->skipping = m->full = false;
	m->offset = 0;
	m->st.entries = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number at *p (an optional 0x), then at least one blank. */
static bool parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *q = *p;
	unsigned digits = 0;

	*v = 0;
	if (end - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
		q += 2;
	for (; q < end && hexval(*q) >= 0; q++, digits++) {
		if (digits == 16)
			return false;
		*v = *v << 4 | (uint64_t)hexval(*q);
	}
	if (!digits || q == end || (*q != ' ' && *q != '\t'))
		return false;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	*p = q;
	return true;
}

static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *np;

	if (want <= *cap)
		return true;
	while (c < want)
		c *= 2;
	np = realloc(*p, c * size);
	if (!np)
		return false;
	*p = np;
	*cap = c;
	return true;
}

/* One line, without its newline. */
static void take_line(struct perf_map *m, const char *s, const char *e)
{
	uint64_t start, size;
	size_t len;
	char *name;

	while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (!parse_hex(&s, e, &start) || !parse_hex(&s, e, &size) || s == e || !size ||
	    start + size < start) {
		m->st.bad_lines++;
		return;
	}
	if (m->n == PERF_MAP_MAX_ENTRIES) {
		m->st.dropped++;
		return;
	}
	len = (size_t)(e - s) < PERF_MAP_NAME_MAX ? (size_t)(e - s) : PERF_MAP_NAME_MAX;
	if (!grow((void **)&m->e, &m->cap, m->n + 1, sizeof(*m->e)) ||
	    !grow((void **)&m->names, &m->names_cap, m->names_len + len + 1, 1)) {
		m->st.dropped++;
		return;
	}
	name = m->names + m->names_len;
	/* names go to profiles and logs: no control characters */
	for (size_t i = 0; i < len; i++)
		name[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	name[len] = 0;
	if (m->n && m->e[m->n - 1].start > start)
		m->sorted = false;
	m->e[m->n] =
		(struct pm_entry){ start, start + size, (uint32_t)m->names_len, (uint32_t)m->n };
	m->names_len += len + 1;
	m->n++;
	m->st.entries = m->n;
}

size_t perf_map__feed(struct perf_map *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	for (;;) {
		const char *nl = memchr(p, '\n', end - p);

		if (!nl)
			break;
		if (m->skipping)
			m->skipping = false; /* the end of an overlong line */
		else
			take_line(m, p, nl);
		p = nl + 1;
	}
	return p - text;
}

int perf_map__update(struct perf_map *m, int fd)
{
	struct stat st;
	char *buf;
	int err = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!m->have_file || st.st_dev != m->dev || st.st_ino != m->ino || st.st_size < m->offset) {
		/* another file, or rewritten: from its start */
		forget_all(m);
		m->have_file = true;
		m->dev = st.st_dev;
		m->ino = st.st_ino;
	}
	if (st.st_size == m->offset)
		return 0;
	buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	while (m->offset < st.st_size) {
		ssize_t got;
		size_t taken;

		if (m->offset >= PERF_MAP_MAX_BYTES) {
			m->st.dropped += !m->full; /* the rest, as one */
			m->full = true;
			break;
		}
		got = pread(fd, buf, READ_CHUNK, m->offset);
		if (got < 0) {
			err = -errno;
			break;
		}
		if (!got)
			break;
		taken = perf_map__feed(m, buf, (size_t)got);
		if (!taken && got == READ_CHUNK) {
			/* a line longer than a chunk: skipped to its newline */
			m->st.bad_lines += !m->skipping;
			m->skipping = true;
			taken = READ_CHUNK;
		}
		m->offset += taken;
		if (taken < (size_t)got)
			break; /* a line still being written */
	}
	free(buf);
	return err;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

const char *perf_map__lookup(struct perf_map *m, uint64_t addr, uint64_t *start)
{
	const struct pm_entry *best = NULL;
	size_t lo = 0, hi;

	if (!m || !m->n)
		return NULL;
	if (!m->sorted) {
		qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
		m->sorted = true;
	}
	/* the first entry starting past addr */
	for (hi = m->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < LOOKUP_BACK; i--, k++) {
		const struct pm_entry *e = &m->e[i - 1];

		if (addr < e->end && (!best || e->seq > best->seq))
			best = e;
	}
	if (!best)
		return NULL;
	*start = best->start;
	return m->names + best->name;
}

size_t perf_map__entries(const struct perf_map *m)
{
	return m ? m->n : 0;
}

void perf_map__stats(const struct perf_map *m, struct perf_map_stats *st)
{
	*st = m->st;
	st->bytes = sizeof(*m) + m->cap * sizeof(*m->e) + m->names_cap;
}

/* pid's pid in its own namespace and its effective uid, read once (an
 * image is one exec: neither changes in one that a JIT could care for). */
static int read_ids(struct perf_map *m, uint32_t pid)
{
	char path[64], *text;
	uid_t uids[4];
	size_t len;
	int err;

	if (m->have_ids)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	err = read_file(path, PROC_STATUS_MAX, true, &text, &len);
	if (err < 0)
		return err;
	err = proc_status_uids(text, len, uids);
	m->nspid = pid;
	proc_status_nspid(text, len, &m->nspid); /* none: no namespaces, pid */
	free(text);
	if (err < 0)
		return err;
	m->euid = uids[1];
	m->have_ids = true;
	return 0;
}

int perf_map__open(struct perf_map *m, uint32_t pid)
{
	char path[64], root[64];
	struct stat st;
	int fd, err;

	err = read_ids(m, pid);
	if (err < 0)
		return err;
	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	snprintf(path, sizeof(path), "/tmp/perf-%u.map", m->nspid);
	fd = safe_open(root, path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || (st.st_uid != 0 && st.st_uid != m->euid)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}
