// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "safe_open.h"

#define LINKS_MAX 40 /* as the kernel's own limit on a path's symlinks */
#define READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

int safe_reopen(int pathfd)
{
	char self[64];
	struct stat st;
	int fd, err;

	if (pathfd < 0)
		return pathfd;
	if (fstat(pathfd, &st)) {
		err = -errno;
		close(pathfd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(pathfd);
		return -EINVAL;
	}
	/* Through /proc/self/fd: the very inode checked, not the path again. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	fd = open(self, READ_FLAGS);
	err = fd < 0 ? -errno : fd;
	close(pathfd);
	return err;
}

int safe_open_proc(const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC);

	return safe_reopen(fd < 0 ? -errno : fd);
}

static bool is_host_root(const char *root)
{
	return !root || !root[0] || !strcmp(root, "/");
}

/* The next component of *p (skipping slashes) into comp; false at the end. */
static bool next_component(const char **p, char *comp, size_t size)
{
	const char *s = *p, *e;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	e = strchrnul(s, '/');
	if ((size_t)(e - s) >= size)
		return false;
	memcpy(comp, s, e - s);
	comp[e - s] = '\0';
	*p = e;
	return true;
}

static bool at_end(const char *p)
{
	while (*p == '/')
		p++;
	return !*p;
}

/*
 * path inside the directory rootfd, one component at a time with
 * O_NOFOLLOW: a symlink is followed only when the root directory's owner
 * owns it (root's on the host: /lib, the alternatives; the container's
 * root user's in a container), since any user may make one wherever it
 * can write. Absolute links and ".." stay inside rootfd. Ends with an
 * O_PATH fd of the last component; takes rootfd.
 */
static int walk(int rootfd, const char *path)
{
	char comp[NAME_MAX + 1], rest[2 * PATH_MAX], target[PATH_MAX];
	struct stat rst, st;
	const char *p;
	int dfd, links = 0, err;

	err = fstat(rootfd, &rst) ? -errno : strlen(path) >= sizeof(rest) ? -ENAMETOOLONG : 0;
	if (err) {
		close(rootfd);
		return err;
	}
	strcpy(rest, path);
	p = rest;
	dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0) {
		close(rootfd);
		return -errno;
	}
	while (next_component(&p, comp, sizeof(comp))) {
		bool last = at_end(p);
		ssize_t n;
		int fd;

		if (!strcmp(comp, "..") && !fstat(dfd, &st) && st.st_dev == rst.st_dev &&
		    st.st_ino == rst.st_ino)
			continue; /* ".." of the root is the root */
		fd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			err = -errno;
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			if (st.st_uid != rst.st_uid || ++links > LINKS_MAX) {
				close(fd);
				err = -ELOOP;
				goto fail;
			}
			n = readlinkat(fd, "", target, sizeof(target));
			close(fd);
			if (n <= 0 || (size_t)n >= sizeof(target) ||
			    (size_t)n + 1 + strlen(p) >= sizeof(rest)) {
				err = n < 0 ? -errno : -ENAMETOOLONG;
				goto fail;
			}
			/* rest becomes target + what followed the link */
			memmove(rest + n + 1, p, strlen(p) + 1);
			memcpy(rest, target, n);
			rest[n] = '/';
			p = rest;
			if (target[0] == '/') {
				close(dfd);
				dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
				if (dfd < 0) {
					err = -errno;
					goto out;
				}
			}
			continue;
		}
		close(dfd);
		dfd = fd;
		if (last)
			break;
		if (!S_ISDIR(st.st_mode)) {
			err = -ENOTDIR;
			goto fail;
		}
	}
	close(rootfd);
	return dfd; /* also "/" itself, or a path ending in a link to a directory */
fail:
	close(dfd);
out:
	close(rootfd);
	return err;
}

int safe_open(const char *root, const char *path)
{
	int rfd;

	if (!path || path[0] != '/')
		return -EINVAL;
	rfd = open(is_host_root(root) ? "/" : root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	return safe_reopen(walk(rfd, path));
}

int read_file(const char *path, size_t max, bool cut, char **buf, size_t *len)
{
	struct stat st;
	int fd, err;

	fd = open(path, READ_FLAGS);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else
		err = read_to_end(fd, max, cut, buf, len);
	close(fd);
	return err;
}

int read_proc(uint32_t pid, const char *name, size_t max, bool cut, char **buf, size_t *len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	return read_file(path, max, cut, buf, len);
}

void read_proc_comm(uint32_t pid, char *comm, size_t size)
{
	char *text;
	size_t len;

	comm[0] = 0;
	if (!size || read_proc(pid, "comm", 64, true, &text, &len))
		return;
	if (len && text[len - 1] == '\n')
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(comm, text, len);
	comm[len] = 0;
	free(text);
}
