// SPDX-License-Identifier: MIT
/*
 * A process image's mappings (image_maps.h): kept sorted and apart as the
 * kernel keeps them, a new one replacing what it overlaps; and
 * /proc/PID/maps parsed into them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "file_cache.h"
#include "image_maps.h"
#include "procs.h"
#include "symtab.h"

void image_maps__free(struct mapping *maps, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(maps[i].path);
		symtab__put(maps[i].symtab);
		cached_file__put(maps[i].file);
	}
	free(maps);
}

int image_maps__reserve(struct image *img, unsigned n)
{
	struct mapping *m;
	unsigned cap;

	if (n <= img->cap_maps)
		return 0;
	if (n > MAX_MAPS_PER_IMAGE)
		return -E2BIG;
	cap = img->cap_maps ? img->cap_maps * 2 : 16;
	while (cap < n)
		cap *= 2;
	m = realloc(img->maps, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	img->maps = m;
	img->cap_maps = cap;
	return 0;
}

/* Inserts nm (taking its path and symtab), trimming or splitting what it
 * overlaps: a new mmap over an old range replaces it, as in the kernel. */
int image_maps__insert(struct image *img, struct mapping *nm)
{
	unsigned i, j = 0, n = img->nr_maps;
	struct mapping *out;
	int err;

	if ((err = image_maps__reserve(img, n + 2)) < 0)
		return err;
	out = malloc((n + 2) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct mapping m = img->maps[i];

		if (m.end <= nm->start || m.start >= nm->end) {
			out[j++] = m;
			continue;
		}
		if (m.start < nm->start) { /* keeps a left part */
			struct mapping left = m;

			left.end = nm->start;
			out[j++] = left;
			if (m.end > nm->end) { /* and a right part: split */
				struct mapping right = m;

				right.pgoff += nm->end - m.start;
				right.start = nm->end;
				right.path = strdup(m.path ? m.path : "");
				right.symtab = m.symtab ? symtab__get(m.symtab) : NULL;
				right.file = cached_file__get(m.file);
				out[j++] = right;
			}
		} else if (m.end > nm->end) { /* keeps a right part */
			m.pgoff += nm->end - m.start;
			m.start = nm->end;
			out[j++] = m;
		} else { /* wholly covered */
			free(m.path);
			symtab__put(m.symtab);
			cached_file__put(m.file);
		}
	}
	out[j++] = *nm;
	/* keep sorted: insertion sort of the new element into place */
	for (i = j - 1; i > 0 && out[i - 1].start > out[i].start; i--) {
		struct mapping t = out[i];

		out[i] = out[i - 1];
		out[i - 1] = t;
	}
	free(img->maps);
	img->maps = out;
	img->nr_maps = j;
	img->cap_maps = n + 2;
	img->maps_seq++;
	return 0;
}

/* m's part [start, end) (inside it): its own path and references. */
static bool mapping_part(const struct mapping *m, uint64_t start, uint64_t end, struct mapping *out)
{
	*out = *m;
	out->pgoff += start - m->start;
	out->start = start;
	out->end = end;
	out->path = strdup(m->path ? m->path : "");
	out->symtab = m->symtab ? symtab__get(m->symtab) : NULL;
	out->file = cached_file__get(m->file);
	return out->path != NULL;
}

static int by_start(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Puts nm[0..n) (their paths and references taken, whatever the outcome;
 * not the array) over img's mappings as n image_maps__insert() would, in
 * one pass: the parts of the old ones the new
 * ones do not cover stay (earlier samples may be in them). Linear where
 * inserting one by one was quadratic (8,192 mappings: 200 ms).
 */
int image_maps__merge(struct image *img, struct mapping *nm, unsigned n)
{
	unsigned old = img->nr_maps, k = 0, j = 0, a = 0, b = 0, np = 0;
	struct mapping *parts = NULL, *out = NULL;
	int err = -ENOMEM;

	/* sorted, and the later of two overlapping new ones dropped */
	qsort(nm, n, sizeof(*nm), by_start);
	for (unsigned i = 0; i < n; i++) {
		if (j && nm[i].start < nm[j - 1].end) {
			free(nm[i].path);
			symtab__put(nm[i].symtab);
			cached_file__put(nm[i].file);
			continue;
		}
		nm[j++] = nm[i];
	}
	n = j;
	/* each new one cuts at most one old one in two: old + n parts at most */
	parts = malloc((old + n + 1) * sizeof(*parts));
	if (!parts)
		goto fail;
	for (unsigned i = 0; i < old; i++) {
		struct mapping *m = &img->maps[i];
		uint64_t cur = m->start;
		bool whole = true;

		while (k < n && nm[k].end <= m->start)
			k++;
		for (unsigned q = k; q < n && nm[q].start < m->end; q++) {
			whole = false;
			if (nm[q].start > cur && !mapping_part(m, cur, nm[q].start, &parts[np++]))
				goto fail_parts;
			if (nm[q].end > cur)
				cur = nm[q].end;
		}
		if (whole) {
			if (!mapping_part(m, m->start, m->end, &parts[np++]))
				goto fail_parts;
			continue;
		}
		if (cur < m->end && !mapping_part(m, cur, m->end, &parts[np++]))
			goto fail_parts;
	}
	if (np + n > MAX_MAPS_PER_IMAGE) {
		err = -E2BIG;
		goto fail_parts;
	}
	out = malloc((np + n + 1) * sizeof(*out));
	if (!out)
		goto fail_parts;
	for (j = 0; a < np || b < n; j++)
		out[j] = b == n || (a < np && parts[a].start < nm[b].start) ? parts[a++] : nm[b++];
	image_maps__free(img->maps, old);
	free(parts);
	img->maps = out;
	img->nr_maps = j;
	img->cap_maps = np + n + 1;
	img->maps_seq++;
	return 0;
fail_parts:
	image_maps__free(parts, np); /* copies: img keeps its own */
fail:
	for (unsigned i = 0; i < n; i++) {
		free(nm[i].path);
		symtab__put(nm[i].symtab);
		cached_file__put(nm[i].file);
	}
	return err;
}

int parse_proc_maps(const char *text, size_t len, struct mapping **out, unsigned max)
{
	struct mapping *maps = NULL;
	unsigned n = 0, cap = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		char line[4096 + 256], perms[8] = "";
		unsigned long long start, stop, off, ino;
		unsigned maj, min;
		int pos = 0;
		size_t ll;

		if (!eol)
			eol = end;
		ll = eol - p;
		if (ll >= sizeof(line))
			ll = sizeof(line) - 1;
		memcpy(line, p, ll);
		line[ll] = 0;
		p = eol + 1;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &stop, perms, &off,
			   &maj, &min, &ino, &pos) < 7 ||
		    pos == 0)
			continue;
		if (strlen(perms) < 3 || perms[2] != 'x' || stop <= start)
			continue;
		if (n == max)
			break;
		if (n == cap) {
			struct mapping *nm;

			cap = cap ? cap * 2 : 32;
			nm = realloc(maps, cap * sizeof(*maps));
			if (!nm) {
				image_maps__free(maps, n);
				return -ENOMEM;
			}
			maps = nm;
		}
		memset(&maps[n], 0, sizeof(maps[n]));
		maps[n].start = start;
		maps[n].end = stop;
		maps[n].pgoff = off;
		maps[n].maj = maj;
		maps[n].min = min;
		maps[n].ino = ino;
		maps[n].path = strdup(line + pos);
		if (!maps[n].path) {
			image_maps__free(maps, n);
			return -ENOMEM;
		}
		n++;
	}
	*out = maps;
	return n;
}
