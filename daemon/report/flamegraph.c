// SPDX-License-Identifier: MIT
/*
 * Flame graphs (flamegraph.h): a self-contained interactive SVG, the same
 * for pprofctl flamegraph and the daemon's page.
 *
 * Samples are sorted by their stacks (root first, names in byte order, a
 * stack that ends sorts after the ones that go deeper so that children start
 * at their parent's left edge); one walk over the sorted samples then yields
 * every frame, with its offset and width, as a run of neighbours sharing a
 * prefix. No tree is built, so memory stays that of the samples.
 *
 * Frames narrower than a minimum width are left out (their parent's width
 * still counts them); the minimum starts at 0.1 px and doubles until at most
 * MAX_DRAWN frames remain, so a huge profile still gives a small file.
 * Function names are hostile input: written only XML-escaped, as valid
 * UTF-8, without control characters.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flamegraph.h"
#include "profile_read.h"
#include "report_value.h"

#define WIDTH 1200
#define PAD 10
#define ROW 16     /* px per stack level */
#define TOP 34     /* px above the frames: title and controls */
#define BOTTOM 26  /* px below: details and search result */
#define CHAR_W 6.7 /* px per character of 11px monospace */
#define MIN_PX 0.1
#define TEXT_DY 11.5 /* px from a frame's top to its text's baseline */
#define MAX_DRAWN 30000

struct fg {
	const struct profile *p;
	int idx;
	const char *unit, *type;
	uint32_t *rank;  /* per name id: its place in byte order */
	uint32_t *order; /* samples with a positive value, sorted */
	size_t nr_order;
	int64_t total;
	uint32_t max_frames;
	double px;    /* px per value unit */
	double min_w; /* value units: narrower frames are left out */
	FILE *out;
	/* counting pass */
	size_t drawn;
	uint32_t max_depth;
};

/* --- XML output ---------------------------------------------------------- */

/* One character of s: its code point, or U+FFFD for anything that must not
 * appear in an XML document or on screen; *len the bytes it takes. */
static uint32_t next_char(const unsigned char *s, size_t *len)
{
	uint32_t c = s[0], min;
	size_t n, i;

	*len = 1;
	if (c < 0x80)
		return c < 0x20 || c == 0x7f ? 0xfffd : c;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0xfffd;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0xfffd; /* also stops at the terminating NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0xfffd;
	*len = n;
	if ((c >= 0x80 && c <= 0x9f) || c == 0xfffe || c == 0xffff)
		return 0xfffd;
	return c;
}

static size_t nr_chars(const char *s)
{
	size_t n = 0, len;

	for (; *s; s += len, n++)
		next_char((const unsigned char *)s, &len);
	return n;
}

/* Writes at most max characters of s, escaped for text and attributes. */
static void put_xml(FILE *f, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;

	for (; *u && max; u += len, max--) {
		uint32_t c = next_char(u, &len);

		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case 0xfffd:
			fputs("\xef\xbf\xbd", f);
			break;
		default:
			fwrite(u, 1, len, f);
		}
	}
}

/* The name cut to what fits in w px, ".." marking a cut; nothing if too narrow. */
static void put_fitted(FILE *f, const char *name, double w)
{
	double room = (w - 6) / CHAR_W;
	size_t fit = room > 0 ? (size_t)room : 0, n = nr_chars(name);

	if (n <= fit) {
		put_xml(f, name, n);
	} else if (fit >= 3) {
		put_xml(f, name, fit - 2);
		fputs("..", f);
	}
}

/* --- colors -------------------------------------------------------------- */

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* Warm hues (red to yellow) for user code, cool blues for the kernel, grey
 * for the root; the same name always gets the same color. */
static void put_color(FILE *f, const char *name, bool kernel, bool root)
{
	uint32_t h = hash_name(name);
	unsigned hue, sat, light;

	if (root) {
		fputs("hsl(0,0%,72%)", f);
		return;
	}
	if (kernel) {
		hue = 195 + h % 30;
		sat = 55 + (h >> 8) % 20;
		light = 62 + (h >> 16) % 12;
	} else {
		hue = h % 52;
		sat = 78 + (h >> 8) % 18;
		light = 54 + (h >> 16) % 12;
	}
	fprintf(f, "hsl(%u,%u%%,%u%%)", hue, sat, light);
}

/* --- walking the sorted samples ------------------------------------------ */

static uint32_t name_at(const struct prof_sample *s, uint32_t depth)
{
	return PROF_NAME(s->frames[s->nr_frames - 1 - depth]);
}

static int cmp_stack(const void *a, const void *b, void *arg)
{
	const struct fg *g = arg;
	const struct prof_sample *x = &g->p->samples[*(const uint32_t *)a];
	const struct prof_sample *y = &g->p->samples[*(const uint32_t *)b];
	uint32_t d;

	for (d = 0; d < x->nr_frames && d < y->nr_frames; d++) {
		uint32_t rx = g->rank[name_at(x, d)], ry = g->rank[name_at(y, d)];

		if (rx != ry)
			return rx < ry ? -1 : 1;
	}
	if (x->nr_frames != y->nr_frames)
		return x->nr_frames > y->nr_frames ? -1 : 1;
	return 0;
}

static int cmp_name(const void *a, const void *b, void *arg)
{
	const struct prof_name *n = arg;

	return strcmp(n[*(const uint32_t *)a].str, n[*(const uint32_t *)b].str);
}

struct open_frame {
	uint32_t name;
	int64_t x;
};

static void put_value(const struct fg *g, int64_t v)
{
	char buf[64];

	report_value(buf, sizeof(buf), v, g->unit, "auto");
	fputs(buf, g->out);
	if (!strcmp(g->unit, "count") || !g->unit[0]) {
		fputc(' ', g->out);
		put_xml(g->out, g->type, 64);
	}
}

/* A frame the walk found: counted, or drawn when counting is done. */
static void frame(struct fg *g, const char *name, bool kernel, uint32_t depth, int64_t x, int64_t w)
{
	FILE *f = g->out;
	double rx, rw, y;

	if ((double)w < g->min_w && depth)
		return; /* the root stays, even for an empty profile: zoom needs it */
	if (!f) {
		g->drawn++;
		if (depth > g->max_depth)
			g->max_depth = depth;
		return;
	}
	rx = PAD + x * g->px;
	rw = w * g->px;
	y = TOP + (double)(g->max_depth - depth) * ROW;
	fprintf(f, "<g class=\"f\" data-x=\"%lld\" data-w=\"%lld\" data-d=\"%u\"><title>",
		(long long)x, (long long)w, depth);
	put_xml(f, name, SIZE_MAX);
	fputs(" (", f);
	put_value(g, w);
	fprintf(f,
		", %.2f%%)</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.3f\" height=\"%d\" fill=\"",
		g->total ? 100.0 * w / g->total : 100.0, rx, y, g->total ? rw : WIDTH - 2 * PAD,
		ROW - 1);
	put_color(f, name, kernel, depth == 0);
	fputs("\"/>", f);
	/* no text on frames too narrow for one: the script adds it on zoom */
	if (rw - 6 >= 3 * CHAR_W) {
		fprintf(f, "<text x=\"%.2f\" y=\"%.1f\">", rx + 3, y + TEXT_DY);
		put_fitted(f, name, rw);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
}

static void close_frame(struct fg *g, const struct open_frame *o, uint32_t depth, int64_t end)
{
	const struct prof_name *n = &g->p->names[o->name];

	frame(g, n->str, n->kernel, depth, o->x, end - o->x);
}

/* Every frame, as runs of sorted samples sharing a stack prefix. Depth 0 is
 * the root ("all"); the frame at stack position d has depth d + 1. */
static void walk(struct fg *g, struct open_frame *open)
{
	const struct prof_sample *prev = NULL;
	int64_t x = 0;
	uint32_t d, common;
	size_t i;

	for (i = 0; i < g->nr_order; i++) {
		const struct prof_sample *s = &g->p->samples[g->order[i]];

		common = 0;
		if (prev) {
			while (common < prev->nr_frames && common < s->nr_frames &&
			       name_at(prev, common) == name_at(s, common))
				common++;
			for (d = prev->nr_frames; d > common; d--)
				close_frame(g, &open[d - 1], d, x);
		}
		for (d = common; d < s->nr_frames; d++)
			open[d] = (struct open_frame){ name_at(s, d), x };
		x += s->values[g->idx];
		prev = s;
	}
	for (d = prev ? prev->nr_frames : 0; d > 0; d--)
		close_frame(g, &open[d - 1], d, x);
	frame(g, "all", false, 0, 0, x);
}

/* --- the document -------------------------------------------------------- */

static const char script[] =
	"var svg = document.documentElement, frames = [], byG = new Map(), zoomed = null;\n"
	"var total = Number(svg.getAttribute('data-total'));\n"
	"var details = document.getElementById('details');\n"
	"var matched = document.getElementById('matched');\n"
	"var resetBtn = document.getElementById('reset');\n"
	"var searchBtn = document.getElementById('search');\n"
	"var term = null;\n"
	"\n"
	"function fit(f, x, w) {\n"
	"\tvar n = Math.floor((w - 6) / charW), s = '';\n"
	"\tif (n >= f.name.length) s = f.name;\n"
	"\telse if (n >= 3) s = f.name.substring(0, n - 2) + '..';\n"
	"\tif (!f.text) {\n"
	"\t\tif (!s) return;\n"
	"\t\tf.text = document.createElementNS('http://www.w3.org/2000/svg', 'text');\n"
	"\t\tf.text.setAttribute('y', Number(f.rect.getAttribute('y')) + textDy);\n"
	"\t\tf.g.appendChild(f.text);\n"
	"\t}\n"
	"\tf.text.setAttribute('x', (x + 3).toFixed(2));\n"
	"\tf.text.textContent = s;\n"
	"}\n"
	"\n"
	"/* Lays frame f out as seen from the frame z spanning the width. */\n"
	"function place(f, z) {\n"
	"\tvar k = width / z.w, x, w;\n"
	"\tvar inside = f.x >= z.x && f.x + f.w <= z.x + z.w && f.d >= z.d;\n"
	"\tvar above = f.d < z.d && f.x <= z.x && f.x + f.w >= z.x + z.w;\n"
	"\tf.g.style.display = inside || above ? '' : 'none';\n"
	"\tf.g.classList.toggle('anc', above);\n"
	"\tif (above) { x = pad; w = width; }\n"
	"\telse if (inside) { x = pad + (f.x - z.x) * k; w = f.w * k; }\n"
	"\telse return;\n"
	"\tf.rect.setAttribute('x', x.toFixed(2));\n"
	"\tf.rect.setAttribute('width', w.toFixed(3));\n"
	"\tfit(f, x, w);\n"
	"}\n"
	"\n"
	"function zoom(z) {\n"
	"\tif (!z.w) return;\n"
	"\tzoomed = z.d > 0 ? z : null;\n"
	"\tfor (var i = 0; i < frames.length; i++) place(frames[i], z);\n"
	"\tresetBtn.classList.toggle('off', !zoomed);\n"
	"}\n"
	"\n"
	"function reset() {\n"
	"\tzoom(root);\n"
	"}\n"
	"\n"
	"function percent(v) {\n"
	"\treturn (total ? 100 * v / total : 0).toFixed(2) + '%';\n"
	"}\n"
	"\n"
	"/* Highlights the frames whose name matches re; reports the share of the\n"
	" * total under them, nested matches counted once. */\n"
	"function search(re) {\n"
	"\tvar spans = [], sum = 0, end = -1;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i], hit = re !== null && f.d > 0 && re.test(f.name);\n"
	"\t\tf.rect.setAttribute('fill', hit ? 'rgb(224,64,224)' : f.fill);\n"
	"\t\tif (hit) spans.push(f);\n"
	"\t}\n"
	"\tspans.sort(function (a, b) { return a.x - b.x || b.w - a.w; });\n"
	"\tfor (var j = 0; j < spans.length; j++) {\n"
	"\t\tvar s = spans[j], e = s.x + s.w;\n"
	"\t\tif (s.x >= end) { sum += s.w; end = e; }\n"
	"\t\telse if (e > end) { sum += e - end; end = e; }\n"
	"\t}\n"
	"\tmatched.textContent = re === null ? '' : 'Matched: ' + percent(sum) +\n"
	"\t\t' (' + spans.length + ' frames)';\n"
	"\tsearchBtn.textContent = re === null ? 'Search' : 'Clear search';\n"
	"}\n"
	"\n"
	"function ask() {\n"
	"\tif (term !== null) { term = null; search(null); return; }\n"
	"\tvar t = prompt('Search frames (regular expression):', '');\n"
	"\tif (!t) return;\n"
	"\tvar re;\n"
	"\ttry { re = new RegExp(t); }\n"
	"\tcatch (e) { re = new RegExp(t.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); }\n"
	"\tterm = t;\n"
	"\tsearch(re);\n"
	"}\n"
	"\n"
	"var gs = document.getElementById('frames').getElementsByTagName('g'), root = null;\n"
	"for (var i = 0; i < gs.length; i++) {\n"
	"\tvar g = gs[i], t = g.getElementsByTagName('title')[0].textContent;\n"
	"\tvar f = {\n"
	"\t\tg: g, x: Number(g.getAttribute('data-x')), w: Number(g.getAttribute('data-w')),\n"
	"\t\td: Number(g.getAttribute('data-d')), name: t.substring(0, t.lastIndexOf(' (')),\n"
	"\t\ttitle: t, rect: g.getElementsByTagName('rect')[0],\n"
	"\t\ttext: g.getElementsByTagName('text')[0] || null\n"
	"\t};\n"
	"\tf.fill = f.rect.getAttribute('fill');\n"
	"\tif (f.d === 0) root = f;\n"
	"\tframes.push(f);\n"
	"\tbyG.set(g, f);\n"
	"}\n"
	"document.getElementById('frames').addEventListener('click', function (e) {\n"
	"\tvar f = byG.get(e.target.closest('g.f'));\n"
	"\tif (f) zoom(f);\n"
	"});\n"
	"document.getElementById('frames').addEventListener('mouseover', function (e) {\n"
	"\tvar f = byG.get(e.target.closest('g.f'));\n"
	"\tdetails.textContent = f ? f.title : ' ';\n"
	"});\n"
	"document.getElementById('frames').addEventListener('mouseout', function () {\n"
	"\tdetails.textContent = ' ';\n"
	"});\n"
	"resetBtn.addEventListener('click', reset);\n"
	"searchBtn.addEventListener('click', ask);\n"
	/* '/' searches, as in less and many web pages: Ctrl-F stays the
	 * browser's find */
	"window.addEventListener('keydown', function (e) {\n"
	"\tif (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey) {\n"
	"\t\te.preventDefault();\n"
	"\t\tterm = null;\n"
	"\t\task();\n"
	"\t} else if (e.key === 'Escape') {\n"
	"\t\tterm = null;\n"
	"\t\tsearch(null);\n"
	"\t\treset();\n"
	"\t}\n"
	"});\n"
	/* the window's width, at the drawing's proportions */
	"function fit() {\n"
	"\tvar svg = document.documentElement, vb = svg.viewBox.baseVal;\n"
	"\tif (!vb || !window.innerWidth) return;\n"
	"\tsvg.setAttribute('width', window.innerWidth);\n"
	"\tsvg.setAttribute('height', Math.round(window.innerWidth * vb.height / vb.width));\n"
	"}\n"
	"window.addEventListener('resize', fit);\n"
	"fit();\n";

static void put_script(FILE *f)
{
	fputs("<script type=\"text/ecmascript\"><![CDATA[\n", f);
	fprintf(f, "var pad = %d, width = %d, charW = %g, textDy = %g;\n", PAD, WIDTH - 2 * PAD,
		CHAR_W, TEXT_DY);
	fputs(script, f);
	fputs("]]></script>\n", f);
}

/* What the graph is of: pprofd's process (comm, pid) and its window's
 * start and length, else the file's name. */
static void put_title(FILE *f, const struct profile *p, const char *file)
{
	time_t t = (time_t)(p->time_nanos / 1000000000);
	char when[64] = "";
	struct tm tm;

	if (p->time_nanos > 0 && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), " %Y-%m-%d %H:%M:%S UTC", &tm);
	if (!p->pid) {
		put_xml(f, file, 80);
		return;
	}
	put_xml(f, p->comm && *p->comm ? p->comm : "?", 40);
	fprintf(f, " (pid %lld)%s", (long long)p->pid, when);
	if (when[0] && p->duration_nanos > 0)
		fprintf(f, ", %.0f s", p->duration_nanos / 1e9);
}

static void put_document(struct fg *g, struct open_frame *open, const char *file)
{
	FILE *f = g->out;
	int height = TOP + (g->max_depth + 1) * ROW + BOTTOM;
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;

	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" data-total=\"%lld\">\n",
		WIDTH, height, WIDTH, height, (long long)g->total);
	fputs("<style>\n"
	      "text { font-family: monospace; font-size: 11px; fill: #222; }\n"
	      "#title { font-size: 15px; font-family: sans-serif; }\n"
	      ".ctl { cursor: pointer; fill: #2458a8; font-size: 12px; }\n"
	      ".ctl:hover { text-decoration: underline; }\n"
	      ".off { opacity: 0.25; cursor: default; }\n"
	      "g.f { cursor: pointer; }\n"
	      "g.f text { pointer-events: none; }\n"
	      "g.f:hover rect { stroke: #333; stroke-width: 0.6; }\n"
	      "g.anc { opacity: 0.5; }\n"
	      "</style>\n",
	      f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f7f2\"/>\n", WIDTH,
		height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"22\" text-anchor=\"middle\">", WIDTH / 2);
	put_title(f, g->p, base);
	fputs(": ", f);
	put_xml(f, g->type, 40);
	fputs(", ", f);
	put_value(g, g->total);
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"reset\" class=\"ctl off\" x=\"%d\" y=\"22\">Reset zoom</text>\n",
		PAD);
	fprintf(f,
		"<text id=\"search\" class=\"ctl\" x=\"%d\" y=\"22\" text-anchor=\"end\">Search</text>\n",
		WIDTH - PAD);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", PAD, height - 9);
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
		WIDTH - PAD, height - 9);
	fputs("<g id=\"frames\">\n", f);
	walk(g, open);
	fputs("</g>\n", f);
	put_script(f);
	fputs("</svg>\n", f);
}

static int prepare(struct fg *g)
{
	const struct profile *p = g->p;
	uint32_t *by_name;
	size_t i;

	g->rank = calloc(p->nr_names + 1, sizeof(*g->rank));
	by_name = calloc(p->nr_names + 1, sizeof(*by_name));
	g->order = calloc(p->nr_samples + 1, sizeof(*g->order));
	if (!g->rank || !by_name || !g->order) {
		free(by_name);
		return -ENOMEM;
	}
	for (i = 0; i < p->nr_names; i++)
		by_name[i] = i;
	qsort_r(by_name, p->nr_names, sizeof(*by_name), cmp_name, p->names);
	for (i = 0; i < p->nr_names; i++)
		g->rank[by_name[i]] = i;
	free(by_name);

	/* only positive values can be drawn as widths */
	for (i = 0; i < p->nr_samples; i++) {
		int64_t v = p->samples[i].values[g->idx];

		if (v <= 0 || g->total > INT64_MAX - v)
			continue;
		g->total += v;
		g->order[g->nr_order++] = i;
		if (p->samples[i].nr_frames > g->max_frames)
			g->max_frames = p->samples[i].nr_frames;
	}
	qsort_r(g->order, g->nr_order, sizeof(*g->order), cmp_stack, g);
	return 0;
}

int flamegraph_write(const struct profile *p, int idx, const char *name, FILE *out)
{
	struct open_frame *open = NULL;
	struct fg g = { .p = p, .idx = idx }; /* no out: walks only count */
	int ret = -ENOMEM;

	g.unit = p->types[idx].unit;
	g.type = p->types[idx].type;
	if (prepare(&g) || !(open = calloc((size_t)g.max_frames + 1, sizeof(*open))))
		goto done;
	g.px = g.total ? (double)(WIDTH - 2 * PAD) / g.total : 0;
	for (g.min_w = MIN_PX / (g.px ? g.px : 1);; g.min_w *= 2) {
		g.drawn = 0;
		g.max_depth = 0;
		walk(&g, open);
		if (g.drawn <= MAX_DRAWN)
			break;
	}
	g.out = out;
	put_document(&g, open, name);
	ret = fflush(out) || ferror(out) ? -EIO : 0;
done:
	free(open);
	free(g.rank);
	free(g.order);
	return ret;
}
