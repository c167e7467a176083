// SPDX-License-Identifier: MIT
/* Settings: defaults, every key good and bad, the file format, its errors. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char tmp_path[64];

/* Writes len bytes to a fresh temporary file, kept in tmp_path. */
static const char *write_tmp(const char *data, size_t len)
{
	int fd;

	if (tmp_path[0])
		unlink(tmp_path);
	strcpy(tmp_path, "/tmp/pprofd-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	if (!ASSERT_TRUE(fd >= 0, "mkstemp: %s", strerror(errno)))
		return "/nonexistent";
	ASSERT_EQ(write(fd, data, len), (long long)len);
	close(fd);
	return tmp_path;
}

static const char *write_str(const char *s)
{
	return write_tmp(s, strlen(s));
}

/* All fields but config_file. */
static bool config_equal(const struct config *a, const struct config *b)
{
	struct config x = *a, y = *b;

	memset(x.config_file, 0, sizeof(x.config_file));
	memset(y.config_file, 0, sizeof(y.config_file));
	return !strcmp(x.output_dir, y.output_dir) && x.interval_sec == y.interval_sec &&
	       x.frequency_hz == y.frequency_hz && !strcmp(x.socket_path, y.socket_path) &&
	       x.http_enabled == y.http_enabled && !strcmp(x.http_addr, y.http_addr) &&
	       !strcmp(x.http_token, y.http_token) && x.verbose == y.verbose &&
	       x.retention_max_age_sec == y.retention_max_age_sec &&
	       x.retention_max_bytes == y.retention_max_bytes &&
	       x.max_request_seconds == y.max_request_seconds &&
	       x.max_concurrent_requests == y.max_concurrent_requests &&
	       x.max_requests_per_user == y.max_requests_per_user &&
	       x.reserved_requests == y.reserved_requests &&
	       x.max_connections == y.max_connections &&
	       x.max_connections_per_user == y.max_connections_per_user &&
	       x.reserved_connections == y.reserved_connections &&
	       x.heap_sample_bytes == y.heap_sample_bytes && x.ringbuf_bytes == y.ringbuf_bytes &&
	       x.max_processes == y.max_processes && x.max_symbol_files == y.max_symbol_files &&
	       x.unwind_cache_bytes == y.unwind_cache_bytes && x.profile_self == y.profile_self &&
	       x.health_interval_sec == y.health_interval_sec &&
	       !strcmp(x.debuginfod_urls, y.debuginfod_urls) &&
	       x.debuginfod_cache_bytes == y.debuginfod_cache_bytes &&
	       x.debuginfod_max_age_sec == y.debuginfod_max_age_sec &&
	       x.debuginfod_timeout_sec == y.debuginfod_timeout_sec &&
	       x.nr_heap_targets == y.nr_heap_targets && x.nr_lock_targets == y.nr_lock_targets &&
	       !memcmp(x.heap_targets, y.heap_targets,
		       x.nr_heap_targets * sizeof(x.heap_targets[0])) &&
	       !memcmp(x.lock_targets, y.lock_targets,
		       x.nr_lock_targets * sizeof(x.lock_targets[0]));
}

static void test_defaults(void)
{
	struct config c;

	memset(&c, 0xa5, sizeof(c));
	config__defaults(&c);
	ASSERT_STREQ(c.config_file, "");
	ASSERT_STREQ(c.output_dir, "/var/lib/pprofd");
	ASSERT_EQ(c.interval_sec, 60);
	ASSERT_EQ(c.frequency_hz, 49);
	ASSERT_STREQ(c.socket_path, "/run/pprofd/pprofd.sock");
	ASSERT_TRUE(c.http_enabled);
	ASSERT_STREQ(c.http_addr, "127.0.0.1:6060");
	ASSERT_STREQ(c.http_token, "");
	ASSERT_TRUE(!c.verbose);
	ASSERT_EQ(c.retention_max_age_sec, 7 * 86400);
	ASSERT_EQ(c.retention_max_bytes, 1LL << 30);
	ASSERT_EQ(c.max_request_seconds, 300);
	ASSERT_EQ(c.max_concurrent_requests, 8);
	ASSERT_EQ(c.heap_sample_bytes, 524288);
	ASSERT_TRUE(c.short_lived_per_name, "short_lived_files defaults to per_name");
	ASSERT_EQ(c.ringbuf_bytes, 0); /* auto */
	ASSERT_EQ(c.max_processes, 16384);
	ASSERT_EQ(c.max_symbol_files, 512);
	ASSERT_EQ(c.unwind_cache_bytes, 16 << 20);
	ASSERT_TRUE(!c.profile_self);
	ASSERT_EQ(c.health_interval_sec, 600);
	ASSERT_EQ(c.nr_heap_targets, 0);
	ASSERT_EQ(c.nr_lock_targets, 0);
}

/* Sets key = value on defaults and returns the config; asserts success. */
static struct config set_ok(const char *key, const char *value)
{
	struct config c;
	char err[256];

	config__defaults(&c);
	ASSERT_TRUE(config__set(&c, key, value, err, sizeof(err)) == 0, "%s = '%s': %s", key, value,
		    err);
	return c;
}

static void test_set_good(void)
{
	struct config c;

	ASSERT_STREQ(set_ok("output_dir", "/srv/profiles").output_dir, "/srv/profiles");
	ASSERT_STREQ(set_ok("output_dir", "./profiles").output_dir, "./profiles");
	ASSERT_EQ(set_ok("interval", "1").interval_sec, 1);
	ASSERT_EQ(set_ok("interval", "86400").interval_sec, 86400);
	ASSERT_EQ(set_ok("interval", "5m").interval_sec, 300);
	ASSERT_EQ(set_ok("interval", "1d").interval_sec, 86400);
	ASSERT_EQ(set_ok("frequency", "1").frequency_hz, 1);
	ASSERT_EQ(set_ok("frequency", "99").frequency_hz, 99);
	ASSERT_EQ(set_ok("frequency", "10000").frequency_hz, 10000);
	ASSERT_STREQ(set_ok("socket", "/tmp/p.sock").socket_path, "/tmp/p.sock");
	c = set_ok("http", "0.0.0.0:8080");
	ASSERT_TRUE(c.http_enabled);
	ASSERT_STREQ(c.http_addr, "0.0.0.0:8080");
	ASSERT_STREQ(set_ok("http", "[::1]:6060").http_addr, "[::1]:6060");
	ASSERT_STREQ(set_ok("http", "localhost:1").http_addr, "localhost:1");
	ASSERT_STREQ(set_ok("http", "127.0.0.1:65535").http_addr, "127.0.0.1:65535");
	c = set_ok("http", "off");
	ASSERT_TRUE(!c.http_enabled);
	ASSERT_STREQ(set_ok("http_token", "s3cr3t-T0ken_/+=").http_token, "s3cr3t-T0ken_/+=");
	ASSERT_STREQ(set_ok("http_token", "").http_token, "");
	ASSERT_STREQ(set_ok("debuginfod_urls", "https://debuginfod.debian.net").debuginfod_urls,
		     "https://debuginfod.debian.net");
	ASSERT_STREQ(set_ok("debuginfod_urls", "http://127.0.0.1:8002  https://a.example/x")
			     .debuginfod_urls,
		     "http://127.0.0.1:8002  https://a.example/x");
	ASSERT_STREQ(set_ok("debuginfod_urls", "").debuginfod_urls, "");
	ASSERT_EQ(set_ok("debuginfod_cache_size", "2G").debuginfod_cache_bytes, 2ull << 30);
	ASSERT_EQ(set_ok("debuginfod_timeout", "1m").debuginfod_timeout_sec, 60);
	ASSERT_TRUE(set_ok("verbose", "true").verbose);
	ASSERT_TRUE(set_ok("verbose", "yes").verbose);
	ASSERT_TRUE(set_ok("verbose", "1").verbose);
	ASSERT_TRUE(set_ok("verbose", "TRUE").verbose);
	ASSERT_TRUE(!set_ok("verbose", "false").verbose);
	ASSERT_TRUE(!set_ok("verbose", "no").verbose);
	ASSERT_TRUE(!set_ok("verbose", "0").verbose);
	ASSERT_EQ(set_ok("retention_max_age", "3600").retention_max_age_sec, 3600);
	ASSERT_EQ(set_ok("retention_max_age", "12h").retention_max_age_sec, 43200);
	ASSERT_EQ(set_ok("retention_max_age", "30d").retention_max_age_sec, 30 * 86400);
	ASSERT_EQ(set_ok("retention_max_bytes", "10G").retention_max_bytes, 10LL << 30);
	ASSERT_EQ(set_ok("retention_max_bytes", "1M").retention_max_bytes, 1 << 20);
	ASSERT_EQ(set_ok("retention_max_bytes", "2T").retention_max_bytes, 2LL << 40);
	ASSERT_EQ(set_ok("max_request_seconds", "60").max_request_seconds, 60);
	ASSERT_EQ(set_ok("max_request_seconds", "1h").max_request_seconds, 3600);
	ASSERT_EQ(set_ok("max_concurrent_requests", "1").max_concurrent_requests, 1);
	ASSERT_EQ(set_ok("max_concurrent_requests", "1024").max_concurrent_requests, 1024);
	ASSERT_EQ(set_ok("heap_sample_bytes", "1").heap_sample_bytes, 1);
	ASSERT_EQ(set_ok("heap_sample_bytes", "1M").heap_sample_bytes, 1 << 20);
	ASSERT_EQ(set_ok("ringbuf_size", "64K").ringbuf_bytes, 64 << 10);
	ASSERT_EQ(set_ok("ringbuf_size", "1G").ringbuf_bytes, 1 << 30);
	ASSERT_EQ(set_ok("ringbuf_size", "16MiB").ringbuf_bytes, 16 << 20);
	ASSERT_EQ(set_ok("ringbuf_size", "131072").ringbuf_bytes, 131072);
	ASSERT_EQ(set_ok("ringbuf_size", "auto").ringbuf_bytes, 0);
	ASSERT_EQ(set_ok("max_processes", "100000").max_processes, 100000);
	ASSERT_EQ(set_ok("max_symbol_files", "64").max_symbol_files, 64);
	ASSERT_EQ(set_ok("unwind_cache_size", "64M").unwind_cache_bytes, 64 << 20);
	ASSERT_EQ(set_ok("unwind_table_size", "128M").unwind_table_bytes, 128 << 20);
	ASSERT_TRUE(set_ok("unwind_tables", "yes").unwind_tables);
	ASSERT_TRUE(!set_ok("short_lived_files", "per_process").short_lived_per_name,
		    "per_process");
	ASSERT_TRUE(set_ok("short_lived_files", "per_name").short_lived_per_name, "per_name");
	ASSERT_TRUE(set_ok("bpf_sample_timing", "yes").bpf_sample_timing);
	ASSERT_TRUE(set_ok("profile_self", "yes").profile_self);
	ASSERT_EQ(set_ok("health_interval", "0").health_interval_sec, 0);
	ASSERT_EQ(set_ok("health_interval", "90s").health_interval_sec, 90);
	ASSERT_EQ(set_ok("health_interval", "7d").health_interval_sec, 7 * 86400);

	c = set_ok("heap_target", "comm:nginx");
	ASSERT_EQ(c.nr_heap_targets, 1);
	ASSERT_EQ(c.heap_targets[0].kind, TARGET_COMM);
	ASSERT_STREQ(c.heap_targets[0].value, "nginx");
	c = set_ok("lock_target", "exe:/usr/sbin/mysqld");
	ASSERT_EQ(c.nr_lock_targets, 1);
	ASSERT_EQ(c.nr_heap_targets, 0);
	ASSERT_EQ(c.lock_targets[0].kind, TARGET_EXE);
	ASSERT_STREQ(c.lock_targets[0].value, "/usr/sbin/mysqld");
	c = set_ok("heap_target", "cgroup:/system.slice/foo.service");
	ASSERT_EQ(c.heap_targets[0].kind, TARGET_CGROUP);
	ASSERT_STREQ(c.heap_targets[0].value, "/system.slice/foo.service");
	ASSERT_STREQ(set_ok("heap_target", "comm:123456789012345").heap_targets[0].value,
		     "123456789012345");
	c = set_ok("heap_target", "preloaded");
	ASSERT_EQ(c.nr_heap_targets, 1);
	ASSERT_EQ(c.heap_targets[0].kind, TARGET_PRELOADED);
}

/* key = value must fail on defaults, change nothing, and say `msg`. */
static void set_bad(const char *key, const char *value, const char *msg)
{
	struct config c, d;
	char err[256] = "";

	config__defaults(&c);
	d = c;
	ASSERT_TRUE(config__set(&c, key, value, err, sizeof(err)) == -EINVAL, "%s = '%s' accepted",
		    key, value);
	ASSERT_TRUE(config_equal(&c, &d), "%s = '%s' changed the config", key, value);
	if (msg)
		ASSERT_STREQ(err, msg);
	else
		ASSERT_TRUE(strstr(err, key) && strstr(err, "bad value"), "%s = '%s': %s", key,
			    value, err);
}

static void test_set_bad(void)
{
	set_bad("interval", "abc", "bad value for interval: 'abc' (expected seconds 1..86400)");
	set_bad("health_interval", "8d", NULL);
	set_bad("health_interval", "-1", NULL);
	set_bad("interval", "0", NULL);
	set_bad("interval", "86401", NULL);
	set_bad("interval", "2d", NULL);
	set_bad("interval", "-1", NULL);
	set_bad("interval", "", NULL);
	set_bad("interval", " 5", NULL);
	set_bad("interval", "5 s", NULL);
	set_bad("interval", "99999999999999999999", NULL);
	set_bad("frequency", "0", "bad value for frequency: '0' (expected Hz 1..10000)");
	set_bad("frequency", "10001", NULL);
	set_bad("frequency", "1m", NULL);
	set_bad("frequency", "0x10", NULL);
	set_bad("frequency", "4294967345", NULL); /* 49 + 2^32 must not wrap */
	set_bad("output_dir", "", NULL);
	{
		char longp[300];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[299] = 0;
		set_bad("output_dir", longp, NULL);
		longp[108] = 0;
		set_bad("socket", longp, NULL);
		longp[107] = 0;
		ASSERT_EQ(strlen(set_ok("socket", longp).socket_path), 107);
	}
	set_bad("socket", "", NULL);
	set_bad("http", "127.0.0.1", NULL);
	set_bad("http", "127.0.0.1:0", NULL);
	set_bad("http", "127.0.0.1:65536", NULL);
	set_bad("http", "127.0.0.1:http", NULL);
	set_bad("http", ":6060", NULL);
	set_bad("http", "::1:6060", NULL);
	set_bad("http", "[::1:6060", NULL);
	set_bad("http", "[]:6060", NULL);
	set_bad("http", "example.com:80", NULL);
	set_bad("http", "300.0.0.1:80", NULL);
	set_bad("http", "on", "bad value for http: 'on' (expected ADDR:PORT, [IPV6]:PORT or off)");
	/* the token is a secret: never repeated in a message */
	set_bad("http_token", "with space",
		"bad value for http_token (expected printable ASCII without spaces, at most 255 bytes)");
	set_bad("http_token", "tab\there", NULL);
	set_bad("debuginfod_urls", "ftp://x", NULL);
	set_bad("debuginfod_urls", "https://a.example file:///etc", NULL);
	set_bad("debuginfod_urls", "https://a.example/\x01", NULL);
	set_bad("debuginfod_cache_size", "512K", NULL);
	set_bad("debuginfod_timeout", "0", NULL);
	set_bad("debuginfod_timeout", "11m", NULL);
	set_bad("verbose", "maybe", NULL);
	set_bad("verbose", "", NULL);
	set_bad("verbose", "2", NULL);
	set_bad("profile_self", "on", NULL);
	set_bad("retention_max_age", "0", NULL);
	set_bad("retention_max_age", "1w", NULL);
	set_bad("retention_max_age", "50000d", NULL); /* over 2^32 seconds */
	set_bad("retention_max_bytes", "1K", NULL);
	set_bad("retention_max_bytes", "99999999999999999999G", NULL);
	set_bad("retention_max_bytes", "20000000T", NULL);
	set_bad("max_request_seconds", "0", NULL);
	set_bad("max_request_seconds", "2d", NULL);
	set_bad("max_concurrent_requests", "0", NULL);
	set_bad("max_concurrent_requests", "1025", NULL);
	set_bad("max_requests_per_user", "0", NULL);
	set_bad("reserved_requests", "1024", NULL);
	set_bad("max_connections", "1", NULL);
	set_bad("max_connections_per_user", "0", NULL);
	set_bad("reserved_connections", "-1", NULL);
	set_bad("heap_sample_bytes", "0", NULL);
	set_bad("heap_sample_bytes", "2G", NULL);
	set_bad("heap_sample_bytes", "1.5K", NULL);
	set_bad("ringbuf_size", "3M",
		"bad value for ringbuf_size: '3M' (expected auto, or a power of two 64K..1G)");
	set_bad("ringbuf_size", "32K", NULL);
	set_bad("ringbuf_size", "2G", NULL);
	set_bad("ringbuf_size", "0", NULL);
	set_bad("max_processes", "15", NULL);
	set_bad("max_processes", "4194305", NULL);
	set_bad("max_symbol_files", "0", NULL);
	set_bad("max_symbol_files", "65537", NULL);
	set_bad("unwind_cache_size", "512K", NULL);
	set_bad("unwind_cache_size", "2G", NULL);
	set_bad("unwind_table_size", "512K", NULL);
	set_bad("unwind_tables", "maybe", NULL);
	set_bad("short_lived_files", "yes", NULL);
	set_bad("heap_target", "nginx", NULL);
	set_bad("heap_target", "preloaded:x", NULL);
	set_bad("lock_target", "preloaded", NULL); /* a heap sampler's */
	set_bad("heap_target", "comm:", NULL);
	set_bad("heap_target", "comm:1234567890123456", NULL);
	set_bad("heap_target", "exe:relative/path", NULL);
	set_bad("lock_target", "cgroup:system.slice", NULL);
	set_bad("lock_target", "pid:1", NULL);
	set_bad("lock_target", "", NULL);

	/* unknown keys, and untrusted text shown printable and short */
	set_bad("foo", "1", "unknown key 'foo'");
	set_bad("Interval", "1", "unknown key 'Interval'");
	set_bad("a\x01"
		"b",
		"1", "unknown key 'a?b'");
	set_bad("frequency", "1\x7f", "bad value for frequency: '1?' (expected Hz 1..10000)");
	{
		char longv[200];
		char err[256];
		struct config c;

		memset(longv, 'x', sizeof(longv) - 1);
		longv[199] = 0;
		config__defaults(&c);
		ASSERT_EQ(config__set(&c, "frequency", longv, err, sizeof(err)), -EINVAL);
		ASSERT_TRUE(strlen(err) < 160 && strstr(err, "x..."), "%s", err);
		/* a small buffer is never overrun */
		ASSERT_EQ(config__set(&c, "frequency", longv, err, 8), -EINVAL);
		ASSERT_EQ(strlen(err), 7);
	}
}

static void test_targets(void)
{
	struct config c;
	char err[256], name[32];

	config__defaults(&c);
	ASSERT_OK(config__set(&c, "heap_target", "comm:a", err, sizeof(err)));
	ASSERT_OK(config__set(&c, "heap_target", "exe:/a", err, sizeof(err)));
	ASSERT_OK(config__set(&c, "lock_target", "comm:a", err, sizeof(err)));
	/* the same process twice in one list is an error */
	ASSERT_EQ(config__set(&c, "heap_target", "comm:a", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "duplicate heap_target 'comm:a'");
	ASSERT_EQ(c.nr_heap_targets, 2);
	/* comm:/a and exe:/a are different targets */
	ASSERT_OK(config__set(&c, "heap_target", "comm:/a", err, sizeof(err)));

	config__defaults(&c);
	for (int i = 0; i < CONFIG_MAX_TARGETS; i++) {
		snprintf(name, sizeof(name), "comm:p%d", i);
		ASSERT_OK(config__set(&c, "lock_target", name, err, sizeof(err)));
	}
	ASSERT_EQ(c.nr_lock_targets, CONFIG_MAX_TARGETS);
	ASSERT_EQ(config__set(&c, "lock_target", "comm:one-more", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "too many lock_target lines (at most 64)");
	ASSERT_EQ(c.nr_lock_targets, CONFIG_MAX_TARGETS);
}

/* The file format: comments, quotes, whitespace, every key. */
static void test_file_format(void)
{
	static const char text[] = "# a comment\n"
				   "\n"
				   "   \t\n"
				   "  # an indented comment\n"
				   "output_dir = /srv/pprof   # a trailing comment\n"
				   "interval=30\n"
				   "\tfrequency\t=\t99\t\r\n"
				   "socket = \"/run/my sock # not a comment\"  # a comment\n"
				   "http = \"[::1]:7070\"\n"
				   "http_token = abc#def\n"
				   "verbose = yes\n"
				   "retention_max_age = 2d\n"
				   "retention_max_bytes = \"512M\"\n"
				   "max_request_seconds = 10m\n"
				   "max_concurrent_requests = 4\n"
				   "heap_sample_bytes = 1M\n"
				   "ringbuf_size = 8M\n"
				   "max_processes = 4096\n"
				   "max_symbol_files = 128\n"
				   "profile_self = true\n"
				   "heap_target = comm:nginx\n"
				   "heap_target = \"exe:/opt/my app/bin/server\"\n"
				   "lock_target = cgroup:/system.slice/pg.service\n"
				   "output_dir = \"/srv/q\\\"uote\\\\d\"\n"
				   "http_token = \"\"\n"
				   "http_token = \"#x\"#comment\n"
				   "interval = 45"; /* no final newline */
	const char *path = write_str(text);
	struct config c;
	char err[512];

	config__defaults(&c);
	if (!ASSERT_TRUE(config__load_file(&c, path, err, sizeof(err)) == 0, "%s", err))
		return;
	ASSERT_STREQ(c.config_file, path);
	ASSERT_STREQ(c.output_dir, "/srv/q\"uote\\d");
	ASSERT_EQ(c.interval_sec, 45);
	ASSERT_EQ(c.frequency_hz, 99);
	ASSERT_STREQ(c.socket_path, "/run/my sock # not a comment");
	ASSERT_TRUE(c.http_enabled);
	ASSERT_STREQ(c.http_addr, "[::1]:7070");
	ASSERT_STREQ(c.http_token, "#x");
	ASSERT_TRUE(c.verbose);
	ASSERT_EQ(c.retention_max_age_sec, 2 * 86400);
	ASSERT_EQ(c.retention_max_bytes, 512 << 20);
	ASSERT_EQ(c.max_request_seconds, 600);
	ASSERT_EQ(c.max_concurrent_requests, 4);
	ASSERT_EQ(c.heap_sample_bytes, 1 << 20);
	ASSERT_EQ(c.ringbuf_bytes, 8 << 20);
	ASSERT_EQ(c.max_processes, 4096);
	ASSERT_EQ(c.max_symbol_files, 128);
	ASSERT_TRUE(c.profile_self);
	if (ASSERT_EQ(c.nr_heap_targets, 2)) {
		ASSERT_EQ(c.heap_targets[0].kind, TARGET_COMM);
		ASSERT_STREQ(c.heap_targets[0].value, "nginx");
		ASSERT_EQ(c.heap_targets[1].kind, TARGET_EXE);
		ASSERT_STREQ(c.heap_targets[1].value, "/opt/my app/bin/server");
	}
	if (ASSERT_EQ(c.nr_lock_targets, 1)) {
		ASSERT_EQ(c.lock_targets[0].kind, TARGET_CGROUP);
		ASSERT_STREQ(c.lock_targets[0].value, "/system.slice/pg.service");
	}

	/* an unquoted '#' glued to a word is text; "a#b" stays "abc#def" above */
	path = write_str("http_token = abc#def\n");
	config__defaults(&c);
	ASSERT_OK(config__load_file(&c, path, err, sizeof(err)));
	ASSERT_STREQ(c.http_token, "abc#def");

	/* keys absent from the file keep their value; a file's target lines
	 * replace the lists, so reading the same file twice changes nothing */
	path = write_str("heap_target = comm:a\nheap_target = comm:b\n");
	c.frequency_hz = 77;
	ASSERT_OK(config__load_file(&c, path, err, sizeof(err)));
	ASSERT_OK(config__load_file(&c, path, err, sizeof(err)));
	ASSERT_EQ(c.nr_heap_targets, 2);
	ASSERT_EQ(c.frequency_hz, 77);
	ASSERT_STREQ(c.http_token, "abc#def");

	/* an empty file and a byte order mark */
	config__defaults(&c);
	ASSERT_OK(config__load_file(&c, write_tmp("", 0), err, sizeof(err)));
	ASSERT_OK(config__load_file(&c, write_str("\xef\xbb\xbfinterval = 7\n"), err, sizeof(err)));
	ASSERT_EQ(c.interval_sec, 7);
}

/* A bad file: error "FILE:LINE: what", and the config is left as it was. */
static void load_bad(const char *text, size_t len, const char *msg)
{
	const char *path = write_tmp(text, len);
	struct config c, d;
	char err[512] = "", want[512];

	config__defaults(&c);
	c.frequency_hz = 33;
	d = c;
	ASSERT_EQ(config__load_file(&c, path, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(config_equal(&c, &d), "a bad file changed the config: %s", err);
	ASSERT_STREQ(c.config_file, "");
	snprintf(want, sizeof(want), "%s:%s", path, msg);
	ASSERT_STREQ(err, want);
}

#define LOAD_BAD(text, msg) load_bad(text, sizeof(text) - 1, msg)

static void test_file_errors(void)
{
	LOAD_BAD("interval = 30\nfoo = 1\n", "2: unknown key 'foo'");
	LOAD_BAD("# c\n\ninterval = abc\n",
		 "3: bad value for interval: 'abc' (expected seconds 1..86400)");
	LOAD_BAD("interval = 30\n\n\n\ninterval 30\n", "5: missing '=' (expected key = value)");
	LOAD_BAD("= 30\n", "1: missing key before '='");
	LOAD_BAD("socket = \"/run/x\n", "1: unterminated quoted value");
	LOAD_BAD("socket = \"/run/x\" y\n", "1: unexpected text after the closing quote");
	LOAD_BAD("socket = /run/\x01x\n", "1: control character in line");
	LOAD_BAD("socket = \"/run/\tx\"\n", "1: control character in line");
	LOAD_BAD("interval = 3\0 0\n", "1: NUL byte in line");
	LOAD_BAD("verbose = true # ok\nverbose = \"\"\n",
		 "2: bad value for verbose: '' (expected true, false, yes, no, 1 or 0)");
	LOAD_BAD("heap_target = comm:x\nheap_target = comm:x\n",
		 "2: duplicate heap_target 'comm:x'");
	LOAD_BAD("frequency = 10 # ok\ninterval = 5 s\n",
		 "2: bad value for interval: '5 s' (expected seconds 1..86400)");
	/* the good lines before a bad one do not apply either */
	LOAD_BAD("frequency = 10\nbogus\n", "2: missing '=' (expected key = value)");

	/* too many targets, counted across lines */
	{
		static char buf[8192];
		size_t n = 0;

		for (int i = 0; i <= CONFIG_MAX_TARGETS; i++)
			n += snprintf(buf + n, sizeof(buf) - n, "lock_target = comm:p%d\n", i);
		load_bad(buf, n, "65: too many lock_target lines (at most 64)");
	}

	/* lines up to 4096 bytes, files up to 1 MiB */
	{
		size_t big = (1 << 20) + 1;
		char *buf = malloc(big);
		struct config c;
		char err[512];

		if (!ASSERT_TRUE(buf != NULL))
			return;
		/* a 4096-byte comment line is fine, one more byte is not */
		memset(buf, ' ', 5000);
		buf[0] = '#';
		buf[4096] = '\n';
		config__defaults(&c);
		ASSERT_OK(config__load_file(&c, write_tmp(buf, 4097), err, sizeof(err)));
		buf[4096] = ' ';
		buf[4097] = '\n';
		load_bad(buf, 4098, "1: line too long (over 4096 bytes)");
		/* the same on line 2, without a final newline */
		memcpy(buf, "interval = 5\n#", 14);
		buf[4097] = ' ';
		load_bad(buf, 13 + 4097, "2: line too long (over 4096 bytes)");
		ASSERT_OK(config__load_file(&c, write_tmp(buf, 13 + 4096), err, sizeof(err)));
		ASSERT_EQ(c.interval_sec, 5);

		/* 1 MiB of short comment lines is fine, one more byte is not */
		memset(buf, ' ', big);
		for (size_t i = 0; i < big; i += 64) {
			buf[i] = '#';
			buf[(i + 63) % big] = '\n';
		}
		config__defaults(&c);
		ASSERT_OK(config__load_file(&c, write_tmp(buf, big - 1), err, sizeof(err)));
		load_bad(buf, big, " file too large (over 1024 KiB)");
		free(buf);
	}

	/* a missing file: -errno and the path */
	{
		struct config c;
		char err[512];

		config__defaults(&c);
		ASSERT_EQ(config__load_file(&c, "/nonexistent/pprofd.conf", err, sizeof(err)),
			  -ENOENT);
		ASSERT_STREQ(err, "/nonexistent/pprofd.conf: No such file or directory");
		ASSERT_EQ(config__load_file(&c, "/tmp", err, sizeof(err)), -EINVAL);
		ASSERT_STREQ(err, "/tmp: not a regular file");
	}
}

/* The example shipped in systemd/: found from the working directory (the
 * repository) or from the test binary (build[/asan]/tests/). */
static bool example_path(char *out, size_t n)
{
	char exe[PATH_MAX], *dir;
	ssize_t len;

	if (!access("systemd/pprofd.conf", R_OK)) {
		snprintf(out, n, "systemd/pprofd.conf");
		return true;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return false;
	exe[len] = 0;
	dir = dirname(exe);
	for (int up = 2; up <= 3; up++) {
		snprintf(out, n, "%s%s/systemd/pprofd.conf", dir, up == 2 ? "/../.." : "/../../..");
		if (!access(out, R_OK))
			return true;
	}
	return false;
}

static void test_example_conf(void)
{
	struct config c, d;
	const char *key;
	char path[PATH_MAX], err[512], line[4200], *text;
	size_t n = 0;
	FILE *f;

	if (!ASSERT_TRUE(example_path(path, sizeof(path)), "systemd/pprofd.conf not found"))
		return;
	config__defaults(&c);
	config__defaults(&d);
	if (!ASSERT_TRUE(config__load_file(&c, path, err, sizeof(err)) == 0, "%s", err))
		return;
	ASSERT_TRUE(config_equal(&c, &d), "the example is not the defaults");

	/*
	 * Uncommented, every "#key = value" line must be good and show the
	 * default (the example targets aside), and every key must be there.
	 */
	f = fopen(path, "r");
	text = calloc(1, 1 << 16);
	if (!ASSERT_TRUE(f && text))
		goto out;
	while (fgets(line, sizeof(line), f)) {
		size_t kl = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");

		if (line[0] != '#' || !kl || strncmp(line + 1 + kl, " = ", 3))
			continue;
		n += snprintf(text + n, (1 << 16) - n, "%s", line + 1);
	}
	/* every key of config.c's table, so that a new one cannot be forgotten */
	for (size_t i = 0; (key = config__key_name(i)); i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "\n%s = ", key);
		ASSERT_TRUE(strstr(text, needle) || !strncmp(text, needle + 1, strlen(needle) - 1),
			    "the example lacks %s", key);
	}
	ASSERT_TRUE(config__key_name(0) && !config__key_name(1000));
	config__defaults(&c);
	if (ASSERT_TRUE(config__load_file(&c, write_tmp(text, n), err, sizeof(err)) == 0, "%s",
			err)) {
		ASSERT_TRUE(c.nr_heap_targets > 0 && c.nr_lock_targets > 0);
		c.nr_heap_targets = c.nr_lock_targets = 0;
		ASSERT_TRUE(config_equal(&c, &d), "the example's values are not the defaults");
	}
out:
	if (f)
		fclose(f);
	free(text);
}

static void test_parse_duration(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "90", 0, 90 },
		{ "90s", 0, 90 },
		{ "15m", 0, 900 },
		{ "12h", 0, 43200 },
		{ "7d", 0, 604800 },
		{ "007", 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "99999999999999999999d", -EINVAL, 0 },
		{ "213503982334602d", -EINVAL, 0 }, /* x86400 overflows */
		{ "213503982334601d", 0, 213503982334601ULL * 86400 },
		{ "", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1.5h", -EINVAL, 0 },
		{ "1w", -EINVAL, 0 },
		{ "1H", -EINVAL, 0 },
		{ "1ms", -EINVAL, 0 },
		{ "1ss", -EINVAL, 0 },
		{ "1h30m", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;

		ASSERT_TRUE(parse_duration_sec(t[i].s, &v) == t[i].ret, "'%s'", t[i].s);
		ASSERT_TRUE(v == (t[i].ret ? 12345 : t[i].v), "'%s': %" PRIu64, t[i].s, v);
	}
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64K", 0, 65536 },
		{ "64k", 0, 65536 },
		{ "64KiB", 0, 65536 },
		{ "4M", 0, 4 << 20 },
		{ "4m", 0, 4 << 20 },
		{ "1G", 0, 1 << 30 },
		{ "3T", 0, 3ULL << 40 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "16777216T", -EINVAL, 0 },
		{ "17179869183G", 0, 17179869183ULL << 30 },
		{ "17179869184G", -EINVAL, 0 },
		{ "99999999999999999999G", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "-1K", -EINVAL, 0 },
		{ "1.5M", -EINVAL, 0 },
		{ "1 M", -EINVAL, 0 },
		{ "1MB", -EINVAL, 0 },
		{ "1Mi", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
		{ "1P", -EINVAL, 0 },
		{ "1KK", -EINVAL, 0 },
		{ "0x1000", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;

		ASSERT_TRUE(parse_size_bytes(t[i].s, &v) == t[i].ret, "'%s'", t[i].s);
		ASSERT_TRUE(v == (t[i].ret ? 12345 : t[i].v), "'%s': %" PRIu64, t[i].s, v);
	}
}

/* The fair-share keys must hold together; the error names the last of
 * their lines. */
static void test_shares(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "max_concurrent_requests = 4\nreserved_requests = 4\n",
		  ":2: reserved_requests (4) must be below max_concurrent_requests (4)" },
		{ "max_requests_per_user = 7\n# x\n",
		  ":1: max_requests_per_user (7) must be at most max_concurrent_requests - reserved_requests (6)" },
		{ "max_connections = 10\nreserved_connections = 4\nmax_connections_per_user = 7\n",
		  ":3: max_connections_per_user (7) must be at most max_connections - reserved_connections (6)" },
		{ "max_connections = 10\nreserved_connections = 4\nmax_connections_per_user = 6\n",
		  NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char err[512];
		int ret;

		config__defaults(&c);
		ret = config__load_file(&c, write_tmp(cases[i].text, strlen(cases[i].text)), err,
					sizeof(err));
		if (!cases[i].want) {
			ASSERT_EQ(ret, 0);
			ASSERT_EQ(c.max_connections_per_user, 6);
			continue;
		}
		ASSERT_EQ(ret, -EINVAL);
		ASSERT_TRUE(strstr(err, cases[i].want) != NULL, "%s", err);
	}
}

int main(void)
{
	RUN_TEST(test_defaults);
	RUN_TEST(test_set_good);
	RUN_TEST(test_set_bad);
	RUN_TEST(test_targets);
	RUN_TEST(test_file_format);
	RUN_TEST(test_file_errors);
	RUN_TEST(test_example_conf);
	RUN_TEST(test_parse_duration);
	RUN_TEST(test_parse_size);
	if (tmp_path[0])
		unlink(tmp_path);
	RUN_TEST(test_shares);
	return TEST_MAIN_END();
}
