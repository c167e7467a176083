/* SPDX-License-Identifier: MIT */
/*
 * Building one pprof Profile (proto/profile.proto): deduplicating tables of
 * strings, mappings, functions and locations that hand out stable ids, then
 * samples, then encoding as a gzip-compressed message that `go tool pprof`
 * reads. The builder is the only place that knows the wire format.
 */
#ifndef PPROFD_PPROF_H
#define PPROFD_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pprof;

struct pprof_value_type {
	const char *type; /* e.g. "samples" */
	const char *unit; /* e.g. "count" */
};

struct pprof_params {
	const struct pprof_value_type *sample_types;
	size_t nr_sample_types;
	struct pprof_value_type period_type;
	int64_t period;
	int64_t time_nanos; /* wall clock, ns since the epoch */
	int64_t duration_nanos;
	const char *default_sample_type; /* NULL: pprof's default (the last) */
};

struct pprof_mapping {
	uint64_t start, limit, offset;
	const char *filename;
	const char *build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct pprof_line {
	uint64_t function_id;
	int64_t line; /* 0 when unknown */
};

struct pprof_label {
	const char *key;
	const char *str;  /* string label when non-NULL ... */
	int64_t num;      /* ... numeric label otherwise */
	const char *unit; /* optional, numeric labels only */
};

struct pprof *pprof__new(const struct pprof_params *params);
void pprof__free(struct pprof *p); /* NULL is fine */

/* Interns a string; its index in string_table (0 is ""). 0 also on ENOMEM,
 * which pprof__encode_gz then reports. */
int64_t pprof__string(struct pprof *p, const char *s);

/* Adds a mapping, deduplicated on all fields; its id (>= 1), or 0 on ENOMEM. */
uint64_t pprof__mapping(struct pprof *p, const struct pprof_mapping *m);
/* Deduplicated on (name, system_name, filename, start_line); id >= 1 or 0. */
uint64_t pprof__function(struct pprof *p, const char *name, const char *system_name,
			 const char *filename, int64_t start_line);
/* The location of (mapping_id, address) if it was added already, else 0:
 * lets callers symbolize each address once per profile. */
uint64_t pprof__find_location(struct pprof *p, uint64_t mapping_id, uint64_t address);
/* Adds a location with its lines (innermost inline frame first), id >= 1 or 0.
 * Deduplicated on (mapping_id, address). */
uint64_t pprof__location(struct pprof *p, uint64_t mapping_id, uint64_t address,
			 const struct pprof_line *lines, size_t nr_lines);

/* Adds a sample: locations leaf first; nr_values == nr_sample_types. */
int pprof__add_sample(struct pprof *p, const uint64_t *location_ids, size_t nr_locations,
		      const int64_t *values, const struct pprof_label *labels, size_t nr_labels);
/* A free-text comment shown by `pprof -comments`. */
int pprof__add_comment(struct pprof *p, const char *comment);
/* The same, printf-style (cut at 512 bytes). */
int pprof__commentf(struct pprof *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The comment of a profile that may lack records: n of the host's were lost
 * (pprofd's ring buffer full) `during` ("in this window", ...); none for 0. */
int pprof__comment_lost(struct pprof *p, uint64_t n, const char *during);

size_t pprof__nr_samples(const struct pprof *p);

/* Encodes the profile, gzip-compressed. 0 and a malloc'ed buffer, or -errno. */
int pprof__encode_gz(struct pprof *p, uint8_t **out, size_t *out_len);

#endif
