/* SPDX-License-Identifier: MIT */
/*
 * Debug files fetched by build ID from debuginfod servers (elfutils'
 * libdebuginfod), for files that have neither a symbol table nor DWARF on
 * this host (Debian's stripped binaries and libraries).
 *
 * Never on the sample path or in a window's write: the event loop asks for
 * a build ID when a file's symbols are first attached, one thread of its
 * own fetches (one file at a time), and the loop takes what has arrived at
 * its next turn: names appear from the next profile on. Nothing leaves the
 * host unless URLs are configured.
 *
 * The files land in libdebuginfod's layout under the cache directory
 * (DIR/BUILD_ID/debuginfo), where find_debug_file() looks (symtab.h:
 * symtab__set_debug_cache). The cache is bounded in bytes here (least
 * recently fetched first) and in age by libdebuginfod's own cleaning; a
 * build ID that no server has is not asked for again for an hour.
 */
#ifndef PPROFD_DEBUGINFOD_H
#define PPROFD_DEBUGINFOD_H

#include <stdbool.h>
#include <stdint.h>

struct debuginfod_conf {
	const char *urls;      /* space-separated server URLs; "" or NULL: off */
	const char *cache_dir; /* absolute; made 0700 when missing */
	uint64_t max_bytes;    /* the cache's files in all */
	uint64_t max_age_sec;  /* a file unused this long is cleaned */
	unsigned timeout_sec;  /* a fetch that moves no byte this long fails */
	unsigned queue_max;    /* build IDs waiting; more are refused (counted) */
};

struct debuginfod_stats {
	uint64_t asked;       /* build IDs queued */
	uint64_t fetched;     /* debug files that arrived */
	uint64_t not_found;   /* build IDs no server has (then not asked for an hour) */
	uint64_t errors;      /* fetches that failed otherwise (timeouts, I/O) */
	uint64_t refused;     /* asks dropped: the queue was full */
	uint64_t cache_bytes; /* the cache's files, after the last fetch's trim */
	uint64_t cache_evictions;
	uint64_t fetch_ns_max; /* the longest fetch */
};

struct debuginfod;

/* NULL + errno (EINVAL: no URLs, or a cache_dir that is not absolute). */
struct debuginfod *debuginfod__new(const struct debuginfod_conf *c);
/* Stops the thread after the fetch it runs (bounded by timeout_sec). */
void debuginfod__free(struct debuginfod *d);
/* Readable when fetches have ended: then call debuginfod__collect. */
int debuginfod__fd(const struct debuginfod *d);
/* Asks for build_id's debug file (lower-case hex), once; the loop's thread. */
void debuginfod__want(struct debuginfod *d, const char *build_id);
/* For each build ID whose file arrived since the last call, fn(build_id);
 * returns how many. */
unsigned debuginfod__collect(struct debuginfod *d, void (*fn)(const char *build_id, void *ctx),
			     void *ctx);
void debuginfod__stats(const struct debuginfod *d, struct debuginfod_stats *st);

/* Whether s is a build ID pprofd would ask a server for (hex, 2..128). */
bool debuginfod__valid_build_id(const char *s);

#endif
