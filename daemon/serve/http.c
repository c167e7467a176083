// SPDX-License-Identifier: MIT
/*
 * HTTP front end: libmicrohttpd in external-event-loop mode (MHD_USE_EPOLL,
 * no threads); its epoll fd sits in the daemon's epoll. A profile request
 * suspends its connection until the requests engine calls back, then resumes
 * it with the result. Answers look like Go's net/http/pprof: errors as
 * text/plain with the message, profiles as an octet-stream attachment.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"
#include "loop_fd.h"
#include "output.h"
#include "peer_uid.h"
#include "requests.h"
#include "safe_open.h"
#include "shares.h"

#define MAX_ARGS 32
#define MEMORY_LIMIT (32 * 1024) /* per connection: caps request line + headers */

struct http_server {
	struct MHD_Daemon *d;
	int epfd;                 /* ours: the listening socket and MHD's epoll fd */
	int listen_fd;            /* accepted here, so that a connection's owner is known first */
	struct shares *slots;     /* connections, shared fairly per uid or address */
	struct http_sock *adding; /* the connection MHD_add_connection is taking */
	struct requests *r;
	char *token;
	size_t token_len;
	bool loopback;
	unsigned max_seconds;
	const struct cpu_ranks *ranks; /* the index page's (http_opts) */
	unsigned hz;
	const char *output_dir;
	struct http_conn *waiting; /* suspended, a request in flight */
};

/* One TCP connection's slot (MHD's socket_context). */
struct http_sock {
	char key[SHARES_PEER_MAX]; /* "uid N", or "address A" where no uid is known */
	bool privileged;
	bool added; /* MHD took it: the slot is given back when it closes */
};

enum conn_state { C_NEW, C_STARTING, C_WAITING, C_DONE };

/* One HTTP request (MHD's per-request context). */
struct http_conn {
	struct http_server *h;
	struct MHD_Connection *conn;
	enum conn_state state;
	struct request *req;
	struct req_result res;
	char filename[96];             /* the download's: <comm>-<pid>-<kind>.pb.gz */
	bool svg;                      /* the page's flame graph of the result */
	struct http_conn *prev, *next; /* in h->waiting while C_WAITING */
};

/* ---- responses ---- */

static enum MHD_Result queue(struct MHD_Connection *conn, int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO; /* out of memory: drop the connection */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* As Go's serveError: the message and a newline, as text. */
static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *msg)
{
	struct MHD_Response *resp;
	size_t len = strlen(msg);
	char *body = malloc(len + 2);

	if (!body)
		return MHD_NO;
	memcpy(body, msg, len);
	body[len] = '\n';
	body[len + 1] = 0;
	resp = MHD_create_response_from_buffer(len + 1, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Go-Pprof", "1");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"pprofd\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	return queue(conn, status, resp);
}

/* A flame graph (malloc'ed svg, taken), shown in the page. */
static enum MHD_Result send_svg(struct MHD_Connection *conn, char *svg, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, svg, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(svg);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "image/svg+xml");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result send_result(struct http_conn *c)
{
	struct req_result *res = &c->res;
	struct MHD_Response *resp;

	if (res->status != MHD_HTTP_OK) {
		res->message[sizeof(res->message) - 1] = 0;
		return send_error(c->conn, res->status ? res->status : 500,
				  res->message[0] ? res->message : "internal error");
	}
	if (c->svg) {
		char *svg = NULL, err[256];
		size_t len = 0;

		if (http__flame_profile(res->data, res->len, &svg, &len, err, sizeof(err)))
			return send_error(c->conn, 500, err);
		return send_svg(c->conn, svg, len);
	}
	resp = MHD_create_response_from_buffer(res->len, res->data, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO; /* res->data is freed with the connection */
	res->data = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, c->filename);
	return queue(c->conn, MHD_HTTP_OK, resp);
}

/* The flame graph of pid's windows, for a peer that may profile pid. */
static enum MHD_Result send_window_flame(struct http_server *h, struct MHD_Connection *conn,
					 const struct http_parsed *pp)
{
	const struct req_params *p = &pp->params;
	char *svg = NULL, err[256], path[32];
	size_t len = 0;
	int ret;

	if (!peer_may_read(&p->peer, p->pid)) {
		snprintf(path, sizeof(path), "/proc/%u", p->pid);
		if (access(path, F_OK))
			return send_error(conn, MHD_HTTP_NOT_FOUND, "no such process");
		return send_error(conn, MHD_HTTP_FORBIDDEN, "not allowed to profile this process");
	}
	ret = http__flame_windows(h->output_dir, p->pid, pp->flame == HTTP_FLAME_HOUR, &svg, &len,
				  err, sizeof(err));
	if (ret)
		return send_error(conn, ret == -ENOENT ? MHD_HTTP_NOT_FOUND : 500, err);
	return send_svg(conn, svg, len);
}

static enum MHD_Result send_index(struct http_server *h, struct MHD_Connection *conn,
				  const struct req_peer *peer)
{
	struct MHD_Response *resp;
	size_t len;
	char *page = http__index_page(h->ranks, h->hz, peer, &len);

	if (!page)
		return send_error(conn, 500, "out of memory");
	resp = MHD_create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(page);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	return queue(conn, MHD_HTTP_OK, resp);
}

/* ---- who asks ---- */

/* Time depends on the configured token's length only. */
static bool token_equal(const struct http_server *h, const char *given, size_t len)
{
	unsigned char diff = len != h->token_len;
	size_t i;

	for (i = 0; i < h->token_len; i++)
		diff |= (unsigned char)h->token[i] ^ (unsigned char)(i < len ? given[i] : 0);
	return !diff;
}

/*
 * 0 with *peer set, or 401. A valid bearer token makes the sender
 * privileged; without one, a loopback sender is who owns its socket.
 */
static int find_peer(struct http_server *h, struct MHD_Connection *conn, struct req_peer *peer)
{
	const char *auth =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const union MHD_ConnectionInfo *ci;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	uid_t uid;
	int err;

	memset(peer, 0, sizeof(*peer));
	if (auth) {
		if (!h->token_len || strncasecmp(auth, "Bearer ", 7))
			return MHD_HTTP_UNAUTHORIZED;
		auth += 7;
		while (*auth == ' ')
			auth++;
		if (!token_equal(h, auth, strlen(auth)))
			return MHD_HTTP_UNAUTHORIZED;
		peer->known = true;
		peer->uid = 0;
		peer->privileged = true;
		return 0;
	}
	if (!h->loopback)
		return MHD_HTTP_UNAUTHORIZED;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return 0;
	err = -ENOTCONN;
	{
		const union MHD_ConnectionInfo *fi =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (fi && !getsockname(fi->connect_fd, (struct sockaddr *)&local, &len))
			err = tcp_peer_uid((struct sockaddr *)&local, ci->client_addr, &uid);
	}
	if (err) {
		log_debug("http: sender unknown (%s), treated as unprivileged", strerror(-err));
		return 0;
	}
	peer->known = true;
	peer->uid = uid;
	peer->privileged = uid == 0;
	return 0;
}

/* ---- MHD callbacks ---- */

static void waiting_del(struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->h->waiting == c)
		c->h->waiting = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void on_done(struct req_result *res, void *ctx)
{
	struct http_conn *c = ctx;
	enum conn_state was = c->state;

	c->res = *res;
	res->data = NULL;
	c->req = NULL;
	c->state = C_DONE;
	if (was == C_WAITING) {
		waiting_del(c);
		MHD_resume_connection(c->conn);
	}
}

struct args {
	struct http_arg a[MAX_ARGS];
	size_t n;
	bool too_many;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	struct args *args = cls;

	if (args->n == MAX_ARGS) {
		args->too_many = true;
		return MHD_NO;
	}
	args->a[args->n++] = (struct http_arg){
		.key = key,
		.key_len = key_size,
		.value = value,
		.value_len = value ? value_size : 0,
	};
	return MHD_YES;
}

/* What a browser saves the profile as: the process and the kind, not
 * "profile" (the comm is the process's choice: sanitized). */
static void download_name(struct http_conn *c, const struct req_params *p)
{
	static const char *const kinds[KIND_NR] = {
		[KIND_CPU] = "cpu",     [KIND_HEAP] = "heap",       [KIND_MUTEX] = "mutex",
		[KIND_BLOCK] = "block", [KIND_THREADS] = "threads",
	};
	const char *kind = p->kind > 0 && p->kind < KIND_NR && kinds[p->kind] ? kinds[p->kind]
									      : "profile";
	char comm[64], safe[64];

	if (!p->pid) {
		snprintf(c->filename, sizeof(c->filename), "attachment; filename=\"host-%s.pb.gz\"",
			 kind);
		return;
	}
	read_proc_comm(p->pid, comm, sizeof(comm));
	sanitize_comm(comm[0] ? comm : "process", safe, sizeof(safe));
	snprintf(c->filename, sizeof(c->filename), "attachment; filename=\"%.40s-%u-%s.pb.gz\"",
		 safe, p->pid, kind);
}

static enum MHD_Result start_profile(struct http_conn *c, struct req_params *p)
{
	struct http_server *h = c->h;
	struct request *q;

	download_name(c, p);
	c->state = C_STARTING;
	q = requests__start(h->r, p, on_done, c);
	if (c->state == C_DONE) /* answered at once */
		return send_result(c);
	if (!q) {
		c->state = C_DONE;
		return send_error(c->conn, 500, "internal error: request not started");
	}
	c->req = q;
	c->state = C_WAITING;
	c->next = h->waiting;
	if (h->waiting)
		h->waiting->prev = c;
	h->waiting = c;
	MHD_suspend_connection(c->conn);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct http_conn *c = *con_cls;
	struct http_parsed parsed;
	struct args args = { 0 };
	int status;

	if (c) {
		/* a body nobody asked for: read and drop it */
		if (*upload_data_size) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (c->state == C_DONE)
			return send_result(c);
		return MHD_YES;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return MHD_NO;
	c->h = h;
	c->conn = conn;
	*con_cls = c;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
	status = find_peer(h, conn, &parsed.params.peer);
	if (status) {
		log_debug("http: %s %s: unauthorized", method, url);
		return send_error(conn, status, "Unauthorized");
	}
	{
		struct req_peer peer = parsed.params.peer;

		MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
		if (args.too_many)
			return send_error(conn, 400, "too many parameters");
		http__parse(url, args.a, args.n, h->max_seconds, &parsed);
		parsed.params.peer = peer;
	}
	switch (parsed.route) {
	case HTTP_ROUTE_INDEX:
		return send_index(h, conn, &parsed.params.peer);
	case HTTP_ROUTE_FLAME:
		if (parsed.flame != HTTP_FLAME_REQUEST)
			return send_window_flame(h, conn, &parsed);
		c->svg = true;
		return start_profile(c, &parsed.params);
	case HTTP_ROUTE_REDIRECT: {
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, HTTP_PPROF_PREFIX);
		return queue(conn, MHD_HTTP_MOVED_PERMANENTLY, resp);
	}
	case HTTP_ROUTE_PROFILE:
		log_debug("http: %s %s pid=%u seconds=%u hz=%u uid=%d%s", method, url,
			  parsed.params.pid, parsed.params.seconds, parsed.params.hz,
			  parsed.params.peer.known ? (int)parsed.params.peer.uid : -1,
			  parsed.params.peer.privileged ? " privileged" : "");
		return start_profile(c, &parsed.params);
	case HTTP_ROUTE_ERROR:
	default:
		return send_error(conn, parsed.status, parsed.message);
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_conn *c = *con_cls;

	if (!c)
		return;
	if (c->state == C_WAITING) {
		/* the client went away before its profile was ready */
		waiting_del(c);
		if (c->req)
			requests__cancel(c->h->r, c->req);
	}
	free(c->res.data);
	free(c);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = 0;
	/* per-connection trouble (timeouts, garbage) is the client's problem */
	log_debug("http: %s", msg);
}

/* ---- connections: accepted here, shared fairly ---- */

/* Whose connection this is: on loopback the uid that owns the client's
 * socket, elsewhere (or when that is not known) its source address. */
static void sock_owner(const struct sockaddr *local, const struct sockaddr *remote,
		       struct http_sock *k)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	uid_t uid;

	if (tcp_peer_uid(local, remote, &uid) == 0) {
		snprintf(k->key, sizeof(k->key), "uid %u", (unsigned)uid);
		k->privileged = uid == 0;
		return;
	}
	if (remote->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)remote)->sin_addr, addr,
			  sizeof(addr));
	else if (remote->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)remote)->sin6_addr, addr,
			  sizeof(addr));
	snprintf(k->key, sizeof(k->key), "address %s", addr);
	k->privileged = false;
}

/* Over its share: a 503 with the reason, then closed, holding nothing. What
 * the client sent is read first, so that the close does not reset the
 * connection before the answer is read. */
static void refuse(int fd, const char *why)
{
	char buf[512], drain[4096];
	int n = snprintf(
		buf, sizeof(buf),
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Connection: close\r\nContent-Length: %zu\r\n\r\n%s\n",
		strlen(why) + 1, why);

	while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	if (send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("http: refusing a client: %s", strerror(errno));
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void accept_some(struct http_server *h)
{
	for (int i = 0; i < LOOP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage remote, local;
		socklen_t rlen = sizeof(remote), llen = sizeof(local);
		struct http_sock *k;
		char why[200];
		int fd, err;

		fd = accept4(h->listen_fd, (struct sockaddr *)&remote, &rlen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		k = calloc(1, sizeof(*k));
		if (!k || getsockname(fd, (struct sockaddr *)&local, &llen) < 0) {
			free(k);
			close(fd);
			continue;
		}
		sock_owner((struct sockaddr *)&local, (struct sockaddr *)&remote, k);
		err = shares__take(h->slots, k->key, k->privileged);
		if (err) {
			shares__why(h->slots, err, k->key, "connections", why, sizeof(why));
			refuse(fd, why);
			free(k);
			continue;
		}
		/* MHD announces the connection (on_notify) before this returns */
		h->adding = k;
		MHD_add_connection(h->d, fd, (struct sockaddr *)&remote, rlen);
		h->adding = NULL;
		if (!k->added) { /* refused by MHD, which closed fd */
			shares__give(h->slots, k->key, k->privileged);
			free(k);
		}
	}
}

static void on_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *h = cls;
	struct http_sock *k = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if (h->adding) {
			h->adding->added = true;
			*socket_context = h->adding;
		}
		return;
	}
	if (k) {
		shares__give(h->slots, k->key, k->privileged);
		free(k);
		*socket_context = NULL;
	}
}

/* ---- the listener ---- */

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon;
	unsigned long port;
	bool v6 = s[0] == '[';
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = end - (s + 1);
		colon = end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = colon - s;
	}
	if (n >= sizeof(host) || !http__parse_uint(colon + 1, strlen(colon + 1), 65535, &port))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = 0;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (v6) {
		struct sockaddr_in6 *a = (void *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
	}
	return 0;
}

static bool addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Our own socket rather than MHD's, so that a failed bind says why. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, one = 1, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int http__check_listen(const char *addr, const char *token, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (parse_addr(addr ? addr : "", &ss, &len)) {
		snprintf(err, errlen,
			 "http: bad listen address \"%s\": want ADDR:PORT or [IPV6]:PORT",
			 addr ? addr : "");
		return -EINVAL;
	}
	if (!addr_is_loopback(&ss) && (!token || !token[0])) {
		snprintf(
			err, errlen,
			"http: %s is not a loopback address: refusing to listen without http_token",
			addr);
		return -EPERM;
	}
	return 0;
}

struct http_server *http__new(const struct http_opts *o, struct requests *r)
{
	struct sockaddr_storage ss;
	struct http_server *h;
	socklen_t len;
	unsigned flags;
	char why[300];
	int fd, err;

	/* the config was checked (parse_args); a caller that did not is told */
	err = http__check_listen(o->addr, o->token, why, sizeof(why));
	if (err) {
		log_err("%s", why);
		errno = -err;
		return NULL;
	}
	parse_addr(o->addr, &ss, &len);
	h = calloc(1, sizeof(*h));
	if (!h || !(h->token = strdup(o->token ? o->token : ""))) {
		free(h);
		log_err("http: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	h->token_len = strlen(h->token);
	h->r = r;
	h->loopback = addr_is_loopback(&ss);
	h->max_seconds = o->max_seconds ? o->max_seconds : 300;
	h->ranks = o->ranks;
	h->output_dir = o->output_dir;
	h->hz = o->hz;

	fd = listen_on(&ss, len);
	if (fd < 0) {
		log_err("http: cannot listen on %s: %s", o->addr, strerror(-fd));
		err = -fd;
		goto fail;
	}
	h->listen_fd = fd;
	h->slots = shares__new(o->conns.total, o->conns.reserved, o->conns.per_peer);
	if (!h->slots) {
		err = ENOMEM;
		goto fail;
	}
	/* connections come from accept_some, which knows their owner */
	flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
		MHD_USE_NO_LISTEN_SOCKET;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h, MHD_OPTION_CONNECTION_LIMIT, o->conns.total,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_sec ? o->timeout_sec : 30),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
		on_notify, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END);
	if (!h->d) {
		err = errno ? errno : EINVAL;
		log_err("http: cannot start libmicrohttpd on %s", o->addr);
		goto fail;
	}
	{
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
		struct epoll_event ev = { .events = EPOLLIN };

		h->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (h->epfd < 0 || !di ||
		    epoll_ctl(h->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0 ||
		    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->listen_fd, &ev) < 0) {
			err = errno ? errno : EINVAL;
			log_err("http: cannot set up the event loop: %s", strerror(err));
			goto fail;
		}
	}
	log_info("http: listening on %s%s", o->addr,
		 h->token_len ? " (bearer token)" : " (loopback, sender by socket owner)");
	return h;
fail:
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->epfd > 0)
		close(h->epfd);
	if (h->listen_fd > 0)
		close(h->listen_fd);
	shares__free(h->slots);
	free(h->token);
	free(h);
	errno = err;
	return NULL;
}

void http__free(struct http_server *h)
{
	int i;

	if (!h)
		return;
	/* MHD refuses to stop with suspended connections: answer them first */
	while (h->waiting) {
		struct http_conn *c = h->waiting;

		waiting_del(c);
		if (c->req)
			requests__cancel(h->r, c->req);
		c->req = NULL;
		c->res = (struct req_result){ .status = 503 };
		snprintf(c->res.message, sizeof(c->res.message), "server shutting down");
		c->state = C_DONE;
		MHD_resume_connection(c->conn);
	}
	for (i = 0; i < 4; i++)
		MHD_run(h->d);
	MHD_stop_daemon(h->d); /* closes its connections: their slots come back */
	close(h->epfd);
	close(h->listen_fd);
	shares__free(h->slots);
	if (h->token)
		explicit_bzero(h->token, h->token_len);
	free(h->token);
	free(h);
}

int http__fd(const struct http_server *h)
{
	return h->epfd;
}

int http__timeout_ms(const struct http_server *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->d, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void http__run(struct http_server *h)
{
	accept_some(h);
	MHD_run(h->d);
}
