// SPDX-License-Identifier: MIT
/*
 * Aggregated stacks of one process image into pprof samples: user frames
 * symbolized through the image's mappings, kernel frames through kallsyms,
 * labels pid/tid/comm/thread. Shared by every profile kind.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "perf_map.h"
#include "pprof.h"
#include "procs.h"
#include "stack_profile.h"
#include "symtab.h"
#include "stackagg.h"

static uint64_t kernel_location(struct pprof *p, const struct kallsyms *k, uint64_t addr)
{
	struct pprof_mapping km = { .filename = "[kernel.kallsyms]", .limit = ~0ull };
	struct pprof_line line = { 0 };
	uint64_t mid, loc, start;
	const char *name = NULL;
	char kname[KSYM_NAME_MAX];

	if (k) {
		kallsyms__range(k, &km.start, &km.limit);
		km.has_functions = true;
		if (addr < km.start || addr > km.limit) {
			/* outside the text we know (a module loaded later) */
			km.start = 0xffff800000000000ull;
			km.limit = ~0ull;
		}
	} else {
		km.start = 0xffff800000000000ull;
	}
	mid = pprof__mapping(p, &km);
	loc = pprof__find_location(p, mid, addr);
	if (loc)
		return loc;
	if (k)
		name = kallsyms__lookup(k, addr, &start, kname, sizeof(kname));
	if (name)
		line.function_id = pprof__function(p, name, name, "", 0);
	return pprof__location(p, mid, addr, &line, line.function_id ? 1 : 0);
}

/* addr's mapping, with its symbols if they can be had in time. */
static struct mapping *named_mapping(struct procs *procs, struct image *img, uint64_t addr)
{
	struct mapping *m = procs__find_mapping(procs, img, addr);

	if (m)
		procs__await_symbols(procs, img, m);
	return m;
}

/*
 * The name pprof shows for m's file. pprof opens a file it has no names
 * for, and warns when it cannot: code from a memfd (a program run from
 * one: "/memfd:NAME (deleted)") has none on disk, and a base name in
 * brackets is one pprof knows not to open.
 */
static const char *mapping_filename(const struct mapping *m, char *buf, size_t size)
{
	if (mapping_is_anon(m))
		return "[anon:exec]"; /* anonymous executable memory (JIT code) */
	if (!strncmp(m->path, "/memfd:", 7) && !strchr(m->path + 1, '/')) {
		snprintf(buf, size, "[%s]", m->path + 1);
		return buf;
	}
	return m->path;
}

static uint64_t mapping_id(struct pprof *p, struct procs *procs, struct image *img,
			   struct mapping *m)
{
	char name[300];
	struct pprof_mapping pm = {
		.start = m->start,
		.limit = m->end,
		.offset = m->pgoff,
		.filename = mapping_filename(m, name, sizeof(name)),
		.build_id = m->symtab ? symtab__build_id(m->symtab) : "",
		.has_functions = m->symtab ? symtab__has_functions(m->symtab)
					   : mapping_is_anon(m) && perf_map__entries(img->jit),
	};

	/* The file's DWARF, loaded in the symbol cache's thread. */
	if (m->symtab && procs__await_lines(procs, img, m))
		pm.has_filenames = pm.has_line_numbers = pm.has_inline_frames = true;

	return pprof__mapping(p, &pm);
}

/* caller: the address is a return address; symbolize the call before it. */
static uint64_t user_location(struct pprof *p, struct procs *procs, struct image *img,
			      uint64_t addr, bool caller)
{
	struct mapping *m = named_mapping(procs, img, addr);
	struct pprof_line lines[SYM_FRAMES_MAX];
	struct sym_frames fr;
	uint64_t mid, loc;
	unsigned n = 0;

	if (!m) {
		/* In no mapping we know (its record lost with a full side-band
		 * ring, the process gone before /proc could tell): a named
		 * mapping of its own, since pprof takes a nameless first mapping
		 * for a main binary whose name is missing. */
		static const struct pprof_mapping unknown = { .filename = "[unknown]" };

		mid = pprof__mapping(p, &unknown);
		loc = pprof__find_location(p, mid, addr);
		return loc ? loc : pprof__location(p, mid, addr, NULL, 0);
	}
	mid = mapping_id(p, procs, img, m);
	loc = pprof__find_location(p, mid, addr);
	if (loc)
		return loc;
	if (!m->symtab && img->jit && mapping_is_anon(m)) {
		/* JIT code, named by its perf map */
		uint64_t start;
		const char *name = perf_map__lookup(img->jit, addr - caller, &start);

		if (name) {
			lines[0] = (struct pprof_line){ .function_id = pprof__function(
								p, name, name, "", 0) };
			if (!lines[0].function_id)
				return 0; /* out of memory: the profile says so */
			n = 1;
		}
	} else if (m->symtab && symtab__lookup_frames(
					m->symtab, addr - caller - m->start + m->pgoff, &fr) == 0) {
		/* innermost inlined function first, the symbol last */
		for (unsigned i = 0; i < fr.n; i++) {
			const struct sym_frame *f = &fr.f[i];
			const char *file = f->decl_file ? f->decl_file : f->file ? f->file : "";

			lines[n].function_id = pprof__function(p, f->name, f->raw_name, file,
							       f->decl_file ? f->decl_line : 0);
			lines[n].line = f->line;
			if (!lines[n].function_id)
				return 0; /* out of memory: the profile says so */
			n++;
		}
	}
	return pprof__location(p, mid, addr, lines, n);
}

void stack_profile__begin_image(struct pprof *p, struct procs *procs, struct image *img)
{
	/* pprof takes the first mapping for the program ("File:"): that is the
	 * executable, mapped lowest of the files (PIE or not). */
	for (unsigned i = 0; i < img->nr_maps; i++) {
		if (img->maps[i].path && img->maps[i].path[0] == '/') {
			named_mapping(procs, img, img->maps[i].start);
			mapping_id(p, procs, img, &img->maps[i]);
			break;
		}
	}
}

int stack_profile__add_stack(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
			     struct image *img, const uint64_t *frames, unsigned nr_kframes,
			     unsigned nr_uframes, bool leaf_is_pc, const int64_t *values,
			     const struct pprof_label *labels, size_t nr_labels)
{
	uint64_t locs[2 * 127 + 1];
	unsigned n = 0, nf = nr_kframes + nr_uframes;

	for (unsigned i = 0; i < nf && n < sizeof(locs) / sizeof(locs[0]); i++) {
		uint64_t a = frames[i];

		if (i < nr_kframes)
			locs[n] = kernel_location(p, ksyms, a);
		else
			locs[n] = user_location(p, procs, img, a,
						i > nr_kframes || nr_kframes || !leaf_is_pc);
		if (locs[n])
			n++;
	}
	return pprof__add_sample(p, locs, n, values, labels, nr_labels);
}

size_t image_labels(const struct image *img, struct pprof_label *out)
{
	size_t n = 0;

	if (img->service[0])
		out[n++] = (struct pprof_label){ .key = "service", .str = img->service };
	if (img->container_id[0])
		out[n++] = (struct pprof_label){ .key = "container_id", .str = img->container_id };
	return n;
}

int stack_profile__add(struct pprof *p, struct procs *procs, const struct kallsyms *ksyms,
		       struct image *img, const struct stackagg *agg, bool leaf_is_pc)
{
	struct stack_entry *e;
	int err = 0;

	stack_profile__begin_image(p, procs, img);
	hashtab__for_each(&agg->ht, e)
	{
		struct pprof_label labels[4 + IMAGE_LABELS_MAX] = {
			{ .key = "pid", .num = img->pid },
			{ .key = "tid", .num = e->tid },
			{ .key = "comm", .str = img->comm },
			{ .key = "thread", .str = e->thread },
		};
		size_t n = 4 + image_labels(img, labels + 4);

		err = stack_profile__add_stack(p, procs, ksyms, img, e->frames, e->nr_kframes,
					       e->nr_uframes, leaf_is_pc, e->values, labels, n);
		if (err)
			break;
	}
	return err;
}
