#!/usr/bin/env bash
# asan: yes
# Code run from a memfd (a program exec'd from one, as sandboxes and
# container runtimes do: /proc/PID/maps says "/memfd:NAME (deleted)"):
# no file on disk holds it, so its mapping is named "[memfd:NAME ...]",
# which pprof knows not to open, and pprof reads the profile without a
# warning (it warned "Local symbolization failed for memfd:...").
. "$(dirname "$0")/lib.sh"
start_daemon --interval 600

python3 - "$WL/cpu_shares" >"$T/wl.out" <<'PY' &
import os, sys
fd = os.memfd_create("pprofd-test", 0)
with open(sys.argv[1], "rb") as f:
    os.write(fd, f.read())
os.execv(f"/proc/self/fd/{fd}", ["cpu_shares", "2"])
PY
cpu_request_pid $!
sed -n '/^Mappings/,$p' "$T/raw.txt" | grep -q '\[memfd:pprofd-test' ||
	{ sed -n '/^Mappings/,$p' "$T/raw.txt"; fail "no mapping named [memfd:pprofd-test ...]"; }
! sed -n '/^Mappings/,$p' "$T/raw.txt" | grep -q ' /memfd:' || fail "a mapping is still named /memfd:..."
ok "the memfd's code is in a mapping named [memfd:...], and pprof reads it without a warning"
stop_daemon
