#!/usr/bin/env bash
# asan: yes
# CPU samples whose pc is inside libc (no frame pointers on Debian) are
# unwound through it (SPEC §6, stacks): cpu_in_libc spends its time in
# memcpy/memset (called by copy_fn) and strlen/memchr (called by scan_fn);
# the profile must name the callers in the shares the program measured
# (within 10 points) and reach main. A frame-pointer walk alone skips them.
. "$(dirname "$0")/lib.sh"
start_daemon --interval 600

cpu_request cpu_in_libc 5
python3 "$ROOT/tests/e2e/cpu_truth_check.py" "$T/wl.out" "$T/raw.txt" main ||
	fail "the callers of libc are not where they should be"
ok "samples inside libc unwound to their callers and main"
stop_daemon
