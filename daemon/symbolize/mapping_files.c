// SPDX-License-Identifier: MIT
/*
 * The file layer under a process's mappings: a mapped file opened as its
 * process sees it, its entry in the file cache (file_cache.h), which a
 * mapping holds, its symbols, line numbers and unwind table asked of it,
 * and the waits for its loader threads kept within this second's budget.
 * The process table finds mappings; what their files hold comes from here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "clock.h"
#include "file_cache.h"
#include "log.h"
#include "mapping_files.h"
#include "procs.h"
#include "safe_open.h"
#include "symtab.h"

void mapping_files__init(struct mapping_files *f, struct file_cache *cache)
{
	*f = (struct mapping_files){ .cache = cache, .wait_budget = LOADER_WAIT_NS };
}

/* When a wait for a loader thread that starts at now must end: what is
 * left of this second's budget (0: none left, do not wait). */
static uint64_t wait_deadline(struct mapping_files *f, uint64_t now)
{
	uint64_t left = sec_budget__left(&f->wait, f->wait_budget, now);

	if (!left)
		return 0;
	return left > UINT64_MAX - now ? UINT64_MAX : now + left;
}

static bool same_file(int fd, const struct mapping *m, bool check_ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (!check_ino || !m->ino)
		return true;
	return st.st_ino == m->ino && major(st.st_dev) == m->maj && minor(st.st_dev) == m->min;
}

/* Opens m's file as the process sees it: its map_files entry while it
 * lives, else its path inside its root, else (it is gone) the host's file
 * if it is the same inode. buf gets the path (without " (deleted)"),
 * root the root it was opened in. Returns the fd, or -1. */
static int open_mapping(const struct image *img, const struct mapping *m, char *buf, size_t bufsz,
			char *root, size_t rootsz)
{
	bool alive = !img->end_ns;
	const char *path = m->path;
	int fd = -1;

	if (!path || path[0] != '/')
		return -1; /* anonymous, [vdso], [heap], JIT code */
	snprintf(root, rootsz, "/proc/%u/root", img->pid);
	if (alive) {
		snprintf(buf, bufsz, "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, img->pid, m->start,
			 m->end);
		fd = safe_open_proc(buf);
		if (fd >= 0 && !same_file(fd, m, false)) {
			close(fd);
			fd = -1;
		}
	}
	/* The path without the " (deleted)" that /proc adds. */
	snprintf(buf, bufsz, "%s", path);
	{
		size_t l = strlen(buf), d = strlen(" (deleted)");

		if (l > d && !strcmp(buf + l - d, " (deleted)"))
			buf[l - d] = 0;
	}
	if (fd < 0 && alive) {
		fd = safe_open(root, buf);
		if (fd >= 0 && !same_file(fd, m, true)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		/* Gone already: the host's file, if it is the same inode. */
		fd = safe_open(NULL, buf);
		if (fd >= 0 && !same_file(fd, m, true)) {
			close(fd);
			fd = -1;
		}
		snprintf(root, rootsz, "/");
	}
	return fd;
}

/* m's symbols were taken in: a server may have what the host lacks. */
static void took_symbols(struct mapping_files *f, const struct mapping *m)
{
	if (f->want_debug && symtab__wants_debug_file(m->symtab))
		f->want_debug(symtab__build_id(m->symtab), f->want_debug_ctx);
}

void mapping_files__debug_arrived(struct mapping_files *f, struct mapping *m, const char *build_id)
{
	if (!m->symtab || strcmp(symtab__build_id(m->symtab), build_id))
		return;
	if (m->file)
		file_cache__forget_symbols(f->cache, m->file);
	symtab__put(m->symtab);
	m->symtab = NULL;
	m->resolved = false;
}

/* Opens m's file (open_mapping) and makes m hold its entry: the fd, or -1. */
static int open_entry(struct mapping_files *f, const struct image *img, struct mapping *m,
		      char *buf, size_t bufsz, char *root, size_t rootsz)
{
	int fd = open_mapping(img, m, buf, bufsz, root, rootsz);
	struct cached_file *file;

	if (fd < 0)
		return -1;
	file = file_cache__file(f->cache, fd);
	if (!file) {
		close(fd);
		return -1;
	}
	cached_file__put(m->file); /* the same, or a file replaced since */
	m->file = file;
	return fd;
}

void mapping_files__resolve(struct mapping_files *f, struct image *img, struct mapping *m)
{
	char buf[4096], root[64];
	struct file_src src = { .path = buf, .root = root };

	m->resolved = true;
	if (!m->path || m->path[0] != '/')
		return;
	src.fd = open_entry(f, img, m, buf, sizeof(buf), root, sizeof(root));
	if (src.fd < 0) {
		f->st.symtab_fail++;
		log_debug("pid %u: cannot open %s", img->pid, buf);
		return;
	}
	m->symtab = file_cache__symbols(f->cache, m->file, &src, 0);
	file_cache__want_lines(f->cache, m->symtab);
	took_symbols(f, m);
	if (!m->symtab && errno == EAGAIN) {
		m->sym_pending = true; /* opened while the process lives: the thread has it */
	} else if (!m->symtab && errno == EBUSY) {
		uint64_t n = ++f->st.symtab_deferred;

		m->resolved = false; /* asked again at its next frame */
		if (!(n & (n - 1)))
			log_warn("symtab: too many symbol loads waiting: %" PRIu64
				 " put off so far "
				 "(symbol_loads_deferred)",
				 n);
	} else if (!m->symtab) {
		f->st.symtab_fail++;
		log_debug("pid %u: no symbols from %s: %s", img->pid, buf, strerror(errno));
	}
	close(src.fd);
}

/* Takes in m's symbols once loaded (waiting until deadline, 0: not). */
static void attach_symtab(struct mapping_files *f, struct mapping *m, uint64_t deadline_ns)
{
	m->symtab = m->file ? file_cache__symbols(f->cache, m->file, NULL, deadline_ns) : NULL;
	if (!m->file)
		errno = ESTALE;
	if (m->symtab || errno != EAGAIN)
		m->sym_pending = false;
	file_cache__want_lines(f->cache, m->symtab);
	took_symbols(f, m);
	if (!m->symtab && errno == ESTALE)
		m->resolved = false; /* evicted before it was taken: open it again */
	else if (!m->symtab && errno != EAGAIN)
		f->st.symtab_fail++;
}

void mapping_files__attach(struct mapping_files *f, struct mapping *m)
{
	attach_symtab(f, m, 0);
}

void mapping_files__await_symbols(struct mapping_files *f, struct image *img, struct mapping *m)
{
	uint64_t now, n;

	if (!m->sym_pending)
		return;
	now = mono_ns();
	attach_symtab(f, m, wait_deadline(f, now));
	f->wait.spent += mono_ns() - now;
	if (!m->sym_pending)
		return;
	n = ++f->st.symtab_not_ready;
	if (!(n & (n - 1)))
		log_info("symtab: pid %u: the symbols of %s are still loading: its frames go "
			 "unnamed in this profile (%" PRIu64 " frames so far, symbols_not_ready)",
			 img->pid, m->path, n);
}

bool mapping_files__await_lines(struct mapping_files *f, struct image *img, struct mapping *m)
{
	uint64_t now = mono_ns(), n;
	bool lines = file_cache__await_lines(f->cache, m->symtab, wait_deadline(f, now));

	f->wait.spent += mono_ns() - now;
	if (lines || errno != EAGAIN)
		return lines;
	n = ++f->st.lines_not_ready;
	if (!(n & (n - 1)))
		log_info("symtab: pid %u: the line numbers of %s are still loading: its frames go "
			 "without them in this profile (%" PRIu64 " so far, lines_not_ready)",
			 img->pid, m->path, n);
	return false;
}

const struct cfi_table *mapping_files__cfi(struct mapping_files *f, struct image *img,
					   struct mapping *m, bool wait)
{
	const struct cfi_table *t = NULL;
	uint64_t now = 0, deadline = 0;

	if (!f->tables) {
		errno = ENOENT;
		return NULL;
	}
	if (wait) {
		now = mono_ns();
		deadline = wait_deadline(f, now);
	}
	t = m->file ? file_cache__table(f->cache, m->file, -1, deadline) : NULL;
	if (!m->file)
		errno = ENODATA;
	/* evicted since (load it again), or never asked for by m */
	if (!t && (errno == ESTALE || (errno == ENODATA && !m->cfi_resolved))) {
		char buf[4096], root[64];
		int fd;

		m->cfi_resolved = true;
		fd = m->path && m->path[0] == '/'
			     ? open_entry(f, img, m, buf, sizeof(buf), root, sizeof(root))
			     : -1;
		if (fd < 0) {
			if (m->path && m->path[0] == '/')
				f->st.cfi_fail++;
			errno = ENOENT;
			goto out;
		}
		t = file_cache__table(f->cache, m->file, fd, deadline);
		close(fd);
	}
	if (!t && errno == EAGAIN) {
		/* loading after what this second allows to wait, or put off
		 * (the loader's queue is full, or its budget spent): not
		 * ready, so that a sample may wait for it; the next asks again */
		if (!cached_file__table_loading(m->file))
			m->cfi_resolved = false;
		f->st.cfi_not_ready++;
	} else if (!t) {
		errno = ENOENT;
	}
out:
	if (wait)
		f->wait.spent += mono_ns() - now;
	return t;
}
