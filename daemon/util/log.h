/* SPDX-License-Identifier: MIT */
/* One event per line on stderr, with a syslog-style <N> level prefix that
 * journald understands. Never log per sample: count, and log on change. */
#ifndef PPROFD_LOG_H
#define PPROFD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

extern int log_max_level;

/*
 * Copies in to out with control characters, DEL and backslash as \xNN, so
 * that what a process named itself cannot start a log line of its own.
 * Returns the length written (out is cut, and terminated, when full).
 */
size_t log_escape(char *out, size_t outlen, const char *in);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
