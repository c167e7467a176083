// SPDX-License-Identifier: MIT
/*
 * The HTTP index page, /debug/pprof/ (http.h): the host's processes with
 * links to their profiles.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

#define INDEX_MAX_PROCS 20000

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Process names are chosen by whoever runs the process: escape everything
 * that means something to HTML, and keep only printable ASCII. */
static void sb_html(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = *s;

		switch (ch) {
		case '&':
			sb_add(b, "&amp;", 5);
			break;
		case '<':
			sb_add(b, "&lt;", 4);
			break;
		case '>':
			sb_add(b, "&gt;", 4);
			break;
		case '"':
			sb_add(b, "&quot;", 6);
			break;
		case '\'':
			sb_add(b, "&#39;", 5);
			break;
		default:
			if (ch < 0x20 || ch >= 0x7f)
				ch = '?';
			sb_add(b, (const char *)&ch, 1);
		}
	}
}

void http__read_comm(int pid, char *comm, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, size - 1);
		close(fd);
	}
	if (n < 0)
		n = 0;
	comm[n] = 0;
	if (n && comm[n - 1] == '\n')
		comm[n - 1] = 0;
}

char *http__index_page(size_t *len)
{
	struct sbuf b = { 0 };
	unsigned nr = 0, more = 0;
	struct dirent *de;
	DIR *dir;

	sb_printf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		      "<title>/debug/pprof/</title></head><body>\n<h1>pprofd: /debug/pprof/</h1>\n"
		      "<p><a href=\"profile?seconds=30\">profile</a>: the whole host's CPU, 30 s "
		      "(privileged clients only)</p>\n"
		      "<p>Per process: profile = CPU, goroutine = threads; add "
		      "<code>&amp;seconds=N</code>, <code>&amp;hz=H</code>.</p>\n"
		      "<table>\n<tr><th>pid</th><th>comm</th><th>profiles</th></tr>\n");
	dir = opendir("/proc");
	while (dir && (de = readdir(dir))) {
		char comm[64];
		unsigned long pid;

		if (!http__parse_uint(de->d_name, strlen(de->d_name), INT_MAX, &pid) || !pid)
			continue;
		if (nr >= INDEX_MAX_PROCS) {
			more++;
			continue;
		}
		nr++;
		http__read_comm(pid, comm, sizeof(comm));
		sb_printf(&b, "<tr><td>%lu</td><td>", pid);
		sb_html(&b, comm);
		sb_printf(&b,
			  "</td><td><a href=\"profile?pid=%lu&amp;seconds=30\">profile</a> "
			  "<a href=\"heap?pid=%lu&amp;seconds=30\">heap</a> "
			  "<a href=\"mutex?pid=%lu&amp;seconds=30\">mutex</a> "
			  "<a href=\"block?pid=%lu&amp;seconds=30\">block</a> "
			  "<a href=\"goroutine?pid=%lu\">goroutine</a></td></tr>\n",
			  pid, pid, pid, pid, pid);
	}
	if (dir)
		closedir(dir);
	sb_printf(&b, "</table>\n");
	if (more)
		sb_printf(&b, "<p>%u more processes not listed.</p>\n", more);
	sb_printf(&b, "</body></html>\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
