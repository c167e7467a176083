/* SPDX-License-Identifier: MIT */
/*
 * pprofd's settings: defaults, the config file (`key = value`, `#` comments)
 * and the command line, in that order of precedence (command line wins).
 * A bad line is an error naming file and line; the caller keeps its old
 * config in force (SIGHUP).
 */
#ifndef PPROFD_CONFIG_H
#define PPROFD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_TARGETS 64

/* A process selected for continuous heap/lock profiling. */
/* TARGET_PRELOADED (heap only, no value): every process that maps the
 * in-process sampler, preload/libpprofd_heap.so. */
enum target_kind { TARGET_COMM, TARGET_EXE, TARGET_CGROUP, TARGET_PRELOADED };
struct config_target {
	enum target_kind kind;
	char value[256];
};

struct config {
	char config_file[256];            /* "" when none was read */
	char output_dir[256];             /* output_dir, default /var/lib/pprofd */
	unsigned interval_sec;            /* interval, default 60, 1..86400 */
	unsigned frequency_hz;            /* frequency, default 49, 1..10000 */
	char socket_path[108];            /* socket, default /run/pprofd/pprofd.sock */
	bool http_enabled;                /* http = off disables; default on */
	char http_addr[64];               /* http, default 127.0.0.1:6060 */
	char http_token[256];             /* http_token, default "" */
	bool verbose;                     /* verbose, default false */
	unsigned retention_max_age_sec;   /* retention_max_age, default 7d */
	uint64_t retention_max_bytes;     /* retention_max_bytes, default 1 GiB */
	unsigned max_request_seconds;     /* max_request_seconds, default 300 */
	unsigned max_concurrent_requests; /* max_concurrent_requests, default 8 */
	/* fair shares (issue 12): per unprivileged uid, and slots kept for root */
	unsigned max_requests_per_user;    /* max_requests_per_user, default 2 */
	unsigned reserved_requests;        /* reserved_requests, default 2 */
	unsigned max_connections;          /* max_connections, default 64, per front end */
	unsigned max_connections_per_user; /* max_connections_per_user, default 8 */
	unsigned reserved_connections;     /* reserved_connections, default 16 */
	uint64_t heap_sample_bytes;        /* heap_sample_bytes, default 524288 */
	/* BPF map sizes */
	uint64_t ringbuf_bytes;    /* ringbuf_size: 0 = auto (default), or a power of 2 >= 64 KiB */
	unsigned max_processes;    /* max_processes, default 16384 */
	unsigned max_symbol_files; /* max_symbol_files, default 512 */
	uint64_t unwind_cache_bytes; /* unwind_cache_size, default 16 MiB */
	bool unwind_tables;          /* unwind_tables: walk stacks in BPF, default true */
	/* short_lived_files: per_name (default) writes the processes that began
	 * and exited in a window one file per name; per_process, each its own */
	bool short_lived_per_name;
	uint64_t unwind_table_bytes; /* unwind_table_size: their BPF maps, default 64 MiB */
	bool bpf_sample_timing; /* bpf_sample_timing: count each sample's BPF time, default false */
	bool profile_self;      /* profile_self, default false */
	unsigned health_interval_sec; /* health_interval, default 600 (10m), 0 = none */
	/* debuginfod (symbolize/debuginfod.h): nothing is asked unless URLs are set */
	char debuginfod_urls[1024];      /* debuginfod_urls, default "" (DEBUGINFOD_URLS then) */
	uint64_t debuginfod_cache_bytes; /* debuginfod_cache_size, default 1 GiB */
	unsigned debuginfod_max_age_sec; /* debuginfod_cache_max_age, default 7d */
	unsigned debuginfod_timeout_sec; /* debuginfod_timeout, default 30 s */
	/* heap_target / lock_target lines, repeatable: "comm:NAME", "exe:/PATH",
	 * "cgroup:/PATH" */
	struct config_target heap_targets[CONFIG_MAX_TARGETS];
	size_t nr_heap_targets;
	struct config_target lock_targets[CONFIG_MAX_TARGETS];
	size_t nr_lock_targets;
};

void config__defaults(struct config *c);

/*
 * Reads `path` into *c (which holds defaults or an older config; keys not in
 * the file keep their value only if `keep` — use defaults first for a full
 * re-read). On error returns -EINVAL (or -errno of open) and writes a message
 * like "pprofd.conf:12: unknown key 'foo'" to err.
 */
int config__load_file(struct config *c, const char *path, char *err, size_t errlen);

/* Sets one key from a string, as the file and the command line both do.
 * -EINVAL and a message (without file:line) in err on a bad key or value. */
int config__set(struct config *c, const char *key, const char *value, char *err, size_t errlen);

/* The name of the i-th key the file may hold, NULL past the last. */
const char *config__key_name(size_t i);

/* Parses durations like "90", "90s", "15m", "12h", "7d" and sizes like
 * "4096", "64K", "4M", "1G" (binary units). 0 or -EINVAL. */
int parse_duration_sec(const char *s, uint64_t *out);
int parse_size_bytes(const char *s, uint64_t *out);

#endif
