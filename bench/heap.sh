#!/usr/bin/env bash
# Heap profiling cost (SPEC §6): ns per malloc(64)+free pair in one process,
# in the same run: no probes, pprofd's heap probes (tests/tools/heapprobe,
# the daemon's heap sampler), a bpftrace script of entry uprobes on
# malloc+free for comparison, and no probes again. Target: <= 1 us added.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
N=${PAIRS:-2000000}       # pairs per measurement (bpftrace: N/20)
T=$(mktemp -d /tmp/pprofd-heapbench.XXXXXX)
MP= HP= BT=
cleanup() {
	for p in $HP $BT; do kill "$p" 2>/dev/null; done
	[ -n "$MP" ] && kill "$MP" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

gcc -O2 -g -fno-omit-frame-pointer bench/malloc_pair.c -o "$T/malloc_pair" || exit 1
[ -x "$BUILD/tools/heapprobe" ] || { echo "  ($BUILD/tools/heapprobe missing: make $BUILD/tools/heapprobe)"; exit 1; }

coproc MPC { exec "$T/malloc_pair"; }
MP=$MPC_PID
read -r _ pid <&"${MPC[0]}"
# run N: one measurement, ns/pair (best of 3 runs, to shed scheduling noise)
run() {
	local best=
	for _ in 1 2 3; do
		echo "$1" >&"${MPC[1]}"
		read -r v <&"${MPC[0]}"
		best=$(python3 -c "print(min(float('$v'), float('${best:-1e18}')))")
	done
	echo "$best"
}
wait_for() { # file pattern
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "  timed out waiting for '$2' in $1"; cat "$1"; return 1
}

run "$N" >/dev/null   # warm up
base=$(run "$N")

"$BUILD/tools/heapprobe" --pid "$pid" >"$T/hp.out" 2>&1 &
HP=$!
wait_for "$T/hp.out" attached || exit 1
pp=$(run "$N")
kill -INT "$HP"; wait "$HP"; HP=

if command -v bpftrace >/dev/null; then
	bpftrace -p "$pid" -e 'uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc { @m = count(); }
		uprobe:/lib/x86_64-linux-gnu/libc.so.6:free { @f = count(); }' >"$T/bt.out" 2>&1 &
	BT=$!
	wait_for "$T/bt.out" Attaching || exit 1
	sleep 0.5
	bt=$(run $((N / 20)))
	kill -INT "$BT"; wait "$BT"; BT=
else
	bt=nan
fi
base2=$(run "$N")
echo 0 >&"${MPC[1]}"

python3 - "$base" "$pp" "$bt" "$base2" <<'PY'
import sys
base, pp, bt, base2 = map(float, sys.argv[1:5])
b = min(base, base2)
print(f"  malloc(64)+free, ns per pair (best of 3 runs each):")
print(f"    no probes                 {base:8.1f}  (again at the end: {base2:.1f})")
print(f"    pprofd heap probes        {pp:8.1f}  added {pp - b:7.1f} ns  (target <= 1000 ns)")
print(f"    bpftrace uprobes malloc+free {bt:5.1f}  added {bt - b:7.1f} ns")
if bt == bt and pp > b:
    print(f"    pprofd's added cost is {(bt - b) / (pp - b):.1f}x lower than bpftrace's")
PY
grep -E '^counter (alloc_calls|free_calls|sampled|returns|drop_ringbuf) ' "$T/hp.out" | sed 's/^/    /'
