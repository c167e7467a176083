// SPDX-License-Identifier: MIT
/*
 * The floor under the heap probes' cost: what one uprobe hit costs here by
 * the instruction it sits on. Two functions that differ only in their
 * first instruction: push_entry starts with `push %rbp` (what the heap
 * probes sit on: the kernel emulates it after an int3 trap), nop5_entry
 * with a 5-byte nop (kernel 6.18 rewrites a probe there into a call to a
 * trampoline that enters the kernel by a system call: no trap).
 *
 *   uprobe_hit push|nop5 N DELAY   sleeps DELAY s (to be probed), calls the
 *                                  function N times, prints ns per call
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void push_entry(long *x);
void nop5_entry(long *x);

asm(".text\n"
    ".globl push_entry\n.type push_entry,@function\npush_entry:\n"
    "	push %rbp\n	pop %rbp\n	addq $1,(%rdi)\n	ret\n"
    ".size push_entry,.-push_entry\n"
    ".globl nop5_entry\n.type nop5_entry,@function\nnop5_entry:\n"
    "	.byte 0x0f,0x1f,0x44,0x00,0x00\n	addq $1,(%rdi)\n	ret\n"
    ".size nop5_entry,.-nop5_entry\n");

int main(int argc, char **argv)
{
	void (*fn)(long *);
	struct timespec a, b;
	long n, x = 0;

	if (argc != 4 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: uprobe_hit push|nop5 N DELAY\n");
		return 2;
	}
	fn = argv[1][0] == 'n' ? nop5_entry : push_entry;
	sleep((unsigned)atoi(argv[3]));
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fn(&x);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return x != n;
}
