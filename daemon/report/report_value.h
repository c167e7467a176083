/* SPDX-License-Identifier: MIT */
/* Values and shares as pprof's reports print them: pprofctl top's, and
 * the flame graphs' (pprofctl's and the daemon's page). */
#ifndef PPROFD_REPORT_VALUE_H
#define PPROFD_REPORT_VALUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Values as pprof prints them: v (in from_unit) scaled to to_unit, or to
 * the best unit when to_unit is "auto" ("1.50MB", "20ms", plain counts).
 */
void report_value(char *buf, size_t len, int64_t v, const char *from_unit, const char *to_unit);
/* v in from_unit as a number of to_unit, or of the best unit for "auto";
 * *unit the unit's name as pprof prints it. */
double report_scale(int64_t v, const char *from_unit, const char *to_unit, const char **unit);
/* The unit pprof's reports use for values from min to max ("minimum"). */
const char *report_unit(int64_t min, int64_t max, const char *unit);
/* "12.34%", " 0.5%", "  100%": pprof's percentages, 6 columns wide. */
void report_percent(char *buf, size_t len, int64_t v, int64_t total);

#endif
