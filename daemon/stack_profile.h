/* SPDX-License-Identifier: MIT */
#ifndef PPROFD_STACK_PROFILE_H
#define PPROFD_STACK_PROFILE_H

#include <stdbool.h>

struct pprof;
struct procs;
struct image;
struct kallsyms;
struct stackagg;

/*
 * Adds every entry of agg (stacks of process image img) to p, each with as
 * many values as the profile has sample types. leaf_is_pc: the first user
 * frame is where the thread was (a CPU sample); otherwise every frame is a
 * return address (an allocation's caller) and is symbolized as the call
 * before it. 0 or -errno.
 */
int stack_profile__add(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
		       struct image *img, const struct stackagg *agg, bool leaf_is_pc);

#endif
