// SPDX-License-Identifier: MIT
/*
 * Values as pprof's reports print them (report_value.h): the unit tables
 * pprof knows (bytes, time, gCPU units), scaled to the best unit.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_value.h"

struct unit {
	const char *name;
	const char *aliases[4];
	double factor;
};

struct unit_type {
	const struct unit *units;
	size_t nr;
	struct unit def;
};

static const struct unit byte_units[] = {
	{ "B", { "b", "byte" }, 1 },
	{ "kB", { "kb", "kbyte", "kilobyte" }, 1024.0 },
	{ "MB", { "mb", "mbyte", "megabyte" }, 1048576.0 },
	{ "GB", { "gb", "gbyte", "gigabyte" }, 1073741824.0 },
	{ "TB", { "tb", "tbyte", "terabyte" }, 1099511627776.0 },
	{ "PB", { "pb", "pbyte", "petabyte" }, 1125899906842624.0 },
};

static const struct unit time_units[] = {
	{ "ns", { "ns", "nanosecond" }, 1 },    { "us", { "\xce\xbcs", "us", "microsecond" }, 1e3 },
	{ "ms", { "ms", "millisecond" }, 1e6 }, { "s", { "s", "sec", "second" }, 1e9 },
	{ "hrs", { "hour", "hr" }, 3600e9 },
};

static const struct unit gcu_units[] = {
	{ "n*GCU", { "nanogcu" }, 1e-9 },  { "u*GCU", { "microgcu" }, 1e-6 },
	{ "m*GCU", { "milligcu" }, 1e-3 }, { "GCU", { "gcu" }, 1 },
	{ "k*GCU", { "kilogcu" }, 1e3 },   { "M*GCU", { "megagcu" }, 1e6 },
	{ "G*GCU", { "gigagcu" }, 1e9 },   { "T*GCU", { "teragcu" }, 1e12 },
	{ "P*GCU", { "petagcu" }, 1e15 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct unit_type unit_types[] = {
	{ byte_units, N(byte_units), { "B", { 0 }, 1 } },
	{ time_units, N(time_units), { "s", { 0 }, 1e9 } },
	{ gcu_units, N(gcu_units), { "GCU", { 0 }, 1 } },
};

/* The unit a name stands for: lower-cased, one plural 's' dropped. */
static const struct unit *sniff(const struct unit_type *ut, const char *name)
{
	char low[32];
	size_t n = strlen(name), i, k;

	if (n >= sizeof(low))
		return NULL;
	for (i = 0; i < n; i++)
		low[i] = tolower((unsigned char)name[i]);
	if (n > 2 && low[n - 1] == 's')
		n--;
	low[n] = 0;
	for (i = 0; i < ut->nr; i++)
		for (k = 0; k < N(ut->units[i].aliases) && ut->units[i].aliases[k]; k++)
			if (!strcmp(ut->units[i].aliases[k], low))
				return &ut->units[i];
	return NULL;
}

static bool is_auto(const char *u)
{
	return !strcmp(u, "minimum") || !strcmp(u, "auto");
}

/* v in from_unit as a number of to_unit (or the best unit for "auto"). */
double report_scale(int64_t v, const char *from, const char *to, const char **unit)
{
	size_t t, i;

	if (v < 0 && v != INT64_MIN)
		return -report_scale(-v, from, to, unit);
	for (t = 0; t < N(unit_types); t++) {
		const struct unit_type *ut = &unit_types[t];
		const struct unit *fu = sniff(ut, from), *tu;
		double x, f = 0;

		if (!fu)
			continue;
		x = (double)v * fu->factor;
		if (is_auto(to)) {
			for (i = 0; i < ut->nr; i++) {
				if (ut->units[i].factor >= f && x / ut->units[i].factor >= 1.0) {
					f = ut->units[i].factor;
					*unit = ut->units[i].name;
				}
			}
			if (f)
				return x / f;
			*unit = ut->def.name;
			return x / ut->def.factor;
		}
		tu = sniff(ut, to);
		if (!tu)
			tu = &ut->def;
		*unit = tu->name;
		return x / tu->factor;
	}
	if (!strcmp(to, "count") || !strcmp(to, "sample") || !strcmp(to, "unit") || is_auto(to))
		*unit = "";
	else
		*unit = to;
	return (double)v;
}

void report_value(char *buf, size_t len, int64_t v, const char *from_unit, const char *to_unit)
{
	const char *unit;
	double x = report_scale(v, from_unit, to_unit, &unit);
	size_t n;

	snprintf(buf, len, "%.2f", x);
	n = strlen(buf);
	if (n > 3 && !strcmp(buf + n - 3, ".00"))
		buf[n - 3] = 0;
	if (!strcmp(buf, "0") || !strcmp(buf, "-0")) {
		snprintf(buf, len, "0");
		return;
	}
	n = strlen(buf);
	snprintf(buf + n, len - n, "%s", unit);
}

const char *report_unit(int64_t min, int64_t max, const char *unit)
{
	const char *min_unit, *max_unit, *u;

	if (!min)
		min = max;
	report_scale(min, unit, "minimum", &min_unit);
	report_scale(max, unit, "minimum", &max_unit);
	u = min_unit;
	/* a larger unit when the smallest value still shows as >= 0.01 of it */
	if (strcmp(min_unit, max_unit) && min <= INT64_MAX / 100 && min * 100 < max)
		report_scale(min * 100, unit, "minimum", &u);
	return u[0] ? u : unit;
}

void report_percent(char *buf, size_t len, int64_t v, int64_t total)
{
	double r = total ? fabs((double)v / (double)total) * 100 : 0;

	if (r >= 99.95 && r <= 100.05)
		snprintf(buf, len, "  100%%");
	else if (r >= 1.0)
		snprintf(buf, len, "%5.2f%%", r);
	else
		snprintf(buf, len, "%5.2g%%", r);
}
