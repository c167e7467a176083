/* SPDX-License-Identifier: MIT */
/*
 * Who owns the other end of a loopback TCP connection: the kernel's socket
 * diagnostics (NETLINK_SOCK_DIAG, inet_diag) look up the client's socket by
 * its exact 4-tuple and report the uid that created it.
 */
#ifndef PPROFD_PEER_UID_H
#define PPROFD_PEER_UID_H

#include <sys/socket.h>
#include <sys/types.h>

/*
 * local/remote: our accepted socket's addresses (getsockname/getpeername),
 * IPv4 or IPv6 (v4-mapped allowed). Both must be loopback. Returns 0 with
 * *uid set, or -errno: -EADDRNOTAVAIL not loopback, -EAFNOSUPPORT other
 * families, -ENOENT no such established socket (the client went away).
 */
int tcp_peer_uid(const struct sockaddr *local, const struct sockaddr *remote, uid_t *uid);

#endif
