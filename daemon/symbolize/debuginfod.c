// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/debuginfod.h>

#include "clock.h"
#include "debuginfod.h"
#include "hashtab.h"
#include "loader.h"
#include "log.h"

#define BUILD_ID_MAX 128                        /* hex digits */
#define KNOWN_MAX 65536                         /* build IDs remembered */
#define NOT_FOUND_TTL_NS (3600ull * 1000000000) /* before asking again */
#define ERROR_TTL_NS (300ull * 1000000000)
#define CACHE_FILES_MAX 100000 /* looked at by a trim */

enum state { ASKED, FETCHED, MISSING };

/* libdebuginfod is loaded only when servers are configured: it brings
 * libcurl and its TLS, Kerberos and LDAP libraries, ~3 MiB of RSS that a
 * host without servers (the default) would pay for nothing. */
#define LIBDEBUGINFOD "libdebuginfod.so.1"
static struct {
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_end) *end;
	__typeof__(debuginfod_find_debuginfo) *find_debuginfo;
	__typeof__(debuginfod_get_user_data) *get_user_data;
	__typeof__(debuginfod_set_user_data) *set_user_data;
	__typeof__(debuginfod_set_progressfn) *set_progressfn;
	__typeof__(debuginfod_set_verbose_fd) *set_verbose_fd;
} dfd;

static int load_library(void)
{
	void *h;

	if (dfd.begin)
		return 0;
	h = dlopen(LIBDEBUGINFOD, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_warn("debuginfod: %s", dlerror());
		return -ENOENT;
	}
#define SYM(name)                                                                      \
	if (!(*(void **)&dfd.name = dlsym(h, "debuginfod_" #name))) {                  \
		log_warn("debuginfod: %s has no debuginfod_%s", LIBDEBUGINFOD, #name); \
		dlclose(h);                                                            \
		dfd.begin = NULL;                                                      \
		return -ENOENT;                                                        \
	}
	SYM(begin)
	SYM(end)
	SYM(find_debuginfo)
	SYM(get_user_data)
	SYM(set_user_data)
	SYM(set_progressfn)
	SYM(set_verbose_fd)
#undef SYM
	return 0; /* kept loaded: a later SIGHUP may need it again */
}

struct known {
	char bid[BUILD_ID_MAX + 1];
	enum state state;
	uint64_t until_ns; /* MISSING: asked again after this */
};

struct fetch_job {
	struct loader_job job;
	struct debuginfod *d;
	char bid[BUILD_ID_MAX + 1];
	int err;                         /* 0: fetched; -ENOENT: no server has it */
	uint64_t cache_bytes, evictions; /* the trim's, after a fetch */
};

struct debuginfod {
	struct debuginfod_conf c;
	char *cache_dir;
	struct loader *ld;
	debuginfod_client *client; /* the thread's alone */
	atomic_bool quit;          /* stopping: a fetch in progress gives up */
	int null_fd;               /* libdebuginfod's verbose output: nowhere */
	struct hashtab known;      /* struct known, by build ID */
	struct debuginfod_stats st;
};

bool debuginfod__valid_build_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > BUILD_ID_MAX || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool known_eq(const void *item, const void *key)
{
	return !strcmp(((const struct known *)item)->bid, key);
}

/* ---- the cache's bound in bytes (the thread's) ---- */

struct cached {
	char name[BUILD_ID_MAX + 1];
	uint64_t bytes;
	int64_t mtime;
};

static int by_mtime(const void *a, const void *b)
{
	const struct cached *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Removes the least recently fetched files until the cache is within
 * max_bytes, never keep (the one just fetched). */
static void trim_cache(struct fetch_job *j)
{
	struct debuginfod *d = j->d;
	int dfd = open(d->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct cached *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	DIR *dir;

	if (dfd < 0)
		return;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return;
	}
	while ((de = readdir(dir)) && n < CACHE_FILES_MAX) {
		char rel[sizeof(de->d_name) + 16];
		struct stat st;

		if (!debuginfod__valid_build_id(de->d_name))
			continue;
		snprintf(rel, sizeof(rel), "%s/debuginfo", de->d_name);
		if (fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			struct cached *nv = realloc(v, nc * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		memcpy(v[n].name, de->d_name, strlen(de->d_name) + 1); /* valid: short */
		v[n].bytes = (uint64_t)st.st_size;
		v[n].mtime = st.st_mtim.tv_sec;
		total += v[n].bytes;
		n++;
	}
	qsort(v, n, sizeof(*v), by_mtime);
	for (size_t i = 0; i < n && total > d->c.max_bytes; i++) {
		char rel[BUILD_ID_MAX + 16];

		if (!strcmp(v[i].name, j->bid))
			continue;
		snprintf(rel, sizeof(rel), "%s/debuginfo", v[i].name);
		if (unlinkat(dfd, rel, 0))
			continue;
		unlinkat(dfd, v[i].name, AT_REMOVEDIR); /* fails, harmlessly, if not empty */
		total -= v[i].bytes;
		j->evictions++;
	}
	j->cache_bytes = total;
	free(v);
	closedir(dir);
}

/* ---- a fetch (the thread's) ---- */

/* Called as a fetch goes on: non-zero ends it (pprofd is stopping). */
static int progress(debuginfod_client *client, long done, long total)
{
	struct debuginfod *d = dfd.get_user_data(client);

	(void)done;
	(void)total;
	return atomic_load(&d->quit) ? 1 : 0;
}

static void fetch_run(struct loader_job *job)
{
	struct fetch_job *j = (struct fetch_job *)job;
	struct debuginfod *d = j->d;
	unsigned char raw[BUILD_ID_MAX / 2];
	size_t len = strlen(j->bid) / 2;
	int fd;

	for (size_t i = 0; i < len; i++) {
		unsigned v;

		sscanf(j->bid + 2 * i, "%2x", &v);
		raw[i] = (unsigned char)v;
	}
	if (!d->client) {
		d->client = dfd.begin();
		if (!d->client) {
			j->err = -ENOMEM;
			return;
		}
		dfd.set_user_data(d->client, d);
		dfd.set_progressfn(d->client, progress);
		/* Its messages go to this fd even when nobody asked for them:
		 * glibc's dprintf to an invalid fd (-1, its default) leaks its
		 * buffer, 8 KiB a fetch (ASan saw it). */
		dfd.set_verbose_fd(d->client, d->null_fd);
	}
	fd = dfd.find_debuginfo(d->client, raw, (int)len, NULL);
	if (fd < 0) {
		j->err = fd;
		return;
	}
	close(fd);
	j->err = 0;
	trim_cache(j);
}

static void fetch_drop(struct loader_job *job)
{
	free(job);
}

/* ---- the loop's side ---- */

/* libdebuginfod reads its settings from the environment, at each fetch:
 * set once here, before any thread of ours reads it. */
static int set_env(const struct debuginfod_conf *c)
{
	char v[32];

	if (setenv("DEBUGINFOD_URLS", c->urls, 1) ||
	    setenv("DEBUGINFOD_CACHE_PATH", c->cache_dir, 1))
		return -errno;
	snprintf(v, sizeof(v), "%u", c->timeout_sec);
	if (setenv("DEBUGINFOD_TIMEOUT", v, 1))
		return -errno;
	snprintf(v, sizeof(v), "%" PRIu64, c->max_bytes);
	if (setenv("DEBUGINFOD_MAXSIZE", v, 1))
		return -errno;
	unsetenv("DEBUGINFOD_PROGRESS");
	unsetenv("DEBUGINFOD_VERBOSE");
	return 0;
}

/* libdebuginfod's own cleaning of the cache: files unused this long. */
static void write_setting(const char *dir, const char *name, uint64_t value)
{
	char path[4096], text[32];
	int fd, n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", value);
	if (write(fd, text, n) != n)
		log_warn("debuginfod: cannot write %s: %s", path, strerror(errno));
	close(fd);
}

struct debuginfod *debuginfod__new(const struct debuginfod_conf *c)
{
	struct debuginfod *d;
	int err;

	if (!c->urls || !c->urls[0] || !c->cache_dir || c->cache_dir[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	err = load_library();
	if (err) {
		errno = -err;
		return NULL;
	}
	if (mkdir(c->cache_dir, 0700) && errno != EEXIST)
		return NULL;
	/* ours: a directory, not a link to one */
	err = open(c->cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (err < 0)
		return NULL;
	close(err);
	err = set_env(c);
	if (err) {
		errno = -err;
		return NULL;
	}
	write_setting(c->cache_dir, "max_unused_age_s", c->max_age_sec);
	write_setting(c->cache_dir, "cache_clean_interval_s", 3600);
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->c = *c;
	d->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	d->cache_dir = strdup(c->cache_dir);
	d->ld = d->cache_dir ? loader__new("pprofd-dbginfo", c->queue_max ? c->queue_max : 64)
			     : NULL;
	if (!d->ld || d->null_fd < 0) {
		err = errno;
		loader__free(d->ld, fetch_drop);
		if (d->null_fd >= 0)
			close(d->null_fd);
		free(d->cache_dir);
		free(d);
		errno = err;
		return NULL;
	}
	d->c.urls = d->c.cache_dir = NULL; /* not kept: the environment has them */
	return d;
}

void debuginfod__free(struct debuginfod *d)
{
	struct known *k;

	if (!d)
		return;
	atomic_store(&d->quit, true);
	loader__free(d->ld, fetch_drop);
	if (d->client)
		dfd.end(d->client);
	hashtab__for_each(&d->known, k) free(k);
	hashtab__free(&d->known);
	close(d->null_fd);
	free(d->cache_dir);
	free(d);
}

int debuginfod__fd(const struct debuginfod *d)
{
	return loader__fd(d->ld);
}

void debuginfod__want(struct debuginfod *d, const char *build_id)
{
	uint64_t h, now = mono_ns();
	struct fetch_job *j;
	struct known *k;

	if (!d || !debuginfod__valid_build_id(build_id))
		return;
	h = hash_str(build_id);
	k = hashtab__find(&d->known, h, known_eq, build_id);
	if (k && (k->state != MISSING || now < k->until_ns))
		return;
	if (!k) {
		if (d->known.len >= KNOWN_MAX) {
			d->st.refused++;
			return;
		}
		k = calloc(1, sizeof(*k));
		if (!k)
			return;
		snprintf(k->bid, sizeof(k->bid), "%s", build_id);
		if (hashtab__insert(&d->known, h, k)) {
			free(k);
			return;
		}
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->job.run = fetch_run;
	j->d = d;
	snprintf(j->bid, sizeof(j->bid), "%s", build_id);
	if (!loader__submit(d->ld, &j->job)) {
		/* asked again by the file's next load */
		free(hashtab__remove(&d->known, h, known_eq, build_id));
		free(j);
		d->st.refused++;
		return;
	}
	k->state = ASKED;
	d->st.asked++;
}

unsigned debuginfod__collect(struct debuginfod *d, void (*fn)(const char *build_id, void *ctx),
			     void *ctx)
{
	struct loader_job *job = loader__take(d->ld), *next;
	unsigned n = 0;

	for (; job; job = next) {
		struct fetch_job *j = (struct fetch_job *)job;
		struct known *k = hashtab__find(&d->known, hash_str(j->bid), known_eq, j->bid);

		next = job->next;
		if (job->ns > d->st.fetch_ns_max)
			d->st.fetch_ns_max = job->ns;
		if (!j->err) {
			d->st.fetched++;
			d->st.cache_bytes = j->cache_bytes;
			d->st.cache_evictions += j->evictions;
			if (k)
				k->state = FETCHED;
			log_info("debuginfod: the debug file of build ID %s arrived (%.1f s)",
				 j->bid, job->ns / 1e9);
			fn(j->bid, ctx);
			n++;
		} else {
			bool missing = j->err == -ENOENT;

			if (missing)
				d->st.not_found++;
			else
				d->st.errors++;
			if (k) {
				k->state = MISSING;
				k->until_ns =
					mono_ns() + (missing ? NOT_FOUND_TTL_NS : ERROR_TTL_NS);
			}
			if (!missing)
				log_info("debuginfod: build ID %s: %s", j->bid, strerror(-j->err));
		}
		free(j);
	}
	return n;
}

void debuginfod__stats(const struct debuginfod *d, struct debuginfod_stats *st)
{
	if (d)
		*st = d->st;
	else
		*st = (struct debuginfod_stats){ 0 };
}
