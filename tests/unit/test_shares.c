// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "shares.h"
#include "test.h"

/* 8 slots, 2 kept for root, 3 per user: one user gets 3, users together 6,
 * root the rest; a slot given back can be taken again. */
static void test_take_give(void)
{
	static const struct {
		const char *peer;
		bool priv, give;
		int want;
	} steps[] = {
		{ "uid 1", false, false, 0 },
		{ "uid 1", false, false, 0 },
		{ "uid 1", false, false, 0 },
		{ "uid 1", false, false, -EUSERS },
		{ "uid 2", false, false, 0 },
		{ "uid 2", false, false, 0 },
		{ "uid 3", false, false, 0 },
		{ "uid 4", false, false, -EBUSY }, /* 6 unprivileged: the rest is root's */
		{ "uid 0", true, false, 0 },
		{ "uid 0", true, false, 0 },
		{ "uid 0", true, false, -ENOSPC },
		{ "uid 1", false, true, 0 }, /* uid 1 gives one back */
		{ "uid 4", false, false, 0 },
		{ "uid 1", false, false, -ENOSPC }, /* all 8 taken */
		{ "uid 0", true, true, 0 },         /* root gives one back */
		{ "uid 0", true, false, 0 },
	};
	struct shares *s = shares__new(8, 2, 3);

	ASSERT_TRUE(s != NULL);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].give) {
			shares__give(s, steps[i].peer, steps[i].priv);
			continue;
		}
		ASSERT_EQ(shares__take(s, steps[i].peer, steps[i].priv), steps[i].want);
	}
	ASSERT_EQ(shares__used(s), 8);
	shares__free(s);
}

static void test_why(void)
{
	struct shares *s = shares__new(8, 2, 3);
	char buf[200];

	shares__why(s, -EUSERS, "uid 65534", "requests", buf, sizeof(buf));
	ASSERT_STREQ(buf, "too many concurrent requests from uid 65534 (3, the most one user "
			  "may have); try again later");
	shares__why(s, -EBUSY, "uid 65534", "connections", buf, sizeof(buf));
	ASSERT_STREQ(buf, "too many concurrent connections (6; the other 2 are kept for root); "
			  "try again later");
	shares__free(s);
	shares__free(NULL);
}

int main(void)
{
	RUN_TEST(test_take_give);
	RUN_TEST(test_why);
	return TEST_MAIN_END();
}
