// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "control.pb-c.h"
#include "log.h"
#include "loop_fd.h"
#include "peer_priv.h"
#include "requests.h"
#include "shares.h"

#define READ_TIMEOUT_NS (5ull * 1000000000)   /* to send a request */
#define WRITE_TIMEOUT_NS (60ull * 1000000000) /* to take a reply */

struct conn {
	struct loop_fd w;
	struct control *c;
	struct req_peer peer;
	char slot_key[SHARES_PEER_MAX]; /* whose connection slot this is */
	uint8_t in[4 + CONTROL_MAX_REQUEST];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off;
	struct request *req; /* while a profile is being collected */
	uint64_t deadline;   /* 0 while waiting for a request's result */
	struct conn *next;
};

struct control {
	struct loop_fd w;
	int epfd;
	char path[108];
	struct requests *r;
	struct conn *conns;
	struct shares *slots; /* connections, shared fairly between uids */
};

static void conn_close(struct conn *k)
{
	struct control *c = k->c;

	for (struct conn **l = &c->conns; *l; l = &(*l)->next) {
		if (*l == k) {
			*l = k->next;
			break;
		}
	}
	shares__give(c->slots, k->slot_key, k->peer.privileged);
	if (k->req)
		requests__cancel(c->r, k->req);
	loop_fd_del(c->epfd, &k->w);
	close(k->w.fd);
	free(k->out);
	free(k);
}

/* Frames and queues a reply; the connection then only writes. */
static void send_reply(struct conn *k, Pprofd__Control__Reply *rep)
{
	size_t n = pprofd__control__reply__get_packed_size(rep);

	k->out = malloc(4 + n);
	if (!k->out) {
		/* Not conn_close(): callers (a request's done callback run
		 * inside handle_request) still hold k. The next tick closes it. */
		log_warn("control: out of memory for a %zu-byte reply; closing the connection", n);
		shutdown(k->w.fd, SHUT_RDWR);
		k->deadline = 1;
		return;
	}
	k->out[0] = n >> 24;
	k->out[1] = n >> 16;
	k->out[2] = n >> 8;
	k->out[3] = n;
	pprofd__control__reply__pack(rep, k->out + 4);
	k->out_len = 4 + n;
	k->out_off = 0;
	k->deadline = mono_ns() + WRITE_TIMEOUT_NS;
	loop_fd_mod(k->c->epfd, &k->w, EPOLLOUT);
}

static void send_error(struct conn *k, unsigned code, const char *msg)
{
	Pprofd__Control__Reply rep = PPROFD__CONTROL__REPLY__INIT;

	rep.version = CONTROL_VERSION;
	rep.code = code;
	rep.message = (char *)msg;
	send_reply(k, &rep);
}

static void on_result(struct req_result *res, void *ctx)
{
	struct conn *k = ctx;
	Pprofd__Control__Reply rep = PPROFD__CONTROL__REPLY__INIT;

	k->req = NULL;
	rep.version = CONTROL_VERSION;
	rep.code = res->status;
	rep.message = res->message;
	if (res->status == 200) {
		rep.profile.data = res->data;
		rep.profile.len = res->len;
	}
	send_reply(k, &rep);
	free(res->data);
}

static void send_status(struct conn *k)
{
	struct status_counter sc[STATUS_MAX_COUNTERS];
	Pprofd__Control__Counter cs[STATUS_MAX_COUNTERS], *cp[STATUS_MAX_COUNTERS];
	Pprofd__Control__Status st = PPROFD__CONTROL__STATUS__INIT;
	Pprofd__Control__Reply rep = PPROFD__CONTROL__REPLY__INIT;
	int n = requests__status(k->c->r, sc, STATUS_MAX_COUNTERS);

	for (int i = 0; i < n; i++) {
		pprofd__control__counter__init(&cs[i]);
		cs[i].name = sc[i].name;
		cs[i].value = sc[i].value;
		cp[i] = &cs[i];
	}
	st.version = PPROFD_VERSION;
	st.n_counters = n;
	st.counters = cp;
	rep.version = CONTROL_VERSION;
	rep.code = 200;
	rep.message = "";
	rep.status = &st;
	send_reply(k, &rep);
}

void control__parse_request(const uint8_t *msg, size_t len, struct control_parsed *out)
{
	Pprofd__Control__Request *rq = pprofd__control__request__unpack(NULL, len, msg);

	memset(out, 0, sizeof(*out));
	out->action = CONTROL_ERROR;
	out->code = 400;
	if (!rq) {
		snprintf(out->message, sizeof(out->message), "malformed request");
		return;
	}
	if (rq->version != CONTROL_VERSION) {
		out->code = 505;
		snprintf(out->message, sizeof(out->message),
			 "protocol version mismatch: pprofctl speaks %u, pprofd %s speaks %u; "
			 "use the pprofctl of the same release",
			 rq->version, PPROFD_VERSION, CONTROL_VERSION);
		goto out;
	}
	out->action = CONTROL_PROFILE;
	switch (rq->kind) {
	case PPROFD__CONTROL__KIND__KIND_STATUS:
		out->action = CONTROL_STATUS;
		goto out;
	case PPROFD__CONTROL__KIND__KIND_CPU:
		out->params.kind = KIND_CPU;
		break;
	case PPROFD__CONTROL__KIND__KIND_HEAP:
		out->params.kind = KIND_HEAP;
		break;
	case PPROFD__CONTROL__KIND__KIND_MUTEX:
		out->params.kind = KIND_MUTEX;
		break;
	case PPROFD__CONTROL__KIND__KIND_BLOCK:
		out->params.kind = KIND_BLOCK;
		break;
	case PPROFD__CONTROL__KIND__KIND_THREADS:
		out->params.kind = KIND_THREADS;
		break;
	default:
		out->action = CONTROL_ERROR;
		snprintf(out->message, sizeof(out->message), "unknown request kind");
		goto out;
	}
	out->params.pid = rq->pid;
	out->params.seconds = rq->seconds;
	out->params.hz = rq->hz;
out:
	pprofd__control__request__free_unpacked(rq, NULL);
}

static void handle_request(struct conn *k, const uint8_t *msg, size_t len)
{
	struct control_parsed rq;

	control__parse_request(msg, len, &rq);
	switch (rq.action) {
	case CONTROL_ERROR:
		send_error(k, rq.code, rq.message);
		return;
	case CONTROL_STATUS:
		send_status(k);
		return;
	case CONTROL_PROFILE:
		break;
	}
	rq.params.peer = k->peer;
	k->deadline = 0; /* the request has its own deadline */
	loop_fd_mod(k->c->epfd, &k->w, EPOLLRDHUP);
	k->req = requests__start(k->c->r, &rq.params, on_result, k);
}

enum control_frame control__frame(const uint8_t *in, size_t len, size_t *msg_len)
{
	uint32_t want;

	if (len < 4)
		return CONTROL_FRAME_PARTIAL;
	want = (uint32_t)in[0] << 24 | in[1] << 16 | in[2] << 8 | in[3];
	if (want > CONTROL_MAX_REQUEST)
		return CONTROL_FRAME_TOO_LARGE;
	*msg_len = want;
	return len >= 4 + (size_t)want ? CONTROL_FRAME_WHOLE : CONTROL_FRAME_PARTIAL;
}

static void on_conn(struct loop_fd *w, uint32_t events)
{
	struct conn *k = (struct conn *)w;

	if (k->out) {
		while (k->out_off < k->out_len) {
			ssize_t n = send(w->fd, k->out + k->out_off, k->out_len - k->out_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0 && errno == EAGAIN)
				return;
			if (n <= 0) {
				conn_close(k);
				return;
			}
			k->out_off += n;
		}
		conn_close(k); /* one request per connection */
		return;
	}
	if (k->req) {
		/* waiting for the profile: only a hang-up matters */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_close(k);
		return;
	}
	for (;;) {
		ssize_t n = recv(w->fd, k->in + k->in_len, sizeof(k->in) - k->in_len, MSG_DONTWAIT);
		size_t want;

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(k);
			return;
		}
		k->in_len += n;
		switch (control__frame(k->in, k->in_len, &want)) {
		case CONTROL_FRAME_PARTIAL:
			continue;
		case CONTROL_FRAME_TOO_LARGE:
			send_error(k, 400, "request too large");
			return;
		case CONTROL_FRAME_WHOLE:
			handle_request(k, k->in + 4, want);
			return;
		}
	}
}

/* A client over its share gets the reason and is closed at once, holding
 * nothing; it reads the reply even when its own write found us gone. */
static void refuse(int fd, const char *why)
{
	Pprofd__Control__Reply rep = PPROFD__CONTROL__REPLY__INIT;
	uint8_t buf[512];
	size_t n;

	rep.version = CONTROL_VERSION;
	rep.code = 503;
	rep.message = (char *)why;
	n = pprofd__control__reply__get_packed_size(&rep);
	if (n <= sizeof(buf) - 4) {
		buf[0] = n >> 24, buf[1] = n >> 16, buf[2] = n >> 8, buf[3] = n;
		pprofd__control__reply__pack(&rep, buf + 4);
		/* a fresh socket's buffer takes it whole */
		if (send(fd, buf, 4 + n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control: refusing a client: %s", strerror(errno));
	}
	close(fd);
}

static void on_listen(struct loop_fd *w, uint32_t events)
{
	struct control *c = (struct control *)w;

	for (int i = 0; i < LOOP_ACCEPT_BATCH; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct req_peer peer = { 0 };
		char key[SHARES_PEER_MAX], why[200];
		struct conn *k;
		int err;

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			peer.known = true;
			peer.uid = cred.uid;
			peer.privileged = unix_peer_privileged(fd, cred.uid);
			snprintf(key, sizeof(key), "uid %u", (unsigned)cred.uid);
		} else {
			snprintf(key, sizeof(key), "unidentified senders");
		}
		err = shares__take(c->slots, key, peer.privileged);
		if (err) {
			shares__why(c->slots, err, key, "connections to pprofd", why, sizeof(why));
			refuse(fd, why);
			continue;
		}
		k = calloc(1, sizeof(*k));
		if (!k) {
			shares__give(c->slots, key, peer.privileged);
			close(fd);
			continue;
		}
		k->w.fd = fd;
		k->w.fn = on_conn;
		k->c = c;
		k->peer = peer;
		memcpy(k->slot_key, key, sizeof(key));
		k->deadline = mono_ns() + READ_TIMEOUT_NS;
		k->next = c->conns;
		c->conns = k;
		loop_fd_add(c->epfd, &k->w, EPOLLIN | EPOLLRDHUP);
	}
}

static int mkdir_parent(const char *path)
{
	char dir[108], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

struct control *control__new(const char *path, int epfd, struct requests *r,
			     const struct shares_limits *conns)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *c;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->path, sizeof(c->path), "%s", path);
	strcpy(sa.sun_path, path);
	c->epfd = epfd;
	c->r = r;
	c->slots = shares__new(conns->total, conns->reserved, conns->per_peer);
	if (!c->slots) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = mkdir_parent(path)) < 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	c->w.fd = fd;
	c->w.fn = on_listen;
	/* A socket file left by a pprofd that died: nobody answers on it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		err = -EADDRINUSE;
		log_err("control: another pprofd is listening on %s", path);
		goto fail_fd;
	}
	unlink(path);
	/* Anyone may connect; what they may ask is decided per request from
	 * their credentials (SO_PEERCRED). */
	old = umask(0111);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (err || listen(fd, 64) < 0 || loop_fd_add(epfd, &c->w, EPOLLIN) < 0) {
		err = err ? err : -errno;
		goto fail_fd;
	}
	return c;
fail_fd:
	close(fd);
fail:
	shares__free(c->slots);
	free(c);
	errno = -err;
	return NULL;
}

void control__flush(struct control *c, unsigned ms)
{
	uint64_t end = mono_ns() + ms * 1000000ull;

	for (;;) {
		struct pollfd pfd[64];
		struct conn *ks[64];
		uint64_t now = mono_ns();
		int n = 0;

		for (struct conn *k = c->conns; k && n < 64; k = k->next) {
			if (k->out) {
				pfd[n] = (struct pollfd){ .fd = k->w.fd, .events = POLLOUT };
				ks[n++] = k;
			}
		}
		if (!n || now >= end || poll(pfd, n, (int)((end - now) / 1000000) + 1) <= 0)
			return;
		for (int i = 0; i < n; i++)
			if (pfd[i].revents)
				on_conn(&ks[i]->w,
					EPOLLOUT); /* sends what it can; closes when done */
	}
}

void control__free(struct control *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_close(c->conns);
	loop_fd_del(c->epfd, &c->w);
	close(c->w.fd);
	unlink(c->path);
	shares__free(c->slots);
	free(c);
}

void control__tick(struct control *c)
{
	uint64_t now = mono_ns();
	struct conn *k = c->conns, *next;

	for (; k; k = next) {
		next = k->next;
		if (k->deadline && now >= k->deadline) {
			log_debug("control: a client timed out");
			conn_close(k);
		}
	}
}

uint64_t control__next_deadline(const struct control *c)
{
	uint64_t d = UINT64_MAX;

	for (const struct conn *k = c->conns; k; k = k->next)
		if (k->deadline && k->deadline < d)
			d = k->deadline;
	return d;
}
