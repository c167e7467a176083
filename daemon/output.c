// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "output.h"

void sanitize_comm(const char *comm, char *out, size_t outlen)
{
	size_t n = 0;

	for (const char *c = comm; *c && n + 1 < outlen; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';

		out[n++] = ok ? *c : '_';
	}
	/* "." and ".." must not name a directory */
	if (n == 0 || (n <= 2 && strspn(out, ".") == n))
		snprintf(out, outlen, "unknown");
	else
		out[n] = 0;
}

int output__write(const char *dir, const char *comm, uint32_t pid, const char *kind,
		  time_t window_start, const void *data, size_t len, char *path_out,
		  size_t path_len)
{
	char name[32], sub[4096], tmp[4096], final[4096], ts[32];
	struct tm tm;
	int fd, err;

	sanitize_comm(comm, name, sizeof(name));
	gmtime_r(&window_start, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(sub, sizeof(sub), "%s/%s-%" PRIu32, dir, name, pid) >= (int)sizeof(sub))
		return -ENAMETOOLONG;
	if (mkdir(sub, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(tmp, sizeof(tmp), "%s/.%s-%s.XXXXXX", sub, kind, ts) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600: root only */
	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		goto fail;
	for (int i = 1; i < 100; i++) {
		struct stat st;

		int l = i == 1 ? snprintf(final, sizeof(final), "%s/%s-%s.pb.gz", sub, kind, ts)
			       : snprintf(final, sizeof(final), "%s/%s-%s-%d.pb.gz", sub, kind, ts, i);

		if (l >= (int)sizeof(final)) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		if (lstat(final, &st) == 0)
			continue;
		/* No reader ever sees a partial file: rename is atomic. */
		if (rename(tmp, final) < 0) {
			err = -errno;
			goto fail;
		}
		if (path_out)
			snprintf(path_out, path_len, "%s", final);
		return 0;
	}
	err = -EEXIST;
fail:
	unlink(tmp);
	return err;
}

struct pfile {
	char *path;
	time_t mtime;
	uint64_t size;
};

static int cmp_mtime(const void *a, const void *b)
{
	const struct pfile *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

static bool is_profile(const char *name)
{
	size_t l = strlen(name);

	return name[0] != '.' && l > 6 && !strcmp(name + l - 6, ".pb.gz");
}

int output__retention(const char *dir, uint64_t max_age_sec, uint64_t max_bytes,
		      struct retention_result *res)
{
	struct pfile *files = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	time_t now = time(NULL);
	struct dirent *de;
	DIR *top = opendir(dir);

	memset(res, 0, sizeof(*res));
	if (!top)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(top))) {
		char sub[4096];
		struct dirent *fe;
		DIR *d;

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		d = opendir(sub);
		if (!d)
			continue;
		while ((fe = readdir(d))) {
			char path[8192];
			struct stat st;

			if (!is_profile(fe->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name);
			if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (n == cap) {
				struct pfile *nf;

				cap = cap ? cap * 2 : 256;
				nf = realloc(files, cap * sizeof(*files));
				if (!nf)
					break;
				files = nf;
			}
			files[n].path = strdup(path);
			if (!files[n].path)
				break;
			files[n].mtime = st.st_mtime;
			files[n].size = st.st_size;
			total += st.st_size;
			n++;
		}
		closedir(d);
	}
	closedir(top);
	if (n)
		qsort(files, n, sizeof(*files), cmp_mtime);
	for (size_t i = 0; i < n; i++) {
		bool old = max_age_sec && (uint64_t)(now - files[i].mtime) > max_age_sec;
		bool over = max_bytes && total > max_bytes;

		if ((old || over) && unlink(files[i].path) == 0) {
			char *slash = strrchr(files[i].path, '/');

			res->files_removed++;
			res->bytes_removed += files[i].size;
			total -= files[i].size;
			*slash = 0;
			rmdir(files[i].path); /* only succeeds when emptied */
		}
		free(files[i].path);
	}
	free(files);
	res->bytes_kept = total;
	return 0;
}

void output_health__result(struct output_health *h, const char *dir, int err)
{
	if (!err) {
		h->win_ok++;
		return;
	}
	h->win_failed++;
	h->failed++;
	if (err != h->err)
		log_err("output: cannot write profiles to %s: %s; retrying at every window, "
			"logged again only when this changes", dir, strerror(-err));
	h->err = err;
}

void output_health__window_end(struct output_health *h, const char *dir)
{
	if (h->err && h->win_ok && !h->win_failed) {
		log_info("output: %s writable again (%" PRIu64 " profiles could not be written)",
			 dir, h->failed);
		h->err = 0;
		h->failed = 0;
	}
	h->win_ok = h->win_failed = 0;
}
