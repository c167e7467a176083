// SPDX-License-Identifier: MIT
/*
 * The HTTP index page, /debug/pprof/ (http.h): the host's processes,
 * the busiest in pprofd's last window first, kernel threads apart, with
 * links to their profiles and a filter box.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_ranks.h"
#include "heap_sites.h"
#include "http.h"
#include "peer_priv.h"
#include "proc_text.h"
#include "safe_open.h"

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

/* Whether pid is a kernel thread (its stat's flags). */
static bool is_kthread(unsigned long pid)
{
	uint64_t flags = 0;
	size_t len;
	char *text;
	int err = read_proc(pid, "stat", PROC_STAT_MAX, true, &text, &len);

	if (err)
		return false;
	err = proc_stat_flags(text, len, &flags);
	free(text);
	return !err && (flags & PROC_PF_KTHREAD);
}

/* Whether heap profiling applies to pid: it maps an allocator pprofd
 * probes (glibc's, jemalloc, tcmalloc) and none it does not, or an
 * in-process sampler. */
static bool heap_applies(unsigned long pid)
{
	struct heap_maps *m = malloc(sizeof(*m));
	bool ok = m && !heap_maps__read(pid, m) &&
		  ((!m->other && (m->libc_ino || m->alt_ino)) || m->usdt_ino);

	free(m);
	return ok;
}

struct index_proc {
	unsigned long pid;
	uint64_t samples, prev;
	bool kthread, heap;
	char comm[17];
};

/* Most CPU in the last window first, then the window before, then pid. */
static int by_cpu(const void *a, const void *b)
{
	const struct index_proc *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	if (x->prev != y->prev)
		return x->prev > y->prev ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* samples of a window as a share of one CPU, "-" without a window yet. */
static void cpu_cell(struct sbuf *b, uint64_t samples, const struct cpu_window_ranks *w,
		     unsigned hz)
{
	double core = w && hz && w->duration_ns > 0 ? hz * (w->duration_ns / 1e9) : 0;

	if (!core)
		sb_printf(b, "<td class=n>-</td>");
	else if (!samples)
		sb_printf(b, "<td class=n>0</td>");
	else
		sb_printf(b, "<td class=n>%.1f%%</td>", 100.0 * samples / core);
}

static void proc_row(struct sbuf *b, const struct index_proc *p, const struct cpu_ranks *r,
		     unsigned hz)
{
	unsigned long pid = p->pid;

	sb_printf(b, "<tr><td class=n>%lu</td><td>", pid);
	sb_html(b, p->comm);
	sb_printf(b, "</td>");
	cpu_cell(b, p->samples, r ? &r->last : NULL, hz);
	cpu_cell(b, p->prev, r ? &r->prev : NULL, hz);
	/* flame graphs, shown in the page's frame: the windows pprofd wrote
	 * (where it had samples of the process lately), or a fresh request */
	sb_printf(b, "<td>");
	if (p->samples || p->prev)
		sb_printf(b,
			  "<a target=flame href=\"flamegraph?pid=%lu&amp;window=last\">last "
			  "window</a> <a target=flame "
			  "href=\"flamegraph?pid=%lu&amp;window=hour\">last hour</a> ",
			  pid, pid);
	sb_printf(b, "<a target=flame href=\"flamegraph?pid=%lu&amp;seconds=10\">10 s now</a></td>",
		  pid);
	sb_printf(b, "<td><a href=\"profile?pid=%lu&amp;seconds=30\">profile</a>", pid);
	if (p->heap)
		sb_printf(b, " <a href=\"heap?pid=%lu&amp;seconds=30\">heap</a>", pid);
	if (!p->kthread) /* no user code: no locks, no user stacks */
		sb_printf(b,
			  " <a href=\"mutex?pid=%lu&amp;seconds=30\">mutex</a>"
			  " <a href=\"block?pid=%lu&amp;seconds=30\">block</a>"
			  " <a href=\"goroutine?pid=%lu\">goroutine</a>",
			  pid, pid, pid);
	sb_printf(b, "</td></tr>\n");
}

static const char index_head[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	"<title>pprofd: /debug/pprof/</title>"
	"<link rel=\"icon\" href=\"data:,\">\n<style>\n"
	"body { font-family: sans-serif; margin: 1em 2em; }\n"
	"table { border-collapse: collapse; }\n"
	"td, th { padding: 2px 10px; text-align: left; }\n"
	"tr:nth-child(even) { background: #f3f3f0; }\n"
	"#flame { width: 100%; height: 60vh; border: 1px solid #ccc; }\n"
	".n { text-align: right; font-variant-numeric: tabular-nums; }\n"
	"</style></head><body>\n<h1>pprofd: /debug/pprof/</h1>\n"
	"<p>CPU: the share of one CPU in pprofd's last window, and the one before. "
	"Flame graphs show here; downloads (for <code>go tool pprof</code>): profile = "
	"CPU, goroutine = threads, 30 s; add <code>&amp;seconds=N</code>, "
	"<code>&amp;hz=H</code>.";

/* After the whole host's link, for privileged clients. */
static const char index_head2[] =
	"</p>\n"
	"<div id=\"flamebox\" hidden><p><b id=\"flamehead\"></b> "
	"<a href=\"#\" id=\"flameclose\">close</a></p>"
	"<iframe name=\"flame\" id=\"flame\" title=\"flame graph\"></iframe></div>\n"
	"<p><input id=\"filter\" placeholder=\"filter: name or pid\" autofocus></p>\n"
	"<table id=\"procs\">\n<tr><th class=n>pid</th><th>process</th>"
	"<th class=n>CPU</th><th class=n>before</th><th>flame graph</th>"
	"<th>download</th></tr>\n";

static const char host_link[] = " <a href=\"profile?seconds=30\">profile</a>: the whole "
				"host's CPU, 30 s.";

/* The filter box: rows whose pid or name holds what is typed. A flame
 * graph link opens its graph in the frame above the table. */
static const char index_script[] =
	"<script>\n"
	"var box = document.getElementById('flamebox');\n"
	"var head = document.getElementById('flamehead');\n"
	"var frame = document.getElementById('flame');\n"
	"document.querySelectorAll('a[target=flame]').forEach(function (a) {\n"
	"\ta.addEventListener('click', function () {\n"
	"\t\tvar row = a.closest('tr');\n"
	"\t\tbox.hidden = false;\n"
	"\t\thead.textContent = row.cells[1].textContent + ' (pid ' +\n"
	"\t\t\trow.cells[0].textContent + '), ' + a.textContent +\n"
	"\t\t\t(a.textContent === '10 s now' ? ': profiling...' : '');\n"
	"\t\tframe.dataset.label = head.textContent.replace(': profiling...', '');\n"
	"\t\tbox.scrollIntoView();\n"
	"\t});\n"
	"});\n"
	"frame.addEventListener('load', function () {\n"
	"\tif (frame.dataset.label) head.textContent = frame.dataset.label;\n"
	"\tvar d = frame.contentDocument && frame.contentDocument.documentElement;\n"
	"\tif (d && d.localName === 'svg')\n"
	"\t\tframe.style.height = Math.ceil(d.getBoundingClientRect().height) + 4 + 'px';\n"
	"});\n"
	"document.getElementById('flameclose').addEventListener('click', function (e) {\n"
	"\te.preventDefault();\n"
	"\tbox.hidden = true;\n"
	"\tframe.src = 'about:blank';\n"
	"});\n"
	"document.getElementById('filter').addEventListener('input', function () {\n"
	"\tvar q = this.value.toLowerCase();\n"
	"\tdocument.querySelectorAll('tr').forEach(function (tr) {\n"
	"\t\tif (!tr.querySelector('td')) return;\n"
	"\t\tvar t = tr.cells[0].textContent + ' ' + tr.cells[1].textContent;\n"
	"\t\ttr.style.display = t.toLowerCase().indexOf(q) >= 0 ? '' : 'none';\n"
	"\t});\n"
	"});\n"
	"</script>\n";

char *http__index_page(const struct cpu_ranks *ranks, unsigned hz, const struct req_peer *peer,
		       size_t *len)
{
	struct sbuf b = { 0 };
	struct index_proc *v = NULL;
	unsigned nr = 0, cap = 0, more = 0, kthreads = 0, hidden = 0;
	struct dirent *de;
	DIR *dir;

	dir = opendir("/proc");
	while (dir && (de = readdir(dir))) {
		unsigned long pid;

		if (!http__parse_uint(de->d_name, strlen(de->d_name), INT_MAX, &pid) || !pid)
			continue;
		if (nr >= INDEX_MAX_PROCS) {
			more++;
			continue;
		}
		/* a client sees what it may profile (SPEC §5) */
		if (!peer->privileged && !peer_may_read(peer, pid)) {
			hidden++;
			continue;
		}
		if (nr == cap) {
			struct index_proc *nv =
				realloc(v, (cap = cap ? 2 * cap : 256) * sizeof(*v));

			if (!nv) {
				b.oom = true;
				break;
			}
			v = nv;
		}
		memset(&v[nr], 0, sizeof(v[nr]));
		v[nr].pid = pid;
		read_proc_comm(pid, v[nr].comm, sizeof(v[nr].comm));
		v[nr].kthread = is_kthread(pid);
		v[nr].heap = !v[nr].kthread && heap_applies(pid);
		kthreads += v[nr].kthread;
		if (ranks) {
			v[nr].samples = cpu_ranks__samples(&ranks->last, pid);
			v[nr].prev = cpu_ranks__samples(&ranks->prev, pid);
		}
		nr++;
	}
	if (dir)
		closedir(dir);
	if (nr)
		qsort(v, nr, sizeof(*v), by_cpu);
	sb_add(&b, index_head, sizeof(index_head) - 1);
	if (peer->privileged)
		sb_add(&b, host_link, sizeof(host_link) - 1);
	sb_add(&b, index_head2, sizeof(index_head2) - 1);
	for (unsigned i = 0; i < nr; i++)
		if (!v[i].kthread)
			proc_row(&b, &v[i], ranks, hz);
	sb_printf(&b, "</table>\n");
	if (kthreads) {
		sb_printf(&b, "<details><summary>%u kernel threads</summary>\n<table>\n", kthreads);
		for (unsigned i = 0; i < nr; i++)
			if (v[i].kthread)
				proc_row(&b, &v[i], ranks, hz);
		sb_printf(&b, "</table></details>\n");
	}
	if (more)
		sb_printf(&b, "<p>%u more processes not listed.</p>\n", more);
	if (hidden)
		sb_printf(&b,
			  "<p>%u processes of other users not listed: pprofd shows a client "
			  "the processes it may profile.</p>\n",
			  hidden);
	sb_add(&b, index_script, sizeof(index_script) - 1);
	sb_printf(&b, "</body></html>\n");
	free(v);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
