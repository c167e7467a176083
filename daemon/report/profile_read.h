/* SPDX-License-Identifier: MIT */
/*
 * Loading a pprof profile file for the offline reports (top, flamegraph).
 * The file is hostile input: it is size-limited, gunzipped if it is gzip,
 * unpacked with protobuf-c, and every index in it is checked before anything
 * follows one. What the reports get is resolved: each sample is a list of
 * frame names, leaf first, as `go tool pprof` names them at its default
 * (functions) granularity.
 */
#ifndef PPROFCTL_PROFILE_READ_H
#define PPROFCTL_PROFILE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashtab.h"
#include "profile.pb-c.h"

/* Most bytes a profile may inflate to; more is refused, not truncated. */
#define PROFILE_MAX_BYTES (512u << 20)
/* Frames of all samples together, so that hostile sharing of one deep
 * location by many samples cannot make the reports take forever. */
#define PROFILE_MAX_FRAMES (1u << 26)

/* One distinct frame name. */
struct prof_name {
	const char *str;
	bool kernel; /* seen in the [kernel.kallsyms] mapping */
};

/* A frame is a name id, flagged when it is an inline frame: one of a
 * location's lines other than its last (outermost) one. */
#define PROF_INLINE 0x80000000u
#define PROF_NAME(frame) ((frame) & ~PROF_INLINE)

struct prof_sample {
	const uint32_t *frames; /* leaf (innermost) first */
	uint32_t nr_frames;
	const int64_t *values; /* one per sample type */
};

struct prof_type {
	const char *type, *unit;
};

struct profile {
	Perftools__Profiles__Profile *pb; /* owns every string below */

	struct prof_type *types;
	size_t nr_types;
	int default_type; /* pprof's rule: default_sample_type, else the last */

	struct prof_name *names;
	size_t nr_names;

	struct prof_sample *samples;
	size_t nr_samples;

	const char **comments; /* as pprof prints them (a merge's: each once) */
	size_t nr_comments;
	const char *main_file; /* base name of mapping[0]'s file, or NULL */
	/* the one process every sample is of (labels pid, comm): pprofd's
	 * files of a process; 0 and NULL for the host's, or other profiles */
	int64_t pid;
	const char *comm;
	const char *build_id; /* mapping[0]'s build ID, or NULL */
	int64_t time_nanos, duration_nanos;

	/* private */
	struct profile **parts; /* a merge's: they own its strings */
	size_t nr_parts;
	uint32_t *frame_buf;
	char *name_buf;
	char *main_buf;
};

/*
 * Reads and checks a profile file. 0 and *out, or -errno with a message in
 * err that names the file and says what is wrong.
 */
int profile_read(const char *path, struct profile **out, char *err, size_t errlen);

/* The same on bytes in memory (gzip or plain protobuf). */
int profile_parse(const uint8_t *data, size_t len, struct profile **out, char *err, size_t errlen);

/*
 * Reads several files as one profile, as `go tool pprof` merges them
 * (profile_merge.c): every sample of each under one table of names; the
 * earliest start and the durations summed, as pprof has them. Their
 * sample types must agree. One file is profile_read's.
 */
int profile_read_all(char *const *paths, size_t n, struct profile **out, char *err, size_t errlen);

void profile_free(struct profile *p); /* NULL is fine */

/* Frame names by string, for the reader and the merge: the id of s in
 * p->names (which grows, by t->cap), added when new. 0, or -ENOMEM. */
struct name_table {
	struct hashtab h;
	size_t cap; /* of p->names */
};
int name_table__id(struct name_table *t, struct profile *p, const char *s, uint32_t *id);
void name_table__free(struct name_table *t);

/* Writes the message into err (errlen bytes) and returns ret. */
int profile_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The sample type selected by name or number (NULL or "": the default), as
 * pprof's -sample_index; -EINVAL with a message listing the choices otherwise.
 */
int profile_sample_index(const struct profile *p, const char *sel, char *err, size_t errlen);

#endif
