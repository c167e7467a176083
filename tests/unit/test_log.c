// SPDX-License-Identifier: MIT
/* log_escape: what a process names itself cannot start a log line. */
#include "log.h"
#include "test.h"

static void test_escape_controls(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain /usr/bin/x", "plain /usr/bin/x" },   { "x\n<0>FORGED", "x\\x0a<0>FORGED" },
		{ "a\rb\tc\x7f", "a\\x0db\\x09c\\x7f" },      { "back\\slash", "back\\x5cslash" },
		{ "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" }, /* UTF-8 stays as it is */
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_escape(out, sizeof(out), cases[i].in);
		ASSERT_STREQ(out, cases[i].want);
	}
}

static void test_escape_cut(void)
{
	char out[6];

	/* An escape never cut in half: "ab" then no room for a whole \x0a. */
	ASSERT_EQ(log_escape(out, sizeof(out), "ab\ncd"), 2);
	ASSERT_STREQ(out, "ab");
	ASSERT_EQ(log_escape(out, 1, "abc"), 0);
	ASSERT_STREQ(out, "");
}

int main(void)
{
	RUN_TEST(test_escape_controls);
	RUN_TEST(test_escape_cut);
	return TEST_MAIN_END();
}
