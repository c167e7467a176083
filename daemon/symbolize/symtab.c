// SPDX-License-Identifier: MIT
/*
 * Function symbols of ELF files, looked up, with their DWARF's lines and
 * inline frames (a file is loaded by symtab_load.c, kept by symtab_cache.c;
 * kernel symbols are kallsyms.c, demangling demangle.c).
 *
 * A loaded symtab is one sorted array of 16-byte symbols plus one blob of
 * raw names; demangled names are made on first lookup and kept, since a
 * profile touches few of a binary's functions and demangling all of them up
 * front would cost several times the whole load.
 *
 * Every input is hostile: each size, offset, count and string read from a
 * file is checked before use, and every allocation is bounded by a cap or
 * by the file's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dwlines.h"
#include "log.h"
#include "safe_open.h"
#include "symtab.h"
#include "symtab_int.h"
#include "elf_seg.h"
#include "upper_bound.h"

#define WALK_BACK 4               /* earlier symbols tried for nested ones */
#define DEMANGLED_MAX (16u << 20) /* demangled names kept per file */

/* ---- DWARF ---- */

bool symtab__has_lines(const struct symtab *cs)
{
	struct symtab *s = (struct symtab *)cs; /* only the lazy DWARF changes */
	struct dwlines *d;

	if (!s)
		return false;
	d = atomic_load_explicit(&s->dw, memory_order_acquire);
	if (d || atomic_load_explicit(&s->dw_tried, memory_order_acquire))
		return d != NULL;
	pthread_mutex_lock(&s->dw_lock);
	if (!atomic_load_explicit(&s->dw_tried, memory_order_relaxed)) {
		if (s->dw_fd >= 0) {
			d = dwlines__load(s->dw_fd, s->dw_alt_fd, DWL_BYTES_MAX);
			if (!d && errno == EFBIG)
				log_info("symtab: %s: debug info over %u MiB: no line numbers",
					 s->path, DWL_BYTES_MAX >> 20);
			else if (!d && errno == ENOSPC)
				log_info("symtab: %s: the line numbers of the files loaded "
					 "before fill what all files' may hold: none for this "
					 "one (dwarf_over_limit)",
					 s->path);
			else if (!d && errno == ENOENT)
				log_info("symtab: %s: its DWARF refers to a dwz file "
					 "(.gnu_debugaltlink) that is not there: no line numbers",
					 s->path);
			else if (!d && errno != ENODATA)
				log_debug("symtab: %s: no line numbers: %s", s->path,
					  strerror(errno));
			close(s->dw_fd);
			s->dw_fd = -1;
			if (s->dw_alt_fd >= 0)
				close(s->dw_alt_fd);
			s->dw_alt_fd = -1;
			if (d) {
				atomic_store_explicit(&s->dw_mem, dwlines__mem_size(d),
						      memory_order_relaxed);
				atomic_store_explicit(&s->dw, d, memory_order_release);
			}
		}
		atomic_store_explicit(&s->dw_tried, true, memory_order_release);
	}
	d = atomic_load_explicit(&s->dw, memory_order_relaxed);
	pthread_mutex_unlock(&s->dw_lock);
	return d != NULL;
}

bool symtab__lines_ready(const struct symtab *s)
{
	return s && atomic_load_explicit(&s->dw, memory_order_acquire);
}

/* Whether the file's DWARF has yet to be tried (then it may have lines). */
bool symtab__lines_pending(const struct symtab *s)
{
	return s->dw_fd >= 0 && !atomic_load_explicit(&s->dw_tried, memory_order_acquire);
}

/* name demangled into out->buf, or NULL. */
static const char *frame_demangle(struct sym_frames *out, const char *linkage)
{
	char *d = demangle(linkage);
	const char *r = NULL;
	size_t len;

	if (!d)
		return NULL;
	len = strlen(d) + 1;
	if (len <= sizeof(out->buf) - out->used) {
		r = memcpy(out->buf + out->used, d, len);
		out->used += len;
	}
	free(d);
	return r;
}

int symtab__lookup_frames(const struct symtab *cs, uint64_t file_offset, struct sym_frames *out)
{
	struct symtab *s = (struct symtab *)cs;
	struct dwl_frame df[DWL_FRAMES_MAX];
	struct sym_result sym;
	struct dwlines *d;
	int k;

	out->n = 0;
	out->used = 0;
	if (symtab__lookup(s, file_offset, &sym))
		return -ENOENT;
	out->start = sym.start;
	out->vaddr = sym.vaddr;
	out->f[0] = (struct sym_frame){ .name = sym.name, .raw_name = sym.raw_name };
	out->n = 1;
	if (!symtab__lines_ready(s) && atomic_load_explicit(&s->dw_queued, memory_order_acquire))
		return 0; /* the thread is loading them: not now */
	if (!symtab__has_lines(s))
		return 0;
	d = atomic_load_explicit(&s->dw, memory_order_acquire);
	pthread_mutex_lock(&s->dw_lock);
	k = dwlines__lookup(d, sym.vaddr, df,
			    DWL_FRAMES_MAX < SYM_FRAMES_MAX ? DWL_FRAMES_MAX : SYM_FRAMES_MAX);
	atomic_store_explicit(&s->dw_mem, dwlines__mem_size(d), memory_order_relaxed);
	pthread_mutex_unlock(&s->dw_lock);
	if (k <= 0)
		return 0;
	for (int i = 0; i < k; i++) {
		struct sym_frame *f = &out->f[i];

		if (i == k - 1) {
			/* the function the code is in: the symbol's name */
			f->name = sym.name;
			f->raw_name = sym.raw_name;
		} else {
			const char *raw = df[i].linkage ? df[i].linkage : df[i].name;
			const char *dem = df[i].linkage ? frame_demangle(out, df[i].linkage) : NULL;

			f->raw_name = raw ? raw : "??";
			f->name = dem ? dem : df[i].name ? df[i].name : f->raw_name;
		}
		f->file = df[i].file;
		f->line = df[i].line;
		f->decl_file = df[i].decl_file;
		f->decl_line = df[i].decl_line;
	}
	out->n = (unsigned)k;
	return 0;
}

void symtab__dwarf_stats(struct symtab_dwarf_stats *st)
{
	struct dwlines_stats d;

	dwlines__stats(&d);
	*st = (struct symtab_dwarf_stats){ d.loaded,  d.failed,        d.over_limit,
					   d.lookups, d.lookup_errors, d.bytes };
}

/* ---- the symtab ---- */

struct symtab *symtab__get(struct symtab *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void symtab__put(struct symtab *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	while (s->arena) {
		struct arena *a = s->arena;

		s->arena = a->next;
		free(a);
	}
	free((void *)s->dem);
	pthread_mutex_destroy(&s->dem_lock);
	dwlines__free(s->dw);
	if (s->dw_fd >= 0)
		close(s->dw_fd);
	if (s->dw_alt_fd >= 0)
		close(s->dw_alt_fd);
	pthread_mutex_destroy(&s->dw_lock);
	free(s->syms);
	free(s->names);
	free(s->segs);
	free(s->path);
	free(s);
}

const char *symtab__build_id(const struct symtab *s)
{
	return s->build_id;
}

const char *symtab__path(const struct symtab *s)
{
	return s->path ? s->path : "";
}

bool symtab__has_functions(const struct symtab *s)
{
	return s->nsyms > 0;
}

size_t symtab__nr_symbols(const struct symtab *s)
{
	return s->nsyms;
}

bool symtab__from_minidebug(const struct symtab *s)
{
	return s->minidebug;
}

bool symtab__wants_debug_file(const struct symtab *s)
{
	return s && s->wants_debug;
}

size_t symtab__nr_fde_names(const struct symtab *s)
{
	return s ? s->fde_names : 0;
}

size_t symtab__mem_size(const struct symtab *s)
{
	return s->mem + atomic_load_explicit(&s->dem_mem, memory_order_relaxed) +
	       atomic_load_explicit(&s->dw_mem, memory_order_relaxed);
}

/* A copy of d in s's arena (called with dem_lock held), or NULL. */
static const char *arena_dup(struct symtab *s, const char *d)
{
	size_t len = strlen(d) + 1;
	struct arena *a = s->arena;
	char *p;

	if (!a || a->cap - a->used < len) {
		/* Chunks grow so that a file with three C++ frames stays small. */
		size_t cap = a ? (a->cap < (256u << 10) ? a->cap * 2 : a->cap) : 4096 - sizeof(*a);

		if (cap < len)
			cap = len;
		if (s->arena_bytes + cap > DEMANGLED_MAX) {
			if (!s->arena_full_logged)
				log_debug(
					"symtab: %s: %u MiB of demangled names, keeping the rest mangled",
					s->path, DEMANGLED_MAX >> 20);
			s->arena_full_logged = true;
			return NULL;
		}
		s->arena_bytes += cap;
		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->next = s->arena;
		a->used = 0;
		a->cap = cap;
		s->arena = a;
		atomic_fetch_add_explicit(&s->dem_mem, sizeof(*a) + cap, memory_order_relaxed);
	}
	p = a->data + a->used;
	memcpy(p, d, len);
	a->used += len;
	return p;
}

static const char *demangled_name(const struct symtab *cs, uint32_t idx, const char *raw)
{
	struct symtab *s = (struct symtab *)cs; /* only the lazy names change */
	dem_slot *dem = atomic_load_explicit(&s->dem, memory_order_acquire);
	const char *n;
	char *d;

	if (raw[0] != '_' || raw[1] != 'Z')
		return raw; /* C, or Rust v0 which demangle() leaves alone */
	if (dem && (n = atomic_load_explicit(&dem[idx], memory_order_acquire)))
		return n;
	pthread_mutex_lock(&s->dem_lock);
	dem = atomic_load_explicit(&s->dem, memory_order_relaxed);
	if (!dem) {
		dem = calloc(s->nsyms, sizeof(*dem));
		if (!dem) {
			pthread_mutex_unlock(&s->dem_lock);
			return raw;
		}
		atomic_fetch_add_explicit(&s->dem_mem, s->nsyms * sizeof(*dem),
					  memory_order_relaxed);
		atomic_store_explicit(&s->dem, dem, memory_order_release);
	}
	n = atomic_load_explicit(&dem[idx], memory_order_relaxed);
	if (!n) {
		d = s->arena_full_logged ? NULL : demangle(raw);
		n = d ? arena_dup(s, d) : raw;
		free(d);
		if (n)
			atomic_store_explicit(&dem[idx], n, memory_order_release);
		else
			n = raw; /* out of memory or over budget: mangled this time */
	}
	pthread_mutex_unlock(&s->dem_lock);
	return n;
}

int symtab__lookup(const struct symtab *s, uint64_t file_offset, struct sym_result *res)
{
	const struct sym *v;
	uint64_t va;
	size_t lo;

	if (!s || !s->nsyms || !elf_seg__off_to_vaddr(s->segs, s->nsegs, file_offset, &va))
		return -ENOENT;
	v = s->syms;
	lo = UPPER_BOUND(v, s->nsyms, .start, va); /* the first symbol above va */
	/* The nearest below, else a larger one it is nested in. */
	for (size_t i = lo, k = 0; i > 0 && k < WALK_BACK; i--, k++) {
		const struct sym *y = &v[i - 1];

		if (va - y->start < y->size) {
			res->raw_name = s->names + y->name;
			res->name = demangled_name(s, (uint32_t)(i - 1), res->raw_name);
			res->start = y->start;
			res->vaddr = va;
			return 0;
		}
	}
	return -ENOENT;
}
