// SPDX-License-Identifier: MIT
/*
 * pprofctl profile|heap|mutex|block|threads|status: one framed request on
 * the daemon's Unix socket (proto/control.proto), one framed reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "ctl.h"
#include "fdio.h"

#define PROTO_VERSION 1 /* CONTROL_VERSION of the daemon */
#define DEFAULT_SOCKET "/run/pprofd/pprofd.sock"
#define RUN_SOCKET "run/pprofd.sock" /* make run's, in the clone */
#define MAX_REPLY (256u << 20)

static const char *socket_given; /* --socket before the command */

void ctl__set_socket(const char *path)
{
	socket_given = path;
}

/* The socket to talk to, where no --socket follows the command: the one
 * before it, else $PPROFD_SOCKET, else the service's, else (there is
 * none) the one `make run` made in the current directory. */
static const char *default_socket(void)
{
	const char *env = getenv("PPROFD_SOCKET");

	if (socket_given)
		return socket_given;
	if (env && *env)
		return env;
	if (access(DEFAULT_SOCKET, F_OK) && !access(RUN_SOCKET, F_OK))
		return RUN_SOCKET;
	return DEFAULT_SOCKET;
}

/* Reads exactly len bytes, waiting at most timeout_ms for each part. */
static int read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) == 0)
			return -ETIMEDOUT;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

/* Until fd has the reply's first byte (timeout_ms at most), for a
 * request of seconds: on a terminal, a line that says how long it has
 * waited. */
static void wait_reply(int fd, unsigned seconds, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned waited = 0;

	if (!seconds || !isatty(STDERR_FILENO))
		return;
	while ((long)waited * 1000 < timeout_ms && poll(&pfd, 1, 1000) == 0) {
		waited++;
		fprintf(stderr, "\rpprofctl: collecting: %u of %u s ", waited, seconds);
	}
	if (waited)
		fputs("\r\033[K", stderr); /* the line goes: the result follows */
}

/* Sends rq and returns the reply (to free with free_unpacked), or NULL after
 * printing why. */
static Pprofd__Control__Reply *roundtrip(const char *sock, Pprofd__Control__Request *rq,
					 int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = pprofd__control__request__get_packed_size(rq);
	uint8_t *msg = malloc(4 + n), hdr[4];
	Pprofd__Control__Reply *rep = NULL;
	uint32_t len;
	int fd, err, werr;

	if (!msg)
		return NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "pprofctl: socket path too long: %s\n", sock);
		free(msg);
		return NULL;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT)
			fprintf(stderr,
				"pprofctl: pprofd is not running: no socket at %s "
				"(start it, or give --socket PATH or PPROFD_SOCKET)\n",
				sock);
		else if (errno == ECONNREFUSED)
			fprintf(stderr,
				"pprofctl: pprofd is not running: connection refused at %s "
				"(a socket left by a pprofd that stopped?)\n",
				sock);
		else
			fprintf(stderr, "pprofctl: cannot connect to %s: %s\n", sock,
				strerror(errno));
		goto out;
	}
	msg[0] = n >> 24, msg[1] = n >> 16, msg[2] = n >> 8, msg[3] = n;
	pprofd__control__request__pack(rq, msg + 4);
	/* A refused client finds the reason waiting even when its request
	 * could not be sent: read it before giving up. */
	werr = send_all(fd, msg, 4 + n);
	if (!werr && rq->kind != PPROFD__CONTROL__KIND__KIND_STATUS &&
	    rq->kind != PPROFD__CONTROL__KIND__KIND_THREADS)
		wait_reply(fd, rq->seconds ? rq->seconds : 30, timeout_ms);
	if ((err = read_all(fd, hdr, 4, timeout_ms)) < 0) {
		if (werr)
			fprintf(stderr,
				"pprofctl: pprofd at %s closed the connection without an "
				"answer: %s\n",
				sock, strerror(-werr));
		else
			fprintf(stderr, "pprofctl: talking to pprofd at %s: %s\n", sock,
				strerror(-err));
		goto out;
	}
	len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	if (len > MAX_REPLY) {
		fprintf(stderr, "pprofctl: reply of %u bytes is too large\n", len);
		goto out;
	}
	free(msg);
	msg = malloc(len ? len : 1);
	if (!msg || (err = read_all(fd, msg, len, timeout_ms)) < 0) {
		fprintf(stderr, "pprofctl: reading the reply: %s\n",
			msg ? strerror(-err) : "out of memory");
		goto out;
	}
	rep = pprofd__control__reply__unpack(NULL, len, msg);
	if (!rep)
		fprintf(stderr, "pprofctl: malformed reply from pprofd\n");
	else if (rep->version != PROTO_VERSION) {
		fprintf(stderr,
			"pprofctl: pprofd speaks protocol version %u, this pprofctl %u: "
			"use the pprofctl of the same release\n",
			rep->version, PROTO_VERSION);
		pprofd__control__reply__free_unpacked(rep, NULL);
		rep = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(msg);
	return rep;
}

/* s as a number in 0..max: whether it is one. */
static bool to_uint(const char *s, unsigned max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return false;
	*out = v;
	return true;
}

/* The same for option --name, saying what is wrong: 0, or -1. */
static int parse_uint(const char *name, const char *s, unsigned max, uint32_t *out)
{
	if (to_uint(s, max, out))
		return 0;
	if (max == UINT32_MAX)
		fprintf(stderr, "pprofctl: --%s: '%s' is not a whole number\n", name, s);
	else
		fprintf(stderr, "pprofctl: --%s: '%s' is not a number in 0..%u\n", name, s, max);
	return -1;
}

static void request_usage(const char *cmd, FILE *f)
{
	if (!strcmp(cmd, "threads")) { /* a snapshot: no duration */
		fprintf(f,
			"Usage: pprofctl threads --pid PID [-o FILE] [--socket PATH]\n"
			"Asks pprofd for a snapshot of every thread of one process (its stack, name\n"
			"and state; the goroutine profile of a native process) and writes it\n"
			"(gzip-compressed pprof) to FILE, or to standard output when that is not a\n"
			"terminal.\n\n"
			"  -p, --pid PID       the process\n"
			"  -o, --output FILE   where to write the profile\n"
			"      --socket PATH   pprofd's control socket (default: PPROFD_SOCKET, else %s)\n\n"
			"Example:\n"
			"  pprofctl threads --pid 1234 -o threads.pb.gz && go tool pprof -traces threads.pb.gz\n",
			DEFAULT_SOCKET);
		return;
	}
	fprintf(f,
		"Usage: pprofctl %s --pid PID [--seconds N]%s [-o FILE] [--socket PATH]\n"
		"Asks pprofd for a %s profile of one process and writes it (gzip-compressed\n"
		"pprof) to FILE, or to standard output when that is not a terminal.\n\n"
		"  -p, --pid PID       the process\n"
		"  -s, --seconds N     how long to collect (default 30)\n"
		"%s%s"
		"  -o, --output FILE   where to write the profile\n"
		"      --socket PATH   pprofd's control socket (default: PPROFD_SOCKET, else %s)\n\n"
		"Example:\n"
		"  pprofctl %s --pid 1234 --seconds 10 -o prof.pb.gz && go tool pprof -top prof.pb.gz\n",
		cmd, strcmp(cmd, "profile") ? "" : " [--hz HZ]",
		strcmp(cmd, "profile") ? cmd : "CPU",
		strcmp(cmd, "profile")
			? ""
			: "      --hz HZ         samples per second (default: pprofd's frequency)\n",
		strcmp(cmd, "heap")
			? ""
			: "                      (without it, a process a heap_target names gets its\n"
			  "                      profile since pprofd attached, at once)\n",
		DEFAULT_SOCKET, cmd);
}

static Pprofd__Control__Kind kind_of(const char *cmd)
{
	if (!strcmp(cmd, "profile"))
		return PPROFD__CONTROL__KIND__KIND_CPU;
	if (!strcmp(cmd, "heap"))
		return PPROFD__CONTROL__KIND__KIND_HEAP;
	if (!strcmp(cmd, "mutex"))
		return PPROFD__CONTROL__KIND__KIND_MUTEX;
	if (!strcmp(cmd, "block"))
		return PPROFD__CONTROL__KIND__KIND_BLOCK;
	return PPROFD__CONTROL__KIND__KIND_THREADS;
}

int cmd_request(const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "hz", required_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	Pprofd__Control__Request rq = PPROFD__CONTROL__REQUEST__INIT;
	Pprofd__Control__Reply *rep;
	const char *out = NULL, *sock = default_socket();
	bool have_pid = false;
	int c, fd, rc = 1;

	rq.version = PROTO_VERSION;
	rq.kind = kind_of(cmd);
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:s:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!to_uint(optarg, 4194304, &rq.pid) || !rq.pid) {
				fprintf(stderr, "pprofctl: --pid: '%s' is not a process id\n",
					optarg);
				return 2;
			}
			have_pid = true;
			break;
		case 's':
			/* the range is the daemon's (max_request_seconds): it says it */
			if (parse_uint("seconds", optarg, UINT32_MAX, &rq.seconds))
				return 2;
			if (!rq.seconds) {
				fprintf(stderr, "pprofctl: --seconds 0: seconds must be 1 or more "
						"(up to max_request_seconds in pprofd's config)\n");
				return 2;
			}
			break;
		case 'H':
			if (parse_uint("hz", optarg, 10000, &rq.hz))
				return 2;
			break;
		case 'o':
			out = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'h':
			request_usage(cmd, stdout);
			return 0;
		default:
			request_usage(cmd, stderr);
			return 2;
		}
	}
	if (!have_pid || optind < argc) {
		fprintf(stderr, "pprofctl %s: %s\n", cmd,
			optind < argc ? "unexpected argument" : "--pid PID is required");
		request_usage(cmd, stderr);
		return 2;
	}
	if (!out && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "pprofctl: will not write a binary profile to a terminal: "
				"give -o FILE or redirect standard output\n");
		return 2;
	}
	rep = roundtrip(sock, &rq, (rq.seconds ? rq.seconds : 30) * 1000 + 30000);
	if (!rep)
		return 1;
	if (rep->code != 200) {
		fprintf(stderr, "pprofctl: %s\n",
			rep->message && *rep->message ? rep->message : "request failed");
		goto done;
	}
	fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : STDOUT_FILENO;
	if (fd < 0 || write_all(fd, rep->profile.data, rep->profile.len) < 0) {
		fprintf(stderr, "pprofctl: cannot write %s: %s\n", out ? out : "stdout",
			strerror(errno));
		goto done;
	}
	if (out && close(fd) < 0) {
		fprintf(stderr, "pprofctl: cannot write %s: %s\n", out, strerror(errno));
		goto done;
	}
	if (out)
		fprintf(stderr, "pprofctl: wrote %s (%zu bytes)\n", out, rep->profile.len);
	rc = 0;
done:
	pprofd__control__reply__free_unpacked(rep, NULL);
	return rc;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	Pprofd__Control__Request rq = PPROFD__CONTROL__REQUEST__INIT;
	Pprofd__Control__Reply *rep;
	const char *sock = default_socket();
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'S')
			sock = optarg;
		else if (c == 'h') {
			printf("Usage: pprofctl status [--socket PATH]\n"
			       "Prints pprofd's health: samples, drops by cause, processes, map fill,\n"
			       "requests served and refused.\n");
			return 0;
		} else
			return 2;
	}
	rq.version = PROTO_VERSION;
	rq.kind = PPROFD__CONTROL__KIND__KIND_STATUS;
	rep = roundtrip(sock, &rq, 10000);
	if (!rep)
		return 1;
	if (rep->code != 200 || !rep->status) {
		fprintf(stderr, "pprofctl: %s\n",
			rep->message && *rep->message ? rep->message : "no status");
		goto done;
	}
	printf("pprofd %s\n", rep->status->version);
	for (size_t i = 0; i < rep->status->n_counters; i++)
		printf("%-28s %llu\n", rep->status->counters[i]->name,
		       (unsigned long long)rep->status->counters[i]->value);
	rc = 0;
done:
	pprofd__control__reply__free_unpacked(rep, NULL);
	return rc;
}
