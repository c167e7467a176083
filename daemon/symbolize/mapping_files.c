// SPDX-License-Identifier: MIT
/*
 * The file layer under a process's mappings: a mapped file opened as its
 * process sees it, its symbols, line numbers and unwind table asked of the
 * caches (symtab_cache, cfi_cache), and the waits for their loader threads
 * kept within this second's budget. The process table finds mappings; what
 * their files hold comes from here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cfi_cache.h"
#include "clock.h"
#include "log.h"
#include "mapping_files.h"
#include "procs.h"
#include "safe_open.h"
#include "symtab.h"

void mapping_files__init(struct mapping_files *f, struct symtab_cache *syms)
{
	*f = (struct mapping_files){ .syms = syms, .wait_budget = LOADER_WAIT_NS };
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
	symtab_cache__forget(f->syms, &m->sym_key);
	symtab__put(m->symtab);
	m->symtab = NULL;
	m->resolved = false;
}

void mapping_files__resolve(struct mapping_files *f, struct image *img, struct mapping *m)
{
	char buf[4096], root[64];
	int fd;

	m->resolved = true;
	if (!m->path || m->path[0] != '/')
		return;
	fd = open_mapping(img, m, buf, sizeof(buf), root, sizeof(root));
	if (fd < 0) {
		f->st.symtab_fail++;
		log_debug("pid %u: cannot open %s", img->pid, buf);
		return;
	}
	m->symtab = symtab_cache__get_nowait(f->syms, fd, root, buf, &m->sym_key);
	symtab_cache__want_lines(f->syms, m->symtab);
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
	close(fd);
}

/* Takes in m's symbols once loaded (waiting until deadline, 0: not). */
static void attach_symtab(struct mapping_files *f, struct mapping *m, uint64_t deadline_ns)
{
	m->symtab = symtab_cache__find(f->syms, &m->sym_key, deadline_ns);
	if (m->symtab || errno != EAGAIN)
		m->sym_pending = false;
	symtab_cache__want_lines(f->syms, m->symtab);
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
	bool lines = symtab_cache__await_lines(f->syms, m->symtab, wait_deadline(f, now));

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

	if (!f->cfi) {
		errno = ENOENT;
		return NULL;
	}
	if (m->cfi && !cfi_ref__cached(m->cfi)) {
		/* evicted since: load it again */
		cfi_ref__put(m->cfi);
		m->cfi = NULL;
		m->cfi_resolved = false;
	}
	if (wait) {
		now = mono_ns();
		deadline = wait_deadline(f, now);
	}
	if (!m->cfi_resolved) {
		char buf[4096], root[64];
		int fd;

		m->cfi_resolved = true;
		errno = ENOENT;
		if (!m->path || m->path[0] != '/')
			return NULL;
		fd = open_mapping(img, m, buf, sizeof(buf), root, sizeof(root));
		if (fd < 0) {
			f->st.cfi_fail++;
			errno = ENOENT;
			return NULL;
		}
		m->cfi = cfi_cache__get(f->cfi, fd, deadline);
		close(fd);
		if (!m->cfi && errno == EAGAIN) {
			/* put off (the loader's queue is full, or its budget
			 * spent): not ready, as a loading table is, so that a
			 * sample may wait for it; the next one asks again */
			m->cfi_resolved = false;
			f->st.cfi_not_ready++;
			errno = EAGAIN;
			goto out;
		}
	}
	if (m->cfi)
		t = cfi_cache__table(f->cfi, m->cfi, deadline);
	if (!t && m->cfi && cfi_ref__loading(m->cfi)) {
		/* still loading after what this second allows to wait */
		f->st.cfi_not_ready++;
		errno = EAGAIN;
	} else if (!t) {
		errno = ENOENT;
	}
out:
	if (wait)
		f->wait.spent += mono_ns() - now;
	return t;
}
