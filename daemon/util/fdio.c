// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

static int put_all(int fd, const void *buf, size_t len, bool sock)
{
	const char *p = buf;

	while (len) {
		ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	return put_all(fd, buf, len, false);
}

int send_all(int fd, const void *buf, size_t len)
{
	return put_all(fd, buf, len, true);
}

int read_to_end(int fd, size_t max, bool cut, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	struct stat st;
	char *b = NULL;

	/* A regular file's size, a hint only (it may change under us): its
	 * bytes, the NUL and the read that finds its end in one allocation.
	 * A pipe's buffer grows. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size < max ? (size_t)st.st_size + 2 : max + 2;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || !b) {
			char *nb;

			if (b)
				cap = cap > max / 2 ? max + 2 : cap * 2;
			if (cap > max + 2)
				cap = max + 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		/* one byte past max at most, to tell a file of max bytes from a longer one */
		r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -errno;
		}
		n += r;
		if (!r || n > max)
			break;
	}
	if (n > max) {
		if (!cut) {
			free(b);
			return -EFBIG;
		}
		n = max;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
