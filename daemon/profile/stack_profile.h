/* SPDX-License-Identifier: MIT */
#ifndef PPROFD_STACK_PROFILE_H
#define PPROFD_STACK_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pprof;
struct procs;
struct image;
struct kallsyms;
struct stackagg;
struct pprof_label;

/*
 * Adds every entry of agg (stacks of process image img) to p, each with as
 * many values as the profile has sample types. leaf_is_pc: the first user
 * frame is where the thread was (a CPU sample); otherwise every frame is a
 * return address (an allocation's caller) and is symbolized as the call
 * before it. 0 or -errno.
 */
/* The labels of img's samples besides pid, tid, comm and thread: its
 * systemd unit (service) and container (container_id) where it has them.
 * How many were written into out (IMAGE_LABELS_MAX at most). */
#define IMAGE_LABELS_MAX 2
size_t image_labels(const struct image *img, struct pprof_label *out);

int stack_profile__add(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
		       struct image *img, const struct stackagg *agg, bool leaf_is_pc);

/* Before the samples of img: its executable goes in as the first mapping,
 * which pprof takes for the program. */
void stack_profile__begin_image(struct pprof *p, struct procs *procs, struct image *img);

/*
 * Adds one sample: frames[] holds nr_kframes kernel frames then nr_uframes
 * user frames of process image img, leaf first in each; leaf_is_pc as
 * above; as many values as sample types, and the labels given. 0 or -errno.
 */
int stack_profile__add_stack(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			     struct image *img, const uint64_t *frames, unsigned nr_kframes,
			     unsigned nr_uframes, bool leaf_is_pc, const int64_t *values,
			     const struct pprof_label *labels, size_t nr_labels);

#endif
