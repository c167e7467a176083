// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

int log_max_level = LOG_LVL_INFO;

size_t log_escape(char *out, size_t outlen, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!outlen)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		unsigned char c = *p;

		if (c >= 0x20 && c != 0x7f && c != '\\') {
			if (n + 1 >= outlen)
				break;
			out[n++] = (char)c;
		} else {
			if (n + 4 >= outlen)
				break;
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return n;
}

/*
 * The whole formatted message is escaped here, not each argument at its
 * call site: comm, thread names and paths reach a hundred log calls, and
 * one that forgot would let a process write a journald line ("\n<0>...")
 * of its choosing. Our own formats never contain control characters.
 */
void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char raw[1024], buf[4 * sizeof(raw) + 8];
	va_list ap;
	int n;

	if ((int)lvl > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	n = snprintf(buf, sizeof(buf), "<%d>", lvl);
	log_escape(buf + n, sizeof(buf) - n, raw);
	/* One write per line so concurrent writers never interleave a line. */
	fprintf(stderr, "%s\n", buf);
}
