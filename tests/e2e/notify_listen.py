#!/usr/bin/env python3
"""A NOTIFY_SOCKET for tests: the systemd side of sd_notify.

usage: notify_listen.py SOCKET OUT CONTROL_SOCKET DAEMON_LOG
Writes one line per datagram to OUT: "<monotonic seconds> <sender pid>
<message, newlines as |>". On the first READY=1 it stops the sender at once
(SIGSTOP), notes what existed at that moment (the control socket, the
daemon's log lines), and lets it go on (SIGCONT): a line "snapshot socket=0|1
bpf=0|1 listening=0|1". Runs until killed.
"""
import os
import signal
import socket
import struct
import sys
import time

path, out_path, ctl_sock, daemon_log = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
out = open(out_path, "a", buffering=1)
ready_seen = False
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    t = time.monotonic()
    pid = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    text = msg.decode(errors="replace")
    if "READY=1" in text.split("\n") and not ready_seen and pid:
        ready_seen = True
        os.kill(pid, signal.SIGSTOP)
        log = open(daemon_log, errors="replace").read()
        snap = "snapshot socket=%d bpf=%d listening=%d" % (
            os.path.exists(ctl_sock), "cpu: sampling" in log, "profiling every process" in log)
        os.kill(pid, signal.SIGCONT)
        out.write("%.6f %d %s\n" % (t, pid, text.replace("\n", "|")))
        out.write(snap + "\n")
        continue
    out.write("%.6f %d %s\n" % (t, pid, text.replace("\n", "|")))
