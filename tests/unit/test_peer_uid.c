// SPDX-License-Identifier: MIT
/* tcp_peer_uid: the owner of the client end of a loopback TCP connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer_uid.h"
#include "test.h"

static int listener(int family, struct sockaddr_storage *addr, socklen_t *len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)addr;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)addr;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		*len = sizeof(*a);
	}
	if (!ASSERT_TRUE(fd >= 0) || !ASSERT_OK(bind(fd, (struct sockaddr *)addr, *len)) ||
	    !ASSERT_OK(listen(fd, 8)) || !ASSERT_OK(getsockname(fd, (struct sockaddr *)addr, len)))
		return -1;
	return fd;
}

/*
 * A child (as uid, if not -1) connects and waits for the parent to close.
 * Returns the accepted socket's uid as tcp_peer_uid sees it, or -errno.
 */
static long long peer_of_child(int family, uid_t as)
{
	struct sockaddr_storage addr, local, remote;
	socklen_t len, llen = sizeof(local), rlen = sizeof(remote);
	int lfd, cfd, sync[2], status;
	long long ret;
	uid_t uid;
	pid_t pid;
	char c;

	lfd = listener(family, &addr, &len);
	if (lfd < 0 || !ASSERT_OK(pipe(sync)))
		return -1000;
	pid = fork();
	if (pid == 0) {
		int fd;

		close(sync[1]);
		if (as != (uid_t)-1 && (setgid(as) || setuid(as)))
			_exit(2);
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, len))
			_exit(3);
		(void)!read(sync[0], &c, 1); /* until the parent is done */
		_exit(0);
	}
	close(sync[0]);
	cfd = accept(lfd, NULL, NULL);
	ASSERT_TRUE(cfd >= 0);
	ASSERT_OK(getsockname(cfd, (struct sockaddr *)&local, &llen));
	ASSERT_OK(getpeername(cfd, (struct sockaddr *)&remote, &rlen));
	ret = tcp_peer_uid((struct sockaddr *)&local, (struct sockaddr *)&remote, &uid);
	if (!ret)
		ret = uid;

	/* the mirror tuple (ours, not the client's) is owned by us: root */
	if (!tcp_peer_uid((struct sockaddr *)&remote, (struct sockaddr *)&local, &uid))
		ASSERT_EQ(uid, 0);

	close(sync[1]);
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

	/* the client is gone (TIME_WAIT is not ESTABLISHED): unknown */
	usleep(20000);
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&local, (struct sockaddr *)&remote, &uid),
		  -ENOENT);
	close(cfd);
	close(lfd);
	return ret;
}

static void test_ipv4_nobody(void)
{
	ASSERT_EQ(peer_of_child(AF_INET, 65534), 65534);
}

static void test_ipv4_root(void)
{
	ASSERT_EQ(peer_of_child(AF_INET, -1), 0);
}

static void test_ipv6_nobody(void)
{
	ASSERT_EQ(peer_of_child(AF_INET6, 65534), 65534);
}

static void test_ipv6_root(void)
{
	ASSERT_EQ(peer_of_child(AF_INET6, -1), 0);
}

static void test_errors(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(1234) };
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(5678) };
	struct sockaddr_in6 c = { .sin6_family = AF_INET6, .sin6_port = htons(1234) };
	struct sockaddr_un_like {
		sa_family_t f;
		char p[20];
	} u = { .f = AF_UNIX };
	uid_t uid = 4242;

	/* non-loopback */
	inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&b, (struct sockaddr *)&a, &uid), -EADDRNOTAVAIL);
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&a, (struct sockaddr *)&b, &uid), -EADDRNOTAVAIL);
	inet_pton(AF_INET6, "2001:db8::1", &c.sin6_addr);
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&c, (struct sockaddr *)&c, &uid), -EADDRNOTAVAIL);
	/* an unknown loopback tuple */
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&b, (struct sockaddr *)&a, &uid), -ENOENT);
	c.sin6_addr = in6addr_loopback;
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&c, (struct sockaddr *)&c, &uid), -ENOENT);
	/* mixed or other families */
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&b, (struct sockaddr *)&c, &uid), -EINVAL);
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&u, (struct sockaddr *)&b, &uid), -EAFNOSUPPORT);
	ASSERT_EQ(uid, 4242);
}

/* A listener on 127.0.0.1 that someone else owns must not answer for a
 * connection that does not exist (the kernel's lookup falls back to it). */
static void test_not_a_listener(void)
{
	struct sockaddr_storage addr;
	struct sockaddr_in other = { .sin_family = AF_INET, .sin_port = htons(9) };
	socklen_t len;
	uid_t uid;
	int lfd = listener(AF_INET, &addr, &len);

	other.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* "client" = the listener's own address, "server" = an unused port */
	ASSERT_EQ(tcp_peer_uid((struct sockaddr *)&other, (struct sockaddr *)&addr, &uid), -ENOENT);
	close(lfd);
}

int main(void)
{
	if (geteuid()) {
		printf("SKIP test_peer_uid (needs root to switch uid)\n");
		return 77;
	}
	RUN_TEST(test_ipv4_nobody);
	RUN_TEST(test_ipv4_root);
	RUN_TEST(test_ipv6_nobody);
	RUN_TEST(test_ipv6_root);
	RUN_TEST(test_errors);
	RUN_TEST(test_not_a_listener);
	return TEST_MAIN_END();
}
