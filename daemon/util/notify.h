/* SPDX-License-Identifier: MIT */
/* systemd readiness (sd_notify protocol) without libsystemd: a datagram to
 * $NOTIFY_SOCKET; a no-op when it is not set. */
#ifndef PPROFD_NOTIFY_H
#define PPROFD_NOTIFY_H

#include <stdint.h>

int notify(const char *state);

/* The watchdog period systemd asks of this process (WatchdogSec=), in
 * microseconds; 0 when none. Send "WATCHDOG=1" at least twice a period. */
uint64_t notify_watchdog_usec(void);

#endif
