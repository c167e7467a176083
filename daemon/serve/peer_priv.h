/* SPDX-License-Identifier: MIT */
/*
 * What a client may profile (SPEC §5): every process when it is
 * privileged, root or CAP_SYS_PTRACE (its uid is 0, or it holds
 * CAP_SYS_PTRACE in pprofd's own user namespace: a capability in a
 * namespace the user made is nothing); else the processes of its uid.
 */
#ifndef PPROFD_PEER_PRIV_H
#define PPROFD_PEER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Who asks: decides what may be profiled (SPEC §5). */
struct req_peer {
	bool known; /* false: unknown sender, treated as unprivileged */
	uid_t uid;
	bool privileged; /* root or CAP_SYS_PTRACE */
};

/* Whether peer may profile pid: as PTRACE_MODE_READ would allow (SPEC
 * §5), root or CAP_SYS_PTRACE, or the uid of every uid of the process. An
 * unknown peer may read nothing. */
bool peer_may_read(const struct req_peer *peer, uint32_t pid);

/* The client at the other end of the Unix socket fd, whose uid is uid
 * (SO_PEERCRED). False when anything cannot be told. */
bool unix_peer_privileged(int fd, uid_t uid);

#endif
