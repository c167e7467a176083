// SPDX-License-Identifier: MIT
/*
 * libFuzzer: HTTP routing and query parameters (http__parse). The input is
 * "PATH\nk=v&k&k=v...", split into the arguments MHD would hand over (raw
 * bytes, NULs included). Whatever they hold: a route with parameters in
 * range, or an error with a status and a terminated message; never a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* http.c calls the requests engine; the parser never does. */
struct request *requests__start(struct requests *r, const struct req_params *p, req_done_fn done,
				void *ctx)
{
	abort();
}

void requests__cancel(struct requests *r, struct request *q)
{
	abort();
}

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_arg args[MAX_ARGS];
	const char *s = (const char *)data, *end = s + size, *nl;
	struct http_parsed out;
	unsigned max_seconds;
	size_t n = 0;
	char *path;

	nl = memchr(s, '\n', size);
	if (!nl)
		nl = end;
	path = strndup(s, nl - s);
	if (!path)
		return 0;
	max_seconds = size ? 1 + data[0] % 400 : 300;
	for (s = nl < end ? nl + 1 : end; s < end && n < MAX_ARGS;) {
		const char *amp = memchr(s, '&', end - s), *eq;

		if (!amp)
			amp = end;
		eq = memchr(s, '=', amp - s);
		args[n].key = s;
		args[n].key_len = (eq ? eq : amp) - s;
		args[n].value = eq ? eq + 1 : NULL;
		args[n].value_len = eq ? (size_t)(amp - eq - 1) : 0;
		n++;
		s = amp + 1;
	}

	http__parse(path, args, n, max_seconds, &out);
	switch (out.route) {
	case HTTP_ROUTE_PROFILE:
		if (out.params.kind < KIND_CPU || out.params.kind > KIND_THREADS ||
		    out.params.seconds > max_seconds || out.params.hz > 10000 ||
		    out.params.pid > 0x7fffffff ||
		    (!out.params.pid && out.params.kind != KIND_CPU) || out.params.peer.known ||
		    out.params.peer.privileged)
			abort();
		if (strncmp(path, "/debug/pprof/", 13))
			abort();
		break;
	case HTTP_ROUTE_ERROR:
		if ((out.status != 400 && out.status != 404) || !out.message[0] ||
		    !memchr(out.message, 0, sizeof(out.message)))
			abort();
		break;
	case HTTP_ROUTE_INDEX:
		if (strcmp(path, "/debug/pprof/"))
			abort();
		break;
	case HTTP_ROUTE_REDIRECT:
		if (strcmp(path, "/debug/pprof"))
			abort();
		break;
	default:
		abort();
	}
	free(path);
	return 0;
}
