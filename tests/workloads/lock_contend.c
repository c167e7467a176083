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
 * Beside them, a condition variable that is not a lock: signal_items posts
 * an item every 10 ms (signalling after it unlocks, so the woken consumer
 * finds the mutex free), await_items waits for each in pthread_cond_wait.
 * Its waits are printed as
 *   condvar await_items waits=N wait_ns=W
 * and must not appear as contention released by signal_items.
 *
 * Usage: lock_contend SECONDS [gate]  (gate: start after a line on stdin)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t lock_w = PTHREAD_RWLOCK_INITIALIZER;
static atomic_ullong waits[3], wait_ns[3];
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t items_cv = PTHREAD_COND_INITIALIZER;
static unsigned items;
static bool producing = true;
static uint64_t cv_waits, cv_wait_ns;
static double seconds;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

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

__attribute__((noinline)) void signal_items(void)
{
	pthread_mutex_lock(&lock_c);
	items++;
	pthread_mutex_unlock(&lock_c);
	pthread_cond_signal(&items_cv);
}

__attribute__((noinline)) void await_items(void)
{
	pthread_mutex_lock(&lock_c);
	while (!items && producing) {
		uint64_t t0 = now_ns();

		pthread_cond_wait(&items_cv, &lock_c);
		cv_waits++;
		cv_wait_ns += now_ns() - t0;
	}
	if (items)
		items--;
	pthread_mutex_unlock(&lock_c);
}

static void *producer(void *arg)
{
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);

	while (now_ns() < end) {
		sleep_us(10000);
		signal_items();
	}
	pthread_mutex_lock(&lock_c);
	producing = false;
	pthread_mutex_unlock(&lock_c);
	pthread_cond_broadcast(&items_cv);
	return arg;
}

static void *consumer(void *arg)
{
	bool more = true;

	while (more) {
		await_items();
		pthread_mutex_lock(&lock_c);
		more = producing || items;
		pthread_mutex_unlock(&lock_c);
	}
	return arg;
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
	void (*holds[6])(void) = { hold_a, hold_a, hold_b, hold_b, hold_w, hold_w };
	pthread_t t[6], cv[2];

	seconds = argc > 1 ? atof(argv[1]) : 5;
	if (argc > 2 && getchar() == EOF) /* the profiler is ready */
		return 1;
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, worker, (void *)holds[i]);
	pthread_create(&cv[0], NULL, producer, NULL);
	pthread_create(&cv[1], NULL, consumer, NULL);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	pthread_join(cv[0], NULL);
	pthread_join(cv[1], NULL);
	printf("total hold_a contentions=%llu wait_ns=%llu\n", (unsigned long long)waits[0],
	       (unsigned long long)wait_ns[0]);
	printf("total hold_b contentions=%llu wait_ns=%llu\n", (unsigned long long)waits[1],
	       (unsigned long long)wait_ns[1]);
	printf("total hold_w contentions=%llu wait_ns=%llu\n", (unsigned long long)waits[2],
	       (unsigned long long)wait_ns[2]);
	printf("condvar await_items waits=%llu wait_ns=%llu\n", (unsigned long long)cv_waits,
	       (unsigned long long)cv_wait_ns);
	return 0;
}
