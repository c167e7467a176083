/* SPDX-License-Identifier: MIT */
/* Small I/O helpers shared by the daemon and pprofctl. */
#ifndef PPROFD_FDIO_H
#define PPROFD_FDIO_H

#include <stdbool.h>
#include <stddef.h>

/* Writes all of buf, retrying short writes and EINTR. 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* The same on a socket with send(MSG_NOSIGNAL): a peer that closed is an
 * EPIPE to report, not a SIGPIPE that kills the writer without a word. */
int send_all(int fd, const void *buf, size_t len);

/* Reads fd to its end into *buf (malloc'ed, NUL-terminated; *len bytes
 * before the NUL); a regular file with one allocation, sized by fstat.
 * More than max bytes: -EFBIG, or with cut its first max bytes. 0 or
 * -errno; fd stays open. */
int read_to_end(int fd, size_t max, bool cut, char **buf, size_t *len);

#endif
