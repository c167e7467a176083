// SPDX-License-Identifier: MIT
/*
 * pprofctl: the command-line client of pprofd. Requests go to the daemon's
 * control socket (ctl.c); reports on profile files need no daemon.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "report.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pprofctl [--socket PATH] COMMAND [OPTIONS]   (pprofctl COMMAND --help for each)\n\n"
		"  profile --pid PID [--seconds N] [--hz HZ] [-o FILE]   a CPU profile\n"
		"  heap|mutex|block --pid PID --seconds N [-o FILE]\n"
		"  threads --pid PID [-o FILE]\n"
		"  status                        pprofd's health and counters\n"
		"  top FILE                      a text report of a profile\n"
		"  flamegraph FILE -o OUT.svg    a flame graph to open in a browser\n\n"
		"  --socket PATH  pprofd's control socket, before or after the command\n"
		"                 (default: $PPROFD_SOCKET, else /run/pprofd/pprofd.sock,\n"
		"                 else ./run/pprofd.sock, which `make run` makes)\n"
		"  --help         this text\n"
		"  --version      the version\n");
}

int main(int argc, char **argv)
{
	/* options before the command: the socket, for every command */
	while (argc >= 2 && !strncmp(argv[1], "--socket", 8)) {
		if (argv[1][8] == '=') {
			ctl__set_socket(argv[1] + 9);
			argc--, argv++;
		} else if (!argv[1][8] && argc >= 3) {
			ctl__set_socket(argv[2]);
			argc -= 2, argv += 2;
		} else {
			fprintf(stderr, "pprofctl: --socket needs a PATH (see pprofctl --help)\n");
			return 2;
		}
	}
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
	if (!strcmp(argv[1], "profile") || !strcmp(argv[1], "heap") || !strcmp(argv[1], "mutex") ||
	    !strcmp(argv[1], "block") || !strcmp(argv[1], "threads"))
		return cmd_request(argv[1], argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "top"))
		return cmd_top(argc - 1, argv + 1);
	if (!strcmp(argv[1], "flamegraph"))
		return cmd_flamegraph(argc - 1, argv + 1);
	fprintf(stderr, "pprofctl: unknown command '%s' (see pprofctl --help)\n", argv[1]);
	return 2;
}
