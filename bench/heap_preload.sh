#!/usr/bin/env bash
# What libpprofd_heap.so costs a process (SPEC §6): malloc(64)+free pairs
# of one program (bench/malloc_pair.c), ns per pair, best of 3 runs each,
# in the same run of this script:
#   plain       no library
#   loaded      LD_PRELOAD, nobody attached (the semaphores are 0)
#   pprofd      LD_PRELOAD, pprofd's heap sampler attached to its probes
#               (tests/tools/heapprobe: the daemon's sampler, its BPF
#               program taking each sample's stack and tracking its block)
#   bpftrace    LD_PRELOAD, bpftrace attached to pprofd:alloc and
#               pprofd:free (counting: the kernel's uprobe cost alone)
# Then the same from 1 and from 8 threads at once (scaling as without the
# library), and three allocation-heavy programs (bench/alloc_tree.c,
# bench/alloc_heavy.c, and clang++ -O2 compiling bench/alloc_clang.cc
# through bench/clang_job.sh, one compile a run), alternating rounds of no
# library, the library loaded, pprofd attached.
# Targets: loaded <= 10 ns over plain, attached <= 25 ns; the programs
# <= 1.10x with pprofd attached.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
N=${N:-20000000}
LIB=$PWD/$BUILD/libpprofd_heap.so
T=$(mktemp -d /tmp/pprofd-bench.XXXXXX)
BT= HP=
# probe_attach PID: pprofd's sampler (heapprobe) on PID's probes, once it
# says so; probe_detach: off again
probe_attach() {
	"$BUILD/tools/heapprobe" --pid "$1" >"$T/hp.out" 2>&1 &
	HP=$!
	for _ in $(seq 100); do grep -q attached "$T/hp.out" && break; sleep 0.1; done
}
probe_detach() {
	[ -n "$HP" ] && { kill -INT "$HP" 2>/dev/null; wait "$HP" 2>/dev/null; HP=; }
}
cleanup() {
	[ -n "$BT" ] && kill -INT "$BT" 2>/dev/null && wait "$BT" 2>/dev/null
	probe_detach
	rm -rf "$T"
}
trap cleanup EXIT
[ -f "$LIB" ] || { echo "no $LIB: make first"; exit 1; }
gcc -O2 -g bench/malloc_pair.c -o "$T/malloc_pair" || exit 1

# best N: ns per pair of the process on the coprocess, best of 3
best() {
	local b=
	for _ in 1 2 3; do
		echo "$N" >&"${MPC[1]}"
		read -r _ v _ <&"${MPC[0]}"
		b=$(python3 -c "print(min(float('$v'), float('${b:-1e18}')))")
	done
	echo "$b"
}

coproc MPC { exec "$T/malloc_pair"; }
read -r _ _ <&"${MPC[0]}"
best >/dev/null
plain=$(best)
echo 0 >&"${MPC[1]}"
wait "$MPC_PID" 2>/dev/null

coproc MPC { LD_PRELOAD=$LIB exec "$T/malloc_pair"; }
read -r _ pid <&"${MPC[0]}"
best >/dev/null
loaded=$(best)
withpprofd=nan
if [ -x "$BUILD/tools/heapprobe" ]; then
	probe_attach "$pid"
	grep -q "attached .*libpprofd_heap.so" "$T/hp.out" || { cat "$T/hp.out"; exit 1; }
	withpprofd=$(best)
	probe_detach
fi
attached=nan
samples=0
if command -v bpftrace >/dev/null; then
	bpftrace -p "$pid" -e "usdt:$LIB:pprofd:alloc { @alloc = count(); }
		usdt:$LIB:pprofd:free { @free = count(); }" >"$T/bt.out" 2>&1 &
	BT=$!
	for _ in $(seq 100); do grep -q Attaching "$T/bt.out" && break; sleep 0.1; done
	sleep 0.5
	attached=$(best)
	kill -INT "$BT"
	wait "$BT" 2>/dev/null
	BT=
	samples=$(awk '/@alloc:/ {print $2}' "$T/bt.out")
fi
echo 0 >&"${MPC[1]}"
wait "$MPC_PID" 2>/dev/null

# Threads: 1 and 8 at once, plain, loaded, pprofd attached (best of 3 each):
# the library's fast path must scale as the allocator does.
gcc -O2 -g -pthread bench/malloc_threads.c -o "$T/malloc_threads" || exit 1
TN=${TN:-4000000}
mt() { # THREADS plain|loaded|pprofd: ns per pair per thread, best of 3
	local b= v pid
	for _ in 1 2 3; do
		rm -f "$T/go" && mkfifo "$T/go"
		exec 9<>"$T/go"
		if [ "$2" = plain ]; then
			"$T/malloc_threads" "$1" "$TN" wait <"$T/go" >"$T/mt.out" &
		else
			LD_PRELOAD=$LIB "$T/malloc_threads" "$1" "$TN" wait <"$T/go" >"$T/mt.out" &
		fi
		pid=$!
		for _ in $(seq 100); do grep -q ready "$T/mt.out" && break; sleep 0.05; done
		[ "$2" = pprofd ] && probe_attach "$pid"
		echo go >&9
		wait "$pid"
		exec 9>&-
		probe_detach
		v=$(awk '$1 != "ready" {print $2}' "$T/mt.out")
		b=$(python3 -c "print(min(float('$v'), float('${b:-1e18}')))")
	done
	echo "$b"
}
threads=
for mode in plain loaded pprofd; do
	[ "$mode" = pprofd ] && [ ! -x "$BUILD/tools/heapprobe" ] && continue
	threads="$threads $mode:$(mt 1 "$mode"):$(mt 8 "$mode")"
done

# Allocation-heavy programs (bench/heap.sh's c1, c2) and clang.
#  - The library unobserved: no library against the library loaded, ROUNDS
#    alternating rounds of one fresh process each.
#  - pprofd attached: within one process with the library, ROUNDS rounds of
#    a batch unobserved, a batch with pprofd's sampler attached, and a batch
#    with a bare system call as often as the probes fired in the one before
#    (the floor: what entering the kernel alone costs the program here),
#    each against the unobserved batch of its round. A process against
#    itself is steadier than two processes, whose heaps differ by +-15 %.
#  - clang++, one compile a process: ROUNDS alternating rounds of no library,
#    the library loaded, pprofd attached.
# CPU ns per operation (alloc_bench.h), medians.
gcc -O2 -g -fno-omit-frame-pointer bench/alloc_tree.c -o "$T/alloc_tree" || exit 1
gcc -O2 -g -fno-omit-frame-pointer bench/alloc_heavy.c -o "$T/alloc_heavy" || exit 1
ROUNDS=${ROUNDS:-5}
wl_start() { # PROGRAM plain|loaded: its coprocess, started
	if [ "$1" = clang_job ] && [ "$2" = plain ]; then
		coproc WLC { exec bench/clang_job.sh "$T"; }
	elif [ "$1" = clang_job ]; then
		coproc WLC { exec bench/clang_job.sh "$T" env LD_PRELOAD="$LIB"; }
	elif [ "$2" = plain ]; then
		coproc WLC { exec "$T/$1"; }
	else
		coproc WLC { LD_PRELOAD=$LIB exec "$T/$1"; }
	fi
	read -r _ WL_PID <&"${WLC[0]}"
}
wl_batch() { # "OPS [K]": CPU ns per operation of a batch
	local line
	echo "$1" >&"${WLC[1]}"
	read -r line <&"${WLC[0]}"
	set -- $line
	echo "${4:-$2}"
}
wl_stop() {
	echo 0 >&"${WLC[1]}"
	wait "$WLC_PID" 2>/dev/null
}
wl_run() { # PROGRAM OPS plain|loaded|pprofd: ns per operation of a fresh process
	local v
	wl_start "$1" "$([ "$3" = plain ] && echo plain || echo loaded)"
	[ "$3" = pprofd ] && probe_attach "$WL_PID"
	v=$(wl_batch "$2")
	probe_detach
	wl_stop
	echo "$v"
}
# wl_paired PROGRAM OPS: ROUNDS of "unobserved attached floor" batches
wl_paired() {
	local d a f events k out=
	wl_start "$1" loaded
	wl_batch $((($2 + 9) / 10)) >/dev/null # warm up
	for _ in $(seq "$ROUNDS"); do
		d=$(wl_batch "$2")
		probe_attach "$WL_PID"
		a=$(wl_batch "$2")
		probe_detach
		# the kernel entries the probes made: alloc and free hits
		events=$(awk '/^events/ {split($2, x, "="); split($3, y, "="); print x[2] + y[2]}' "$T/hp.out")
		k=$(($2 / (${events:-0} > 0 ? events : 1)))
		f=$(wl_batch "$2 $k")
		out="$out,$d/$a/$f/$events"
	done
	wl_stop
	echo "${out#,}"
}
workloads=
for w in alloc_tree:${TREE_OPS:-2000000} alloc_heavy:${OPS:-8000000} clang_job:1; do
	prog=${w%%:*} ops=${w#*:} runs=
	wl_run "$prog" $(((ops + 9) / 10)) plain >/dev/null # warm up
	for _ in $(seq "$ROUNDS"); do
		for mode in plain loaded pprofd; do
			[ "$mode" = pprofd ] && [ "$prog" != clang_job ] && continue
			[ "$mode" = pprofd ] && [ ! -x "$BUILD/tools/heapprobe" ] && continue
			runs="$runs,$mode=$(wl_run "$prog" "$ops" "$mode")"
		done
	done
	paired=-
	[ "$prog" != clang_job ] && [ -x "$BUILD/tools/heapprobe" ] && paired=$(wl_paired "$prog" "$ops")
	workloads="$workloads $prog:$ops:${runs#,}:$paired"
done

python3 - "$plain" "$loaded" "$attached" "${samples:-0}" "$N" "$withpprofd" <<'PY'
import sys
plain, loaded, attached = (float(x) for x in sys.argv[1:4])
samples, n = int(sys.argv[4]), int(sys.argv[5])
withpprofd = float(sys.argv[6])
print(f"  malloc(64)+free, ns per pair (best of 3 runs of {n:,} pairs):")
print(f"    plain {plain:.1f}   loaded, nobody attached {loaded:.1f} "
      f"(+{loaded - plain:.1f} ns, target <= 10)")
if withpprofd == withpprofd:
    print(f"    pprofd's sampler attached {withpprofd:.1f} (+{withpprofd - plain:.1f} ns, target <= 25)")
if attached == attached:
    print(f"    bpftrace counting pprofd:alloc/free {attached:.1f} "
          f"(+{attached - plain:.1f} ns); {samples} samples in "
          f"{3 * n:,} pairs of 64 B = one per {3 * n * 64 / max(samples, 1) / 1024:.0f} KiB")
PY
python3 - $threads <<'PY'
import sys
print("  malloc(64)+free from 1 and from 8 threads at once (wall ns per pair per thread, best of 3; 2 CPUs here):")
base = None
for arg in sys.argv[1:]:
    mode, one, eight = arg.split(":")
    one, eight = float(one), float(eight)
    r = eight / one
    base = base or r
    print(f"    {mode:7s} 1 thread {one:6.1f}  8 threads {eight:6.1f}  ratio {r:5.2f}  ({r / base:.2f}x plain's)")
PY
for w in $workloads; do echo "$w"; done | python3 -c '
import statistics as st, sys
print("  allocation-heavy programs: CPU ns per operation, medians (slowdown against no library):")
for l in sys.stdin:
    prog, ops, runs, paired = l.strip().split(":", 3)
    by = {}
    for r in runs.split(","):
        m, v = r.split("=")
        by.setdefault(m, []).append(float(v))
    base = st.median(by["plain"])
    loaded = st.median(by["loaded"]) / base
    for m, name in (("plain", "no library"), ("loaded", "library, nobody attached"), ("pprofd", "library + pprofd attached")):
        if m in by:
            xs = by[m]
            print(f"    {prog:11s} {name:27s} {st.median(xs):8.1f} ns/op  {st.median(xs) / base:5.3f}x  (min {min(xs) / base:.3f}, max {max(xs) / base:.3f}, {len(xs)} processes, {ops} ops)")
    if paired == "-":
        continue
    rounds = [[float(x) for x in r.split("/")] for r in paired.split(",")]
    att = [a / d for d, a, f, e in rounds]
    flo = [f / d for d, a, f, e in rounds]
    hits = st.median(e for d, a, f, e in rounds) / int(ops)
    lab = ("pprofd attached, paired", "  so against no library", "floor: bare system calls")
    print(f"    {prog:11s} {lab[0]:27s} {st.median(att):5.3f}x the same process unobserved (min {min(att):.3f}, max {max(att):.3f}, {len(att)} rounds)")
    print(f"    {prog:11s} {lab[1]:27s} {loaded * st.median(att):5.3f}x")
    print(f"    {prog:11s} {lab[2]:27s} {st.median(flo):5.3f}x (min {min(flo):.3f}, max {max(flo):.3f}) at the probes\x27 rate, {hits * 1e6:.0f} kernel entries per million ops")
print("    target: <= 1.10x with pprofd attached")
'
