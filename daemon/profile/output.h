/* SPDX-License-Identifier: MIT */
/*
 * The output directory: OUTPUT_DIR/<comm>-<pid>/<kind>-<YYYYMMDDTHHMMSSZ>.pb.gz,
 * written atomically (temporary file, fsync, rename) and readable by root
 * only; retention by age and total size, oldest first.
 *
 * The directory must be root's and not writable by group or others; inside
 * it everything is reached with *at() calls from a directory fd, never
 * following a symlink, and an entry pprofd did not make (a symlink, another
 * owner, a loose mode) is refused: nothing written through it, nothing
 * deleted under it.
 */
#ifndef PPROFD_OUTPUT_H
#define PPROFD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Copies comm into out, keeping [A-Za-z0-9._-] and replacing the rest
 * (and a leading '.') with '_' ("unknown" when empty). */
void sanitize_comm(const char *comm, char *out, size_t outlen);

/* At start and SIGHUP: creates dir when missing; 0 when it is a directory
 * owned by root and not writable by group or others, else -errno (-EPERM
 * for a bad owner or mode) and the reason in why. */
int output__check_dir(const char *dir, char *why, size_t whylen);

/* Writes data as dir/<comm>-<pid>/<kind>-<ts>.pb.gz (a "-N" suffix when that
 * name exists already; pid 0: dir/<comm>-short/, the short-lived processes
 * of that name). 0 and the final path in path_out, or -errno:
 * -EPERM when dir or its <comm>-<pid> entry is not pprofd's. */
int output__write(const char *dir, const char *comm, uint32_t pid, const char *kind,
		  time_t window_start, const void *data, size_t len, char *path_out,
		  size_t path_len);

struct output_health;
struct pprof;

/* The window's profile p of process pid (comm), built: encoded, written as
 * output__write does, and the outcome given to h as output__profile_result
 * does. 0 or -errno; *bytes (may be NULL): the file's size. */
int output__write_profile(struct output_health *h, const char *dir, struct pprof *p,
			  const char *comm, uint32_t pid, const char *kind, time_t window_start,
			  size_t *bytes, char *path_out, size_t path_len);
/* The outcome err (0 or -errno) of a kind profile of pid for dir, written
 * or not (a profile that could not be built is a failed write): given to h,
 * or logged when h is NULL and it failed. */
void output__profile_result(struct output_health *h, const char *dir, const char *kind,
			    uint32_t pid, int err);

struct retention_result {
	unsigned files_removed;
	unsigned refused; /* entries not pprofd's: left alone */
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
	int err;                     /* the failure in force, -errno; 0 when writable */
	uint64_t failed;             /* writes that failed since it began */
	unsigned win_ok, win_failed; /* in the current window */
	uint64_t refused;            /* writes refused: an entry not pprofd's (-EPERM) */
};

/* The result of one write (0 or -errno) of a profile to dir. A refused
 * entry (-EPERM) is counted and logged once, the first time. */
void output_health__result(struct output_health *h, const char *dir, int err);
/* At the end of every window, after its writes. */
void output_health__window_end(struct output_health *h, const char *dir);

#endif
