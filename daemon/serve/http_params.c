// SPDX-License-Identifier: MIT
/*
 * The HTTP front end's routing and parameters (http.h), pure: a path and
 * its arguments in, a route or an error as Go's net/http/pprof says it out.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "requests.h"

static const struct {
	const char *name;
	enum kind_id kind;
} profiles[] = {
	{ "profile", KIND_CPU }, { "heap", KIND_HEAP },         { "mutex", KIND_MUTEX },
	{ "block", KIND_BLOCK }, { "goroutine", KIND_THREADS },
};

static void parse_error(struct http_parsed *out, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void parse_error(struct http_parsed *out, int status, const char *fmt, ...)
{
	va_list ap;

	out->route = HTTP_ROUTE_ERROR;
	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
}

bool http__parse_uint(const char *s, size_t len, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;
	size_t i;

	if (!s || !len)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (max - (unsigned)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*v = x;
	return true;
}

static bool key_is(const struct http_arg *a, const char *name)
{
	return a->key && a->key_len == strlen(name) && !memcmp(a->key, name, a->key_len);
}

void http__parse(const char *path, const struct http_arg *args, size_t nr_args,
		 unsigned max_seconds, struct http_parsed *out)
{
	bool seen_seconds = false, seen_hz = false, seen_pid = false, seen_debug = false;
	bool flame, seen_window = false;
	const char *name;
	unsigned long v;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!path || strncmp(path, HTTP_PPROF_PREFIX, strlen(HTTP_PPROF_PREFIX))) {
		/* /debug/pprof as Go's ServeMux does; / is where a person
		 * starts: the same page */
		if (path && (!strcmp(path, "/debug/pprof") || !strcmp(path, "/")))
			out->route = HTTP_ROUTE_REDIRECT;
		else
			parse_error(out, 404, "404 page not found");
		return;
	}
	name = path + strlen(HTTP_PPROF_PREFIX);
	if (!*name) {
		out->route = HTTP_ROUTE_INDEX;
		return;
	}
	flame = !strcmp(name, "flamegraph"); /* the page's: CPU, as SVG */
	for (i = 0; !flame && i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(name, profiles[i].name))
			break;
	if (!flame && i == sizeof(profiles) / sizeof(profiles[0])) {
		parse_error(out, 404, "Unknown profile");
		return;
	}
	out->params.kind = flame ? KIND_CPU : profiles[i].kind;

	for (i = 0; i < nr_args; i++) {
		const struct http_arg *a = &args[i];
		bool *seen;
		const char *k;

		if (key_is(a, "seconds"))
			seen = &seen_seconds, k = "seconds";
		else if (key_is(a, "hz"))
			seen = &seen_hz, k = "hz";
		else if (key_is(a, "pid"))
			seen = &seen_pid, k = "pid";
		else if (key_is(a, "debug"))
			seen = &seen_debug, k = "debug";
		else if (flame && key_is(a, "window"))
			seen = &seen_window, k = "window";
		else
			continue; /* like Go: parameters it does not know are ignored */
		if (*seen) {
			parse_error(out, 400, "duplicate parameter \"%s\"", k);
			return;
		}
		*seen = true;
		if (seen == &seen_seconds) {
			if (!http__parse_uint(a->value, a->value_len, ULONG_MAX, &v)) {
				parse_error(out, 400,
					    "invalid value for \"seconds\": want a whole number");
				return;
			}
			if (!v || v > max_seconds) {
				parse_error(out, 400, REQ_SECONDS_RANGE, max_seconds);
				return;
			}
			out->params.seconds = v;
		} else if (seen == &seen_hz) {
			if (!http__parse_uint(a->value, a->value_len, KIND_MAX_HZ, &v) || !v) {
				parse_error(
					out, 400,
					"invalid value for \"hz\": want an integer from 1 to %d",
					KIND_MAX_HZ);
				return;
			}
			out->params.hz = v;
		} else if (seen == &seen_pid) {
			if (!http__parse_uint(a->value, a->value_len, INT_MAX, &v) || !v) {
				parse_error(out, 400,
					    "invalid value for \"pid\": want a process id");
				return;
			}
			out->params.pid = v;
		} else if (seen == &seen_window) {
			if (a->value && a->value_len == 4 && !memcmp(a->value, "last", 4))
				out->flame = HTTP_FLAME_LAST;
			else if (a->value && a->value_len == 4 && !memcmp(a->value, "hour", 4))
				out->flame = HTTP_FLAME_HOUR;
			else {
				parse_error(out, 400,
					    "invalid value for \"window\": want last or hour");
				return;
			}
		} else {
			if (!http__parse_uint(a->value, a->value_len, ULONG_MAX, &v)) {
				parse_error(out, 400, "invalid value for \"debug\"");
				return;
			}
			if (v) {
				parse_error(out, 400, "debug=%lu is not supported", v);
				return;
			}
		}
	}
	if (!seen_pid && out->params.kind != KIND_CPU) {
		parse_error(
			out, 400,
			"missing parameter \"pid\" (only the cpu profile covers the whole host)");
		return;
	}
	if (flame) {
		if (!seen_pid) {
			parse_error(out, 400, "missing parameter \"pid\"");
			return;
		}
		if (seen_window && seen_seconds) {
			parse_error(out, 400, "\"window\" or \"seconds\", not both");
			return;
		}
		if (seen_seconds)
			out->flame = HTTP_FLAME_REQUEST;
		out->route = HTTP_ROUTE_FLAME;
		return;
	}
	out->route = HTTP_ROUTE_PROFILE;
}
