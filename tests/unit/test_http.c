// SPDX-License-Identifier: MIT
/*
 * The HTTP front end against a fake requests engine defined here: this
 * process runs the server's event loop while children (curl, or raw sockets)
 * are the clients. Status codes, headers and bodies as Go's pprof server
 * sends them; bad parameters; slow, garbage and oversized clients; tokens.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "requests.h"
#include "test.h"

#define MAX_SECONDS 60
#define TIMEOUT_SEC 2
#define MAX_CONNS 64

/* ---- the fake requests engine ---- */

struct request {
	req_done_fn done;
	void *ctx;
	double deadline; /* 0: never */
	struct req_params p;
	struct request *next;
};

static struct request *fake_pending;
static int fake_started, fake_cancelled, fake_done;
static struct req_params fake_last;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fake_fail(req_done_fn done, void *ctx, int status, const char *msg)
{
	struct req_result res = { .status = status };

	snprintf(res.message, sizeof(res.message), "%s", msg);
	fake_done++;
	done(&res, ctx);
}

/*
 * pid 1: 200 after 100 ms; pid 5: 200 after 3 s (longer than the connection
 * timeout); pid 4: never; pid 2: 403; pid 3: 429; pid 999999: 404; pid 0
 * (the host): 200 for privileged senders, 403 otherwise.
 */
struct request *requests__start(struct requests *r, const struct req_params *p, req_done_fn done,
				void *ctx)
{
	struct request *q;
	double delay = 0.1;

	fake_started++;
	fake_last = *p;
	switch (p->pid) {
	case 2:
		fake_fail(done, ctx, 403, "permission denied: not your process");
		return NULL;
	case 3:
		fake_fail(done, ctx, 429, "too many requests: 8 already running");
		return NULL;
	case 999999:
		fake_fail(done, ctx, 404, "no such process");
		return NULL;
	case 0:
		if (!p->peer.privileged) {
			fake_fail(done, ctx, 403, "the whole host needs a privileged sender");
			return NULL;
		}
		break;
	case 4:
		delay = 0;
		break;
	case 5:
		delay = 3;
		break;
	}
	q = calloc(1, sizeof(*q));
	q->done = done;
	q->ctx = ctx;
	q->deadline = delay ? now() + delay : 0;
	q->p = *p;
	q->next = fake_pending;
	fake_pending = q;
	return q;
}

void requests__cancel(struct requests *r, struct request *q)
{
	struct request **pp;

	for (pp = &fake_pending; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			free(q);
			fake_cancelled++;
			return;
		}
	}
	ASSERT_TRUE(0, "cancel of an unknown request");
}

static void fake_tick(void)
{
	struct request **pp = &fake_pending, *q;
	double t = now();

	while ((q = *pp)) {
		struct req_result res = { .status = 200 };
		char body[64];

		if (!q->deadline || q->deadline > t) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		res.len = snprintf(body, sizeof(body), "FAKE kind=%d pid=%u", q->p.kind, q->p.pid);
		res.data = (uint8_t *)strdup(body);
		fake_done++;
		q->done(&res, q->ctx);
		free(res.data); /* NULL when the callee took it */
		free(q);
	}
}

/* ---- the server's loop ---- */

static struct http_server *srv;
static int epfd = -1;
static unsigned port;
static char tmpdir[64];

static void serve_once(int max_ms)
{
	struct epoll_event ev;
	int t = http__timeout_ms(srv);

	if (t < 0 || t > max_ms)
		t = max_ms;
	epoll_wait(epfd, &ev, 1, t);
	http__run(srv);
	fake_tick();
}

static void serve_for(double sec)
{
	double end = now() + sec;

	while (now() < end)
		serve_once(10);
}

/* Serves until child pid exits (killed after 20 s); its wait status. */
static int serve_until_exit(pid_t pid)
{
	double end = now() + 20;
	int status = -1;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		if (now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ASSERT_TRUE(0, "client %d hung", pid);
			return -1;
		}
		serve_once(10);
	}
}

static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, len);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static struct http_server *start(const char *host, const char *token)
{
	char addr[64];
	struct http_opts o = {
		.addr = addr,
		.token = token,
		.max_seconds = MAX_SECONDS,
		.conns = { MAX_CONNS, 0, MAX_CONNS },
		.timeout_sec = TIMEOUT_SEC,
	};
	struct epoll_event ev = { .events = EPOLLIN };

	port = free_port();
	snprintf(addr, sizeof(addr), "%s:%u", host, port);
	srv = http__new(&o, NULL);
	if (!ASSERT_TRUE(srv, "http__new(%s): %s", addr, strerror(errno)))
		exit(1);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_OK(epoll_ctl(epfd, EPOLL_CTL_ADD, http__fd(srv), &ev));
	return srv;
}

static void stop(void)
{
	http__free(srv);
	srv = NULL;
	close(epfd);
	epfd = -1;
}

/* ---- clients ---- */

struct resp {
	int code;
	char *headers;
	char *body;
	size_t body_len;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 22);
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, (1 << 22) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void resp_free(struct resp *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* curl as uid (-1: ourselves) with extra arguments and a path. */
static void curl_as(uid_t uid, struct resp *r, const char *extra, const char *fmt, ...)
{
	char path[4096], cmd[8192], f[128];
	va_list ap;
	pid_t pid;
	int status;
	char *code;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd),
		 "exec curl -s -m 15 -o %s/body -D %s/headers -w '%%{http_code}' %s "
		 "'http://127.0.0.1:%u%s' > %s/code",
		 tmpdir, tmpdir, extra ? extra : "", port, path, tmpdir);
	snprintf(f, sizeof(f), "%s/body", tmpdir);
	unlink(f);
	snprintf(f, sizeof(f), "%s/headers", tmpdir);
	unlink(f);
	snprintf(f, sizeof(f), "%s/code", tmpdir);
	unlink(f);
	pid = fork();
	if (pid == 0) {
		if (uid != (uid_t)-1 && (setgid(uid) || setuid(uid)))
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	status = serve_until_exit(pid);
	ASSERT_TRUE(WIFEXITED(status), "curl status %d", status);
	snprintf(f, sizeof(f), "%s/code", tmpdir);
	code = slurp(f, NULL);
	r->code = atoi(code);
	free(code);
	snprintf(f, sizeof(f), "%s/headers", tmpdir);
	r->headers = slurp(f, NULL);
	snprintf(f, sizeof(f), "%s/body", tmpdir);
	r->body = slurp(f, &r->body_len);
}

#define curl(r, ...) curl_as(-1, r, NULL, __VA_ARGS__)

/* A header's value (case-insensitive name), "" when absent. */
static const char *header(const struct resp *r, const char *name)
{
	static char val[512];
	size_t n = strlen(name);
	const char *l;

	val[0] = 0;
	for (l = r->headers; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (!strncasecmp(l, name, n) && l[n] == ':') {
			const char *v = l + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strpbrk(v, "\r\n");
			n = e ? (size_t)(e - v) : strlen(v);
			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, v, n);
			val[n] = 0;
			break;
		}
	}
	return val;
}

static void check_error(const char *path, int code, const char *body_prefix)
{
	struct resp r;

	curl(&r, "%s", path);
	ASSERT_TRUE(r.code == code, "%s: status %d, want %d", path, r.code, code);
	ASSERT_STREQ(header(&r, "Content-Type"), "text/plain; charset=utf-8");
	ASSERT_STREQ(header(&r, "X-Content-Type-Options"), "nosniff");
	ASSERT_TRUE(!strncmp(r.body, body_prefix, strlen(body_prefix)) && r.body_len &&
			    r.body[r.body_len - 1] == '\n',
		    "%s: body \"%s\", want \"%s...\\n\"", path, r.body, body_prefix);
	resp_free(&r);
}

/* ---- tests ---- */

static void test_parse(void)
{
	struct http_arg a[3] = {
		{ .key = "pid", .key_len = 3, .value = "42", .value_len = 2 },
		{ .key = "seconds", .key_len = 7, .value = "010", .value_len = 3 },
		{ .key = "hz", .key_len = 2, .value = "10000", .value_len = 5 },
	};
	struct http_parsed p;

	http__parse("/debug/pprof/mutex", a, 3, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_PROFILE);
	ASSERT_EQ(p.params.kind, KIND_MUTEX);
	ASSERT_EQ(p.params.pid, 42);
	ASSERT_EQ(p.params.seconds, 10);
	ASSERT_EQ(p.params.hz, 10000);
	/* a value with a NUL inside (MHD unescapes %00) is not a number */
	a[0].value = "4\0"
		     "2";
	a[0].value_len = 3;
	http__parse("/debug/pprof/mutex", a, 3, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_ERROR);
	ASSERT_EQ(p.status, 400);
	/* "?pid" with no "=" */
	a[0].value = NULL;
	a[0].value_len = 0;
	http__parse("/debug/pprof/heap", a, 1, 60, &p);
	ASSERT_EQ(p.status, 400);
	http__parse("/debug/pprof/", NULL, 0, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_INDEX);
	http__parse("/debug/pprof", NULL, 0, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_REDIRECT);
	http__parse("/debug/pprof/profile", NULL, 0, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_PROFILE);
	ASSERT_EQ(p.params.pid, 0);
	ASSERT_EQ(p.params.seconds, 0);
	http__parse("/debug/pprof/profile", NULL, 0, 60, &p);
}

/* The page's flame graphs: of pid's windows (last, hour) or of a request. */
static void test_parse_flame(void)
{
	struct http_arg a[2] = {
		{ .key = "pid", .key_len = 3, .value = "42", .value_len = 2 },
		{ .key = "window", .key_len = 6, .value = "hour", .value_len = 4 },
	};
	struct http_parsed p;

	http__parse("/debug/pprof/flamegraph", a, 2, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_FLAME);
	ASSERT_EQ(p.flame, HTTP_FLAME_HOUR);
	ASSERT_EQ(p.params.kind, KIND_CPU);
	ASSERT_EQ(p.params.pid, 42);
	http__parse("/debug/pprof/flamegraph", a, 1, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_FLAME);
	ASSERT_EQ(p.flame, HTTP_FLAME_LAST);
	a[1] = (struct http_arg){ .key = "seconds", .key_len = 7, .value = "5", .value_len = 1 };
	http__parse("/debug/pprof/flamegraph", a, 2, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_FLAME);
	ASSERT_EQ(p.flame, HTTP_FLAME_REQUEST);
	ASSERT_EQ(p.params.seconds, 5);
	http__parse("/debug/pprof/flamegraph", a, 2, 4, &p);
	ASSERT_EQ(p.status, 400); /* over max_request_seconds, as profile */
	http__parse("/debug/pprof/flamegraph", a + 1, 1, 60, &p);
	ASSERT_EQ(p.status, 400); /* no pid: no host-wide graph */
	a[1] = (struct http_arg){ .key = "window", .key_len = 6, .value = "day", .value_len = 3 };
	http__parse("/debug/pprof/flamegraph", a, 2, 60, &p);
	ASSERT_EQ(p.status, 400);
	/* window is the page's parameter: a profile ignores it, as Go would */
	http__parse("/debug/pprof/profile", a, 2, 60, &p);
	ASSERT_EQ(p.route, HTTP_ROUTE_PROFILE);
}

static void test_profile(void)
{
	struct resp r;

	curl(&r, "/debug/pprof/profile?pid=1&seconds=2&hz=99");
	ASSERT_EQ(r.code, 200);
	ASSERT_STREQ(header(&r, "Content-Type"), "application/octet-stream");
	{
		/* the process's and the kind's name, as a browser saves it */
		const char *cd = header(&r, "Content-Disposition");
		const char *end = "-1-cpu.pb.gz\"";

		ASSERT_TRUE(cd && !strncmp(cd, "attachment; filename=\"", 22) &&
				    strlen(cd) > strlen(end) &&
				    !strcmp(cd + strlen(cd) - strlen(end), end),
			    "Content-Disposition: %s", cd ? cd : "(none)");
	}
	ASSERT_STREQ(header(&r, "X-Content-Type-Options"), "nosniff");
	ASSERT_STREQ(r.body, "FAKE kind=1 pid=1");
	ASSERT_EQ(fake_last.kind, KIND_CPU);
	ASSERT_EQ(fake_last.pid, 1);
	ASSERT_EQ(fake_last.seconds, 2);
	ASSERT_EQ(fake_last.hz, 99);
	/* curl runs as root: the socket's owner is known */
	ASSERT_TRUE(fake_last.peer.known && fake_last.peer.uid == 0 && fake_last.peer.privileged);
	resp_free(&r);

	/* defaults are the engine's: 0 */
	curl(&r, "/debug/pprof/profile?pid=1");
	ASSERT_EQ(r.code, 200);
	ASSERT_EQ(fake_last.seconds, 0);
	ASSERT_EQ(fake_last.hz, 0);
	resp_free(&r);
}

static void test_kinds(void)
{
	static const struct {
		const char *name;
		enum kind_id kind;
	} k[] = {
		{ "heap", KIND_HEAP },
		{ "mutex", KIND_MUTEX },
		{ "block", KIND_BLOCK },
		{ "goroutine", KIND_THREADS },
	};
	struct resp r;
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		curl(&r, "/debug/pprof/%s?pid=1&seconds=1&debug=0", k[i].name);
		ASSERT_TRUE(r.code == 200, "%s: %d", k[i].name, r.code);
		snprintf(want, sizeof(want), "FAKE kind=%d pid=1", k[i].kind);
		ASSERT_STREQ(r.body, want);
		ASSERT_EQ(fake_last.kind, k[i].kind);
		resp_free(&r);
	}
}

static void test_engine_errors(void)
{
	check_error("/debug/pprof/profile?pid=999999&seconds=1", 404, "no such process");
	check_error("/debug/pprof/heap?pid=2", 403, "permission denied");
	check_error("/debug/pprof/profile?pid=3", 429, "too many requests");
}

static void test_host(void)
{
	struct resp r;

	curl(&r, "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 200);
	ASSERT_EQ(fake_last.pid, 0);
	resp_free(&r);

	/* from nobody: known, unprivileged */
	curl_as(65534, &r, NULL, "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 403);
	ASSERT_TRUE(fake_last.peer.known && fake_last.peer.uid == 65534 &&
			    !fake_last.peer.privileged,
		    "peer %d/%u/%d", fake_last.peer.known, fake_last.peer.uid,
		    fake_last.peer.privileged);
	resp_free(&r);

	/* a token on a loopback listener that has none: refused */
	curl_as(-1, &r, "-H 'Authorization: Bearer x'", "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 401);
	resp_free(&r);
}

static void test_bad_params(void)
{
	static const char *bad[] = {
		"profile?pid=1&seconds=abc",
		"profile?pid=1&seconds=-1",
		"profile?pid=1&seconds=99999",
		"profile?pid=1&seconds=61",
		"profile?pid=1&seconds=0",
		"profile?pid=1&seconds=",
		"profile?pid=1&seconds",
		"profile?pid=1&seconds=%2B5",
		"profile?pid=1&seconds=5%20",
		"profile?pid=1&seconds=99999999999999999999999",
		"profile?pid=0x10",
		"profile?pid=",
		"profile?pid=0",
		"profile?pid=-1",
		"profile?pid=1%00",
		"profile?pid=1&hz=0",
		"profile?pid=1&hz=10001",
		"profile?pid=1&hz=1e3",
		"profile?pid=1&pid=2",
		"profile?pid=1&debug=x",
		"heap?seconds=5",
		"goroutine",
	};
	int before = fake_started;
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/debug/pprof/%s", bad[i]);
		check_error(path, 400, "");
	}
	check_error("/debug/pprof/profile?pid=1&seconds=abc", 400, "invalid value for \"seconds\"");
	check_error("/debug/pprof/profile?pid=1&debug=1", 400, "debug=1 is not supported");
	check_error("/debug/pprof/heap?debug=2&pid=1", 400, "debug=2 is not supported");
	ASSERT_EQ(fake_started, before);
}

static void test_paths(void)
{
	struct resp r;

	check_error("/debug", 404, "404 page not found");
	check_error("/debug/pprof/nope?pid=1", 404, "Unknown profile");
	check_error("/debug/pprof/profile/x?pid=1", 404, "Unknown profile");
	check_error("/debug/pprof/cmdline", 404, "Unknown profile");
	/* the index from / (where a person starts) and /debug/pprof, as Go's
	 * ServeMux; "/%00" is "/" to MHD, which cuts at the NUL */
	for (const char *const *p = (const char *const[]){ "/", "/debug/pprof", "/%00", NULL }; *p;
	     p++) {
		curl(&r, "%s", *p);
		ASSERT_EQ(r.code, 301);
		ASSERT_STREQ(header(&r, "Location"), "/debug/pprof/");
		resp_free(&r);
	}

	curl_as(-1, &r, "-X POST -d x=1", "/debug/pprof/profile?pid=1");
	ASSERT_EQ(r.code, 405);
	resp_free(&r);

	/* an escaped path is the same path */
	curl(&r, "/debug/pprof/%%70rofile?pid=1&seconds=1");
	ASSERT_EQ(r.code, 200);
	resp_free(&r);
}

static void test_index(void)
{
	const char *hostile = "<i>&\"'x\x01";
	char want[128];
	struct resp r;
	int sync[2];
	pid_t pid;

	ASSERT_OK(pipe(sync));
	pid = fork();
	if (pid == 0) {
		char c;

		close(sync[1]);
		prctl(PR_SET_NAME, hostile);
		(void)!read(sync[0], &c, 1);
		_exit(0);
	}
	close(sync[0]);
	usleep(50000);
	curl(&r, "/debug/pprof/");
	ASSERT_EQ(r.code, 200);
	ASSERT_STREQ(header(&r, "Content-Type"), "text/html; charset=utf-8");
	ASSERT_TRUE(strstr(r.body, "&lt;i&gt;&amp;&quot;&#39;x?"), "escaped comm missing");
	ASSERT_TRUE(!strstr(r.body, "<i>"), "raw comm in the page");
	snprintf(want, sizeof(want), "<td class=n>%d</td>", pid);
	ASSERT_TRUE(strstr(r.body, want), "%s missing", want);
	snprintf(want, sizeof(want), "href=\"profile?pid=%d&amp;seconds=30\"", pid);
	ASSERT_TRUE(strstr(r.body, want), "%s missing", want);
	ASSERT_TRUE(strstr(r.body, "href=\"profile?seconds=30\""), "host link missing");
	resp_free(&r);
	close(sync[1]);
	waitpid(pid, NULL, 0);
}

/* The client's socket, connected to the server (the server accepts later). */
static int raw_connect(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends, then reads until EOF: exits 0 when EOF came after min..max s. */
static pid_t slow_client(const char *data, double min, double max)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = raw_connect();
		double t0 = now(), dt;
		char buf[4096];

		if (fd < 0 || write(fd, data, strlen(data)) < 0)
			_exit(2);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		dt = now() - t0;
		_exit(dt >= min && dt <= max ? 0 : 3);
	}
	return pid;
}

static void test_slow_client(void)
{
	pid_t slow, idle;
	int status;
	struct resp r;

	slow = slow_client("GET /debug/pprof/prof", TIMEOUT_SEC - 0.5, TIMEOUT_SEC + 3);
	idle = slow_client("", TIMEOUT_SEC - 0.5, TIMEOUT_SEC + 3);
	serve_for(0.2);
	/* others are served meanwhile, also a profile longer than the timeout */
	curl(&r, "/debug/pprof/profile?pid=5&seconds=3");
	ASSERT_EQ(r.code, 200);
	ASSERT_STREQ(r.body, "FAKE kind=1 pid=5");
	resp_free(&r);
	status = serve_until_exit(slow);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "slow client: %d", status);
	status = serve_until_exit(idle);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "idle client: %d", status);
}

static void test_garbage(void)
{
	int fds[50], i, closed = 0;
	struct resp r;

	srand(1);
	for (i = 0; i < 50; i++) {
		char buf[512];
		int j, n = 1 + rand() % (int)sizeof(buf);

		fds[i] = raw_connect();
		ASSERT_TRUE(fds[i] >= 0);
		for (j = 0; j < n; j++)
			buf[j] = rand();
		if (i % 3 == 0) {
			static const char bad_line[] = "GET /\x01\xff HTTP/1.1\r\n\r\n";

			memcpy(buf, bad_line,
			       sizeof(bad_line) - 1 < (size_t)n ? sizeof(bad_line) - 1 : (size_t)n);
		}
		if (i % 5 == 0 && n > 4)
			memcpy(buf + n - 4, "\r\n\r\n", 4);
		(void)!write(fds[i], buf, n);
		if (i % 7 == 0)
			shutdown(fds[i], SHUT_WR);
		serve_once(0);
	}
	serve_for(0.5);
	/* a well-formed request still works, while the garbage is still open */
	curl(&r, "/debug/pprof/profile?pid=1&seconds=1");
	ASSERT_EQ(r.code, 200);
	resp_free(&r);
	for (i = 0; i < 50; i++) {
		char buf[4096];
		ssize_t n;

		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		while ((n = read(fds[i], buf, sizeof(buf))) > 0)
			;
		closed += n == 0 || (n < 0 && errno == ECONNRESET);
		close(fds[i]);
	}
	/* most garbage ends before a request does; the rest times out */
	ASSERT_TRUE(closed >= 10, "only %d of 50 garbage connections closed", closed);
}

static int nr_sockets(void)
{
	char path[300], target[64];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && (de = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		n += len > 7 && !strncmp(target, "socket:", 7);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * Over the limit, connections are answered 503 with the reason and closed
 * at once (not left waiting): the server holds at most MAX_CONNS, and once
 * they close, requests are served again.
 */
static void test_connection_limit(void)
{
	int fds[MAX_CONNS + 20], i, base, accepted;
	double t0;
	struct resp r;

	serve_for(0.5); /* earlier tests' connections are gone */
	base = nr_sockets();

	for (i = 0; i < MAX_CONNS + 20; i++) {
		fds[i] = raw_connect();
		ASSERT_TRUE(fds[i] >= 0);
		serve_once(0);
	}
	serve_for(0.3);
	accepted = nr_sockets() - base - (MAX_CONNS + 20);
	ASSERT_TRUE(accepted <= MAX_CONNS && accepted >= MAX_CONNS - 2, "%d accepted", accepted);
	t0 = now();
	curl(&r, "/debug/pprof/profile?pid=1&seconds=1");
	ASSERT_EQ(r.code, 503);
	ASSERT_TRUE(r.body && strstr(r.body, "too many concurrent connections"), "%s",
		    r.body ? r.body : "(no body)");
	ASSERT_TRUE(now() - t0 < 2, "answered after %.1f s", now() - t0);
	resp_free(&r);
	for (i = 0; i < MAX_CONNS + 20; i++)
		close(fds[i]);
	serve_for(0.2);
	curl(&r, "/debug/pprof/profile?pid=1&seconds=1");
	ASSERT_EQ(r.code, 200);
	resp_free(&r);
}

/* Sends a request with a huge URL or header; exits with the status code/2. */
static pid_t big_client(bool in_url)
{
	pid_t pid = fork();

	if (pid == 0) {
		size_t n = 100000;
		char *req = malloc(n + 256), buf[256];
		int fd = raw_connect(), code = 0;
		ssize_t got;

		int k;

		if (in_url) {
			k = sprintf(req, "GET /debug/pprof/profile?pid=1&x=");
			memset(req + k, 'A', n);
			sprintf(req + k + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
		} else {
			k = sprintf(
				req,
				"GET /debug/pprof/profile?pid=1 HTTP/1.1\r\nHost: x\r\nX-Big: ");
			memset(req + k, 'B', n);
			sprintf(req + k + n, "\r\n\r\n");
		}
		signal(SIGPIPE, SIG_IGN);
		(void)!write(fd, req, strlen(req)); /* the server may stop reading */
		got = read(fd, buf, sizeof(buf) - 1);
		if (got > 12 && !strncmp(buf, "HTTP/1.", 7))
			code = atoi(buf + 9);
		_exit(code / 2);
	}
	return pid;
}

static void test_oversized(void)
{
	int status;
	struct resp r;

	status = serve_until_exit(big_client(true));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) * 2 / 10 == 41, "huge URL: status %d",
		    WEXITSTATUS(status) * 2);
	status = serve_until_exit(big_client(false));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) * 2 / 10 == 43,
		    "huge header: status %d", WEXITSTATUS(status) * 2);
	curl(&r, "/debug/pprof/profile?pid=1&seconds=1");
	ASSERT_EQ(r.code, 200);
	resp_free(&r);
}

/* The client gives up; at shutdown the request is cancelled, done never called. */
static void test_cancel(void)
{
	struct resp r;
	int cancelled = fake_cancelled, done = fake_done;

	curl_as(-1, &r, "-m 1", "/debug/pprof/profile?pid=4&seconds=1");
	ASSERT_EQ(r.code, 0);
	resp_free(&r);
	ASSERT_TRUE(fake_pending != NULL);
	stop();
	ASSERT_EQ(fake_cancelled, cancelled + 1);
	ASSERT_EQ(fake_done, done);
	ASSERT_TRUE(fake_pending == NULL);
}

static void test_listen_rules(void)
{
	struct http_opts o = { .token = "", .max_seconds = 10 };
	char addr[64];

	o.addr = "0.0.0.0:6061";
	errno = 0;
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EPERM);
	o.addr = "[::]:6061";
	errno = 0;
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EPERM);
	o.token = NULL;
	o.addr = "192.168.1.1:6061";
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EPERM);
	o.addr = "nonsense";
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EINVAL);
	o.addr = "127.0.0.1:99999";
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EINVAL);
	o.addr = "[::1:80";
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EINVAL);
	/* the port is taken */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	o.addr = addr;
	ASSERT_TRUE(http__new(&o, NULL) == NULL);
	ASSERT_EQ(errno, EADDRINUSE);
}

static void test_ipv6(void)
{
	struct http_server *saved = srv;
	int saved_ep = epfd;
	unsigned saved_port = port;
	struct resp r;
	pid_t pid;
	int status;
	char cmd[256];

	start("[::1]", "");
	snprintf(
		cmd, sizeof(cmd),
		"exec curl -s -o /dev/null -w '%%{http_code}' 'http://[::1]:%u/debug/pprof/profile?seconds=1'"
		" | grep -qx 200",
		port);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	status = serve_until_exit(pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ipv6 request failed");
	ASSERT_TRUE(fake_last.peer.known && fake_last.peer.uid == 0);
	stop();
	srv = saved;
	epfd = saved_ep;
	port = saved_port;
	(void)r;
}

static void test_token(void)
{
	struct resp r;

	start("0.0.0.0", "s3cret");
	curl(&r, "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 401);
	ASSERT_STREQ(header(&r, "Content-Type"), "text/plain; charset=utf-8");
	ASSERT_TRUE(!strncmp(header(&r, "WWW-Authenticate"), "Bearer", 6));
	resp_free(&r);
	curl_as(-1, &r, "-H 'Authorization: Bearer wrong'", "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 401);
	resp_free(&r);
	curl_as(-1, &r, "-H 'Authorization: Bearer s3cret0'", "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 401);
	resp_free(&r);
	curl_as(-1, &r, "-H 'Authorization: Basic czNjcmV0'", "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 401);
	resp_free(&r);
	curl_as(-1, &r, "-H 'Authorization: Bearer s3cret'", "/debug/pprof/profile?seconds=1");
	ASSERT_EQ(r.code, 200);
	ASSERT_TRUE(fake_last.peer.privileged);
	resp_free(&r);
	/* the index needs the token too */
	curl(&r, "/debug/pprof/");
	ASSERT_EQ(r.code, 401);
	resp_free(&r);
	stop();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (geteuid()) {
		printf("SKIP test_http (needs root to switch uid)\n");
		return 77;
	}
	strcpy(tmpdir, "/tmp/pprofd-http-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	chmod(tmpdir, 0777); /* curl also runs as nobody */

	RUN_TEST(test_parse);
	RUN_TEST(test_parse_flame);
	start("127.0.0.1", "");
	RUN_TEST(test_profile);
	RUN_TEST(test_kinds);
	RUN_TEST(test_engine_errors);
	RUN_TEST(test_host);
	RUN_TEST(test_bad_params);
	RUN_TEST(test_paths);
	RUN_TEST(test_index);
	RUN_TEST(test_slow_client);
	RUN_TEST(test_garbage);
	RUN_TEST(test_connection_limit);
	RUN_TEST(test_oversized);
	RUN_TEST(test_listen_rules);
	RUN_TEST(test_ipv6);
	RUN_TEST(test_cancel); /* stops the server */
	RUN_TEST(test_token);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		(void)!system(cmd);
	}
	return TEST_MAIN_END();
}
