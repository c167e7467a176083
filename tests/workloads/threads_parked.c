// SPDX-License-Identifier: MIT
/*
 * Six threads parked in three known functions, two in each, for the
 * threads profile test: park_in_read (blocked reading a pipe nobody writes
 * to), park_in_sleep (nanosleep in a loop), park_in_cond (pthread_cond_wait
 * on a condition nobody signals). Each is named after what it does
 * ("reader-1", "sleeper-2", "waiter-1", ...); the main thread waits in
 * pthread_join. Prints "pid N" and, when every thread is parked, "ready".
 * Runs until killed, or for the seconds given as its argument.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define PER_KIND 2

static int pipefd[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_cond_t parked_cv = PTHREAD_COND_INITIALIZER;
static int parked;

/* Called just before a thread blocks for good. */
static void mark_parked(void)
{
	pthread_mutex_lock(&lock);
	parked++;
	pthread_cond_broadcast(&parked_cv);
	pthread_mutex_unlock(&lock);
}

NOINLINE static void park_in_read(void)
{
	char c;

	mark_parked();
	for (;;)
		if (read(pipefd[0], &c, 1) <= 0)
			sleep(1); /* (never: nobody writes or closes the pipe) */
}

NOINLINE static void park_in_sleep(void)
{
	struct timespec ts = { .tv_sec = 3600 };

	mark_parked();
	for (;;)
		nanosleep(&ts, NULL);
}

NOINLINE static void park_in_cond(void)
{
	pthread_mutex_lock(&lock);
	parked++;
	pthread_cond_broadcast(&parked_cv);
	for (;;)
		pthread_cond_wait(&never, &lock);
}

struct kind {
	const char *name;
	void (*park)(void);
};

static const struct kind kinds[] = {
	{ "reader", park_in_read },
	{ "sleeper", park_in_sleep },
	{ "waiter", park_in_cond },
};

struct start {
	const struct kind *k;
	int n;
};

static void *thread_main(void *arg)
{
	struct start *s = arg;
	char name[16];

	snprintf(name, sizeof(name), "%s-%d", s->k->name, s->n);
	pthread_setname_np(pthread_self(), name);
	s->k->park();
	return NULL;
}

static void on_alarm(int sig)
{
	_exit(0);
}

int main(int argc, char **argv)
{
	enum { N = 3 * PER_KIND };
	static struct start starts[N];
	pthread_t th[N];

	if (pipe(pipefd) < 0) {
		perror("pipe");
		return 1;
	}
	if (argc > 1) {
		signal(SIGALRM, on_alarm);
		alarm(atoi(argv[1]));
	}
	for (int i = 0; i < N; i++) {
		starts[i] = (struct start){ &kinds[i / PER_KIND], i % PER_KIND + 1 };
		if (pthread_create(&th[i], NULL, thread_main, &starts[i])) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (parked < N)
		pthread_cond_wait(&parked_cv, &lock);
	pthread_mutex_unlock(&lock);
	/* The last one marked itself just before its blocking call: give it
	 * the moment to get there. */
	usleep(100 * 1000);
	printf("pid %d\nready\n", getpid());
	fflush(stdout);
	pthread_join(th[0], NULL);
	return 0;
}
