/* SPDX-License-Identifier: MIT */
/*
 * A process image's mappings, for the process table (procs.c): sorted by
 * start, never overlapping. Each mapping owns its path and its references
 * to a symtab and an unwind table.
 */
#ifndef PPROFD_IMAGE_MAPS_H
#define PPROFD_IMAGE_MAPS_H

#include "procs.h"

#define MAX_MAPS_PER_IMAGE 8192

/* Frees n mappings and what they own. */
void image_maps__free(struct mapping *maps, unsigned n);
/* Room for n mappings in img: 0, -E2BIG past MAX_MAPS_PER_IMAGE, -ENOMEM. */
int image_maps__reserve(struct image *img, unsigned n);
/* Inserts nm (taking its path and references), trimming or splitting what
 * it overlaps: a new mmap over an old range replaces it, as in the kernel. */
int image_maps__insert(struct image *img, struct mapping *nm);
/* Puts nm[0..n) over img's mappings in one pass, as n inserts would (their
 * paths and references taken whatever the outcome; not the array); the
 * parts of the old ones the new ones do not cover stay. */
int image_maps__merge(struct image *img, struct mapping *nm, unsigned n);

#endif
