/* SPDX-License-Identifier: MIT */
/*
 * Whether a local client may read every process (SPEC §5: root or
 * CAP_SYS_PTRACE): its uid is 0, or it holds CAP_SYS_PTRACE in pprofd's own
 * user namespace (a capability in a namespace the user made is nothing).
 */
#ifndef PPROFD_PEER_PRIV_H
#define PPROFD_PEER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The client at the other end of the Unix socket fd, whose uid is uid
 * (SO_PEERCRED). False when anything cannot be told. */
bool unix_peer_privileged(int fd, uid_t uid);

#endif
