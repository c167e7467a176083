/* SPDX-License-Identifier: MIT */
/*
 * Turns aggregated CPU samples of process images into a pprof profile of
 * the `cpu` kind (SPEC §4): symbolized user frames through the image's
 * mappings, kernel frames through kallsyms, labels pid/tid/comm/thread.
 */
#ifndef PPROFD_CPU_PROFILE_H
#define PPROFD_CPU_PROFILE_H

#include <stdint.h>

struct pprof;
struct procs;
struct image;
struct kallsyms;
struct stackagg;

/* A new, empty cpu profile. */
struct pprof *cpu_profile__new(unsigned hz, int64_t time_nanos, int64_t duration_nanos);
/* Adds every sample of agg, stacks of process image img, to p. 0 or -errno. */
int cpu_profile__add_image(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			   struct image *img, const struct stackagg *agg);

#endif
