// SPDX-License-Identifier: MIT
/*
 * Capabilities: once started, pprofd keeps only those it uses on demand, in
 * every set, so that a compromised daemon is not all of root. Two raw
 * syscalls (capget, capset) and prctl: libcap would add nothing.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"

#define BIT(c) (1ull << (c))

static const char *const names[] = {
	"chown",
	"dac_override",
	"dac_read_search",
	"fowner",
	"fsetid",
	"kill",
	"setgid",
	"setuid",
	"setpcap",
	"linux_immutable",
	"net_bind_service",
	"net_broadcast",
	"net_admin",
	"net_raw",
	"ipc_lock",
	"ipc_owner",
	"sys_module",
	"sys_rawio",
	"sys_chroot",
	"sys_ptrace",
	"sys_pacct",
	"sys_admin",
	"sys_boot",
	"sys_nice",
	"sys_resource",
	"sys_time",
	"sys_tty_config",
	"mknod",
	"lease",
	"audit_write",
	"audit_control",
	"setfcap",
	"mac_override",
	"mac_admin",
	"syslog",
	"wake_alarm",
	"block_suspend",
	"audit_read",
	"perfmon",
	"bpf",
	"checkpoint_restore",
};

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n >= 0 && n < 64 ? n : CAP_CHECKPOINT_RESTORE;
}

/*
 * What is used after start-up, on demand (requests, heap probes, processes
 * that start later):
 *  - bpf, perfmon: BPF programs loaded and attached, perf events opened;
 *  - sys_ptrace: /proc/PID/maps, /proc/PID/root of other users' processes,
 *    perf events on their threads;
 *  - dac_read_search: binaries and debug files that root's uid alone may not
 *    read (mode 0700, in 0700 home directories);
 *  - checkpoint_restore: /proc/PID/map_files (deleted or replaced binaries).
 * A kernel without bpf and perfmon (before 5.8) or checkpoint_restore
 * (before 5.9) wants sys_admin for the same.
 */
static uint64_t keep_mask(int last)
{
	uint64_t keep = BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH);

	if (last >= CAP_CHECKPOINT_RESTORE)
		keep |= BIT(CAP_BPF) | BIT(CAP_PERFMON) | BIT(CAP_CHECKPOINT_RESTORE);
	else
		keep |= BIT(CAP_SYS_ADMIN);
	return keep;
}

static void list(char *buf, size_t len, uint64_t set, int last)
{
	size_t n = 0;

	buf[0] = 0;
	for (int c = 0; c <= last && n < len; c++) {
		if (!(set & BIT(c)))
			continue;
		if (c < (int)(sizeof(names) / sizeof(names[0])))
			n += snprintf(buf + n, len - n, "%scap_%s", n ? "," : "", names[c]);
		else
			n += snprintf(buf + n, len - n, "%scap_%d", n ? "," : "", c);
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

int caps__drop_unneeded(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t perm, eff, inh, keep, drop;
	int last = last_cap(), left_in_bset = 0;
	char kept[256], gone[1024];

	keep = keep_mask(last);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	perm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	eff = data[0].effective | (uint64_t)data[1].effective << 32;
	inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;

	/* nothing execs here: no privilege may come back through an exec */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* The bounding set needs cap_setpcap; without it (under the unit) it
	 * is what systemd left already. */
	for (int c = 0; c <= last; c++) {
		if (keep & BIT(c) || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1)
			continue;
		if (!(eff & BIT(CAP_SETPCAP)) || prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			left_in_bset++;
	}
	drop = (perm | inh) & ~keep;
	if (!drop) {
		log_debug("capabilities: none to drop");
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		data[i].permitted = (perm & keep) >> (32 * i);
		data[i].effective = (eff & keep) >> (32 * i);
		data[i].inheritable = (inh & keep) >> (32 * i);
	}
	if (syscall(SYS_capset, &hdr, data) < 0) {
		int err = errno;

		log_warn("capabilities: cannot drop those not needed after start-up: %s",
			 strerror(err));
		return -err;
	}
	list(kept, sizeof(kept), perm & keep, last);
	list(gone, sizeof(gone), drop, last);
	log_info("capabilities: keeping %s; dropped %s", kept, gone);
	if (left_in_bset)
		log_debug("capabilities: %d left in the bounding set (no cap_setpcap)",
			  left_in_bset);
	return 0;
}
