// SPDX-License-Identifier: MIT
/*
 * A process's life under an in-process heap sampler (libpprofd_heap.so
 * preloaded), for test_heap_usdt: blocks allocated before a profiler
 * attached (none of them sampled) and freed while it is; threads started
 * and ended while profiled, each allocating a known total; a child that
 * allocates, forks and execs /bin/true. Prints "ready PID", waits for a
 * line on stdin, prints its totals as heap_sites does:
 *
 *   total <site> alloc_bytes=N inuse_bytes=N
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define THREADS 8

static void *volatile sink;

/* 4 KiB blocks, each freed at once: 32 MiB a thread. */
NOINLINE static void *site_thread(void *arg)
{
	for (int i = 0; i < 8192; i++) {
		void *volatile p = malloc(4096); /* its own: sink is every thread's */

		free(p);
	}
	return arg;
}

/* 64 KiB blocks, kept: 64 MiB. */
NOINLINE static void site_main(void)
{
	static void *keep[1024];

	for (int i = 0; i < 1024; i++)
		keep[i] = malloc(64 << 10);
	sink = keep;
}

int main(void)
{
	static void *early[4096];
	pthread_t t[THREADS];
	char line[16];
	pid_t child;
	int status;

	/* before anyone attached: not sampled, freed while profiled */
	for (int i = 0; i < 4096; i++)
		early[i] = malloc(256);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (int i = 0; i < 4096; i++)
		free(early[i]);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, site_thread, NULL))
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	site_main();
	child = fork();
	if (child == 0) {
		sink = malloc(1 << 20); /* the child's: not the parent's profile */
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 1;
	printf("total site_thread alloc_bytes=%lu inuse_bytes=0\n",
	       (unsigned long)THREADS * 8192 * 4096);
	printf("total site_main alloc_bytes=%lu inuse_bytes=%lu\n", 1024ul << 16, 1024ul << 16);
	printf("child exited 0\n");
	return 0;
}
