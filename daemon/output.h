/* SPDX-License-Identifier: MIT */
/*
 * The output directory: OUTPUT_DIR/<comm>-<pid>/<kind>-<YYYYMMDDTHHMMSSZ>.pb.gz,
 * written atomically (temporary file, fsync, rename) and readable by root
 * only; retention by age and total size, oldest first.
 */
#ifndef PPROFD_OUTPUT_H
#define PPROFD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Copies comm into out, keeping [A-Za-z0-9._-] and replacing the rest
 * with '_' ("unknown" when empty). */
void sanitize_comm(const char *comm, char *out, size_t outlen);

/* Writes data as dir/<comm>-<pid>/<kind>-<ts>.pb.gz (a "-N" suffix when that
 * name exists already). 0 and the final path in path_out, or -errno. */
int output__write(const char *dir, const char *comm, uint32_t pid, const char *kind,
		  time_t window_start, const void *data, size_t len, char *path_out,
		  size_t path_len);

struct retention_result {
	unsigned files_removed;
	uint64_t bytes_removed, bytes_kept;
};

/* Deletes profiles older than max_age_sec, then the oldest until the total
 * is at most max_bytes; removes emptied process directories. */
int output__retention(const char *dir, uint64_t max_age_sec, uint64_t max_bytes,
		      struct retention_result *res);

/*
 * Whether profiles can be written, as a condition that changes: a full or
 * read-only directory is logged once when it starts (and when the reason
 * changes), every later write still tries, and once a window's writes all
 * succeed again that is logged once too.
 */
struct output_health {
	int err;             /* the failure in force, -errno; 0 when writable */
	uint64_t failed;     /* writes that failed since it began */
	unsigned win_ok, win_failed; /* in the current window */
};

/* The result of one write (0 or -errno) of a profile to dir. */
void output_health__result(struct output_health *h, const char *dir, int err);
/* At the end of every window, after its writes. */
void output_health__window_end(struct output_health *h, const char *dir);

#endif
