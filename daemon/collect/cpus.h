/* SPDX-License-Identifier: MIT */
#ifndef PPROFD_CPUS_H
#define PPROFD_CPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills online[0..n) from /sys/devices/system/cpu/online; returns the number
 * of possible CPUs (array size used), or -errno. */
int online_cpus(bool **online);

/* out[0..nr) = the counters at byte offset off of a per-CPU array map's
 * element 0 (values of value_size bytes), summed over ncpus CPUs. 0, or
 * -ENOMEM (out zeroed; a failed lookup leaves them 0 too). */
int percpu_counters_sum(int map_fd, size_t value_size, size_t off, unsigned nr, int ncpus,
			uint64_t *out);

#endif
