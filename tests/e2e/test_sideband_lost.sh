#!/usr/bin/env bash
# asan: yes
# A process's exit lost with the side-band records (issue 11): the daemon is
# stopped (SIGSTOP), short-lived threads overflow the side-band rings, then a
# requested process exits, so its exit record is lost for certain. After SIGCONT the loss is counted and logged, /proc tells that the
# process is gone, and the request ends with what it collected, saying the
# process exited, instead of waiting for its 60 s.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
start_daemon --interval 600

"$WL/cpu_shares" 60 >"$T/wl.out" &
W=$!
"$CTL" profile --pid "$W" --seconds 60 --socket "$T/pprofd.sock" -o "$T/req.pb.gz" 2>"$T/req.err" &
REQ=$!
wait_active 1
sleep 1 # samples of alpha

kill -STOP "$DAEMON_PID"
flood_sideband
kill "$W" # its exit finds the rings full
wait "$W" 2>/dev/null
kill -CONT "$DAEMON_PID"
wait $REQ || fail "the request failed: $(cat "$T/req.err")"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
stop_daemon

# (the kernel counts the lost records only with its next record on that CPU)
lost=$(awk '$1 == "sideband_records_lost" {print $2}' "$T/status.txt")
grep -q "side-band: a ring was full" "$T/daemon.log" || fail "the full ring was not seen, or not logged"
pprof -comments "$T/req.pb.gz" 2>/dev/null | grep -q "the process exited during the request" ||
	{ pprof -comments "$T/req.pb.gz"; fail "the request did not end at the process's exit"; }
pprof -top "$T/req.pb.gz" 2>/dev/null | grep -q ' alpha$' || fail "the request's profile lacks alpha"
ok "exit lost with the side-band records (${lost:-?} counted so far): found in /proc, the request ended with alpha's samples"
