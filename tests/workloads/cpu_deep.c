// SPDX-License-Identifier: MIT
/*
 * A deep stack in code without frame pointers (the Makefile builds this
 * one -O2 -fomit-frame-pointer): main -> descend x DEPTH -> spin. Each
 * frame keeps locals on the stack, so the stack from the leaf to main is
 * a few KiB: more than any stack copy BPF sends (512 bytes); only an
 * unwinder that walks the stack itself reaches main.
 *
 * At the leaf, MODE (default spin) does one of:
 *   spin   burn CPU                       (cpu)
 *   alloc  malloc(64 KiB), free it, 0.1 ms off (heap: 1 in 8 sampled)
 *   sleep  sleep 1 ms                      (block)
 *   lock   hold a mutex 1 ms that a second thread, as deep, also wants
 *          (mutex: both threads' releases are contended)
 *   signal burn CPU, interrupted every 10 ms of it by SIGPROF, whose
 *          handler (on_signal) burns 4 ms more: stacks through a signal frame
 *   dlopen burn CPU for 1 s, then dlopen $CPU_DEEP_LIB and burn the rest in
 *          its lib_spin(20, seconds): a library mapped after the start
 * for SECONDS (CPU seconds for spin, wall-clock for the others).
 *
 * Usage: cpu_deep SECONDS [DEPTH [MODE]]; prints "pid N" at start.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static const char *mode = "spin";
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Seconds on clock (CLOCK_THREAD_CPUTIME_ID: this thread's CPU time). */
static double now(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void spin(double seconds)
{
	double t0 = now(CLOCK_THREAD_CPUTIME_ID);

	do
		for (int i = 0; i < 100000; i++)
			sink = sink * 6364136223846793005ul + i;
	while (now(CLOCK_THREAD_CPUTIME_ID) - t0 < seconds);
}

__attribute__((noinline)) static void on_signal(int sig)
{
	(void)sig;
	spin(0.004);
}

/* CPU time in spin, with SIGPROF's handler running every 10 ms of it. */
static void spin_signalled(double seconds)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };

	sigaction(SIGPROF, &sa, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
	spin(seconds);
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_PROF, &it, NULL);
}

__attribute__((noinline)) static void leaf(double seconds)
{
	double t0 = now(CLOCK_MONOTONIC);
	struct timespec ms = { 0, 1000000 };

	if (!strcmp(mode, "spin")) {
		spin(seconds);
		return;
	}
	if (!strcmp(mode, "signal")) {
		spin_signalled(seconds);
		return;
	}
	if (!strcmp(mode, "dlopen")) {
		void *lib;
		void (*lib_spin)(int, double);

		spin(1);
		lib = dlopen(getenv("CPU_DEEP_LIB"), RTLD_NOW);
		lib_spin = lib ? (void (*)(int, double))dlsym(lib, "lib_spin") : NULL;
		if (!lib_spin) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			exit(1);
		}
		lib_spin(20, seconds - 1);
		return;
	}
	while (now(CLOCK_MONOTONIC) - t0 < seconds) {
		if (!strcmp(mode, "alloc")) {
			char *p = malloc(64 << 10);

			if (p)
				p[0] = 1;
			sink += (unsigned long)p;
			free(p);
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
		} else if (!strcmp(mode, "lock")) {
			pthread_mutex_lock(&lock);
			nanosleep(&ms, NULL);
			pthread_mutex_unlock(&lock);
		} else {
			nanosleep(&ms, NULL);
		}
	}
}

__attribute__((noinline)) static unsigned long descend(int n, double seconds)
{
	volatile unsigned long a[6] = { (unsigned long)n };

	if (n > 0)
		a[1] = descend(n - 1, seconds);
	else
		leaf(seconds);
	return a[0] + a[1];
}

struct deep_args {
	int depth;
	double seconds;
};

static void *deep_thread(void *arg)
{
	struct deep_args *a = arg;

	sink += descend(a->depth, a->seconds);
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	int depth = argc > 2 ? atoi(argv[2]) : 60;
	struct deep_args a = { depth, seconds };
	pthread_t t;

	if (argc > 3)
		mode = argv[3];
	printf("pid %d\n", getpid());
	fflush(stdout);
	if (!strcmp(mode, "lock") && pthread_create(&t, NULL, deep_thread, &a))
		return 1;
	sink += descend(depth, seconds);
	if (!strcmp(mode, "lock"))
		pthread_join(t, NULL);
	return 0;
}
