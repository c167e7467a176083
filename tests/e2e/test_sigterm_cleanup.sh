#!/usr/bin/env bash
# SIGTERM in the middle of a window writes the partial window as a complete
# file, answers a request in progress with what it has collected (and a
# comment saying so), and leaves no BPF program or perf event behind.
. "$(dirname "$0")/lib.sh"

prog_ids() { bpftool prog list | awk '/name on_cpu_sample/ {sub(":", "", $1); print $1}' | sort; }
before=$(prog_ids)
start_daemon --interval 600 --frequency 99
ours=$(comm -13 <(echo "$before") <(prog_ids))
during=$(echo $ours | wc -w)
[ "$during" -gt 0 ] || fail "no on_cpu_sample BPF program loaded by pprofd while running"
nperf=$(ls -l /proc/$DAEMON_PID/fd | grep -c 'perf_event')
[ "$nperf" -gt 0 ] || fail "pprofd holds no perf events while running"
"$WL/cpu_shares" 4 >"$T/wl.out" &
WPID=$!
"$ROOT/$BUILD/pprofctl" profile --pid "$WPID" --seconds 60 --socket "$T/pprofd.sock" \
	-o "$T/req.pb.gz" 2>"$T/req.err" &
CPID=$!
sleep 2
dpid=$DAEMON_PID
stop_daemon
wait "$CPID" || { cat "$T/req.err"; fail "the request in progress was not answered at SIGTERM"; }
pprof -comments "$T/req.pb.gz" 2>/dev/null | grep -q "pprofd stopped during the request" ||
	{ pprof -comments "$T/req.pb.gz"; fail "the partial request profile does not say why it is short"; }
pprof -top "$T/req.pb.gz" 2>/dev/null | grep -q alpha || fail "the partial request profile lacks alpha"
ok "a request in progress at SIGTERM: answered with what it had"
wait "$WPID"
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
f=$(profiles_of "$pid")
[ -n "$f" ] || fail "no partial-window profile after SIGTERM"
gzip -t $f || fail "partial-window profile is incomplete"
pprof -top $f 2>/dev/null | grep -q alpha || fail "partial-window profile lacks alpha"
left=$(comm -12 <(echo "$ours") <(prog_ids) | wc -w)
[ "$left" -eq 0 ] || fail "$left BPF programs of pprofd left behind"
# perf events belong to the process's fds: none may remain open anywhere
for id in $ours; do
	bpftool perf list 2>/dev/null | grep -q "prog_id $id\b" && fail "perf event of program $id left behind"
done
ok "clean exit: $during program(s) and $nperf perf attachments while running, none after"
