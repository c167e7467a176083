/* SPDX-License-Identifier: MIT */
/* Whether a process is one a heap_target / lock_target line names. */
#ifndef PPROFD_TARGET_MATCH_H
#define PPROFD_TARGET_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* comm: the process's name when known (NULL: read from /proc). exe: the
 * path of /proc/PID/exe; cgroup: the v2 cgroup or one of its parents. */
bool target_matches(const struct config_target *t, uint32_t pid, const char *comm);
/* Whether one of the n targets names it. */
bool targets_match(const struct config_target *t, size_t n, uint32_t pid, const char *comm);
/* Calls fn for every process running now (a /proc scan). */
void for_each_process(void (*fn)(void *ctx, uint32_t pid), void *ctx);

#endif
