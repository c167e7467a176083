/* SPDX-License-Identifier: MIT */
/* systemd readiness (sd_notify protocol) without libsystemd: a datagram to
 * $NOTIFY_SOCKET; a no-op when it is not set. */
#ifndef PPROFD_NOTIFY_H
#define PPROFD_NOTIFY_H

int notify(const char *state);

#endif
