/* SPDX-License-Identifier: MIT */
/*
 * Side-band process events from the kernel's perf ring buffers, as perf
 * record gets them: every executable mmap (with file, offset, device and
 * inode), exec (comm with the exec flag), thread renames, fork/clone and exit,
 * for every process on the host, timestamped on CLOCK_MONOTONIC like the BPF
 * samples. This is how a process that lives 20 ms is still symbolized: its
 * mappings are known from the moment they are made, not read from /proc
 * after it is gone.
 */
#ifndef PPROFD_SIDEBAND_H
#define PPROFD_SIDEBAND_H

#include <stdbool.h>
#include <stdint.h>

enum sb_type { SB_MMAP, SB_COMM, SB_FORK, SB_EXIT };

struct sb_event {
	enum sb_type type;
	uint64_t time_ns;
	uint32_t pid, tid;
	union {
		struct {
			uint64_t addr, len, pgoff;
			uint32_t maj, min;
			uint64_t ino;
			uint32_t prot;
			const char *filename; /* valid during the callback only */
		} mmap;
		struct {
			bool exec;
			char comm[16];
		} comm;
		struct {
			uint32_t ppid, ptid; /* the parent */
		} fork;
	};
};

typedef void (*sb_event_fn)(const struct sb_event *ev, void *ctx);

struct sideband;

/* Opens one dummy perf event per online CPU with ring buffers of
 * ring_pages (a power of two; 0: none, see sideband__feed) data pages.
 * NULL + errno on failure. */
struct sideband *sideband__new(unsigned ring_pages);
void sideband__free(struct sideband *sb);
/* The records in data (a ring's bytes, unwrapped), applied as a drain
 * applies a ring's: for tests and fuzzing, with sideband__new(0), which
 * opens no ring. Returns how many. */
int sideband__feed(struct sideband *sb, const void *data, size_t len, sb_event_fn fn, void *ctx);
/* Reads every pending record, calling fn for each. Returns how many. */
int sideband__drain(struct sideband *sb, sb_event_fn fn, void *ctx);
/* Records the kernel said it lost (ring full). */
uint64_t sideband__lost(const struct sideband *sb);
/* Whether the last drain may have missed records: a ring was found nearly
 * full (the kernel says how many it dropped only with its next record, which
 * on a quiet CPU may come much later) or said it dropped some. */
bool sideband__maybe_lost(const struct sideband *sb);
/* An fd that polls readable when a ring is past its watermark. */
int sideband__fd(const struct sideband *sb);

#endif
