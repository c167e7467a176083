// SPDX-License-Identifier: MIT
/*
 * Off-CPU time with a known split: the main thread alternates between
 * sleep_part (nanosleep, 7 ms) and pipe_part (a request to a child
 * process, which answers after 3 ms: a read that blocks ~3 ms), so about
 * 70 % of its off-CPU time is in sleep_part and 30 % in pipe_part. The
 * child is another process, so a block profile of this PID does not see
 * its sleeps. The program measures both and prints at exit:
 *   total sleep_part ns=N
 *   total pipe_part ns=N
 *
 * Usage: block_split SECONDS [gate]  (gate: start after a line on stdin)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

__attribute__((noinline)) void sleep_part(void)
{
	sleep_us(7000);
}

__attribute__((noinline)) void pipe_part(int req, int reply)
{
	char c = 'x';

	if (write(req, &c, 1) != 1 || read(reply, &c, 1) != 1)
		exit(1);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	uint64_t t_sleep = 0, t_pipe = 0, end, t0;
	int to_child[2], to_parent[2];
	pid_t child;
	char c;

	if (pipe(to_child) || pipe(to_parent))
		return 1;
	child = fork();
	if (child == 0) { /* answers each request after 3 ms, until EOF */
		close(to_child[1]);
		while (read(to_child[0], &c, 1) == 1) {
			sleep_us(3000);
			if (write(to_parent[1], &c, 1) != 1)
				break;
		}
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	if (argc > 2 && getchar() == EOF) /* the profiler is ready */
		return 1;
	end = now_ns() + (uint64_t)(seconds * 1e9);
	while ((t0 = now_ns()) < end) {
		sleep_part();
		t_sleep += now_ns() - t0;
		t0 = now_ns();
		pipe_part(to_child[1], to_parent[0]);
		t_pipe += now_ns() - t0;
	}
	close(to_child[1]);
	waitpid(child, NULL, 0);
	printf("total sleep_part ns=%llu\n", (unsigned long long)t_sleep);
	printf("total pipe_part ns=%llu\n", (unsigned long long)t_pipe);
	return 0;
}
