// SPDX-License-Identifier: MIT
/*
 * pprofctl top FILE: the text report of `go tool pprof -top`, computed the
 * same way so that the numbers agree: per function, flat (the sample's leaf)
 * and cum (anywhere on the stack, once per sample), nodes below
 * nodefraction of the total dropped, sorted by flat then name, and every
 * value in one unit chosen from the smallest and largest shown.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile_read.h"
#include "file_select.h"
#include "report.h"
#include "report_value.h"

/* Sums saturate: a hostile file must not make them overflow (undefined). */
static int64_t abs64(int64_t v)
{
	return v >= 0 ? v : v == INT64_MIN ? INT64_MAX : -v;
}

static void add(int64_t *sum, int64_t v)
{
	if (__builtin_add_overflow(*sum, v, sum))
		*sum = v < 0 ? INT64_MIN : INT64_MAX;
}

static int64_t to_int64(double d)
{
	if (d >= 9223372036854774784.0)
		return INT64_MAX;
	if (d <= -9223372036854774784.0)
		return INT64_MIN;
	return (int64_t)d;
}

/* Per name: its values, and for the inline label its in-edges' kinds. */
struct node {
	int64_t flat, cum;
	uint32_t stamp; /* last sample counted in cum, + 1 */
	bool kept, in_inline, in_call;
};

struct edge {
	uint64_t key; /* parent << 32 | child, + 1; 0 = free */
	int64_t weight;
	uint32_t stamp;
	bool inline_;
};

struct edges {
	struct edge *slots;
	size_t mask, nr;
};

static struct edge *edge_get(struct edges *e, uint32_t parent, uint32_t child, bool *created)
{
	uint64_t key = ((uint64_t)parent << 32 | child) + 1;
	size_t i;

	if ((e->nr + 1) * 2 > e->mask + 1) {
		size_t nmask = e->mask ? e->mask * 2 + 1 : 1023, k;
		struct edge *ns = calloc(nmask + 1, sizeof(*ns));

		if (!ns)
			return NULL;
		for (k = 0; e->slots && k <= e->mask; k++) {
			if (!e->slots[k].key)
				continue;
			i = (e->slots[k].key * 0x9e3779b97f4a7c15ull >> 20) & nmask;
			while (ns[i].key)
				i = (i + 1) & nmask;
			ns[i] = e->slots[k];
		}
		free(e->slots);
		e->slots = ns;
		e->mask = nmask;
	}
	for (i = (key * 0x9e3779b97f4a7c15ull >> 20) & e->mask; e->slots[i].key;
	     i = (i + 1) & e->mask)
		if (e->slots[i].key == key)
			return &e->slots[i];
	e->slots[i].key = key;
	e->nr++;
	*created = true;
	return &e->slots[i];
}

struct top {
	const struct profile *p;
	int idx;
	struct node *nodes;
	uint32_t *order; /* ids of the nodes shown */
	size_t nr_order;
	int64_t total; /* sum of |value| over all samples */
};

static const char *name_of(const struct top *t, uint32_t id)
{
	return t->p->names[id].str;
}

static int cmp_node(const void *a, const void *b, void *arg)
{
	const struct top *sort_top = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct node *nx = &sort_top->nodes[x], *ny = &sort_top->nodes[y];
	int c;

	if (abs64(nx->flat) != abs64(ny->flat))
		return abs64(nx->flat) > abs64(ny->flat) ? -1 : 1;
	c = strcmp(name_of(sort_top, x), name_of(sort_top, y));
	if (c)
		return c;
	if (abs64(nx->cum) != abs64(ny->cum))
		return abs64(nx->cum) > abs64(ny->cum) ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* flat and cum of every name; the total. */
static void count(struct top *t)
{
	const struct profile *p = t->p;
	size_t i, j;

	for (i = 0; i < p->nr_samples; i++) {
		const struct prof_sample *s = &p->samples[i];
		int64_t w = s->values[t->idx];

		if (!w)
			continue;
		add(&t->total, abs64(w));
		for (j = 0; j < s->nr_frames; j++) {
			struct node *n = &t->nodes[PROF_NAME(s->frames[j])];

			if (n->stamp != i + 1) {
				n->stamp = i + 1;
				add(&n->cum, w);
			}
		}
		if (s->nr_frames)
			add(&t->nodes[PROF_NAME(s->frames[0])].flat, w);
	}
}

/*
 * Which kept nodes are only ever reached as inline frames: pprof's graph
 * edges between kept nodes (over dropped ones), each counted once per
 * sample, inline only if always inline, the lightest ones trimmed.
 */
static int inline_labels(struct top *t, int64_t edge_cutoff)
{
	const struct profile *p = t->p;
	struct edges e = { 0 };
	size_t i, k;

	for (i = 0; i < p->nr_samples; i++) {
		const struct prof_sample *s = &p->samples[i];
		int64_t w = s->values[t->idx];
		uint32_t parent = UINT32_MAX;

		if (!w)
			continue;
		for (k = s->nr_frames; k-- > 0;) {
			uint32_t id = PROF_NAME(s->frames[k]);
			bool inl = s->frames[k] & PROF_INLINE, created = false;
			struct edge *ed;

			if (!t->nodes[id].kept)
				continue;
			if (parent != UINT32_MAX && parent != id) {
				ed = edge_get(&e, parent, id, &created);
				if (!ed) {
					free(e.slots);
					return -ENOMEM;
				}
				if (created) {
					ed->inline_ = inl;
				}
				if (ed->stamp != i + 1) {
					ed->stamp = i + 1;
					add(&ed->weight, w);
					if (!inl)
						ed->inline_ = false;
				}
			}
			parent = id;
		}
	}
	for (k = 0; e.slots && k <= e.mask; k++) {
		const struct edge *ed = &e.slots[k];
		struct node *child;

		if (!ed->key || abs64(ed->weight) < edge_cutoff)
			continue;
		child = &t->nodes[(uint32_t)(ed->key - 1)];
		if (ed->inline_)
			child->in_inline = true;
		else
			child->in_call = true;
	}
	free(e.slots);
	return 0;
}

static void print_time(int64_t ns)
{
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t sec = ns / 1000000000 - (ns % 1000000000 < 0);
	struct tm tm;
	int h;

	if (!localtime_r(&sec, &tm))
		return;
	h = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
	printf("Time: %s %d, %d at %d:%02d%s (%s)\n", months[tm.tm_mon % 12], tm.tm_mday,
	       tm.tm_year + 1900, h, tm.tm_min, tm.tm_hour < 12 ? "am" : "pm",
	       tm.tm_zone ? tm.tm_zone : "UTC");
}

static void print_header(const struct top *t, const char *unit, const char *out_unit)
{
	const struct profile *p = t->p;
	char v[64], d[64], pc[32];
	size_t i;

	if (p->main_file)
		printf("File: %s\n", p->main_file);
	if (p->build_id)
		printf("Build ID: %s\n", p->build_id);
	for (i = 0; i < p->nr_comments; i++)
		if (p->comments[i][0] != '#')
			printf("%s\n", p->comments[i]);
	printf("Type: %s\n", p->types[t->idx].type);
	if (p->time_nanos)
		print_time(p->time_nanos);
	if (p->duration_nanos) {
		const char *u;
		double ns = report_scale(t->total, unit, "nanoseconds", &u);

		report_value(d, sizeof(d), p->duration_nanos, "nanoseconds", "auto");
		report_value(v, sizeof(v), t->total, unit, out_unit);
		if (!strcmp(u, "ns") && ns) {
			report_percent(pc, sizeof(pc), to_int64(ns), p->duration_nanos);
			printf("Duration: %s, Total samples = %s (%s)\n", d, v, pc);
		} else {
			printf("Duration: %s, Total samples = %s\n", d, v);
		}
	}
}

static void top_usage(FILE *f)
{
	fprintf(f,
		"Usage: pprofctl top FILE...|--comm NAME [--since 1h] [--sample-index=NAME|N] [--nodecount=N] [--nodefraction=F]\n\n"
		"A text report of a profile file (gzip-compressed or plain pprof), as\n"
		"`go tool pprof -top` prints it: flat and cumulative value per function.\n"
		"Several files (the windows pprofd wrote of a process) are merged into one\n"
		"report, as go tool pprof merges them.\n\n"
		"  --sample-index=NAME|N  the sample type to report (default: the profile's\n"
		"                         default type, else its last)\n"
		"  --nodecount=N          show at most N functions (default: all)\n"
		"  --nodefraction=F       hide functions below F of the total (default 0.005)\n" FILE_SELECT_USAGE
		"  --help                 this text\n");
}

static int parse_count(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !*s || *end || errno || *out < 0 ? -EINVAL : 0;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sample-index", required_argument, NULL, 's' },
		{ "sample_index", required_argument, NULL, 's' },
		{ "nodecount", required_argument, NULL, 'n' },
		{ "nodefraction", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		FILE_SELECT_OPTIONS,
		{ 0 },
	};
	struct file_select fs = { 0 };
	const char *sel = NULL, *unit, *out_unit, *what;
	double nodefraction = 0.005;
	long nodecount = 0;
	struct top t = { 0 };
	struct profile *p;
	size_t i, n_all = 0, n_kept = 0, dropped;
	int64_t flat_all = 0, flat_shown = 0, min = 0, sum = 0, cutoff, edge_cutoff;
	char err[512], a[64], b[64], c[64], d[32], e[32], f[32];
	int opt, ret = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = file_select__opt(&fs, opt, optarg, err, sizeof(err));

		if (r) {
			if (r > 0)
				continue;
			fprintf(stderr, "pprofctl top: %s\n", err);
			return 2;
		}
		switch (opt) {
		case 's':
			sel = optarg;
			break;
		case 'n':
			if (parse_count(optarg, &nodecount)) {
				fprintf(stderr,
					"pprofctl top: --nodecount wants a number >= 0, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'f': {
			char *end;

			nodefraction = strtod(optarg, &end);
			if (!*optarg || *end || !(nodefraction >= 0 && nodefraction <= 1)) {
				fprintf(stderr,
					"pprofctl top: --nodefraction wants a number in [0, 1], not '%s'\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'h':
			top_usage(stdout);
			return 0;
		default:
			top_usage(stderr);
			return 2;
		}
	}
	if (file_select__check(&fs, argc - optind, err, sizeof(err))) {
		fprintf(stderr, "pprofctl top: %s (see pprofctl top --help)\n", err);
		return 2;
	}
	what = optind < argc ? argv[optind] : fs.comm ? fs.comm : "the files selected";
	if (file_select__read(&fs, argc - optind, argv + optind, &p, err, sizeof(err))) {
		fprintf(stderr, "pprofctl top: %s\n", err);
		return 1;
	}
	t.p = p;
	t.idx = profile_sample_index(p, sel, err, sizeof(err));
	if (t.idx < 0) {
		fprintf(stderr, "pprofctl top: %s: %s\n", what, err);
		goto out;
	}
	unit = p->types[t.idx].unit;
	t.nodes = calloc(p->nr_names + 1, sizeof(*t.nodes));
	t.order = calloc(p->nr_names + 1, sizeof(*t.order));
	if (!t.nodes || !t.order) {
		fprintf(stderr, "pprofctl top: out of memory\n");
		goto out;
	}
	count(&t);

	for (i = 0; i < p->nr_names; i++) {
		if (t.nodes[i].flat || t.nodes[i].cum) {
			add(&flat_all, t.nodes[i].flat);
			n_all++;
		}
	}
	cutoff = abs64(to_int64((double)flat_all * nodefraction));
	edge_cutoff = abs64(to_int64((double)flat_all * 0.001));
	for (i = 0; i < p->nr_names; i++) {
		const struct node *n = &t.nodes[i];

		if ((n->flat || n->cum) && abs64(n->cum) >= cutoff)
			t.order[t.nr_order++] = i;
	}
	n_kept = t.nr_order;
	dropped = n_all - n_kept;
	qsort_r(t.order, t.nr_order, sizeof(*t.order), cmp_node, &t);
	if (nodecount > 0 && (size_t)nodecount < t.nr_order)
		t.nr_order = nodecount;
	for (i = 0; i < t.nr_order; i++) {
		struct node *n = &t.nodes[t.order[i]];
		int64_t v = abs64(n->flat) ? abs64(n->flat) : abs64(n->cum);

		n->kept = true;
		add(&flat_shown, n->flat);
		if (v && (!min || v < min))
			min = v;
	}
	if (inline_labels(&t, edge_cutoff)) {
		fprintf(stderr, "pprofctl top: out of memory\n");
		goto out;
	}
	out_unit = t.nr_order ? report_unit(min, t.total, unit) : unit;

	print_header(&t, unit, out_unit);
	report_value(a, sizeof(a), flat_shown, unit, out_unit);
	report_percent(d, sizeof(d), flat_shown, t.total);
	report_value(b, sizeof(b), t.total, unit, out_unit);
	printf("Showing nodes accounting for %s, %s of %s total\n", a, d + strspn(d, " "), b);
	if (t.total && dropped) {
		report_value(a, sizeof(a), abs64(to_int64((double)t.total * nodefraction)), unit,
			     out_unit);
		printf("Dropped %zu node%s (cum <= %s)\n", dropped, dropped > 1 ? "s" : "", a);
	}
	if (t.total && t.nr_order && t.nr_order < n_kept)
		printf("Showing top %zu nodes out of %zu\n", t.nr_order, n_kept);
	printf("%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
	for (i = 0; i < t.nr_order; i++) {
		const struct node *n = &t.nodes[t.order[i]];

		add(&sum, n->flat);
		report_value(a, sizeof(a), n->flat, unit, out_unit);
		report_percent(d, sizeof(d), n->flat, t.total);
		report_percent(e, sizeof(e), sum, t.total);
		report_value(c, sizeof(c), n->cum, unit, out_unit);
		report_percent(f, sizeof(f), n->cum, t.total);
		printf("%10s %s %s %10s %s  %s%s\n", a, d, e, c, f, name_of(&t, t.order[i]),
		       !n->in_inline ? ""
		       : n->in_call  ? " (partial-inline)"
				     : " (inline)");
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "pprofctl top: cannot write the report: %s\n", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(t.nodes);
	free(t.order);
	profile_free(p);
	return ret;
}
