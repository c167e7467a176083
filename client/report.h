/* SPDX-License-Identifier: MIT */
/* pprofctl's offline reports on a profile file: top and flamegraph. */
#ifndef PPROFCTL_REPORT_H
#define PPROFCTL_REPORT_H

#include <stddef.h>
#include <stdint.h>

int cmd_top(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);

#endif
