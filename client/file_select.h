/* SPDX-License-Identifier: MIT */
/*
 * The files pprofd wrote, chosen by process and age instead of by name:
 * `pprofctl top|flamegraph --comm NAME [--pid PID] [--since 1h]` over
 * OUTPUT_DIR/<comm>-<pid>/<kind>-<time>.pb.gz.
 */
#ifndef PPROFCTL_FILE_SELECT_H
#define PPROFCTL_FILE_SELECT_H

#include <getopt.h>
#include <stddef.h>

struct file_select {
	const char *comm;  /* the process's name as pprofd wrote it (NULL: any) */
	long pid;          /* 0: any */
	long since_sec;    /* files written in the last since_sec seconds (0: all) */
	const char *since; /* as given */
	const char *kind;  /* NULL: cpu */
	const char *dir;   /* NULL: /var/lib/pprofd, else make run's ./profiles */
};

/* The options, for a command's getopt_long table (their vals are
 * 0x100 and up: no short option takes them). */
#define FILE_SELECT_OPTIONS                                                                    \
	{ "comm", required_argument, NULL, 0x100 }, { "pid", required_argument, NULL, 0x101 }, \
		{ "since", required_argument, NULL, 0x102 },                                   \
		{ "kind", required_argument, NULL, 0x103 },                                    \
	{                                                                                      \
		"dir", required_argument, NULL, 0x104                                          \
	}
#define FILE_SELECT_USAGE                                                                \
	"  --comm NAME, --pid PID  instead of files: the windows pprofd wrote of the\n"  \
	"                         processes of that name (and/or pid), merged\n"         \
	"  --since DURATION       only those written in the last DURATION (90s, 30m,\n"  \
	"                         1h, 2d)\n"                                             \
	"  --kind KIND            cpu (default), heap, mutex or block\n"                 \
	"  --dir DIR              pprofd's output directory (default /var/lib/pprofd,\n" \
	"                         else ./profiles, where make run writes)\n"

/* Takes option opt of getopt_long: 1 when it was one of these, 0 when
 * not, -1 (a message in err) when its value is bad. */
int file_select__opt(struct file_select *s, int opt, const char *arg, char *err, size_t errlen);
/* The paths of the selected files (malloc'ed, each and the array): their
 * number, or -errno with a message in err (-ENOENT: none). */
int file_select__paths(const struct file_select *s, char ***paths, char *err, size_t errlen);
void file_select__free(char **paths, int n);

/* Whether a report's command line names its files one way: nfiles
 * files, or a selection; 0, or -EINVAL with a message in err. */
int file_select__check(const struct file_select *s, int nfiles, char *err, size_t errlen);

struct profile;
/* The profile a report draws (checked first): the nfiles files named, or
 * the files s selects, merged. 0, or -errno with a message in err. */
int file_select__read(const struct file_select *s, int nfiles, char *const *files,
		      struct profile **p, char *err, size_t errlen);

#endif
