// SPDX-License-Identifier: MIT
/* The files pprofd wrote, chosen by process and age (file_select.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_select.h"
#include "profile_read.h"

#define SERVICE_DIR "/var/lib/pprofd"
#define RUN_DIR "profiles" /* make run's, in the clone */
#define SELECT_MAX 10000   /* files merged at most (profile_read_all's) */

static const char *const kinds[] = { "cpu", "heap", "mutex", "block" };

/* "90", "90s", "30m", "1h", "2d": seconds, or -1. */
static long parse_duration(const char *s)
{
	char *end;
	long v, unit = 1;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno || v <= 0)
		return -1;
	switch (*end) {
	case 0:
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (*end && end[1])
		return -1;
	return v > 100L * 365 * 86400 / unit ? -1 : v * unit;
}

int file_select__opt(struct file_select *s, int opt, const char *arg, char *err, size_t errlen)
{
	char *end;
	size_t i;

	switch (opt) {
	case 0x100:
		s->comm = arg;
		return 1;
	case 0x101:
		errno = 0;
		s->pid = strtol(arg, &end, 10);
		if (!*arg || *end || errno || s->pid <= 0 || s->pid > 0x7fffffff) {
			snprintf(err, errlen, "--pid wants a process id, not '%s'", arg);
			return -1;
		}
		return 1;
	case 0x102:
		s->since = arg;
		s->since_sec = parse_duration(arg);
		if (s->since_sec < 0) {
			snprintf(err, errlen,
				 "--since wants a duration such as 90s, 30m, 1h or 2d, not '%s'",
				 arg);
			return -1;
		}
		return 1;
	case 0x103:
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (!strcmp(arg, kinds[i]))
				break;
		if (i == sizeof(kinds) / sizeof(kinds[0])) {
			snprintf(err, errlen, "--kind wants cpu, heap, mutex or block, not '%s'",
				 arg);
			return -1;
		}
		s->kind = arg;
		return 1;
	case 0x104:
		s->dir = arg;
		return 1;
	}
	return 0;
}

static int asked(const struct file_select *s)
{
	return s->comm || s->pid || s->since_sec || s->kind || s->dir;
}

/* Whether a directory of OUTPUT_DIR, <comm>-<pid> (or <comm>-short, the
 * short-lived processes of that name), is of the processes s selects. comm as pprofd wrote it: sanitized, which a name typed as ps
 * shows it mostly is. */
static int dir_selected(const struct file_select *s, const char *name)
{
	const char *dash = strrchr(name, '-');
	char *end;
	long pid;

	if (!dash || dash == name)
		return 0;
	if (!strcmp(dash + 1, "short")) { /* the short-lived processes of that name */
		if (s->pid)
			return 0;
	} else {
		pid = strtol(dash + 1, &end, 10);
		if (*end || dash[1] == 0 || (s->pid && pid != s->pid))
			return 0;
	}
	return !s->comm || ((size_t)(dash - name) == strlen(s->comm) &&
			    !strncmp(name, s->comm, (size_t)(dash - name)));
}

/* Adds dir/sub's files of the kind and age s selects to *v. */
static int add_files(const struct file_select *s, const char *dir, const char *sub, char ***v,
		     int *n, size_t *cap)
{
	const char *kind = s->kind ? s->kind : "cpu";
	time_t since = s->since_sec ? time(NULL) - s->since_sec : 0;
	size_t klen = strlen(kind);
	struct dirent *de;
	struct stat st;
	char path[4096];
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (!d)
		return 0; /* not pprofd's, or gone since */
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nv;

		if (strncmp(de->d_name, kind, klen) || de->d_name[klen] != '-' || len < 7 ||
		    strcmp(de->d_name + len - 6, ".pb.gz") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || st.st_mtime < since)
			continue;
		if (*n == SELECT_MAX)
			break;
		if ((size_t)*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			nv = realloc(*v, *cap * sizeof(**v));
			if (!nv) {
				closedir(d);
				return -ENOMEM;
			}
			*v = nv;
		}
		if (asprintf(&(*v)[*n], "%s/%s", path, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		(*n)++;
	}
	closedir(d);
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int file_select__paths(const struct file_select *s, char ***paths, char *err, size_t errlen)
{
	const char *dir = s->dir ? s->dir : access(SERVICE_DIR, F_OK) ? RUN_DIR : SERVICE_DIR;
	char **v = NULL;
	size_t cap = 0;
	int n = 0, ret = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		ret = -errno;
		snprintf(err, errlen, "cannot read pprofd's output directory %s: %s%s", dir,
			 strerror(errno), s->dir ? "" : " (give --dir DIR)");
		return ret;
	}
	while (!ret && (de = readdir(d)))
		if (de->d_name[0] != '.' && dir_selected(s, de->d_name))
			ret = add_files(s, dir, de->d_name, &v, &n, &cap);
	closedir(d);
	if (ret) {
		file_select__free(v, n);
		snprintf(err, errlen, "out of memory");
		return ret;
	}
	if (!n) {
		char pid[32] = "";

		if (s->pid)
			snprintf(pid, sizeof(pid), "%spid %ld", s->comm ? ", " : "", s->pid);
		snprintf(err, errlen, "no %s profile of %s%s%s in %s%s%s",
			 s->kind ? s->kind : "cpu", s->comm ? s->comm : "", pid,
			 s->comm || s->pid ? "" : "any process", dir,
			 s->since ? " written in the last " : "", s->since ? s->since : "");
		free(v);
		return -ENOENT;
	}
	qsort(v, (size_t)n, sizeof(*v), by_path);
	*paths = v;
	return n;
}

void file_select__free(char **paths, int n)
{
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int file_select__check(const struct file_select *s, int nfiles, char *err, size_t errlen)
{
	if (!asked(s) && nfiles < 1)
		return profile_errf(err, errlen, -EINVAL,
				    "which profile file? (or --comm NAME, --pid PID)");
	if (asked(s) && nfiles)
		return profile_errf(err, errlen, -EINVAL,
				    "profile files or --comm/--pid/--since, not both");
	if (asked(s) && !s->comm && !s->pid)
		return profile_errf(err, errlen, -EINVAL,
				    "of which process? give --comm NAME or --pid PID");
	return 0;
}

int file_select__read(const struct file_select *s, int nfiles, char *const *files,
		      struct profile **p, char *err, size_t errlen)
{
	char **paths;
	int n, ret = file_select__check(s, nfiles, err, errlen);

	if (ret)
		return ret;
	if (!asked(s))
		return profile_read_all(files, (size_t)nfiles, p, err, errlen);
	n = file_select__paths(s, &paths, err, errlen);
	if (n < 0)
		return n;
	ret = profile_read_all(paths, (size_t)n, p, err, errlen);
	file_select__free(paths, n);
	return ret;
}
