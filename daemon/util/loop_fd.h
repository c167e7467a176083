/* SPDX-License-Identifier: MIT */
/* An fd the daemon's one event loop (main.c) waits on: a loop_fd whose
 * callback handles its events (epoll data.ptr). */
#ifndef PPROFD_LOOP_FD_H
#define PPROFD_LOOP_FD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

/* A listening socket's callback accepts at most this many connections a
 * wakeup, then lets the loop serve the others (the socket is level-
 * triggered, so the rest come on the next turn): a client reconnecting as
 * fast as it is refused must not keep the loop in accept(). */
#define LOOP_ACCEPT_BATCH 32

struct loop_fd {
	int fd;
	void (*fn)(struct loop_fd *w, uint32_t events);
};

/* The struct a loop_fd is a member of, in its callback. */
#define loop_fd_owner(w, type, member) ((type *)((char *)(w)-offsetof(type, member)))

static inline int loop_fd_add(int epfd, struct loop_fd *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

static inline int loop_fd_mod(int epfd, struct loop_fd *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

static inline void loop_fd_del(int epfd, struct loop_fd *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

#endif
