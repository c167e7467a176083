#!/usr/bin/env bash
# asan: yes
# The table unwinder (unwind_tables = true, issue 13): cpu_deep, built -O2
# -fomit-frame-pointer, spins 61 frames below main (descend x 61, 3.5 KiB
# of stack: seven times the 512-byte copy the stack-copy path unwinds).
# Walked in BPF frame by frame from its .eh_frame rows, >= 99 % of the
# samples reach main through every descend frame (the first samples, before
# the process's entry is made, may take the copy path); pprofctl status
# counts the walks; the same program under the stack-copy path alone does
# not reach main.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
DEPTH=60

# share_reaching FILE: % of the samples with main below DEPTH+1 descend frames
share_reaching() {
	pprof -traces "$1" 2>/dev/null | python3 -c '
import re, sys
depth = int(sys.argv[1])
total = whole = 0
for block in sys.stdin.read().split("-----------+")[1:]:
    lines = [l for l in block.splitlines() if l.strip()]
    frames, value = [], None
    for l in lines:
        m = re.match(r"\s+([0-9.]+)(ms|s|us|ns)\s+(\S+)", l)
        if m and value is None:
            unit = {"s": 1e3, "ms": 1, "us": 1e-3, "ns": 1e-6}[m.group(2)]
            value = float(m.group(1)) * unit
            frames.append(m.group(3))
        elif value is not None:
            frames.append(l.split()[0])
    if value is None:
        continue
    total += value
    if frames.count("descend") >= depth + 1 and "main" in frames:
        whole += value
print("%.1f" % (100 * whole / total if total else 0))
' "$DEPTH"
}

printf 'unwind_tables = true\n' >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600
# The request starts once the process has run 3 s (its entry is made at its
# first samples, its tables loaded in the CFI cache's thread, behind those
# of every process on the host at pprofd's start: those first samples take
# the copy path, which is what the counters say).
"$WL/cpu_deep" 8 "$DEPTH" >"$T/wl.out" &
pid=$!
sleep 2.7
cpu_request_pid $pid
share=$(share_reaching "$T/c.pb.gz")
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
grep unwind_ "$T/status.txt"
python3 -c "import sys; sys.exit(0 if float('$share') >= 99 else 1)" ||
	{ pprof -traces "$T/c.pb.gz" 2>/dev/null | head -40; fail "only $share % of the samples reach main through $((DEPTH + 1)) descend frames"; }
whole=$(awk '$1 == "unwind_walks_whole" {print $2}' "$T/status.txt")
[ "${whole:-0}" -gt 0 ] || fail "no walk counted whole"
ok "table walks: $share % of the samples reach main through $((DEPTH + 1)) frames without frame pointers ($whole walks whole)"
stop_daemon

# The stack-copy path alone (the default today): the copy ends long before main.
start_daemon --interval 600
"$WL/cpu_deep" 3 "$DEPTH" >"$T/wl.out" &
cpu_request_pid $!
share=$(share_reaching "$T/c.pb.gz")
python3 -c "import sys; sys.exit(0 if float('$share') < 50 else 1)" ||
	fail "the stack-copy path reached main in $share % of the samples: this test does not test the walker"
ok "without it: $share %"
stop_daemon
