/* SPDX-License-Identifier: MIT */
/*
 * After start-up (BPF loaded, kernel symbols read, sockets bound), pprofd
 * keeps only the capabilities it uses on demand: cap_bpf, cap_perfmon,
 * cap_sys_ptrace, cap_dac_read_search and cap_checkpoint_restore.
 */
#ifndef PPROFD_CAPS_H
#define PPROFD_CAPS_H

/* Drops every other capability from the permitted, effective, inheritable,
 * ambient and (given cap_setpcap) bounding sets, and sets no_new_privs.
 * Does nothing when there is nothing to drop. 0 or -errno (logged). */
int caps__drop_unneeded(void);

#endif
