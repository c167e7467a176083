#!/usr/bin/env bash
# asan: yes
# The table unwinder (unwind_tables, on by default; issue 13): cpu_deep, built -O2
# -fomit-frame-pointer, spins 61 frames below main (descend x 61, 3.5 KiB
# of stack: seven times the 512-byte copy the stack-copy path unwinds).
# Walked in BPF frame by frame from its .eh_frame rows, >= 99 % of the
# samples reach main through every descend frame (the first samples, before
# the process's entry is made, may take the copy path); pprofctl status
# counts the walks; the same program under the stack-copy path alone does
# not reach main. A short-lived process's stacks are walked from its first
# milliseconds.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
DEPTH=60

start_daemon --interval 600
# The request starts once the process has run 3 s (its entry is made at its
# first samples, its tables loaded in the CFI cache's thread, behind those
# of every process on the host at pprofd's start: those first samples take
# the copy path, which is what the counters say).
"$WL/cpu_deep" 8 "$DEPTH" >"$T/wl.out" &
pid=$!
sleep 2.7
cpu_request_pid $pid
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
grep unwind_ "$T/status.txt"
deep_reaching_main "$T/c.pb.gz" 99 "table walks"
whole=$(awk '$1 == "unwind_walks_whole" {print $2}' "$T/status.txt")
[ "${whole:-0}" -gt 0 ] || fail "no walk counted whole"
ok "table walks: $SHARE % of the samples reach main through $((DEPTH + 1)) frames without frame pointers ($whole walks whole)"

# Through a signal frame: SIGPROF's handler interrupts spin anywhere; its
# samples go on from the registers in the ucontext (__restore_rt's row).
"$WL/cpu_deep" 6 "$DEPTH" signal >"$T/wl.out" &
pid=$!
sleep 2.7
cpu_request_pid $pid
in_handler=$(pprof -top -focus=on_signal "$T/c.pb.gz" 2>/dev/null |
	sed -n 's/.*accounting for .*, \([0-9.]*\)% of .*/\1/p' | head -1)
python3 -c "import sys; sys.exit(0 if float('${in_handler:-0}') >= 10 else 1)" ||
	fail "the handler had ${in_handler:-0} % of the samples: this does not test signal frames"
# __restore_rt is a local symbol of libc (unnamed here): the only way from
# the handler to main is through its frame
share=$(share_reaching "$T/c.pb.gz" descend $((DEPTH + 1)) main -- -focus=on_signal)
python3 -c "import sys; sys.exit(0 if float('$share') >= 99 else 1)" ||
	{ pprof -traces -focus=on_signal "$T/c.pb.gz" 2>/dev/null | head -40; fail "only $share % of the handler's samples reach main through the signal frame"; }
ok "signal handler (${in_handler} % of the samples): $share % of its samples reach main through the signal frame and $((DEPTH + 1)) frames"
# A process of a second and a half, from a file pprofd has never seen (a
# compiler's life on a build host): its first sample wakes pprofd, which
# makes its entry and has its table loaded at once, not at its next turn a
# second later: >= 80 % of its samples reach main (before, ~0 %).
cp "$WL/cpu_deep" "$T/cpu_deep_new"
"$T/cpu_deep_new" 1.5 "$DEPTH" >"$T/wl.out" &
pid=$!
"$CTL" profile --pid "$pid" --seconds 10 --hz 499 --socket "$T/pprofd.sock" -o "$T/c.pb.gz" ||
	fail "pprofctl profile failed"
wait "$pid"
deep_reaching_main "$T/c.pb.gz" 80 "short-lived process"
# Before its entry is made, whether its executable keeps a frame pointer is
# not known: its samples take the stack copy (short stacks), never a walk
# through rbp, which here skips the descend frames to a wrong main.
in_spin=$(share_reaching "$T/c.pb.gz" spin 1 main -- -focus='^spin$')
whole=$(share_reaching "$T/c.pb.gz" descend $((DEPTH + 1)) main -- -focus='^spin$')
python3 -c "import sys; sys.exit(0 if $in_spin - $whole <= 0.5 else 1)" ||
	{ pprof -traces -focus='^spin$' "$T/c.pb.gz" 2>/dev/null | head -30; fail "$in_spin % of spin's samples reach main, $whole % through every descend frame: wrong stacks"; }
ok "short-lived process from a new file: $SHARE % of its samples reach main, none by a wrong stack"
stop_daemon

# The stack-copy path alone (unwind_tables = false): the copy ends long before main.
printf 'unwind_tables = false\n' >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600
"$WL/cpu_deep" 3 "$DEPTH" >"$T/wl.out" &
cpu_request_pid $!
share=$(share_reaching "$T/c.pb.gz" descend $((DEPTH + 1)) main)
python3 -c "import sys; sys.exit(0 if float('$share') < 50 else 1)" ||
	fail "the stack-copy path reached main in $share % of the samples: this test does not test the walker"
ok "without it: $share %"
stop_daemon
