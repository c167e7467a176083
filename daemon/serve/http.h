/* SPDX-License-Identifier: MIT */
/*
 * The Go-pprof-compatible HTTP front end (SPEC §5), served by libmicrohttpd
 * driven from the daemon's own epoll loop: no threads of its own.
 */
#ifndef PPROFD_HTTP_H
#define PPROFD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "requests.h"
#include "shares.h"

struct cpu_ranks;
struct requests;

struct http_opts {
	const char *addr;  /* "127.0.0.1:6060", "[::1]:6060", "0.0.0.0:6060" */
	const char *token; /* "" = none */
	unsigned max_seconds;
	struct shares_limits conns; /* per uid on loopback, else per source address */
	unsigned timeout_sec;
	/* the index page's ranking: the processes by CPU samples of the
	 * last windows (NULL: none), at hz samples a second a CPU */
	const struct cpu_ranks *ranks;
	unsigned hz;
	const char *output_dir; /* where the page's window flame graphs are read */
};

struct http_server;

/* 0 when addr (ADDR:PORT) may be listened on with token: an address, and
 * a bearer token where it is not loopback; else -EINVAL or -EPERM, why in
 * err. The config's check, before anything loads. */
int http__check_listen(const char *addr, const char *token, char *err, size_t errlen);
/* NULL + errno (logged with the reason) on failure, including a non-loopback address without a token (EPERM). */
struct http_server *http__new(const struct http_opts *o, struct requests *r);
void http__free(struct http_server *h);
int http__fd(const struct http_server *h);         /* add to the daemon's epoll, EPOLLIN */
int http__timeout_ms(const struct http_server *h); /* -1: none */
void http__run(struct http_server *h);             /* process whatever is ready, never blocks */

/*
 * Internal, shared by the front end's files (http.c; http_params.c: routing
 * and query parameters as a pure function of the already unescaped path
 * and arguments; http_index.c: the index page), its unit test and its
 * fuzzer. Not for other modules.
 */
#define HTTP_PPROF_PREFIX "/debug/pprof/"

struct http_arg {
	const char *key, *value; /* value NULL: "?key" without "=" */
	size_t key_len, value_len;
};

enum http_route {
	HTTP_ROUTE_ERROR,
	HTTP_ROUTE_INDEX,
	HTTP_ROUTE_REDIRECT,
	HTTP_ROUTE_PROFILE,
	HTTP_ROUTE_FLAME, /* /debug/pprof/flamegraph?pid=P&window=last|hour, or &seconds=N */
};
/* What a flame graph of the page is drawn from. */
enum http_flame {
	HTTP_FLAME_LAST,    /* the last window pprofd wrote */
	HTTP_FLAME_HOUR,    /* the last hour's windows, merged */
	HTTP_FLAME_REQUEST, /* a CPU request of params.seconds */
};

struct http_parsed {
	enum http_route route;
	int status;               /* HTTP_ROUTE_ERROR: 400 or 404 */
	char message[128];        /* HTTP_ROUTE_ERROR: for the client */
	struct req_params params; /* HTTP_ROUTE_PROFILE, _FLAME: all but peer */
	enum http_flame flame;    /* HTTP_ROUTE_FLAME */
};

void http__parse(const char *path, const struct http_arg *args, size_t nr_args,
		 unsigned max_seconds, struct http_parsed *out);

/* Plain decimal like Go's ParseInt(s, 10, 64) without a sign ("010" is 10),
 * at most max: false for anything else. */
bool http__parse_uint(const char *s, size_t len, unsigned long max, unsigned long *v);

/* The index page (/debug/pprof/) as peer may see it (the processes it may
 * profile): malloc'ed HTML of *len bytes, or NULL when out of memory. */
char *http__index_page(const struct cpu_ranks *ranks, unsigned hz, const struct req_peer *peer,
		       size_t *len);
/* Flame graphs (http_flame.c): malloc'ed SVG in *svg, *len bytes; or
 * -errno and a sentence in err (-ENOENT: nothing written of pid). Of
 * pid's windows that pprofd wrote under out_dir, the last or the last
 * hour's; or of a profile's bytes (a request's). */
int http__flame_windows(const char *out_dir, uint32_t pid, bool hour, char **svg, size_t *len,
			char *err, size_t errlen);
int http__flame_profile(const uint8_t *data, size_t size, char **svg, size_t *len, char *err,
			size_t errlen);

#endif
