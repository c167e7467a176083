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
# Targets: loaded <= 10 ns over plain, attached <= 25 ns.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
N=${N:-20000000}
LIB=$PWD/$BUILD/libpprofd_heap.so
T=$(mktemp -d /tmp/pprofd-bench.XXXXXX)
BT= HP=
cleanup() {
	[ -n "$BT" ] && kill -INT "$BT" 2>/dev/null && wait "$BT" 2>/dev/null
	[ -n "$HP" ] && kill -INT "$HP" 2>/dev/null && wait "$HP" 2>/dev/null
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
	"$BUILD/tools/heapprobe" --pid "$pid" >"$T/hp.out" 2>&1 &
	HP=$!
	for _ in $(seq 100); do grep -q attached "$T/hp.out" && break; sleep 0.1; done
	grep -q "attached .*libpprofd_heap.so" "$T/hp.out" || { cat "$T/hp.out"; exit 1; }
	withpprofd=$(best)
	kill -INT "$HP"
	wait "$HP" 2>/dev/null
	HP=
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
