/* SPDX-License-Identifier: MIT */
/* pprofctl's commands that talk to the daemon over its control socket. */
#ifndef PPROFCTL_CTL_H
#define PPROFCTL_CTL_H

/* profile | heap | mutex | block | threads */
int cmd_request(const char *cmd, int argc, char **argv);
int cmd_status(int argc, char **argv);
/* The control socket given before the command (pprofctl --socket PATH
 * COMMAND): a command's own --socket still wins. */
void ctl__set_socket(const char *path);

#endif
