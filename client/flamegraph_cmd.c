// SPDX-License-Identifier: MIT
/* pprofctl flamegraph FILE... -o OUT.svg: the files merged, drawn by
 * flamegraph.h. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flamegraph.h"
#include "profile_read.h"
#include "file_select.h"
#include "report.h"

static void fg_usage(FILE *f)
{
	fprintf(f,
		"Usage: pprofctl flamegraph FILE...|--comm NAME [--since 1h] [-o OUT.svg] [--sample-index=NAME|N]\n\n"
		"Draws a profile file (gzip-compressed or plain pprof) as a flame graph: an\n"
		"SVG to open in a browser. Hover a frame for its value, click to zoom into it,\n"
		"Search (or /) to highlight frames by name. Several files (the windows\n"
		"pprofd wrote of a process) are merged into one graph.\n\n"
		"  -o, --output=OUT.svg   where to write it (- or none: standard output,\n"
		"                         when that is not a terminal)\n"
		"  --sample-index=NAME|N  the sample type to draw (default: the profile's\n"
		"                         default type, else its last)\n" FILE_SELECT_USAGE
		"  --help                 this text\n");
}

int cmd_flamegraph(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sample-index", required_argument, NULL, 's' },
		{ "sample_index", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		FILE_SELECT_OPTIONS,
		{ 0 },
	};
	struct file_select fs = { 0 };
	const char *sel = NULL, *out = NULL, *what;
	struct profile *p;
	FILE *f;
	char err[512];
	int opt, idx, ret = 1;
	bool to_stdout, bad;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		int r = file_select__opt(&fs, opt, optarg, err, sizeof(err));

		if (r) {
			if (r > 0)
				continue;
			fprintf(stderr, "pprofctl flamegraph: %s\n", err);
			return 2;
		}
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 's':
			sel = optarg;
			break;
		case 'h':
			fg_usage(stdout);
			return 0;
		default:
			fg_usage(stderr);
			return 2;
		}
	}
	if (!out && !isatty(STDOUT_FILENO))
		out = "-";
	if (file_select__check(&fs, argc - optind, err, sizeof(err)) || !out) {
		fprintf(stderr, "pprofctl flamegraph: %s (see pprofctl flamegraph --help)\n",
			out ? err : "where to? give -o OUT.svg, or redirect standard output");
		return 2;
	}
	what = optind < argc ? argv[optind] : fs.comm ? fs.comm : "the files selected";
	if (file_select__read(&fs, argc - optind, argv + optind, &p, err, sizeof(err))) {
		fprintf(stderr, "pprofctl flamegraph: %s\n", err);
		return 1;
	}
	idx = profile_sample_index(p, sel, err, sizeof(err));
	if (idx < 0) {
		fprintf(stderr, "pprofctl flamegraph: %s: %s\n", what, err);
		goto done;
	}
	to_stdout = !strcmp(out, "-");
	f = to_stdout ? stdout : fopen(out, "w");
	if (!f) {
		fprintf(stderr, "pprofctl flamegraph: cannot write %s: %s\n", out, strerror(errno));
		goto done;
	}
	errno = 0;
	bad = flamegraph_write(p, idx, what, f) != 0;
	if (!to_stdout && fclose(f))
		bad = true;
	if (bad) {
		fprintf(stderr, "pprofctl flamegraph: cannot write %s: %s\n", out,
			errno ? strerror(errno) : "out of memory");
		if (!to_stdout)
			unlink(out);
		goto done;
	}
	if (!to_stdout && isatty(STDERR_FILENO))
		fprintf(stderr, "wrote %s: open it in a browser\n", out);
	ret = 0;
done:
	profile_free(p);
	return ret;
}
