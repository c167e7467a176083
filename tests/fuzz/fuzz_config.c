// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the config file parser, through the same entry point the daemon
 * uses (config__load_file), plus the duration and size parsers on the raw
 * bytes. Whatever the file holds: an error or a valid config, never a crash,
 * and a failed load leaves the old config untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];
static int fd = -1;

static void cleanup(void)
{
	if (fd >= 0)
		unlink(path);
}

static void check(const struct config *c)
{
	/* what the rest of the daemon relies on after a good load */
	if (!c->output_dir[0] || !c->socket_path[0] || !c->interval_sec || !c->frequency_hz ||
	    c->nr_heap_targets > CONFIG_MAX_TARGETS || c->nr_lock_targets > CONFIG_MAX_TARGETS ||
	    c->ringbuf_bytes < 65536 || (c->ringbuf_bytes & (c->ringbuf_bytes - 1)))
		abort();
	if (memchr(c->output_dir, 0, sizeof(c->output_dir)) == NULL ||
	    memchr(c->http_token, 0, sizeof(c->http_token)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c, before;
	char err[512], str[64];
	uint64_t v;
	int ret;

	if (fd < 0) {
		strcpy(path, "/tmp/fuzz-config-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		atexit(cleanup);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();

	config__defaults(&c);
	before = c;
	ret = config__load_file(&c, path, err, sizeof(err));
	if (!memchr(err, 0, sizeof(err)))
		abort();
	if (ret) {
		if (ret != -EINVAL || strncmp(err, path, strlen(path)) ||
		    memcmp(&c, &before, sizeof(c)))
			abort();
	} else {
		check(&c);
	}

	/* the number parsers directly, on a prefix of the input */
	if (size < sizeof(str)) {
		memcpy(str, data, size);
		str[size] = 0;
		parse_duration_sec(str, &v);
		parse_size_bytes(str, &v);
	}
	return 0;
}
