// SPDX-License-Identifier: MIT
/*
 * The flame graphs of the daemon's page (http.h): a process's CPU windows
 * as pprofd wrote them (the last one, or the last hour's merged, as
 * `pprofctl flamegraph` merges files) or a fresh request's profile, drawn
 * by flamegraph.h into an SVG.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flamegraph.h"
#include "http.h"
#include "output.h"
#include "profile_read.h"
#include "safe_open.h"

/* The hour's newest windows merged at most (an hour of 2 s windows is
 * 1,800 files: the page must not stall the loop for them). */
#define FLAME_HOUR_FILES 240
#define HOUR_SEC 3600

struct window_file {
	char name[80];
	time_t mtime;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct window_file *)a)->name, ((const struct window_file *)b)->name);
}

/* Whether name is "<comm>-<pid>". */
static bool is_dir_of(const char *name, uint32_t pid)
{
	char suffix[16];
	size_t n = strlen(name), s = (size_t)snprintf(suffix, sizeof(suffix), "-%u", pid);

	return n > s && !strcmp(name + n - s, suffix);
}

/* The directory pprofd writes pid's windows in, <comm>-<pid>: the one of
 * its current comm, else the last written where a reused pid left several.
 * false when none. */
static bool window_dir(DIR *d, uint32_t pid, char *out, size_t len)
{
	char comm[64], safe[64], want[96];
	time_t newest = 0;
	struct dirent *de;
	struct stat st;

	read_proc_comm(pid, comm, sizeof(comm));
	sanitize_comm(comm, safe, sizeof(safe));
	snprintf(want, sizeof(want), "%s-%u", safe, pid);
	out[0] = 0;
	while ((de = readdir(d))) {
		if (!is_dir_of(de->d_name, pid) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			continue;
		if (!strcmp(de->d_name, want) || st.st_mtime > newest) {
			snprintf(out, len, "%s", de->d_name);
			if (!strcmp(de->d_name, want))
				return true;
			newest = st.st_mtime;
		}
	}
	return out[0];
}

/* The cpu windows in dir (an fd): the last, or the last hour's (newest
 * FLAME_HOUR_FILES), in time order. How many, or -errno. */
static int window_files(int dfd, bool hour, struct window_file *v)
{
	DIR *d = fdopendir(dfd);
	time_t since = time(NULL) - HOUR_SEC;
	struct window_file all[FLAME_HOUR_FILES * 2];
	size_t n = 0, len;
	struct dirent *de;
	struct stat st;

	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, "cpu-", 4) || len < 10 || len >= sizeof(all[0].name) ||
		    strcmp(de->d_name + len - 6, ".pb.gz") ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == sizeof(all) / sizeof(all[0])) { /* keep the newest half */
			qsort(all, n, sizeof(all[0]), by_name);
			memmove(all, all + n / 2, n / 2 * sizeof(all[0]));
			n /= 2;
		}
		snprintf(all[n].name, sizeof(all[n].name), "%s", de->d_name);
		all[n++].mtime = st.st_mtime;
	}
	closedir(d);
	qsort(all, n, sizeof(all[0]), by_name);
	if (!hour) {
		if (n)
			v[0] = all[n - 1];
		return n ? 1 : 0;
	}
	len = 0;
	for (size_t i = n > FLAME_HOUR_FILES ? n - FLAME_HOUR_FILES : 0; i < n; i++)
		if (all[i].mtime >= since)
			v[len++] = all[i];
	return (int)len;
}

/* p drawn (its default sample type) into a malloc'ed SVG. */
static int draw(struct profile *p, const char *name, char **svg, size_t *len, char *err,
		size_t errlen)
{
	FILE *f = open_memstream(svg, len);
	int ret;

	if (!f)
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	ret = flamegraph_write(p, p->default_type, name, f);
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret) {
		free(*svg);
		*svg = NULL;
		return profile_errf(err, errlen, ret, "cannot draw the flame graph: %s",
				    strerror(-ret));
	}
	return 0;
}

int http__flame_windows(const char *out_dir, uint32_t pid, bool hour, char **svg, size_t *len,
			char *err, size_t errlen)
{
	struct window_file files[FLAME_HOUR_FILES];
	char dir[128], *paths[FLAME_HOUR_FILES] = { 0 };
	struct profile *p = NULL;
	int n, dfd, ret;
	DIR *d = opendir(out_dir);

	if (!d)
		return profile_errf(err, errlen, -ENOENT, "no output directory");
	if (!window_dir(d, pid, dir, sizeof(dir))) {
		closedir(d);
		return profile_errf(err, errlen, -ENOENT,
				    "pprofd has written no profile of pid %u yet (one a window, "
				    "for each process that ran in it)",
				    pid);
	}
	dfd = openat(dirfd(d), dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	closedir(d);
	n = dfd < 0 ? -errno : window_files(dfd, hour, files);
	if (n <= 0)
		return profile_errf(err, errlen, -ENOENT, "no CPU profile of pid %u %s", pid,
				    hour ? "in the last hour" : "written yet");
	for (int i = 0; i < n; i++)
		if (asprintf(&paths[i], "%s/%s/%s", out_dir, dir, files[i].name) < 0)
			paths[i] = NULL;
	ret = -ENOMEM;
	for (int i = 0; i < n; i++)
		if (!paths[i])
			goto done;
	ret = profile_read_all(paths, (size_t)n, &p, err, errlen);
	if (!ret)
		ret = draw(p, dir, svg, len, err, errlen);
done:
	if (ret == -ENOMEM)
		profile_errf(err, errlen, ret, "out of memory");
	profile_free(p);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	return ret;
}

int http__flame_profile(const uint8_t *data, size_t size, char **svg, size_t *len, char *err,
			size_t errlen)
{
	struct profile *p;
	int ret = profile_parse(data, size, &p, err, errlen);

	if (ret)
		return ret;
	ret = draw(p, "profile", svg, len, err, errlen);
	profile_free(p);
	return ret;
}
