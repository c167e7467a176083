// SPDX-License-Identifier: MIT
/*
 * pprofctl: the command-line client of pprofd. The per-PID requests over the
 * control socket come with the request protocol; today it reports its
 * version and says so.
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: pprofctl COMMAND [OPTIONS]\n"
		   "Commands: profile, heap, mutex, block, threads, status, top, flamegraph\n"
		   "  --help     this text\n"
		   "  --version  the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("pprofctl %s\n", PPROFD_VERSION);
		return 0;
	}
	fprintf(stderr, "pprofctl: '%s' is not implemented yet in this version\n", argv[1]);
	return 1;
}
