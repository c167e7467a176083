/* SPDX-License-Identifier: MIT */
/* Whether a process is one a heap_target / lock_target line names. */
#ifndef PPROFD_TARGET_MATCH_H
#define PPROFD_TARGET_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* comm: the process's name when known (NULL: read from /proc). exe: the
 * path of /proc/PID/exe; cgroup: the v2 cgroup or one of its parents. */
bool target_matches(const struct config_target *t, uint32_t pid, const char *comm);

#endif
