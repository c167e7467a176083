/* SPDX-License-Identifier: MIT */
/*
 * The control socket (pprofctl's way in): a Unix stream socket, one request
 * and one reply per connection, each framed by a 4-byte big-endian length
 * (proto/control.proto). Non-blocking, on the daemon's event loop; every
 * message length-checked, every client timed out, the sender known from
 * SO_PEERCRED.
 */
#ifndef PPROFD_CONTROL_H
#define PPROFD_CONTROL_H

#include <stdint.h>

#define CONTROL_VERSION 1
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_REPLY (256u << 20)

struct control;
struct requests;
struct shares_limits;

/* Listens at path (a stale socket there is replaced; the directory is
 * created). Connections are shared fairly between uids (conns): a client
 * over its share is told so and closed. NULL + errno on failure. */
struct control *control__new(const char *path, int epfd, struct requests *r,
			     const struct shares_limits *conns);
void control__free(struct control *c);
/* At shutdown: gives the replies queued (requests' last results) up to ms
 * to go out. */
void control__flush(struct control *c, unsigned ms);
/* Closes the connections whose time is up. */
void control__tick(struct control *c);
uint64_t control__next_deadline(const struct control *c);

#endif
