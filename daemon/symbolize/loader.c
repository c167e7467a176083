// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "loader.h"

struct loader {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done_cv;
	struct loader_job *todo, **todo_tail, *done;
	unsigned queued, queue_max; /* todo's length, and its bound */
	bool quit;
	int efd; /* readable while ended jobs wait for loader__take */
};

static void *loader_main(void *arg)
{
	struct loader *ld = arg;

	pthread_mutex_lock(&ld->mu);
	for (;;) {
		struct loader_job *j;
		uint64_t t0, one = 1;

		while (!ld->todo && !ld->quit)
			pthread_cond_wait(&ld->work, &ld->mu);
		if (ld->quit)
			break;
		j = ld->todo;
		ld->todo = j->next;
		if (!ld->todo)
			ld->todo_tail = &ld->todo;
		ld->queued--;
		pthread_mutex_unlock(&ld->mu);

		t0 = mono_ns();
		j->run(j);
		j->ns = mono_ns() - t0;
		if (!j->ns)
			j->ns = 1; /* "it ran", for loader__free's drop */

		pthread_mutex_lock(&ld->mu);
		j->next = ld->done;
		ld->done = j;
		pthread_cond_broadcast(&ld->done_cv);
		if (write(ld->efd, &one, sizeof(one)) < 0) {
			/* the counter is at its maximum: it is readable all the same */
		}
	}
	pthread_mutex_unlock(&ld->mu);
	return NULL;
}

struct loader *loader__new(const char *name, unsigned queue_max)
{
	struct loader *ld = calloc(1, sizeof(*ld));
	sigset_t all, old;
	int err;

	if (!ld)
		return NULL;
	ld->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ld->efd < 0) {
		err = errno;
		free(ld);
		errno = err;
		return NULL;
	}
	ld->todo_tail = &ld->todo;
	ld->queue_max = queue_max;
	pthread_mutex_init(&ld->mu, NULL);
	pthread_cond_init(&ld->work, NULL);
	{
		pthread_condattr_t ca;

		/* loader__wait's deadline is on the monotonic clock */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&ld->done_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	/* it takes no signal: they are the event loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ld->thread, NULL, loader_main, ld);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(ld->efd);
		free(ld);
		errno = err;
		return NULL;
	}
	pthread_setname_np(ld->thread, name);
	return ld;
}

void loader__free(struct loader *ld, void (*drop)(struct loader_job *j))
{
	struct loader_job *j;

	if (!ld)
		return;
	pthread_mutex_lock(&ld->mu);
	ld->quit = true;
	pthread_cond_signal(&ld->work);
	pthread_mutex_unlock(&ld->mu);
	pthread_join(ld->thread, NULL);
	while ((j = ld->todo)) {
		ld->todo = j->next;
		drop(j);
	}
	while ((j = ld->done)) {
		ld->done = j->next;
		drop(j);
	}
	pthread_cond_destroy(&ld->work);
	pthread_cond_destroy(&ld->done_cv);
	pthread_mutex_destroy(&ld->mu);
	close(ld->efd);
	free(ld);
}

int loader__fd(const struct loader *ld)
{
	return ld->efd;
}

bool loader__submit(struct loader *ld, struct loader_job *j)
{
	bool ok;

	j->ns = 0;
	j->next = NULL;
	pthread_mutex_lock(&ld->mu);
	ok = ld->queued < ld->queue_max;
	if (ok) {
		*ld->todo_tail = j;
		ld->todo_tail = &j->next;
		ld->queued++;
		pthread_cond_signal(&ld->work);
	}
	pthread_mutex_unlock(&ld->mu);
	if (!ok)
		errno = EAGAIN;
	return ok;
}

unsigned loader__queued(const struct loader *ld)
{
	unsigned n;

	pthread_mutex_lock((pthread_mutex_t *)&ld->mu);
	n = ld->queued;
	pthread_mutex_unlock((pthread_mutex_t *)&ld->mu);
	return n;
}

struct loader_job *loader__take(struct loader *ld)
{
	struct loader_job *list;
	uint64_t v;

	/* the counter first: a job that ends after it is read writes it again */
	if (read(ld->efd, &v, sizeof(v)) < 0) {
		/* nothing to read: EAGAIN */
	}
	pthread_mutex_lock(&ld->mu);
	list = ld->done;
	ld->done = NULL;
	pthread_mutex_unlock(&ld->mu);
	return list;
}

bool loader__wait(struct loader *ld, uint64_t deadline_ns)
{
	bool any;

	pthread_mutex_lock(&ld->mu);
	while (!ld->done) {
		struct timespec ts = { (time_t)(deadline_ns / 1000000000ull),
				       (long)(deadline_ns % 1000000000ull) };

		if (deadline_ns == UINT64_MAX)
			pthread_cond_wait(&ld->done_cv, &ld->mu);
		else if (pthread_cond_timedwait(&ld->done_cv, &ld->mu, &ts) == ETIMEDOUT)
			break;
	}
	any = ld->done != NULL;
	pthread_mutex_unlock(&ld->mu);
	return any;
}
