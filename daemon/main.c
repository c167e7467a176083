// SPDX-License-Identifier: MIT
/*
 * pprofd: the command line, the config's reload and the event loop. One
 * thread: the loop waits on the sample, side-band and heap rings, the
 * control socket, HTTP and signals, with a timeout that is the next
 * deadline (daemon__next_wake) on the monotonic clock; the parts it runs
 * are put together in daemon.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "heap_watch.h"
#include "http.h"
#include "log.h"
#include "loop_fd.h"
#include "notify.h"
#include "output.h"
#include "wait_watch.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pprofd [OPTIONS]\n"
		"System-wide sampling profiler: writes one pprof profile per process per interval.\n\n"
		"  -c, --config FILE        config file (default /etc/pprofd/pprofd.conf if present)\n"
		"  -o, --output-dir DIR     where profiles go (default /var/lib/pprofd)\n"
		"  -i, --interval SECONDS   length of a profile window (default 60)\n"
		"  -F, --frequency HZ       samples per second per CPU (default 49)\n"
		"  -s, --socket PATH        control socket (default /run/pprofd/pprofd.sock)\n"
		"      --http ADDR:PORT     HTTP listener (default 127.0.0.1:6060)\n"
		"      --no-http            no HTTP listener\n"
		"  -v, --verbose            debug logging\n"
		"      --check-config       check the config file and the options, then exit\n"
		"  -h, --help               this text\n"
		"  -V, --version            the version\n\n"
		"Signals: SIGTERM/SIGINT write the window in progress and stop; SIGHUP\n"
		"re-reads the config (a bad one is refused, with file:line, and the old stays).\n\n"
		"Examples:\n"
		"  pprofd --output-dir ./profiles --interval 10\n"
		"  pprofd --config /etc/pprofd/pprofd.conf --check-config\n"
		"  go tool pprof -top ./profiles/myapp-1234/cpu-20260101T000000Z.pb.gz\n");
}

/* Defaults, then the config file, then the command line. On an error the
 * reason is in err (empty when getopt has said it). */
static int parse_args(int argc, char **argv, struct config *cfg, bool *check, char *err,
		      size_t errlen)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "socket", required_argument, NULL, 's' },
		{ "http", required_argument, NULL, 'H' },
		{ "no-http", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", no_argument, NULL, 'C' },
		{ 0 },
	};
	const char *file = NULL;
	char msg[512];
	int c;

	err[0] = 0;
	config__defaults(cfg);
	/* first pass: only --config, --help, --version; again at SIGHUP */
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:o:i:F:s:vhV", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else if (c == 'V') {
			printf("pprofd %s\n", PPROFD_VERSION);
			exit(0);
		} else if (c == 'C' && check) {
			*check = true;
		} else if (c == '?') {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!file && access("/etc/pprofd/pprofd.conf", F_OK) == 0)
		file = "/etc/pprofd/pprofd.conf";
	if (file && config__load_file(cfg, file, err, errlen) < 0)
		return -EINVAL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:o:i:F:s:vhV", opts, NULL)) != -1) {
		const char *key = NULL, *val = optarg;

		switch (c) {
		case 'o':
			key = "output_dir";
			break;
		case 'i':
			key = "interval";
			break;
		case 'F':
			key = "frequency";
			break;
		case 's':
			key = "socket";
			break;
		case 'H':
			key = "http";
			break;
		case 'N':
			key = "http";
			val = "off";
			break;
		case 'v':
			key = "verbose";
			val = "true";
			break;
		default:
			continue;
		}
		if (config__set(cfg, key, val, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s: %s", key, msg);
			return -EINVAL;
		}
	}
	/* a listener beyond loopback without a token is refused here, at
	 * --check-config and at SIGHUP, not after BPF has loaded */
	if (cfg->http_enabled &&
	    http__check_listen(cfg->http_addr, cfg->http_token, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

static int reload(struct daemon *d, int argc, char **argv)
{
	struct config nc;
	char err[600];

	notify("RELOADING=1");
	if (parse_args(argc, argv, &nc, NULL, err, sizeof(err)) < 0) {
		log_err("SIGHUP: %s; keeping the old config", err);
		notify("READY=1");
		return -EINVAL;
	}
	if (strcmp(nc.output_dir, d->cfg.output_dir) &&
	    output__check_dir(nc.output_dir, err, sizeof(err)) < 0) {
		log_err("SIGHUP: %s; keeping the old config", err);
		notify("READY=1");
		return -EPERM;
	}
	/* What was set up at start (BPF maps, sockets, limits handed to the
	 * modules) stays as it is until a restart; the rest applies now. */
#define AT_RESTART(changed, field, key)                                             \
	do {                                                                        \
		if (changed) {                                                      \
			log_warn("SIGHUP: %s changes take effect at restart", key); \
			memcpy(&nc.field, &d->cfg.field, sizeof(nc.field));         \
		}                                                                   \
	} while (0)
#define SCALAR(field) (nc.field != d->cfg.field)
#define STRING(field) strcmp(nc.field, d->cfg.field)
	AT_RESTART(SCALAR(frequency_hz), frequency_hz, "frequency");
	AT_RESTART(STRING(socket_path), socket_path, "socket");
	AT_RESTART(SCALAR(http_enabled) || STRING(http_addr), http_addr, "http");
	nc.http_enabled = d->cfg.http_enabled;
	AT_RESTART(STRING(http_token), http_token, "http_token");
	AT_RESTART(SCALAR(ringbuf_bytes), ringbuf_bytes, "ringbuf_size");
	AT_RESTART(SCALAR(max_processes), max_processes, "max_processes");
	AT_RESTART(SCALAR(max_symbol_files), max_symbol_files, "max_symbol_files");
	AT_RESTART(SCALAR(unwind_cache_bytes), unwind_cache_bytes, "unwind_cache_size");
	AT_RESTART(SCALAR(unwind_tables), unwind_tables, "unwind_tables");
	AT_RESTART(SCALAR(unwind_table_bytes), unwind_table_bytes, "unwind_table_size");
	AT_RESTART(SCALAR(bpf_sample_timing), bpf_sample_timing, "bpf_sample_timing");
	AT_RESTART(SCALAR(max_request_seconds), max_request_seconds, "max_request_seconds");
	AT_RESTART(SCALAR(max_concurrent_requests), max_concurrent_requests,
		   "max_concurrent_requests");
	AT_RESTART(SCALAR(max_requests_per_user), max_requests_per_user, "max_requests_per_user");
	AT_RESTART(SCALAR(reserved_requests), reserved_requests, "reserved_requests");
	AT_RESTART(SCALAR(max_connections), max_connections, "max_connections");
	AT_RESTART(SCALAR(max_connections_per_user), max_connections_per_user,
		   "max_connections_per_user");
	AT_RESTART(SCALAR(reserved_connections), reserved_connections, "reserved_connections");
	AT_RESTART(SCALAR(profile_self), profile_self, "profile_self");
	/* libdebuginfod reads the environment: set once, before other threads */
	AT_RESTART(STRING(debuginfod_urls), debuginfod_urls, "debuginfod_urls");
	AT_RESTART(SCALAR(debuginfod_cache_bytes), debuginfod_cache_bytes, "debuginfod_cache_size");
	AT_RESTART(SCALAR(debuginfod_max_age_sec), debuginfod_max_age_sec,
		   "debuginfod_cache_max_age");
	AT_RESTART(SCALAR(debuginfod_timeout_sec), debuginfod_timeout_sec, "debuginfod_timeout");
#undef STRING
#undef SCALAR
#undef AT_RESTART
	d->cfg = nc;
	log_max_level = d->cfg.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	log_info("SIGHUP: config reloaded (interval %us)", d->cfg.interval_sec);
	heap_watch__scan(d->heapw); /* heap_target lines may name new processes */
	wait_watch__scan(d->waitw); /* and lock_target lines */
	notify("READY=1");
	return 0;
}

static void on_signal(struct loop_fd *w, uint32_t events)
{
	struct daemon *d = loop_fd_owner(w, struct daemon, sig_w);
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d, d->argc, d->argv);
		else
			d->stop = true;
	}
}

/* glibc's defaults grow a daemon's RSS for good: each loader thread gets
 * its own arena, and after the first large free the mmap threshold rises
 * (to 32 MiB), so the megabytes of an inflated DWARF section or a symbol
 * table come from an arena and stay held there once freed. Measured under
 * churn (bench/churn.sh): 31 MiB of free memory held, against 3.5. */
static void malloc_for_a_daemon(void)
{
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

int main(int argc, char **argv)
{
	struct daemon d = { .argc = argc, .argv = argv };
	sigset_t mask;
	int err = 1;
	uint64_t last_health, last_ping = 0, watchdog_ns = notify_watchdog_usec() * 1000;
	bool check = false;
	char why[600];

	malloc_for_a_daemon();
	if (parse_args(argc, argv, &d.cfg, &check, why, sizeof(why)) < 0) {
		if (why[0])
			fprintf(stderr, "pprofd: %s\n", why);
		return 2;
	}
	if (check) {
		printf("pprofd: %s: config OK\n",
		       d.cfg.config_file[0] ? d.cfg.config_file : "no config file, defaults");
		return 0;
	}
	log_max_level = d.cfg.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	/* a directory others may write is one they can point us elsewhere from */
	if (output__check_dir(d.cfg.output_dir, why, sizeof(why)) < 0) {
		log_err("%s; not starting", why);
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_w.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d.sig_w.fn = on_signal;
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.sig_w.fd < 0 || d.epfd < 0 || loop_fd_add(d.epfd, &d.sig_w, EPOLLIN) < 0)
		goto out;

	if (daemon__start(&d) < 0)
		goto out;
	last_health = d.start_mono;
	notify("READY=1\nSTATUS=profiling, no window written yet");

	while (!d.stop) {
		uint64_t now = mono_ns(), next = daemon__next_wake(&d);
		struct epoll_event evs[16];
		int n = epoll_wait(d.epfd, evs, 16,
				   next > now ? (int)((next - now + 999999) / 1000000) : 0);

		for (int i = 0; i < n; i++) {
			struct loop_fd *w = evs[i].data.ptr;

			w->fn(w, evs[i].events);
		}
		daemon__turn(&d);
		now = mono_ns();
		if (d.cfg.health_interval_sec &&
		    now - last_health >= d.cfg.health_interval_sec * 1000000000ull) {
			daemon__log_health(&d);
			last_health = now;
		}
		/* The loop turns at least once a second: a ping per half period
		 * tells systemd it has not hung. */
		if (watchdog_ns && now - last_ping >= watchdog_ns / 2) {
			notify("WATCHDOG=1");
			last_ping = now;
		}
	}
	notify("STOPPING=1");
	daemon__stop(&d);
	err = 0;
out:
	daemon__free(&d);
	return err;
}
