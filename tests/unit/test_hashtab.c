// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>

#include "hashtab.h"
#include "test.h"

static bool eq_u64(const void *item, const void *key)
{
	return *(const uint64_t *)item == *(const uint64_t *)key;
}

/* Insert, find, remove many keys, including ones whose hashes collide. */
static void test_insert_find_remove(void)
{
	struct hashtab h = { 0 };
	enum { N = 5000 };
	uint64_t *keys = calloc(N, sizeof(*keys));

	for (uint64_t i = 0; i < N; i++) {
		keys[i] = i * 7919;
		/* every 4 keys share a hash: equality must decide */
		ASSERT_OK(hashtab__insert(&h, i / 4, &keys[i]));
	}
	ASSERT_EQ(h.len, N);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t k = i * 7919;
		ASSERT_TRUE(hashtab__find(&h, i / 4, eq_u64, &k) == &keys[i], "key %" PRIu64, k);
	}
	for (uint64_t i = 0; i < N; i += 2) {
		uint64_t k = i * 7919;
		ASSERT_TRUE(hashtab__remove(&h, i / 4, eq_u64, &k) == &keys[i]);
	}
	ASSERT_EQ(h.len, N / 2);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t k = i * 7919;
		void *want = (i % 2) ? &keys[i] : NULL;
		ASSERT_TRUE(hashtab__find(&h, i / 4, eq_u64, &k) == want, "key %" PRIu64, k);
	}
	hashtab__free(&h);
	free(keys);
}

static void test_hash_bytes_differs(void)
{
	ASSERT_TRUE(hash_str("abc") != hash_str("abd"));
	ASSERT_TRUE(hash_bytes("abcdefgh1", 9, 0) != hash_bytes("abcdefgh2", 9, 0));
	ASSERT_TRUE(hash_bytes("", 0, 0) != hash_bytes("", 0, 1));
}

int main(void)
{
	RUN_TEST(test_insert_find_remove);
	RUN_TEST(test_hash_bytes_differs);
	return TEST_MAIN_END();
}
