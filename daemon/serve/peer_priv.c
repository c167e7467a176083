// SPDX-License-Identifier: MIT
/*
 * The client is known by a pidfd (SO_PEERPIDFD), not by its pid alone: its
 * /proc directory is opened, and only then is the pidfd asked whether that
 * process still lives, so that the directory cannot be a later process
 * that reuses the pid. Its status and user namespace are read through it.
 * (pidfd_send_signal(0) would need CAP_KILL, which pprofd has dropped.)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/capability.h>

#include "peer_priv.h"
#include "proc_text.h"
#include "safe_open.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

/* The pid a pidfd refers to (its fdinfo), or -1. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;
	char *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nPid:\t");
	return p ? (pid_t)atoi(p + 6) : -1;
}

static bool same_user_ns(int procdir)
{
	struct stat ours, theirs;

	return stat("/proc/self/ns/user", &ours) == 0 &&
	       fstatat(procdir, "ns/user", &theirs, 0) == 0 && ours.st_dev == theirs.st_dev &&
	       ours.st_ino == theirs.st_ino;
}

bool unix_peer_privileged(int fd, uid_t uid)
{
	socklen_t len = sizeof(int);
	char path[64], status[4096];
	int pidfd = -1, dir = -1, sfd;
	bool priv = false;
	uint64_t caps;
	ssize_t n;
	pid_t pid;

	if (uid == 0)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		return false;
	pid = pidfd_pid(pidfd);
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	/* alive after the open (a pidfd polls readable once its process has
	 * exited): dir is that process, not a pid reused */
	if (dir < 0 || poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, 0) != 0)
		goto out;
	sfd = openat(dir, "status", O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		goto out;
	n = read(sfd, status, sizeof(status) - 1);
	close(sfd);
	if (n > 0 && proc_status_cap_eff(status, n, &caps) == 0 && (caps >> CAP_SYS_PTRACE & 1) &&
	    same_user_ns(dir))
		priv = true;
out:
	if (dir >= 0)
		close(dir);
	close(pidfd);
	return priv;
}

/* Reads the real, effective, saved and fs uids of pid. */
static int proc_uids(uint32_t pid, uid_t uids[4])
{
	char *text;
	size_t len;
	int err;

	if (read_proc(pid, "status", PROC_STATUS_MAX, false, &text, &len) < 0)
		return -ESRCH;
	err = proc_status_uids(text, len, uids) ? -ESRCH : 0;
	free(text);
	return err;
}

/* A sender whose uid is every uid of the target: a setuid program is not
 * readable by the user who ran it. */
bool peer_may_read(const struct req_peer *peer, uint32_t pid)
{
	uid_t uids[4];

	if (!peer->known)
		return false;
	if (peer->privileged)
		return true;
	if (proc_uids(pid, uids))
		return false;
	for (int i = 0; i < 4; i++)
		if (uids[i] != peer->uid)
			return false;
	return true;
}
