// SPDX-License-Identifier: MIT
/*
 * Several profiles as one, as `go tool pprof` merges the files it is
 * given: every sample of each, under one table of frame names. The files
 * pprofd writes of a process (one a window) merge into its last hour.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_read.h"

/* Most files merged: each is read whole before the next. */
#define MERGE_MAX_FILES 10000

/* p's comments that m does not have yet, in order, as pprof merges them. */
static void add_comments(struct profile *m, const struct profile *p)
{
	for (size_t i = 0; i < p->nr_comments; i++) {
		size_t j = 0;

		while (j < m->nr_comments && strcmp(m->comments[j], p->comments[i]))
			j++;
		if (j == m->nr_comments)
			m->comments[m->nr_comments++] = p->comments[i];
	}
}

static bool same_types(const struct profile *a, const struct profile *b)
{
	if (a->nr_types != b->nr_types)
		return false;
	for (size_t i = 0; i < a->nr_types; i++)
		if (strcmp(a->types[i].type, b->types[i].type) ||
		    strcmp(a->types[i].unit, b->types[i].unit))
			return false;
	return true;
}

/* The parts (n >= 2, taken) as one profile in *out. */
static int merge(struct profile **parts, size_t n, struct profile **out, char *err, size_t errlen)
{
	size_t names = 0, samples = 0, frames = 0, comments = 0, at = 0;
	struct name_table t = { .cap = 0 };
	struct profile *m = calloc(1, sizeof(*m));
	int64_t start = INT64_MAX, duration = 0;
	uint32_t *remap = NULL;

	if (!m)
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	m->parts = parts;
	m->nr_parts = n;
	for (size_t i = 0; i < n; i++) {
		names += parts[i]->nr_names;
		comments += parts[i]->nr_comments;
		samples += parts[i]->nr_samples;
		for (size_t j = 0; j < parts[i]->nr_samples; j++)
			frames += parts[i]->samples[j].nr_frames;
		if (frames > PROFILE_MAX_FRAMES) {
			profile_free(m);
			return profile_errf(err, errlen, -EFBIG,
					    "more than %u frames in these files",
					    PROFILE_MAX_FRAMES);
		}
	}
	m->names = calloc(names + 1, sizeof(*m->names));
	t.cap = names + 1;
	m->samples = calloc(samples + 1, sizeof(*m->samples));
	m->frame_buf = calloc(frames + 1, sizeof(*m->frame_buf));
	m->types = calloc(parts[0]->nr_types + 1, sizeof(*m->types));
	m->comments = calloc(comments + 1, sizeof(*m->comments));
	if (!m->names || !m->samples || !m->frame_buf || !m->types || !m->comments) {
		profile_free(m);
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(m->types, parts[0]->types, parts[0]->nr_types * sizeof(*m->types));
	m->nr_types = parts[0]->nr_types;
	m->default_type = parts[0]->default_type;
	m->main_file = parts[0]->main_file;
	m->pid = parts[0]->pid;
	m->comm = parts[0]->comm;
	m->build_id = parts[0]->build_id;
	for (size_t i = 0; i < n; i++) {
		struct profile *p = parts[i];

		free(remap);
		remap = malloc((p->nr_names + 1) * sizeof(*remap));
		if (!remap)
			break;
		for (size_t j = 0; j < p->nr_names; j++) {
			if (name_table__id(&t, m, p->names[j].str, &remap[j])) {
				free(remap);
				remap = NULL;
				break;
			}
			m->names[remap[j]].kernel |= p->names[j].kernel;
		}
		if (!remap)
			break;
		for (size_t j = 0; j < p->nr_samples; j++) {
			const struct prof_sample *s = &p->samples[j];
			uint32_t *f = m->frame_buf + at;

			for (uint32_t k = 0; k < s->nr_frames; k++)
				f[k] = remap[PROF_NAME(s->frames[k])] |
				       (s->frames[k] & PROF_INLINE);
			m->samples[m->nr_samples++] =
				(struct prof_sample){ f, s->nr_frames, s->values };
			at += s->nr_frames;
		}
		add_comments(m, p);
		if (p->pid != m->pid)
			m->pid = 0, m->comm = NULL;
		if (p->time_nanos && p->time_nanos < start)
			start = p->time_nanos;
		duration += p->duration_nanos;
	}
	name_table__free(&t);
	if (!remap) {
		profile_free(m);
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	}
	free(remap);
	/* as pprof: the earliest start, the durations summed */
	m->time_nanos = start != INT64_MAX ? start : 0;
	m->duration_nanos = duration;
	*out = m;
	return 0;
}

int profile_read_all(char *const *paths, size_t n, struct profile **out, char *err, size_t errlen)
{
	struct profile **parts;
	int ret = 0;

	if (n == 1)
		return profile_read(paths[0], out, err, errlen);
	if (!n || n > MERGE_MAX_FILES)
		return profile_errf(err, errlen, -EINVAL, "%s", n ? "too many files" : "no file");
	parts = calloc(n, sizeof(*parts));
	if (!parts)
		return profile_errf(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !ret; i++) {
		ret = profile_read(paths[i], &parts[i], err, errlen);
		if (!ret && !same_types(parts[0], parts[i]))
			ret = profile_errf(err, errlen, -EINVAL,
					   "%s: its sample types are not those of %s: profiles of "
					   "different kinds do not merge",
					   paths[i], paths[0]);
	}
	if (!ret)
		return merge(parts, n, out, err, errlen);
	for (size_t i = 0; i < n; i++)
		profile_free(parts[i]);
	free(parts);
	return ret;
}
