// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

int log_max_level = LOG_LVL_INFO;

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if ((int)lvl > log_max_level)
		return;
	n = snprintf(buf, sizeof(buf), "<%d>", lvl);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	/* One write per line so concurrent writers never interleave a line. */
	fprintf(stderr, "%s\n", buf);
}
