/* SPDX-License-Identifier: MIT */
/* Small I/O helpers shared by the daemon and pprofctl. */
#ifndef PPROFD_FDIO_H
#define PPROFD_FDIO_H

#include <stddef.h>

/* Writes all of buf, retrying short writes and EINTR. 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* The same on a socket with send(MSG_NOSIGNAL): a peer that closed is an
 * EPIPE to report, not a SIGPIPE that kills the writer without a word. */
int send_all(int fd, const void *buf, size_t len);

#endif
