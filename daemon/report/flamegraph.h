/* SPDX-License-Identifier: MIT */
/*
 * A profile (profile_read.h) as a flame graph: a self-contained SVG with
 * its own script (hover for a frame's value, click to zoom, search by
 * name with its button or "/"), that fills the width of the window it is
 * shown in. pprofctl flamegraph's, and the daemon's page's.
 */
#ifndef PPROFD_FLAMEGRAPH_H
#define PPROFD_FLAMEGRAPH_H

#include <stdio.h>

struct profile;

/* Draws p's sample type idx on out, titled with p's process and window,
 * or name (a file's) when p does not say. 0, -ENOMEM, or -EIO when
 * writing out failed (errno). */
int flamegraph_write(const struct profile *p, int idx, const char *name, FILE *out);

#endif
