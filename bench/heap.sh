#!/usr/bin/env bash
# Heap profiling cost (SPEC §6), every figure against a baseline or a peer
# in the same run:
#   a. ns per malloc(64)+free pair in one process: no probes, pprofd's heap
#      probes (tests/tools/heapprobe, the daemon's heap sampler), a bpftrace
#      script of entry uprobes on malloc+free, and no probes again.
#      Target: <= 1 us added.
#   b. BPF time per run of pprofd's two programs (the malloc session program
#      and the free program) during (a), from kernel.bpf_stats_enabled.
#   c. slowdown of allocation-heavy programs: no profiler, pprofd's heap
#      probes at the default 512 KiB rate, heaptrack, the bpftrace script
#      (alternating rounds; median/min/max), on
#      c1. bench/alloc_tree.c: a tree of 16 B..4 KiB nodes, inserts, deletes,
#          reallocs by recursive descent (the allocator ~20 frames deep);
#      c2. bench/alloc_heavy.c: the same operations on a hash table, the
#          allocator called from main's callee: the shallow, fast extreme,
#          where a profiler's fixed cost per call weighs most and an
#          unwinder's cost per frame least;
#      c3. a real program: clang++ -O2 compiling bench/alloc_clang.cc
#          (bench/clang_job.sh; no bpftrace row: it would take minutes).
#      Target: below heaptrack's slowdown.
#   d. the floor under (a) and (c): one uprobe hit (bpftrace, counting) on
#      an emulated `push` (where the heap probes sit) and on a 5-byte nop
#      (which kernel 6.18 turns into a call, no trap), against no probe.
# kernel.bpf_stats_enabled is on only while (b) and one extra untimed run
# of (c) are counted; it is restored at exit.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
N=${PAIRS:-2000000}       # pairs per measurement (bpftrace: N/20)
OPS=${OPS:-20000000}      # alloc_heavy operations per run, ~3 s unprofiled (bpftrace: OPS/50)
TREE_OPS=${TREE_OPS:-5000000} # alloc_tree operations per run, ~3 s unprofiled
HEAP_ROUNDS=${HEAP_ROUNDS:-3}
T=$(mktemp -d /tmp/pprofd-heapbench.XXXXXX)
MP= HP= BT= AHP=
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	for p in $HP $BT; do kill "$p" 2>/dev/null; done
	for p in $MP $AHP; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	sysctl -q kernel.bpf_stats_enabled="$STATS0"
	rm -rf "$T"
}
trap cleanup EXIT

LIBC=/lib/x86_64-linux-gnu/libc.so.6
BT_PROG="uprobe:$LIBC:malloc { @m = count(); } uprobe:$LIBC:free { @f = count(); }"

gcc -O2 -g -fno-omit-frame-pointer bench/malloc_pair.c -o "$T/malloc_pair" || exit 1
gcc -O2 -g -fno-omit-frame-pointer bench/alloc_heavy.c -o "$T/alloc_heavy" || exit 1
gcc -O2 -g -fno-omit-frame-pointer bench/alloc_tree.c -o "$T/alloc_tree" || exit 1
gcc -O2 bench/uprobe_hit.c -o "$T/uprobe_hit" || exit 1
[ -x "$BUILD/tools/heapprobe" ] || { echo "  ($BUILD/tools/heapprobe missing: make $BUILD/tools/heapprobe)"; exit 1; }
HAVE_BT=; command -v bpftrace >/dev/null && HAVE_BT=1
HAVE_HT=; command -v heaptrack >/dev/null && HAVE_HT=1
[ -n "$HAVE_BT" ] || echo "  (bpftrace not installed: apt-get install bpftrace; its rows read nan)"
[ -n "$HAVE_HT" ] || echo "  (heaptrack not installed: apt-get install heaptrack; its row reads nan)"

wait_for() { # file pattern
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "  timed out waiting for '$2' in $1"; cat "$1"; return 1
}
# Ids of the loaded BPF programs named heap_alloc or heap_free, "name:id" a
# line (other processes may have pprofd's programs loaded too: ours are the
# ones that appear after heapprobe starts).
heap_prog_ids() {
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") in ("heap_alloc", "heap_free"):
        print(p["name"] + ":" + str(p["id"]))'
}
. bench/lib.sh # prog_stats
# start_heapprobe PID: attaches (HP set), sets ALLOC_ID and FREE_ID
start_heapprobe() {
	local before
	before=$(heap_prog_ids)
	"$BUILD/tools/heapprobe" --pid "$1" >"$T/hp.out" 2>&1 &
	HP=$!
	wait_for "$T/hp.out" attached || exit 1
	ALLOC_ID= FREE_ID=
	while IFS=: read -r name id; do
		grep -qx "$name:$id" <<<"$before" && continue
		[ "$name" = heap_alloc ] && ALLOC_ID=$id
		[ "$name" = heap_free ] && FREE_ID=$id
	done < <(heap_prog_ids)
}
stop_heapprobe() { kill -INT "$HP" 2>/dev/null; wait "$HP"; HP=; }  # it may have seen the target exit
start_bpftrace() { # PID
	bpftrace -p "$1" -e "$BT_PROG" >"$T/bt.out" 2>&1 &
	BT=$!
	wait_for "$T/bt.out" Attaching || exit 1
	sleep 0.5
}
stop_bpftrace() { kill -INT "$BT"; wait "$BT"; BT=; }

echo "  -- a. malloc(64)+free pair, one process"
sysctl -q kernel.bpf_stats_enabled=0
coproc MPC { exec "$T/malloc_pair"; }
MP=$MPC_PID
read -r _ pid <&"${MPC[0]}"
# run N: one measurement, ns/pair (best of 3 runs, to shed scheduling noise)
run() {
	local best=
	for _ in 1 2 3; do
		echo "$1" >&"${MPC[1]}"
		read -r _ v _ <&"${MPC[0]}"   # seconds, ns per pair, checksum
		best=$(python3 -c "print(min(float('$v'), float('${best:-1e18}')))")
	done
	echo "$best"
}

run "$N" >/dev/null   # warm up
base=$(run "$N")

start_heapprobe "$pid"
pp=$(run "$N")
# b: the same again with BPF statistics on (they cost two clock reads a run,
# so the timed figures above and in c are taken with them off)
sysctl -q kernel.bpf_stats_enabled=1
read ac0 an0 < <(prog_stats "$ALLOC_ID"); read fc0 fn0 < <(prog_stats "$FREE_ID")
pp_stats=$(run "$N")
read ac1 an1 < <(prog_stats "$ALLOC_ID"); read fc1 fn1 < <(prog_stats "$FREE_ID")
sysctl -q kernel.bpf_stats_enabled=0
stop_heapprobe
cp "$T/hp.out" "$T/hp.pair.out"

if [ -n "$HAVE_BT" ]; then
	start_bpftrace "$pid"
	bt=$(run $((N / 20)))
	stop_bpftrace
else
	bt=nan
fi
base2=$(run "$N")
echo 0 >&"${MPC[1]}"
wait "$MP" 2>/dev/null; MP=

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
grep -E '^counter (alloc_calls|free_calls|sampled|returns|drop_ringbuf) ' "$T/hp.pair.out" | sed 's/^/    /'

echo "  -- b. BPF time per program run during the pprofd pairs (kernel.bpf_stats_enabled=1)"
python3 - "$ac0" "$an0" "$ac1" "$an1" "$fc0" "$fn0" "$fc1" "$fn1" "$pp_stats" <<'PY'
import sys
ac0, an0, ac1, an1, fc0, fn0, fc1, fn1 = map(int, sys.argv[1:9])
a, f = ac1 - ac0, fc1 - fc0
print(f"    (ns per pair with the statistics on: {float(sys.argv[9]):.1f})")
print(f"    heap_alloc (uprobe session on malloc: entry, + return when sampled) "
      f"{(an1 - an0) / max(a, 1):6.1f} ns/run over {a} runs")
print(f"    heap_free  (uprobe on free)                                         "
      f"{(fn1 - fn0) / max(f, 1):6.1f} ns/run over {f} runs")
PY

# ah_run OPS [command prefix...]: one fresh $WL process (alloc_heavy or
# alloc_tree), optionally under a command (heaptrack) or with a profiler
# attached by PROFILER (heapprobe|bpftrace) before the timed work; prints
# its ns per operation.
ah_run() {
	local ops=$1 line pid; shift
	if [ "$WL" = clang_job ]; then
		coproc AH { exec bench/clang_job.sh "$T" "$@" 2>&1; }
	else
		coproc AH { exec "$@" "$T/$WL" 2>&1; }
	fi
	AHP=$AH_PID
	while read -r line <&"${AH[0]}"; do
		case $line in ready\ *) pid=${line#ready }; break ;; esac
	done
	case ${PROFILER:-} in
	heapprobe) start_heapprobe "$pid"
		[ -n "${STATS:-}" ] && sysctl -q kernel.bpf_stats_enabled=1
		read ac0 an0 < <(prog_stats "$ALLOC_ID"); read fc0 fn0 < <(prog_stats "$FREE_ID") ;;
	bpftrace) start_bpftrace "$pid" ;;
	esac
	echo "$ops" >&"${AH[1]}"
	while read -r line <&"${AH[0]}"; do
		[[ $line =~ ^[0-9.]+\ [0-9.]+\ [0-9]+$ ]] && break
	done
	case ${PROFILER:-} in
	heapprobe)
		read ac1 an1 < <(prog_stats "$ALLOC_ID"); read fc1 fn1 < <(prog_stats "$FREE_ID")
		sysctl -q kernel.bpf_stats_enabled=0
		[ -n "${STATS:-}" ] && echo "$((ac1 - ac0)) $((an1 - an0)) $((fc1 - fc0)) $((fn1 - fn0))" >"$T/ah.bpfstats"
		stop_heapprobe ;;
	bpftrace) stop_bpftrace ;;
	esac
	echo 0 >&"${AH[1]}"
	wait "$AHP" 2>/dev/null; AHP=
	set -- $line
	echo "$2"
}
# workload NAME OPS: the alternating rounds of section c on one workload
workload() {
	local WL=$1 ops=$2 r
	local -a none=() pp=() ht=() bt=()
	ah_run $((ops / 10 > 0 ? ops / 10 : 1)) >/dev/null   # warm up
	for r in $(seq "$HEAP_ROUNDS"); do
		none+=("$(ah_run "$ops")")
		pp+=("$(PROFILER=heapprobe ah_run "$ops")")
		if [ -n "$HAVE_HT" ]; then ht+=("$(ah_run "$ops" heaptrack -o "$T/ht.$r")"); else ht+=(nan); fi
		if [ -n "$HAVE_BT" ] && [ $((ops / 50)) -gt 0 ]; then bt+=("$(PROFILER=bpftrace ah_run $((ops / 50)))"); else bt+=(nan); fi
	done
	STATS=1 PROFILER=heapprobe ah_run $((ops / 4 > 0 ? ops / 4 : 1)) >/dev/null   # untimed: BPF statistics on
	python3 - "${none[*]}" "${pp[*]}" "${ht[*]}" "${bt[*]}" "$T/ah.bpfstats" "$ops" <<'PY'
import statistics as st, sys
none, pp, ht, bt = ([float(x) for x in a.split()] for a in sys.argv[1:5])
ops = int(sys.argv[6])
base = st.median(none)
def row(name, xs):
    r = [x / base for x in xs]
    print(f"    {name:34s} {st.median(xs):8.1f} ns/op ({st.median(xs) * ops / 1e9:6.2f} s)  slowdown median {st.median(r):6.2f}x  min {min(r):6.2f}  max {max(r):6.2f}")
row("no profiler", none)
row("pprofd heap probes (512 KiB rate)", pp)
row("heaptrack", ht)
if bt[0] == bt[0]:
    row(f"bpftrace uprobes malloc+free (*)", bt)
    print(f"    (*) {ops // 50} ops a run, time scaled to {ops}")
if ht[0] == ht[0]:
    print(f"    pprofd's slowdown {st.median(pp) / base:.2f}x vs heaptrack's {st.median(ht) / base:.2f}x (target: below heaptrack's)")
ac = an = fc = fn = 0
for l in open(sys.argv[5]):
    a, b, c, d = map(int, l.split()); ac += a; an += b; fc += c; fn += d
print(f"    BPF time under pprofd (one more run of {max(ops // 4, 1)} ops, statistics on): heap_alloc {an / max(ac, 1):.1f} ns/run over {ac} runs, heap_free {fn / max(fc, 1):.1f} ns/run over {fc} runs")
PY
}
echo "  -- c. allocation-heavy workloads ($HEAP_ROUNDS alternating rounds each)"
echo "   c1. bench/alloc_tree.c: a search tree, recursive descent (allocator ~20 frames deep), $TREE_OPS ops"
workload alloc_tree "$TREE_OPS"
echo "   c2. bench/alloc_heavy.c: a hash table, the allocator called from main's callee (the shallow extreme), $OPS ops"
workload alloc_heavy "$OPS"
echo "   c3. a real program: clang++ -O2 compiling bench/alloc_clang.cc (bench/clang_job.sh), one compile a run"
workload clang_job 1

echo "  -- d. one uprobe hit by the probed instruction (bpftrace counting; ns per call, best of 3)"
# hit KIND [probe]: ns per call of uprobe_hit KIND, with a bpftrace uprobe on
# its function when asked
hit() {
	local best= v p b
	for _ in 1 2 3; do
		if [ -n "${2:-}" ] && [ -n "$HAVE_BT" ]; then
			"$T/uprobe_hit" "$1" 2000000 2 >"$T/hit.out" & p=$!
			bpftrace -p "$p" -e "uprobe:$T/uprobe_hit:${1}_entry { @c = count(); }" >/dev/null 2>&1 & b=$!
			wait "$p"; kill -INT "$b" 2>/dev/null; wait "$b" 2>/dev/null
		elif [ -n "${2:-}" ]; then
			echo nan >"$T/hit.out"
		else
			"$T/uprobe_hit" "$1" 20000000 0 >"$T/hit.out"
		fi
		v=$(cat "$T/hit.out")
		best=$(python3 -c "print(min(float('$v'), float('${best:-1e18}')))")
	done
	echo "$best"
}
python3 - "$(hit push)" "$(hit push probe)" "$(hit nop5)" "$(hit nop5 probe)" <<'PY'
import sys
p0, p1, n0, n1 = map(float, sys.argv[1:5])
print(f"    push %rbp (emulated after an int3 trap)   {p1 - p0:7.1f} ns a hit")
print(f"    5-byte nop (6.18: a call, no trap)         {n1 - n0:7.1f} ns a hit ({(p1 - p0) / (n1 - n0):.1f}x less)")
print("    (the allocators' entry points have no 5-byte nop: every heap probe is a trapped hit)")
PY
