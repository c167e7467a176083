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
#include "pprof.h"

/* A leading '.' would hide the directory from ls and, before, from
 * retention; '.' and '..' must never name a directory. */
void sanitize_comm(const char *comm, char *out, size_t outlen)
{
	size_t n = 0;

	for (const char *c = comm; *c && n + 1 < outlen; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || (*c == '.' && n) || *c == '_' || *c == '-';

		out[n++] = ok ? *c : '_';
	}
	if (n == 0)
		snprintf(out, outlen, "unknown");
	else
		out[n] = 0;
}

/*
 * Whether fd is something pprofd made: the type wanted, owned by us (root),
 * not writable by group or others. Anything else in the output directory was
 * planted, and is neither followed nor written nor deleted.
 */
static int check_ours(int fd, mode_t type, uid_t *uid, mode_t *mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (uid)
		*uid = st.st_uid, *mode = st.st_mode;
	if ((st.st_mode & S_IFMT) != type || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

/* The output directory, created when missing (its parent must exist). The
 * administrator's path may be a symlink; what it names must be ours. */
static int open_top(const char *dir, uid_t *uid, mode_t *mode)
{
	int fd, err;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = check_ours(fd, S_IFDIR, uid, mode);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int output__check_dir(const char *dir, char *why, size_t whylen)
{
	uid_t uid = 0;
	mode_t mode = 0;
	int fd = open_top(dir, &uid, &mode);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -EPERM)
		snprintf(why, whylen, "output directory %s: %s", dir, strerror(-fd));
	else if (!S_ISDIR(mode))
		snprintf(why, whylen, "output directory %s is not a directory", dir);
	else if (uid != geteuid())
		snprintf(why, whylen,
			 "output directory %s is owned by uid %u, not root: "
			 "another user could steer where profiles go",
			 dir, (unsigned)uid);
	else
		snprintf(why, whylen,
			 "output directory %s has mode %04o: it must not be writable "
			 "by group or others (chmod go-w)",
			 dir, (unsigned)(mode & 07777));
	return fd;
}

/* dir's entry name as a directory of ours: created when missing, never
 * followed when a symlink. */
static int open_sub(int top, const char *name, bool create)
{
	int fd, err;

	if (create && mkdirat(top, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
	err = check_ours(fd, S_IFDIR, NULL, NULL);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Writes data under a temporary name in sub, then renames it to kind-ts.pb.gz
 * (or kind-ts-N.pb.gz) without replacing anything. */
static int write_in(int sub, const char *kind, const char *ts, const void *data, size_t len,
		    char *name, size_t namelen)
{
	static unsigned seq;
	char tmp[96];
	int fd, err;

	for (int i = 0;; i++) {
		snprintf(tmp, sizeof(tmp), ".%s-%s.%d.%u", kind, ts, (int)getpid(), seq++);
		/* mode 0600: root only; O_EXCL: never through a planted name */
		fd = openat(sub, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || i == 100)
			return -errno;
	}
	err = write_all(fd, data, len);
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	for (int i = 1; !err && i < 100; i++) {
		if (i == 1)
			snprintf(name, namelen, "%s-%s.pb.gz", kind, ts);
		else
			snprintf(name, namelen, "%s-%s-%d.pb.gz", kind, ts, i);
		/* No reader ever sees a partial file: rename is atomic. */
		if (renameat2(sub, tmp, sub, name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			err = -errno;
	}
	unlinkat(sub, tmp, 0);
	return err ? err : -EEXIST;
}

int output__write(const char *dir, const char *comm, uint32_t pid, const char *kind,
		  time_t window_start, const void *data, size_t len, char *path_out,
		  size_t path_len)
{
	char name[32], subname[48], ts[32], file[96];
	struct tm tm;
	int top, sub, err;

	sanitize_comm(comm, name, sizeof(name));
	if (pid)
		snprintf(subname, sizeof(subname), "%s-%" PRIu32, name, pid);
	else /* the short-lived processes of that name (never a pid: no digits) */
		snprintf(subname, sizeof(subname), "%s-short", name);
	gmtime_r(&window_start, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	top = open_top(dir, NULL, NULL);
	if (top < 0)
		return top;
	sub = open_sub(top, subname, true);
	if (sub < 0) {
		if (sub == -EPERM)
			log_debug("output: %s/%s is not pprofd's (a symlink, another owner or "
				  "writable by others): refused",
				  dir, subname);
		close(top);
		return sub;
	}
	err = write_in(sub, kind, ts, data, len, file, sizeof(file));
	if (!err && path_out)
		snprintf(path_out, path_len, "%s/%s/%s", dir, subname, file);
	close(sub);
	close(top);
	return err;
}

struct pfile {
	char *name; /* "<sub>/<file>" */
	time_t mtime;
	uint64_t size;
};

static int cmp_mtime(const void *a, const void *b)
{
	const struct pfile *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* What pprofd writes: profiles, and the temporary files a crash between
 * write and rename leaves behind. */
static bool is_ours_name(const char *name)
{
	size_t l = strlen(name);

	return name[0] == '.' || (l > 6 && !strcmp(name + l - 6, ".pb.gz"));
}

/* Adds the files of one process directory to the list; -ENOMEM. */
static int scan_sub(int sub, const char *subname, struct pfile **files, size_t *n, size_t *cap,
		    uint64_t *total)
{
	DIR *d = fdopendir(sub);
	struct dirent *fe;
	int err = 0;

	if (!d) {
		close(sub);
		return 0;
	}
	while (!err && (fe = readdir(d))) {
		struct stat st;

		if (!strcmp(fe->d_name, ".") || !strcmp(fe->d_name, "..") ||
		    !is_ours_name(fe->d_name))
			continue;
		if (fstatat(sub, fe->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct pfile *nf = realloc(*files, nc * sizeof(**files));

			if (!nf) {
				err = -ENOMEM;
				break;
			}
			*files = nf;
			*cap = nc;
		}
		if (asprintf(&(*files)[*n].name, "%s/%s", subname, fe->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
		(*files)[*n].mtime = st.st_mtime;
		(*files)[*n].size = st.st_size;
		*total += st.st_size;
		(*n)++;
	}
	closedir(d);
	return err;
}

/* Deletes "<sub>/<file>" under top, and sub when that emptied it. */
static int remove_file(int top, char *name)
{
	char *slash = strchr(name, '/');
	int sub, err = 0;

	*slash = 0;
	sub = open_sub(top, name, false);
	if (sub < 0)
		return sub;
	if (unlinkat(sub, slash + 1, 0) < 0)
		err = -errno;
	close(sub);
	if (!err)
		unlinkat(top, name, AT_REMOVEDIR); /* only succeeds when emptied */
	return err;
}

int output__retention(const char *dir, uint64_t max_age_sec, uint64_t max_bytes,
		      struct retention_result *res)
{
	struct pfile *files = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	time_t now = time(NULL);
	struct dirent *de;
	DIR *d;
	int top, err = 0;

	memset(res, 0, sizeof(*res));
	top = open_top(dir, NULL, NULL);
	if (top < 0)
		return top == -ENOENT ? 0 : top;
	d = fdopendir(dup(top));
	if (!d) {
		close(top);
		return -errno;
	}
	/* every entry, a leading '.' or not: older releases kept it in comm */
	while (!err && (de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_REG)
			continue; /* not a process directory */
		sub = open_sub(top, de->d_name, false);
		if (sub == -EPERM) {
			res->refused++;
			continue;
		}
		if (sub >= 0)
			err = scan_sub(sub, de->d_name, &files, &n, &cap, &total);
	}
	closedir(d);
	if (n)
		qsort(files, n, sizeof(*files), cmp_mtime);
	for (size_t i = 0; i < n; i++) {
		bool old = max_age_sec && (uint64_t)(now - files[i].mtime) > max_age_sec;
		bool over = max_bytes && total > max_bytes;

		if ((old || over) && remove_file(top, files[i].name) == 0) {
			res->files_removed++;
			res->bytes_removed += files[i].size;
			total -= files[i].size;
		}
		free(files[i].name);
	}
	free(files);
	close(top);
	res->bytes_kept = total;
	return err;
}

int output__write_profile(struct output_health *h, const char *dir, struct pprof *p,
			  const char *comm, uint32_t pid, const char *kind, time_t window_start,
			  size_t *bytes, char *path_out, size_t path_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	err = pprof__encode_gz(p, &buf, &len);
	if (!err)
		err = output__write(dir, comm, pid, kind, window_start, buf, len, path_out,
				    path_len);
	free(buf);
	output__profile_result(h, dir, kind, pid, err);
	if (bytes)
		*bytes = err ? 0 : len;
	return err;
}

void output__profile_result(struct output_health *h, const char *dir, const char *kind,
			    uint32_t pid, int err)
{
	if (h)
		output_health__result(h, dir, err); /* logged once a condition, not a file */
	else if (err)
		log_warn("%s: cannot write the profile of pid %u: %s", kind, pid, strerror(-err));
}

void output_health__result(struct output_health *h, const char *dir, int err)
{
	if (!err) {
		h->win_ok++;
		return;
	}
	if (err == -EPERM) {
		/* planted by someone: a fact about that entry, not the disk */
		if (!h->refused++)
			log_warn("output: an entry in %s is not pprofd's (a symlink, another owner "
				 "or writable by others): refused, not followed; logged once, "
				 "counted as profiles_refused",
				 dir);
		return;
	}
	h->win_failed++;
	h->failed++;
	if (err != h->err)
		log_err("output: cannot write profiles to %s: %s; retrying at every window, "
			"logged again only when this changes",
			dir, strerror(-err));
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
