/* SPDX-License-Identifier: MIT */
/* The daemon's one event loop: every fd it waits on carries a watch whose
 * callback handles its events (epoll data.ptr). */
#ifndef PPROFD_LOOP_H
#define PPROFD_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/* A listening socket's callback accepts at most this many connections a
 * wakeup, then lets the loop serve the others (the socket is level-
 * triggered, so the rest come on the next turn): a client reconnecting as
 * fast as it is refused must not keep the loop in accept(). */
#define LOOP_ACCEPT_BATCH 32

struct watch {
	int fd;
	void (*fn)(struct watch *w, uint32_t events);
};

static inline int watch_add(int epfd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

static inline int watch_mod(int epfd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

static inline void watch_del(int epfd, struct watch *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

#endif
