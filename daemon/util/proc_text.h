/* SPDX-License-Identifier: MIT */
/*
 * Parsers of /proc/PID text files (status, cgroup): pure functions of the
 * text, which need not end with a NUL, so that they are fuzzed
 * (tests/fuzz/fuzz_procstatus.c). The callers read the files.
 */
#ifndef PPROFD_PROC_TEXT_H
#define PPROFD_PROC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes read of /proc/PID/status: its Groups line holds up to 65536 ids. */
#define PROC_STATUS_MAX (1u << 20)
/* Bytes read of /proc/PID/cgroup: a line per hierarchy, paths < 4 KiB. */
#define PROC_CGROUP_MAX (256u << 10)

/* The real, effective, saved and fs uids of /proc/PID/status's "Uid:"
 * line: 0, or -ENOENT without one. */
int proc_status_uids(const char *text, size_t len, uid_t uids[4]);
/* Its "Tgid:" and "Threads:" lines: 0, or -ENOENT without both. */
int proc_status_threads(const char *text, size_t len, uint32_t *tgid, unsigned *threads);
/* Its "NSpid:" line's last pid: the process's pid in its own (innermost)
 * pid namespace, the one a JIT names its perf map after. 0, or -ENOENT. */
int proc_status_nspid(const char *text, size_t len, uint32_t *nspid);
/* Its "CapEff:" line (the effective capabilities): 0 with *caps set, or
 * -ENOENT without a well-formed one. */
int proc_status_cap_eff(const char *text, size_t len, uint64_t *caps);
/* Bytes read of /proc/PID/stat: 52 numbers and a 16-byte comm. */
#define PROC_STAT_MAX 4096
/* /proc/PID/stat's startcode (field 26: where the image's code starts,
 * a different address after each exec): 0, or -ENOENT. The comm before
 * it may hold spaces and parentheses: fields count from the last ')'. */
int proc_stat_start_code(const char *text, size_t len, uint64_t *start_code);
/* Its state (field 3: R, S, D, Z, X...) and flags (field 9: PF_*): 0, or
 * -ENOENT. */
int proc_stat_state(const char *text, size_t len, char *state);
int proc_stat_flags(const char *text, size_t len, uint64_t *flags);
#define PROC_PF_KTHREAD 0x00200000 /* a kernel thread (PF_KTHREAD) */
/* Whether /proc/PID/cgroup puts the process in cgroup v2 `cgroup` ("0::"
 * line) or below it; "/" holds every process. */
bool proc_cgroup_under(const char *text, size_t len, const char *cgroup);
/*
 * The labels operators filter by, from /proc/PID/cgroup (the v2 line, else
 * systemd's v1 hierarchy): the process's systemd unit (the deepest
 * "*.service" of its path, else its deepest "*.scope" that is no
 * container's), and the id of its container (64 hex digits, as docker,
 * containerd, CRI-O and podman name their cgroups). "" where none; each
 * cut to its buffer (container_len must be > 64 to hold one).
 */
void proc_cgroup_labels(const char *text, size_t len, char *service, size_t service_len,
			char *container, size_t container_len);

#endif
