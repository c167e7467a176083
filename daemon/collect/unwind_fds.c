// SPDX-License-Identifier: MIT
/* Sharing the table walker's maps between BPF objects (unwind_fds.h). */
#include <errno.h>
#include <stddef.h>

#include <bpf/libbpf.h>

#include "unwind_fds.h"

/* Each map by its name in every object that includes bpf/unwind.bpf.h. */
static const struct {
	const char *name;
	size_t fd; /* offset in struct unwind_fds */
} maps[] = {
	{ "unwind_pool", offsetof(struct unwind_fds, pool) },
	{ "unwind_files", offsetof(struct unwind_fds, files) },
	{ "unwind_procs", offsetof(struct unwind_fds, procs) },
	{ "unwind_row_cache", offsetof(struct unwind_fds, row_cache) },
};
#define NR_MAPS (sizeof(maps) / sizeof(maps[0]))
_Static_assert(sizeof(struct unwind_fds) == NR_MAPS * sizeof(int), "every fd has its map");

static int *fd_in(struct unwind_fds *fds, unsigned i)
{
	return (int *)((char *)fds + maps[i].fd);
}

struct unwind_fds unwind_fds__of(const struct bpf_object *obj)
{
	struct unwind_fds fds;

	for (unsigned i = 0; i < NR_MAPS; i++) {
		const struct bpf_map *m = bpf_object__find_map_by_name(obj, maps[i].name);

		*fd_in(&fds, i) = m ? bpf_map__fd(m) : -1;
	}
	return fds;
}

int unwind_fds__reuse(const struct unwind_fds *fds, struct bpf_object *obj)
{
	struct unwind_fds f;
	int err;

	if (!fds)
		return 0;
	f = *fds;
	for (unsigned i = 0; i < NR_MAPS; i++)
		if (*fd_in(&f, i) < 0)
			return 0;
	for (unsigned i = 0; i < NR_MAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, maps[i].name);

		if (!m)
			return -ENOENT;
		if ((err = bpf_map__reuse_fd(m, *fd_in(&f, i))))
			return err;
	}
	return 1;
}
