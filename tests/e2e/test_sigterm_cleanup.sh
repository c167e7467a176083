#!/usr/bin/env bash
# SIGTERM in the middle of a window writes the partial window as a complete
# file, and leaves no BPF program or perf event behind.
. "$(dirname "$0")/lib.sh"

before=$(bpftool prog list | grep -c on_cpu_sample)
start_daemon --interval 600 --frequency 99
during=$(bpftool prog list | grep -c on_cpu_sample)
[ "$during" -gt "$before" ] || fail "no on_cpu_sample BPF program while running"
nperf=$(bpftool perf list 2>/dev/null | grep -c "pid $DAEMON_PID " || true)
"$WL/cpu_shares" 2 >"$T/wl.out"
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
dpid=$DAEMON_PID
stop_daemon
f=$(profiles_of "$pid")
[ -n "$f" ] || fail "no partial-window profile after SIGTERM"
gzip -t $f || fail "partial-window profile is incomplete"
pprof -top $f 2>/dev/null | grep -q alpha || fail "partial-window profile lacks alpha"
after=$(bpftool prog list | grep -c on_cpu_sample)
[ "$after" -eq "$before" ] || fail "BPF programs left behind: before $before, after $after"
left=$(bpftool perf list 2>/dev/null | grep -c "pid $dpid " || true)
[ "$left" -eq 0 ] || fail "$left perf events of pprofd left behind"
ok "clean exit: $during program(s) and $nperf perf attachments while running, none after"
