/* SPDX-License-Identifier: MIT */
/* pprofctl's offline reports on a profile file: top and flamegraph. */
#ifndef PPROFCTL_REPORT_H
#define PPROFCTL_REPORT_H

#include <stddef.h>
#include <stdint.h>

int cmd_top(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);

/*
 * Values as pprof prints them: v (in from_unit) scaled to to_unit, or to
 * the best unit when to_unit is "auto" ("1.50MB", "20ms", plain counts).
 */
void report_value(char *buf, size_t len, int64_t v, const char *from_unit, const char *to_unit);
/* The unit pprof's reports use for values from min to max ("minimum"). */
const char *report_unit(int64_t min, int64_t max, const char *unit);
/* "12.34%", " 0.5%", "  100%": pprof's percentages, 6 columns wide. */
void report_percent(char *buf, size_t len, int64_t v, int64_t total);

#endif
