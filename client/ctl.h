/* SPDX-License-Identifier: MIT */
/* pprofctl's commands that talk to the daemon over its control socket. */
#ifndef PPROFCTL_CTL_H
#define PPROFCTL_CTL_H

/* profile | heap | mutex | block | threads */
int cmd_request(const char *cmd, int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
