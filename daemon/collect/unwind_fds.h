/* SPDX-License-Identifier: MIT */
/*
 * The table walker's BPF maps (bpf/unwind_maps.h, and the row cache of
 * bpf/unwind.bpf.h) are made once, by the CPU sampler's object; every other
 * object that walks stacks (heap, mutex, block: they include
 * bpf/unwind.bpf.h) uses the same maps, so a table is loaded once and a
 * row found once for every kind.
 */
#ifndef PPROFD_UNWIND_FDS_H
#define PPROFD_UNWIND_FDS_H

struct bpf_object;

/* The maps' fds (-1: the tables are off). */
struct unwind_fds {
	int pool, files, procs, row_cache;
};

/* obj's walker maps' fds (after its load). */
struct unwind_fds unwind_fds__of(const struct bpf_object *obj);

/*
 * Makes an object's walker maps the ones in fds: called between its open
 * and its load. Returns 1 when the tables are on (set its use_tables), 0
 * when they are off (fds NULL or -1), or -errno.
 */
int unwind_fds__reuse(const struct unwind_fds *fds, struct bpf_object *obj);

#endif
