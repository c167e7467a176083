// SPDX-License-Identifier: MIT
/* The integer exponential draw of bpf/heap.h against -ln(u) * mean. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "heap.h"
#include "test.h"

static void test_draw_matches_log(void)
{
	/* Every 2^20th u, and the ends: within 0.01 % + mean * 3e-5 of the exact value. */
	for (uint64_t r = 0; r <= 0xffffffffull; r += r < 16 ? 1 : (1u << 20) - 1) {
		double want = -log(((double)r + 1) / 4294967296.0) * 524288 + 1;
		double got = heap_exp_draw(r, 524288);

		if (!ASSERT_TRUE(fabs(got - want) <= want * 1e-4 + 524288 * 3e-5,
				 "r=%" PRIu64 " want %.1f got %.1f", r, want, got))
			break;
	}
	ASSERT_EQ(heap_exp_draw(0xffffffff, 524288), 1);
}

static void test_draw_distribution(void)
{
	const uint64_t mean = 524288;
	const long n = 2000000;
	double sum = 0;
	long over = 0;

	srand48(7);
	for (long i = 0; i < n; i++) {
		uint64_t x = heap_exp_draw((uint32_t)(drand48() * 4294967296.0), mean);

		sum += x;
		over += x > mean;
	}
	/* mean within 0.5 %, P(x > mean) = 1/e within 0.003 (5 sigma) */
	ASSERT_TRUE(fabs(sum / n - mean) < mean * 0.005, "mean %.0f", sum / n);
	ASSERT_TRUE(fabs((double)over / n - exp(-1)) < 0.003, "P(x > mean) %.4f", (double)over / n);
}

int main(void)
{
	RUN_TEST(test_draw_matches_log);
	RUN_TEST(test_draw_distribution);
	return TEST_MAIN_END();
}
