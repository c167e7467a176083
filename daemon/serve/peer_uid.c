// SPDX-License-Identifier: MIT
/*
 * The client's socket is the mirror image of ours: its source is our remote
 * address/port and its destination our local one. inet_diag without
 * NLM_F_DUMP looks up exactly that socket. The answer is checked against the
 * tuple asked for and must be ESTABLISHED, because the kernel's lookup falls
 * back to listening sockets when no connection matches.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "peer_uid.h"

struct tuple {
	int family;
	__be32 src[4], dst[4]; /* the client's view: src = client, dst = us */
	__be16 sport, dport;
};

/* Canonical form: v4-mapped IPv6 becomes IPv4, as the client's socket is. */
static int addr_get(const struct sockaddr *sa, int *family, __be32 a[4], __be16 *port)
{
	memset(a, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		*family = AF_INET;
		a[0] = s->sin_addr.s_addr;
		*port = s->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		*port = s->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			*family = AF_INET;
			memcpy(a, &s->sin6_addr.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(a, &s->sin6_addr, 16);
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int is_loopback(int family, const __be32 a[4])
{
	static const struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

	if (family == AF_INET)
		return (ntohl(a[0]) >> 24) == 127;
	return !memcmp(a, &lo6, 16);
}

static int query(int fd, const struct tuple *t, uid_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = t->family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1u << TCP_ESTABLISHED,
			.id = {
				.idiag_sport = t->sport,
				.idiag_dport = t->dport,
				.idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE},
			},
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	long buf[1024];
	struct nlmsghdr *h;
	ssize_t n;
	int len;

	memcpy(req.r.id.idiag_src, t->src, 16);
	memcpy(req.r.id.idiag_dst, t->dst, 16);
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	/* the kernel answers a non-dump request before sendto returns */
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	len = n;
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		const struct inet_diag_msg *m = NLMSG_DATA(h);

		if (h->nlmsg_seq != req.nlh.nlmsg_seq)
			continue;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EPROTO;
			return e->error ? e->error : -ENOENT;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		if (m->idiag_family != t->family || m->idiag_state != TCP_ESTABLISHED ||
		    m->id.idiag_sport != t->sport || m->id.idiag_dport != t->dport ||
		    memcmp(m->id.idiag_src, t->src, t->family == AF_INET ? 4 : 16) ||
		    memcmp(m->id.idiag_dst, t->dst, t->family == AF_INET ? 4 : 16))
			return -ENOENT;
		*uid = m->idiag_uid;
		return 0;
	}
	return -ENOENT;
}

int tcp_peer_uid(const struct sockaddr *local, const struct sockaddr *remote, uid_t *uid)
{
	struct tuple t;
	int lfam, fd, err;

	if (!local || !remote)
		return -EINVAL;
	err = addr_get(remote, &t.family, t.src, &t.sport);
	if (!err)
		err = addr_get(local, &lfam, t.dst, &t.dport);
	if (err)
		return err;
	if (lfam != t.family)
		return -EINVAL;
	if (!is_loopback(t.family, t.src) || !is_loopback(t.family, t.dst))
		return -EADDRNOTAVAIL;
	if (!t.sport || !t.dport)
		return -EINVAL;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	err = query(fd, &t, uid);
	close(fd);
	return err;
}
