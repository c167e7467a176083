// SPDX-License-Identifier: MIT
/*
 * Lock contention with a known truth: hold_a and hold_b each guard their
 * own mutex, hold_w a rwlock taken for writing, two threads per lock. A
 * holder sleeps inside its critical section (hold_a 4 ms, hold_b 2 ms,
 * hold_w 3 ms), then sleeps 1 ms outside it, so the
 * other thread waits on every acquisition and, woken, finds the lock free
 * (no barging: each contended acquisition is one futex wait).
 *
 * Each thread measures its own waits (the time pthread_mutex_lock took
 * when trylock found the lock held); at exit it prints per function:
 *   total hold_a contentions=N wait_ns=W
 * The waits on lock A are caused by hold_a's critical sections, so a mutex
 * profile (the releaser's stack) should give hold_a W ns of delay.
 *
 * Usage: lock_contend SECONDS [gate]  (gate: start after a line on stdin)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t lock_w = PTHREAD_RWLOCK_INITIALIZER;
static atomic_ullong waits[3], wait_ns[3];
static double seconds;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, us % 1000000 * 1000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void take(pthread_mutex_t *m, int which)
{
	if (pthread_mutex_trylock(m) == EBUSY) {
		uint64_t t0 = now_ns();

		pthread_mutex_lock(m);
		waits[which]++;
		wait_ns[which] += now_ns() - t0;
	}
}

/* The critical sections: the releasers a mutex profile must show. */
__attribute__((noinline)) void hold_a(void)
{
	take(&lock_a, 0);
	sleep_us(4000);
	pthread_mutex_unlock(&lock_a);
}

__attribute__((noinline)) void hold_b(void)
{
	take(&lock_b, 1);
	sleep_us(2000);
	pthread_mutex_unlock(&lock_b);
}

__attribute__((noinline)) void hold_w(void)
{
	if (pthread_rwlock_trywrlock(&lock_w) == EBUSY) {
		uint64_t t0 = now_ns();

		pthread_rwlock_wrlock(&lock_w);
		waits[2]++;
		wait_ns[2] += now_ns() - t0;
	}
	sleep_us(3000);
	pthread_rwlock_unlock(&lock_w);
}

static void *worker(void *arg)
{
	void (*hold)(void) = arg;
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);

	while (now_ns() < end) {
		hold();
		sleep_us(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	void (*holds[6])(void) = {hold_a, hold_a, hold_b, hold_b, hold_w, hold_w};
	pthread_t t[6];

	seconds = argc > 1 ? atof(argv[1]) : 5;
	if (argc > 2 && getchar() == EOF) /* the profiler is ready */
		return 1;
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, worker, (void *)holds[i]);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	printf("total hold_a contentions=%llu wait_ns=%llu\n", (unsigned long long)waits[0],
	       (unsigned long long)wait_ns[0]);
	printf("total hold_b contentions=%llu wait_ns=%llu\n", (unsigned long long)waits[1],
	       (unsigned long long)wait_ns[1]);
	printf("total hold_w contentions=%llu wait_ns=%llu\n", (unsigned long long)waits[2],
	       (unsigned long long)wait_ns[2]);
	return 0;
}
