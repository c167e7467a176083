/* SPDX-License-Identifier: MIT */
/*
 * Opening files on behalf of a process (issue 12). A path from a process
 * (its maps, its .gnu_debuglink) is the user's to choose: what it names
 * must never block the daemon, never be opened unless it is a regular file
 * (opening a FIFO or a device has effects), and never lead root's open out
 * of where the path belongs through the user's symlinks.
 */
#ifndef PPROFD_SAFE_OPEN_H
#define PPROFD_SAFE_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Opens path (absolute) read-only as a regular file, or fails without ever
 * opening anything else (-EINVAL: not a regular file). The walk uses O_PATH
 * and the file is opened only once fstat says it is regular, by its fd, so
 * nothing can be swapped in between; O_NONBLOCK all the same.
 *
 * root is a process's root ("/proc/PID/root"), NULL or "/" the host's:
 * path resolves inside it, and only symlinks owned by the root directory's
 * owner are followed (-ELOOP for any other), so a user's link cannot point
 * root at another user's file, a FIFO or a device. Returns the fd, or
 * -errno.
 */
int safe_open(const char *root, const char *path);

/* Opens a magic link of /proc (map_files, exe) if it is a regular file,
 * on the same terms. Returns the fd, or -errno. */
int safe_open_proc(const char *path);

/* Opens an O_PATH fd's file for reading if it is a regular file; takes
 * (closes) pathfd. Returns the fd, or -errno. */
int safe_reopen(int pathfd);

/*
 * Reads a whole regular file (procfs files are), at most max bytes; a
 * longer one is cut at max when cut is set, else -EFBIG. *buf is
 * NUL-terminated. 0, or -errno (-EINVAL: not a regular file).
 */
int read_file(const char *path, size_t max, bool cut, char **buf, size_t *len);
/* read_file() of /proc/PID/NAME. */
int read_proc(uint32_t pid, const char *name, size_t max, bool cut, char **buf, size_t *len);
/* /proc/PID/comm without its newline into comm (size bytes); "" when it
 * cannot be read (gone). */
void read_proc_comm(uint32_t pid, char *comm, size_t size);

#endif
