#!/usr/bin/env bash
# asan: yes
# C++ operator new/delete under jemalloc and tcmalloc (SPEC §4 heap): those
# libraries implement new and delete without going through their malloc and
# free, so the sampler probes the operators they export too. heap_cxx (new
# char[4096], new Obj and nothrow new, new of an over-aligned type; deleted
# in part) runs with LD_PRELOAD=libjemalloc.so.2, then
# libtcmalloc_minimal.so.4:
#  1. heapprobe: probes at emulated instructions (slow=0), each site within
#     10 % (in-use 15 %) with the site as the first frame and main as the
#     next, each new counted once (jemalloc's aligned new calls its
#     aligned_alloc: nested, skipped);
#  2. the daemon: `pprofctl heap`, read by go tool pprof, gives the same
#     per-site alloc_space within 10 % and inuse_space within 15 %.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock
HP=$ROOT/$BUILD/tools/heapprobe
[ -x "$HP" ] || HP=$ROOT/build/tools/heapprobe
[ -x "$HP" ] || fail "heapprobe not built (make build/tools/heapprobe)"
[ -x "$WL/heap_cxx" ] || fail "workload heap_cxx not built"
RATE=32768        # ~2k samples for the smallest site: ~2.2 % standard error
ALIGNED=$((16 << 10)) # aligned news: each runs its return half (nested skip)

# start_wl LIB: heap_cxx paused on a fifo (fd 3 releases it), pid in WPID.
start_wl() {
	rm -f "$T/go" && mkfifo "$T/go"
	exec 3<>"$T/go"
	LD_PRELOAD=$1 "$WL/heap_cxx" <"$T/go" >"$T/wl.out" 2>&1 &
	WPID=$!
	for _ in $(seq 100); do grep -q ready "$T/wl.out" && break; sleep 0.05; done
	grep -q ready "$T/wl.out" || fail "$1: workload did not start"
}

for lib in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
	ldconfig -p | grep -q "^[[:space:]]*$lib " ||
		fail "$lib not installed (make deps: libjemalloc2, libtcmalloc-minimal4)"
	base=${lib%%.so*}

	# 1. heapprobe
	start_wl "$lib"
	"$HP" --pid "$WPID" --rate $RATE --verbose >"$T/hp.out" 2>"$T/hp.err" &
	HPID=$!
	for _ in $(seq 100); do grep -q attached "$T/hp.out" && break; sleep 0.1; done
	grep -q "attached .*/$base\.so[^ ]* slow=0" "$T/hp.out" ||
		{ cat "$T/hp.out" "$T/hp.err"; kill "$WPID" "$HPID"; fail "$lib: not probed, or single-stepped"; }
	echo go >&3; exec 3>&-
	wait "$WPID" || fail "$lib: workload failed"
	wait "$HPID" || { cat "$T/hp.err"; fail "$lib: heapprobe failed"; }
	echo "== $lib"
	grep -E '^attached|^counter' "$T/hp.out"
	grep -E 'heap: pid [0-9]+: ' "$T/hp.err" | sed 's/.*heap: pid [0-9]*: /probe: /'
	python3 "$ROOT/tests/e2e/heap_sites_check.py" "$T/wl.out" "$T/hp.out" 1000 $ALIGNED ||
		fail "$lib: heap totals (heapprobe)"
	ok "$lib: heapprobe: sites within 10 % (in-use 15 %), first frame the site, each new once"

	# 2. pprofctl heap through the daemon, read by go tool pprof
	if [ -z "$DAEMON_PID" ]; then
		echo "heap_sample_bytes = 32K" >"$T/pprofd.conf"
		"$PPROFD" --config "$T/pprofd.conf" --output-dir "$T/profiles" --socket "$SOCK" \
			--no-http --interval 600 >"$T/daemon.log" 2>&1 &
		DAEMON_PID=$!
		for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	fi
	start_wl "$lib"
	"$CTL" heap --pid "$WPID" --seconds 120 --socket "$SOCK" -o "$T/heap.pb.gz" &
	REQ=$!
	for _ in $(seq 100); do grep -q "heap: profiling pid $WPID " "$T/daemon.log" && break; sleep 0.1; done
	grep "heap: profiling pid $WPID " "$T/daemon.log" | grep -q "/$base\.so" ||
		{ tail "$T/daemon.log"; kill "$WPID"; fail "$lib: the daemon did not probe $base"; }
	echo go >&3; exec 3>&-
	wait "$REQ" || fail "$lib: request failed: $(tail -3 "$T/daemon.log")"
	wait "$WPID" || fail "$lib: workload failed"
	for idx in alloc_space inuse_space; do
		pprof -sample_index=$idx -top -nodecount=100 "$T/heap.pb.gz" 2>/dev/null >"$T/top.txt"
		PYTHONPATH="$ROOT/tests/e2e" python3 - "$T/wl.out" "$T/top.txt" "$idx" <<'PY' || fail "$lib: $idx: sites off (see above)"
import sys, pprof_raw
truth, got = pprof_raw.site_truth(sys.argv[1]), pprof_raw.top_bytes(sys.argv[2])
idx, bad = sys.argv[3], 0
field, tol = ("alloc", 0.10) if idx == "alloc_space" else ("inuse", 0.15)
for site, t in truth.items():
    want, have = t[field], got.get(site, 0)
    ok = abs(have - want) <= tol * want if want else have < 0.02 * t["alloc"]
    print(f"{idx} {site}: true {want/2**20:.1f} MiB, profile {have/2**20:.1f} MiB {'ok' if ok else 'OFF'}")
    bad += not ok
sys.exit(bad)
PY
	done
	ok "$lib: pprofctl heap: sites within 10 % (alloc_space) and 15 % (inuse_space)"
done
stop_daemon
