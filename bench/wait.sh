#!/usr/bin/env bash
# mutex and block profiling cost (SPEC §6), against a baseline or a peer in
# the same run:
#   a. ns per uncontended pthread_mutex_lock+unlock pair (bench/mutex_pair.c):
#      no profiler, a pprofd mutex profile of that process, no profiler again.
#      Target: <= 20 ns added. (An entry uprobe on pthread_mutex_lock: 14 us.)
#   b. a context-switch-heavy workload, pipe ping-pong between two threads
#      (bench/pingpong.c), ns per round trip and the BPF time of pprofd's
#      switch program per run (kernel.bpf_stats_enabled):
#        - no profiler
#        - pprofd's block profile of ANOTHER process: every switch is one
#          the filter turns away. Target <= 0.1 us a switch.
#        - pprofd's block profile of the ping-pong: target <= 1 us of BPF
#          time per switch of the target.
#        - libbpf-tools' offcputime -p PID (it probes every switch).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-20000000}
ROUNDS=${ROUNDS:-200000}
T=$(mktemp -d /tmp/pprofd-waitbench.XXXXXX)
DPID= MP= PP= OC= SL=
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	for p in $OC $MP $PP $SL; do kill "$p" 2>/dev/null; done
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
	wait 2>/dev/null
	sysctl -q kernel.bpf_stats_enabled="$STATS0"
	rm -rf "$T"
}
trap cleanup EXIT

gcc -O2 -pthread bench/mutex_pair.c -o "$T/mutex_pair" || exit 1
gcc -O2 -pthread bench/pingpong.c -o "$T/pingpong" || exit 1
OFFCPUTIME=$(command -v offcputime || ls /usr/sbin/offcputime 2>/dev/null)
[ -n "$OFFCPUTIME" ] || echo "  (libbpf-tools not installed: make bench-deps; its row reads nan)"

# PPROFD_ARGS: more options for the daemon (a --config to compare with)
# shellcheck disable=SC2086
"$BUILD/pprofd" --output-dir "$T/profiles" --socket "$T/sock" --no-http --interval 3600 \
	${PPROFD_ARGS:-} >"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$T/sock" ] && break; sleep 0.1; done
CTL="$BUILD/pprofctl"

# "id" of the loaded BPF program named $1 that appeared after the ids in $2
prog_id() {
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
old = set(sys.argv[2].split())
for p in json.load(sys.stdin):
    if p.get("name") == sys.argv[1] and str(p["id"]) not in old:
        print(p["id"]); break' "$1" "$2"
}
all_ids() { bpftool prog show -j 2>/dev/null | python3 -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))'; }
. bench/lib.sh # prog_stats
# profile KIND PID SECONDS: a request in the background, output discarded
profile() {
	"$CTL" "$1" --pid "$2" --seconds "$3" --socket "$T/sock" -o "$T/$1.pb.gz" >/dev/null 2>&1 &
	REQ=$!
	for _ in $(seq 100); do
		"$CTL" status --socket "$T/sock" | grep -q "requests_active *1" && break
		sleep 0.1
	done
}
# measure COPROC_IN COPROC_OUT N: best of 3
best3() {
	local best= v
	for _ in 1 2 3; do
		echo "$3" >&"$1"
		read -r v <&"$2"
		best=$(python3 -c "print(min(float('$v'), float('${best:-1e18}')))")
	done
	echo "$best"
}

echo "  -- a. uncontended pthread_mutex_lock+unlock pair"
coproc MPC { exec "$T/mutex_pair"; }
MP=$MPC_PID
read -r _ mpid <&"${MPC[0]}"
best3 "${MPC[1]}" "${MPC[0]}" "$PAIRS" >/dev/null # warm up
base=$(best3 "${MPC[1]}" "${MPC[0]}" "$PAIRS")
profile mutex "$mpid" 60
prof=$(best3 "${MPC[1]}" "${MPC[0]}" "$PAIRS")
kill "$REQ" 2>/dev/null; wait "$REQ" 2>/dev/null
sleep 0.5
base2=$(best3 "${MPC[1]}" "${MPC[0]}" "$PAIRS")
python3 - "$base" "$prof" "$base2" <<'PY'
import sys
b, p, b2 = map(float, sys.argv[1:])
ref = (b + b2) / 2
print(f"  no profiler       {b:7.2f} ns/pair")
print(f"  pprofd mutex      {p:7.2f} ns/pair   added {p - ref:+.2f} ns (target <= 20)")
print(f"  no profiler again {b2:7.2f} ns/pair")
PY
kill "$MP"; wait "$MP" 2>/dev/null; MP=

echo "  -- b. pipe ping-pong between two threads (4 switches a round trip)"
coproc PPC { exec "$T/pingpong"; }
PP=$PPC_PID
read -r _ ppid <&"${PPC[0]}"
sleep 1000 &
SL=$!
best3 "${PPC[1]}" "${PPC[0]}" "$ROUNDS" >/dev/null
base=$(best3 "${PPC[1]}" "${PPC[0]}" "$ROUNDS")

# run_with_stats NAME PROG_ID: rounds timed with stats off, then BPF stats
stats_row() { # label rt_ns id
	local c0 n0 c1 n1
	sysctl -q kernel.bpf_stats_enabled=1
	read -r c0 n0 < <(prog_stats "$3")
	best3 "${PPC[1]}" "${PPC[0]}" "$ROUNDS" >/dev/null
	read -r c1 n1 < <(prog_stats "$3")
	sysctl -q kernel.bpf_stats_enabled=0
	python3 - "$1" "$2" "$base" "$c0" "$n0" "$c1" "$n1" <<'PY'
import sys
label, rt, base = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
c0, n0, c1, n1 = map(int, sys.argv[4:])
per = (n1 - n0) / max(c1 - c0, 1)
print(f"  {label:34s} {rt:8.0f} ns/round trip ({rt / base:.3f}x)  BPF {per:6.0f} ns a switch over {c1 - c0} switches")
PY
}
printf '  %-34s %8.0f ns/round trip\n' "no profiler" "$base"

before=$(all_ids)
profile block "$SL" 120
id=$(prog_id on_switch "$before")
other=$(best3 "${PPC[1]}" "${PPC[0]}" "$ROUNDS")
stats_row "pprofd block of another process" "$other" "$id"
kill "$REQ" 2>/dev/null; wait "$REQ" 2>/dev/null
sleep 0.5

profile block "$ppid" 120 # (the same program, loaded once: the id above)
tgt=$(best3 "${PPC[1]}" "${PPC[0]}" "$ROUNDS")
stats_row "pprofd block of the ping-pong" "$tgt" "$id"
kill "$REQ" 2>/dev/null; wait "$REQ" 2>/dev/null
sleep 0.5

if [ -n "$OFFCPUTIME" ]; then
	before=$(all_ids)
	"$OFFCPUTIME" -p "$ppid" 120 >/dev/null 2>&1 &
	OC=$!
	for _ in $(seq 100); do id=$(prog_id sched_switch "$before"); [ -n "$id" ] && break; sleep 0.1; done
	sleep 0.5
	oc=$(best3 "${PPC[1]}" "${PPC[0]}" "$ROUNDS")
	stats_row "libbpf-tools offcputime -p" "$oc" "$id"
	kill -INT "$OC"; wait "$OC" 2>/dev/null; OC=
fi
