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

#include <stddef.h>
#include <stdint.h>

#include "requests.h"

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

/*
 * Internal, exposed for the fuzzer: the framing and the decoding of a
 * request as pure functions of the bytes received. Not for other modules.
 */
enum control_frame {
	CONTROL_FRAME_PARTIAL,   /* more bytes needed */
	CONTROL_FRAME_WHOLE,     /* a whole message: *msg_len bytes after the header */
	CONTROL_FRAME_TOO_LARGE, /* its length is over CONTROL_MAX_REQUEST */
};

/* Where a request's frame stands once in[0..len) has been received. */
enum control_frame control__frame(const uint8_t *in, size_t len, size_t *msg_len);

enum control_action { CONTROL_ERROR, CONTROL_STATUS, CONTROL_PROFILE };

struct control_parsed {
	enum control_action action;
	unsigned code;            /* CONTROL_ERROR: 400 or 505 */
	char message[128];        /* CONTROL_ERROR: for the client */
	struct req_params params; /* CONTROL_PROFILE: all but peer */
};

/* Decodes and checks one request message (a frame's payload). */
void control__parse_request(const uint8_t *msg, size_t len, struct control_parsed *out);

#endif
