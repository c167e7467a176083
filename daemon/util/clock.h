/* SPDX-License-Identifier: MIT */
/* The monotonic clock in nanoseconds: deadlines, budgets, durations. */
#ifndef PPROFD_CLOCK_H
#define PPROFD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Time spent in each period against a budget (loads, waits): what is
 * spent counts from the start of the current period (a second unless
 * said). */
struct sec_budget {
	uint64_t start, spent;
};

/* What is left of budget in the period_ns of now (0: none). */
static inline uint64_t sec_budget__left_in(struct sec_budget *b, uint64_t budget,
					   uint64_t period_ns, uint64_t now)
{
	if (now - b->start >= period_ns) {
		b->start = now;
		b->spent = 0;
	}
	return b->spent < budget ? budget - b->spent : 0;
}

/* What is left of budget in the second of now (0: none). */
static inline uint64_t sec_budget__left(struct sec_budget *b, uint64_t budget, uint64_t now)
{
	return sec_budget__left_in(b, budget, 1000000000ull, now);
}

#endif
