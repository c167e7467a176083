// SPDX-License-Identifier: MIT
/* Sharing the table walker's maps between BPF objects (unwind_fds.h). */
#include <bpf/libbpf.h>

#include "unwind_fds.h"

int unwind_fds__reuse(const struct unwind_fds *fds, struct bpf_map *pool, struct bpf_map *files,
		      struct bpf_map *procs)
{
	int err;

	if (!fds || fds->pool < 0 || fds->files < 0 || fds->procs < 0)
		return 0;
	if ((err = bpf_map__reuse_fd(pool, fds->pool)) || (err = bpf_map__reuse_fd(files, fds->files)) ||
	    (err = bpf_map__reuse_fd(procs, fds->procs)))
		return err;
	return 1;
}
