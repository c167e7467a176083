// SPDX-License-Identifier: MIT
/*
 * Settings. The file is parsed by us, as root, at start and on SIGHUP: it is
 * read whole (bounded), every line is checked, and nothing of it takes
 * effect unless all of it is good.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "safe_open.h"

#define MAX_FILE_BYTES (1 << 20)
#define MAX_LINE_BYTES 4096

void config__defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->output_dir, "/var/lib/pprofd");
	c->interval_sec = 60;
	c->frequency_hz = 49;
	strcpy(c->socket_path, "/run/pprofd/pprofd.sock");
	c->http_enabled = true;
	strcpy(c->http_addr, "127.0.0.1:6060");
	c->retention_max_age_sec = 7 * 24 * 3600;
	c->retention_max_bytes = 1ULL << 30;
	c->max_request_seconds = 300;
	c->max_concurrent_requests = 8;
	c->max_requests_per_user = 2;
	c->reserved_requests = 2;
	c->max_connections = 64;
	c->max_connections_per_user = 8;
	c->reserved_connections = 16;
	c->heap_sample_bytes = 512 * 1024;
	c->ringbuf_bytes = 0; /* auto: sized from CPUs and frequency */
	c->max_processes = 16384;
	c->max_symbol_files = 512;
	c->unwind_cache_bytes = 16 << 20;
	c->unwind_tables = true;
	c->short_lived_per_name = true;
	c->unwind_table_bytes = 64 << 20;
	c->health_interval_sec = 600;
	c->debuginfod_cache_bytes = 1ull << 30;
	c->debuginfod_max_age_sec = 7 * 86400;
	c->debuginfod_timeout_sec = 30;
}

/* ---- numbers ---- */

/* Leading decimal digits of s (at least one) into *out; *end after them. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return -EINVAL;
	*out = v;
	*end = s;
	return 0;
}

int parse_duration_sec(const char *s, uint64_t *out)
{
	uint64_t v, mul = 1;
	const char *end;

	if (!s || parse_digits(s, &v, &end))
		return -EINVAL;
	switch (*end) {
	case 0:
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (__builtin_mul_overflow(v, mul, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size_bytes(const char *s, uint64_t *out)
{
	uint64_t v;
	const char *end;
	unsigned shift = 0;

	if (!s || parse_digits(s, &v, &end))
		return -EINVAL;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		end++;
		/* "64K" and "64KiB" both mean 65536 */
		if (!strcasecmp(end, "ib"))
			end += 2;
		if (*end)
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -EINVAL;
		v <<= shift;
	}
	*out = v;
	return 0;
}

/* ---- keys ---- */

enum key_kind {
	K_PATH,
	K_SECONDS,
	K_UINT,
	K_SIZE,
	K_BOOL,
	K_HTTP,
	K_TOKEN,
	K_TARGET,
	K_URLS,
	K_LAYOUT, /* per_name (true) or per_process (false) */
};

struct key {
	const char *name;
	enum key_kind kind;
	size_t off, size; /* of the field in struct config */
	uint64_t min, max;
	const char *expect; /* for the error message */
};

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

static const struct key keys[] = {
	{ "output_dir", K_PATH, FIELD(output_dir), 1, 0, "a directory path of at most 255 bytes" },
	{ "interval", K_SECONDS, FIELD(interval_sec), 1, 86400, "seconds 1..86400" },
	{ "frequency", K_UINT, FIELD(frequency_hz), 1, 10000, "Hz 1..10000" },
	{ "socket", K_PATH, FIELD(socket_path), 1, 0, "a socket path of at most 107 bytes" },
	{ "http", K_HTTP, FIELD(http_addr), 0, 0, "ADDR:PORT, [IPV6]:PORT or off" },
	{ "http_token", K_TOKEN, FIELD(http_token), 0, 0,
	  "printable ASCII without spaces, at most 255 bytes" },
	{ "verbose", K_BOOL, FIELD(verbose), 0, 0, "true, false, yes, no, 1 or 0" },
	{ "retention_max_age", K_SECONDS, FIELD(retention_max_age_sec), 1, UINT32_MAX,
	  "a duration such as 3600, 90s, 15m, 12h or 7d, at least 1s" },
	{ "retention_max_bytes", K_SIZE, FIELD(retention_max_bytes), 1 << 20, UINT64_MAX,
	  "a size such as 512M or 10G, at least 1M" },
	{ "max_request_seconds", K_SECONDS, FIELD(max_request_seconds), 1, 86400,
	  "seconds 1..86400" },
	{ "max_concurrent_requests", K_UINT, FIELD(max_concurrent_requests), 1, 1024, "1..1024" },
	{ "max_requests_per_user", K_UINT, FIELD(max_requests_per_user), 1, 1024, "1..1024" },
	{ "reserved_requests", K_UINT, FIELD(reserved_requests), 0, 1023, "0..1023" },
	{ "max_connections", K_UINT, FIELD(max_connections), 2, 4096, "2..4096" },
	{ "max_connections_per_user", K_UINT, FIELD(max_connections_per_user), 1, 4096, "1..4096" },
	{ "reserved_connections", K_UINT, FIELD(reserved_connections), 0, 4095, "0..4095" },
	{ "heap_sample_bytes", K_SIZE, FIELD(heap_sample_bytes), 1, 1 << 30,
	  "a size 1..1G such as 512K" },
	{ "ringbuf_size", K_SIZE, FIELD(ringbuf_bytes), 64 << 10, 1 << 30,
	  "auto, or a power of two 64K..1G" },
	{ "max_processes", K_UINT, FIELD(max_processes), 16, 1 << 22, "16..4194304" },
	{ "max_symbol_files", K_UINT, FIELD(max_symbol_files), 1, 65536, "1..65536" },
	{ "unwind_cache_size", K_SIZE, FIELD(unwind_cache_bytes), 1 << 20, 1 << 30,
	  "a size 1M..1G such as 16M" },
	{ "unwind_tables", K_BOOL, FIELD(unwind_tables), 0, 0, "true, false, yes, no, 1 or 0" },
	{ "short_lived_files", K_LAYOUT, FIELD(short_lived_per_name), 0, 0,
	  "per_name or per_process" },
	{ "unwind_table_size", K_SIZE, FIELD(unwind_table_bytes), 1 << 20, 1 << 30,
	  "a size 1M..1G such as 64M" },
	{ "bpf_sample_timing", K_BOOL, FIELD(bpf_sample_timing), 0, 0,
	  "true, false, yes, no, 1 or 0" },
	{ "health_interval", K_SECONDS, FIELD(health_interval_sec), 0, 7 * 86400,
	  "a duration such as 600, 10m or 1h (at most 7d), or 0 for none" },
	{ "profile_self", K_BOOL, FIELD(profile_self), 0, 0, "true, false, yes, no, 1 or 0" },
	{ "heap_target", K_TARGET, FIELD(heap_targets), 0, 0,
	  "comm:NAME (at most 15 bytes), exe:/PATH or cgroup:/PATH" },
	{ "lock_target", K_TARGET, FIELD(lock_targets), 0, 0,
	  "comm:NAME (at most 15 bytes), exe:/PATH or cgroup:/PATH" },
	{ "debuginfod_urls", K_URLS, FIELD(debuginfod_urls), 0, 0,
	  "http:// or https:// URLs separated by spaces, at most 1023 bytes in all" },
	{ "debuginfod_cache_size", K_SIZE, FIELD(debuginfod_cache_bytes), 1 << 20, 1ull << 40,
	  "a size 1M..1T such as 2G" },
	{ "debuginfod_cache_max_age", K_SECONDS, FIELD(debuginfod_max_age_sec), 60, 365 * 86400,
	  "a duration 1m..365d such as 7d" },
	{ "debuginfod_timeout", K_SECONDS, FIELD(debuginfod_timeout_sec), 1, 600,
	  "a duration 1s..10m such as 30s" },
};

const char *config__key_name(size_t i)
{
	return i < sizeof(keys) / sizeof(keys[0]) ? keys[i].name : NULL;
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* A short, printable rendering of untrusted text for messages. */
static void sanitize(char *dst, size_t n, const char *s)
{
	size_t i = 0;

	for (; *s && i + 4 < n && i < 64; s++)
		dst[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s)
		for (int k = 0; k < 3 && i + 1 < n; k++)
			dst[i++] = '.';
	dst[i] = 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no",
										 "0" };

	for (int i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* ADDR:PORT where ADDR is an IPv4 address, [an IPv6 address] or localhost. */
static int parse_http(const char *s, size_t size)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	uint64_t port;
	const char *end;
	size_t hl;
	unsigned char buf[16];

	if (!colon || strlen(s) >= size)
		return -EINVAL;
	if (parse_digits(colon + 1, &port, &end) || *end || port < 1 || port > 65535)
		return -EINVAL;
	hl = colon - s;
	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = 0;
		return inet_pton(AF_INET6, host + 1, buf) == 1 ? 0 : -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		return 0;
	return inet_pton(AF_INET, host, buf) == 1 ? 0 : -EINVAL;
}

static int parse_target(const char *s, struct config_target *t)
{
	static const struct {
		const char *prefix;
		enum target_kind kind;
	} kinds[] = { { "comm:", TARGET_COMM },
		      { "exe:", TARGET_EXE },
		      { "cgroup:", TARGET_CGROUP } };

	if (!strcmp(s, "preloaded")) {
		t->kind = TARGET_PRELOADED;
		t->value[0] = 0;
		return 0;
	}

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t pl = strlen(kinds[i].prefix);
		const char *v = s + pl;
		size_t len;

		if (strncmp(s, kinds[i].prefix, pl))
			continue;
		len = strlen(v);
		if (!len || len >= sizeof(t->value))
			return -EINVAL;
		/* the kernel keeps 15 bytes of a comm: a longer one never matches */
		if (kinds[i].kind == TARGET_COMM && len > 15)
			return -EINVAL;
		if (kinds[i].kind != TARGET_COMM && v[0] != '/')
			return -EINVAL;
		t->kind = kinds[i].kind;
		memcpy(t->value, v, len + 1);
		return 0;
	}
	return -EINVAL;
}

static int add_target(struct config *c, const struct key *k, const char *value, char *err,
		      size_t errlen)
{
	bool heap = k->off == offsetof(struct config, heap_targets);
	struct config_target *list = heap ? c->heap_targets : c->lock_targets;
	size_t *nr = heap ? &c->nr_heap_targets : &c->nr_lock_targets;
	struct config_target t;
	char shown[80];

	if (parse_target(value, &t) || (t.kind == TARGET_PRELOADED && !heap))
		return -EINVAL;
	sanitize(shown, sizeof(shown), value);
	for (size_t i = 0; i < *nr; i++) {
		if (list[i].kind == t.kind && !strcmp(list[i].value, t.value)) {
			snprintf(err, errlen, "duplicate %s '%s'", k->name, shown);
			return -EEXIST;
		}
	}
	if (*nr >= CONFIG_MAX_TARGETS) {
		snprintf(err, errlen, "too many %s lines (at most %d)", k->name,
			 CONFIG_MAX_TARGETS);
		return -E2BIG;
	}
	list[(*nr)++] = t;
	return 0;
}

static void store_uint(struct config *c, const struct key *k, uint64_t v)
{
	char *f = (char *)c + k->off;

	if (k->size == sizeof(uint64_t)) {
		memcpy(f, &v, sizeof(v));
	} else {
		unsigned u = v;

		memcpy(f, &u, sizeof(u));
	}
}

/* Server URLs, as libdebuginfod takes them: http:// or https:// words
 * separated by spaces, printable, shorter than size; "" is none. */
static bool urls_ok(const char *v, size_t size)
{
	if (strlen(v) >= size)
		return false;
	while (*v) {
		size_t n = strcspn(v, " ");

		if (n && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return false;
		for (size_t i = 0; i < n; i++)
			if (v[i] <= 0x20 || v[i] >= 0x7f)
				return false;
		v += n;
		v += strspn(v, " ");
	}
	return true;
}

/* Sets the key; -EINVAL alone means a bad value, reported by the caller. */
static int set_value(struct config *c, const struct key *k, const char *value, char *err,
		     size_t errlen)
{
	uint64_t v, max = k->max;
	const char *end;
	bool b;
	int ret;

	switch (k->kind) {
	case K_PATH:
		if (!*value || strlen(value) >= k->size)
			return -EINVAL;
		strcpy((char *)c + k->off, value);
		return 0;
	case K_SECONDS:
	case K_UINT:
	case K_SIZE:
		if (!max)
			max = k->size == sizeof(uint64_t) ? UINT64_MAX : UINT32_MAX;
		if (k->off == offsetof(struct config, ringbuf_bytes) && !strcmp(value, "auto")) {
			store_uint(c, k, 0);
			return 0;
		}
		if (k->kind == K_SECONDS)
			ret = parse_duration_sec(value, &v);
		else if (k->kind == K_SIZE)
			ret = parse_size_bytes(value, &v);
		else
			ret = parse_digits(value, &v, &end) || *end ? -EINVAL : 0;
		if (ret)
			return -EINVAL;
		if (v < k->min || v > max)
			return -EINVAL;
		/* BPF ring buffers are a power of two pages long */
		if (k->off == offsetof(struct config, ringbuf_bytes) && (v & (v - 1)))
			return -EINVAL;
		store_uint(c, k, v);
		return 0;
	case K_BOOL:
		if (parse_bool(value, &b))
			return -EINVAL;
		*(bool *)((char *)c + k->off) = b;
		return 0;
	case K_LAYOUT:
		if (strcmp(value, "per_name") && strcmp(value, "per_process"))
			return -EINVAL;
		*(bool *)((char *)c + k->off) = !strcmp(value, "per_name");
		return 0;
	case K_HTTP:
		if (!strcmp(value, "off")) {
			c->http_enabled = false;
			return 0;
		}
		if (parse_http(value, k->size))
			return -EINVAL;
		strcpy(c->http_addr, value);
		c->http_enabled = true;
		return 0;
	case K_TOKEN:
		if (strlen(value) >= k->size)
			return -EINVAL;
		for (const char *p = value; *p; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				return -EINVAL;
		strcpy(c->http_token, value);
		return 0;
	case K_TARGET:
		return add_target(c, k, value, err, errlen);
	case K_URLS:
		if (!urls_ok(value, k->size))
			return -EINVAL;
		strcpy((char *)c + k->off, value);
		return 0;
	}
	return -EINVAL;
}

int config__set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct key *k = key ? find_key(key) : NULL;
	char shown[80];
	int ret;

	if (errlen)
		err[0] = 0;
	if (!k) {
		sanitize(shown, sizeof(shown), key ? key : "");
		snprintf(err, errlen, "unknown key '%s'", shown);
		return -EINVAL;
	}
	if (!value)
		value = "";
	ret = set_value(c, k, value, err, errlen);
	if (ret == -EINVAL) {
		/* never echo the secret */
		if (k->kind == K_TOKEN) {
			snprintf(err, errlen, "bad value for %s (expected %s)", k->name, k->expect);
		} else {
			sanitize(shown, sizeof(shown), value);
			snprintf(err, errlen, "bad value for %s: '%s' (expected %s)", k->name,
				 shown, k->expect);
		}
	}
	return ret ? -EINVAL : 0;
}

/* ---- the file ---- */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static char *trim(char *s)
{
	char *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = 0;
	return s;
}

/*
 * Splits one line (NUL-terminated, writable) into key and value, in place.
 * 1 for a line with a setting, 0 for a blank or comment line, or -EINVAL
 * with the reason in *why.
 */
static int split_line(char *line, char **key, char **value, const char **why)
{
	char *s = trim(line), *eq, *v, *o;

	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		*why = "missing '=' (expected key = value)";
		return -EINVAL;
	}
	*eq = 0;
	*key = trim(s);
	if (!**key) {
		*why = "missing key before '='";
		return -EINVAL;
	}
	v = eq + 1;
	while (is_space(*v))
		v++;
	if (*v == '"') {
		/* "..." with \" and \\ as the only escapes */
		for (o = *value = ++v;; v++) {
			if (!*v) {
				*why = "unterminated quoted value";
				return -EINVAL;
			}
			if (*v == '"')
				break;
			if (*v == '\\' && (v[1] == '"' || v[1] == '\\'))
				v++;
			*o++ = *v;
		}
		*o = 0;
		v = trim(v + 1);
		if (*v && *v != '#') {
			*why = "unexpected text after the closing quote";
			return -EINVAL;
		}
	} else {
		/* a '#' after whitespace starts a comment; inside a word it is text */
		for (o = v; *o; o++)
			if (*o == '#' && o > v && is_space(o[-1]))
				break;
		if (*o == '#')
			*o = 0;
		*value = trim(v);
	}
	for (const char *p = *key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			goto ctrl;
	for (const char *p = *value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			goto ctrl;
	return 1;
ctrl:
	*why = "control character in line";
	return -EINVAL;
}

/*
 * Lines apply in order to a copy of *c, which replaces *c only when the whole
 * file is good. The first heap_target (lock_target) line of the file starts
 * a new list: the file's lists replace the ones in *c.
 */
/* One fair share holds together: root's reserve leaves room for others,
 * and one user's share fits in what others may use. The keys' names
 * (max, reserved, per user) and values. */
static int check_share(const char *const key[3], const unsigned v[3], char *msg, size_t len)
{
	if (v[1] >= v[0]) {
		snprintf(msg, len, "%s (%u) must be below %s (%u)", key[1], v[1], key[0], v[0]);
		return -EINVAL;
	}
	if (v[2] > v[0] - v[1]) {
		snprintf(msg, len, "%s (%u) must be at most %s - %s (%u)", key[2], v[2], key[0],
			 key[1], v[0] - v[1]);
		return -EINVAL;
	}
	return 0;
}

static int check_shares(const struct config *c, char *msg, size_t len)
{
	static const char *const req[3] = { "max_concurrent_requests", "reserved_requests",
					    "max_requests_per_user" };
	static const char *const conn[3] = { "max_connections", "reserved_connections",
					     "max_connections_per_user" };
	int err = check_share(req,
			      (const unsigned[3]){ c->max_concurrent_requests, c->reserved_requests,
						   c->max_requests_per_user },
			      msg, len);

	if (!err)
		err = check_share(conn,
				  (const unsigned[3]){ c->max_connections, c->reserved_connections,
						       c->max_connections_per_user },
				  msg, len);
	return err;
}

static bool is_share_key(const char *key)
{
	return !strcmp(key, "max_concurrent_requests") || !strcmp(key, "max_requests_per_user") ||
	       !strcmp(key, "reserved_requests") || !strcmp(key, "max_connections") ||
	       !strcmp(key, "max_connections_per_user") || !strcmp(key, "reserved_connections");
}

static int parse_buf(struct config *c, const char *path, char *buf, size_t len, char *err,
		     size_t errlen)
{
	unsigned shares_line = 0; /* the last line of a fair-share key */
	bool heap_seen = false, lock_seen = false;
	char line[MAX_LINE_BYTES + 1], msg[512];
	unsigned lineno = 0;
	size_t pos = 0;

	/* an editor's UTF-8 byte order mark is not part of the first key */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll = (nl ? (size_t)(nl - buf) : len) - pos;
		const char *why = NULL;
		char *key, *value;
		int ret;

		lineno++;
		if (ll > MAX_LINE_BYTES) {
			snprintf(err, errlen, "%s:%u: line too long (over %d bytes)", path, lineno,
				 MAX_LINE_BYTES);
			return -EINVAL;
		}
		memcpy(line, buf + pos, ll);
		line[ll] = 0;
		pos += ll + 1;
		if (strlen(line) != ll) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", path, lineno);
			return -EINVAL;
		}
		ret = split_line(line, &key, &value, &why);
		if (ret < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			return -EINVAL;
		}
		if (!ret)
			continue;
		if (!strcmp(key, "heap_target") && !heap_seen) {
			heap_seen = true;
			c->nr_heap_targets = 0;
		}
		if (!strcmp(key, "lock_target") && !lock_seen) {
			lock_seen = true;
			c->nr_lock_targets = 0;
		}
		if (config__set(c, key, value, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			return -EINVAL;
		}
		if (is_share_key(key))
			shares_line = lineno;
	}
	if (shares_line && check_shares(c, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s:%u: %s", path, shares_line, msg);
		return -EINVAL;
	}
	return 0;
}

int config__load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	struct config *tmp;
	size_t len = 0;
	char *buf = NULL;
	int ret;

	if (errlen)
		err[0] = 0;
	if (strlen(path) >= sizeof(c->config_file)) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return -ENAMETOOLONG;
	}
	ret = read_file(path, MAX_FILE_BYTES, false, &buf, &len);
	if (ret == -EINVAL)
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (ret == -EFBIG)
		snprintf(err, errlen, "%s: file too large (over %d KiB)", path,
			 MAX_FILE_BYTES >> 10);
	else if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	if (ret)
		return ret == -EFBIG ? -EINVAL : ret;
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		free(buf);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	*tmp = *c;
	ret = parse_buf(tmp, path, buf, len, err, errlen);
	if (!ret) {
		strcpy(tmp->config_file, path);
		*c = *tmp;
	}
	free(tmp);
	free(buf);
	return ret;
}
