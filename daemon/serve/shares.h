/* SPDX-License-Identifier: MIT */
/*
 * Fair shares of a limited pool (concurrent requests, open connections):
 * each unprivileged peer (a uid, or a source address where the uid is not
 * known) holds at most per_peer slots, and unprivileged peers together at
 * most total - reserved, so that root (or CAP_SYS_PTRACE) always finds a
 * slot whatever other users do. Privileged peers are limited by the total
 * only.
 */
#ifndef PPROFD_SHARES_H
#define PPROFD_SHARES_H

#include <stdbool.h>
#include <stddef.h>

#define SHARES_PEER_MAX 48

struct shares;

/* A pool's limits as the config gives them. */
struct shares_limits {
	unsigned total, reserved, per_peer;
};

/* reserved < total, 1 <= per_peer <= total - reserved (config.c checks).
 * NULL on out of memory. */
struct shares *shares__new(unsigned total, unsigned reserved, unsigned per_peer);
void shares__free(struct shares *s);

/*
 * Takes one slot for peer (e.g. "uid 1000", "address 10.0.0.7"): 0, or
 * -ENOSPC every slot is taken, -EBUSY the unprivileged slots are taken,
 * -EUSERS this peer holds its share.
 */
int shares__take(struct shares *s, const char *peer, bool privileged);
/* Gives back a slot taken with the same peer and privileged. */
void shares__give(struct shares *s, const char *peer, bool privileged);
/* Why a take failed, for the client: "too many concurrent <what> ...". */
void shares__why(const struct shares *s, int err, const char *peer, const char *what, char *buf,
		 size_t len);
/* Slots held now. */
unsigned shares__used(const struct shares *s);

#endif
