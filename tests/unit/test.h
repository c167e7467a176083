/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test harness: assertions say what they expected, what they got
 * and where. Each test binary prints one line per test and exits non-zero if
 * any failed; tests/run.sh counts them.
 */
#ifndef PPROFD_TEST_H
#define PPROFD_TEST_H

#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_asserts;
static int test_nr_passed, test_nr_failed;
static const char *test_skipped; /* why the running test skipped, or NULL */

#define ASSERT_TRUE(c, ...)                                                     \
	({                                                                      \
		int __ok = !!(c);                                               \
		if (!__ok) {                                                    \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #c); \
			fprintf(stderr, " " __VA_ARGS__);                       \
			fprintf(stderr, "\n");                                  \
			test_failed_asserts++;                                  \
		}                                                               \
		__ok;                                                           \
	})
#define ASSERT_EQ(a, b)                                                       \
	({                                                                    \
		long long __a = (long long)(a), __b = (long long)(b);         \
		ASSERT_TRUE(__a == __b, "expected %lld, got %lld", __b, __a); \
	})
#define ASSERT_OK(e) ASSERT_EQ((e), 0)
#define ASSERT_STREQ(a, b)                                                                 \
	({                                                                                 \
		const char *__a = (a), *__b = (b);                                         \
		ASSERT_TRUE(__a &&__b && !strcmp(__a, __b), "expected \"%s\", got \"%s\"", \
			    __b ? __b : "(null)", __a ? __a : "(null)");                   \
	})

/* Whether the test named name runs: all of them, or those matching the glob
 * in $TEST_CASE (`make test-unit TEST=test_cfi CASE=test_libc_plt`). */
static inline int test_chosen(const char *name)
{
	const char *only = getenv("TEST_CASE");

	return !only || !*only || !fnmatch(only, name, 0);
}

/* TEST_SKIP(why): in a test, before returning: it could not run here
 * (tests/run.sh counts it a skip, a failure in CI). */
#define TEST_SKIP(why) (test_skipped = (why))

/* RUN_TEST(fn): runs fn(), prints "PASS name", "FAIL name" or "SKIP name why". */
#define RUN_TEST(fn)                                                   \
	do {                                                           \
		int __before = test_failed_asserts;                    \
		if (!test_chosen(#fn))                                 \
			break;                                         \
		test_skipped = NULL;                                   \
		fn();                                                  \
		if (test_skipped && test_failed_asserts == __before) { \
			printf("SKIP %s (%s)\n", #fn, test_skipped);   \
		} else if (test_failed_asserts == __before) {          \
			printf("PASS %s\n", #fn);                      \
			test_nr_passed++;                              \
		} else {                                               \
			printf("FAIL %s\n", #fn);                      \
			test_nr_failed++;                              \
		}                                                      \
		fflush(stdout);                                        \
	} while (0)

#define TEST_MAIN_END() (test_nr_failed ? 1 : 0)

/* Runs a shell command (building test inputs); 0, or the failure said. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r)
		fprintf(stderr, "command failed (%d): %s\n", r, cmd);
	return r;
}

#endif
