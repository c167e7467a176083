/* SPDX-License-Identifier: MIT */
#ifndef PPROFD_CPUS_H
#define PPROFD_CPUS_H

#include <stdbool.h>

/* Fills online[0..n) from /sys/devices/system/cpu/online; returns the number
 * of possible CPUs (array size used), or -errno. */
int online_cpus(bool **online);

#endif
