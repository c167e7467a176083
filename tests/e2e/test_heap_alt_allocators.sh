#!/usr/bin/env bash
# Heap probes on jemalloc and tcmalloc (SPEC §4 heap: "jemalloc/tcmalloc
# where they are what the process uses"): heap_sites runs with
# LD_PRELOAD=libjemalloc.so.2, then LD_PRELOAD=libtcmalloc_minimal.so.4;
# the sampler probes that library's entry points instead of glibc's, at
# emulated instructions (slow=0), and each site's allocated bytes come out
# within 10 % (in-use within 15 %) with the site function as the first
# frame and main as the next; every allocation call is counted once (none
# twice through the allocators' internal calls between entry points).
. "$(dirname "$0")/lib.sh"
HP=$ROOT/$BUILD/tools/heapprobe
[ -x "$HP" ] || HP=$ROOT/build/tools/heapprobe
[ -x "$HP" ] || fail "heapprobe not built (make build/tools/heapprobe)"
[ -x "$WL/heap_sites" ] || fail "workload heap_sites not built"
RATE=32768   # 4096 samples for the smallest site: ~1.6 % standard error

for lib in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
	ldconfig -p | grep -q "^[[:space:]]*$lib " ||
		fail "$lib not installed (make deps: libjemalloc2, libtcmalloc-minimal4)"
	rm -f "$T/go" && mkfifo "$T/go"
	exec 3<>"$T/go"
	LD_PRELOAD=$lib "$WL/heap_sites" <"$T/go" >"$T/wl.out" 2>&1 &
	WPID=$!
	for _ in $(seq 100); do grep -q ready "$T/wl.out" && break; sleep 0.05; done
	grep -q ready "$T/wl.out" || fail "$lib: workload did not start"
	"$HP" --pid "$WPID" --rate $RATE --verbose >"$T/hp.out" 2>"$T/hp.err" &
	HPID=$!
	for _ in $(seq 100); do grep -q attached "$T/hp.out" && break; sleep 0.1; done
	base=${lib%%.so*}
	grep -q "attached .*/$base\.so[^ ]* slow=0" "$T/hp.out" ||
		{ cat "$T/hp.out" "$T/hp.err"; kill "$WPID" "$HPID"; fail "$lib: not probed, or single-stepped"; }
	echo go >&3; exec 3>&-
	wait "$WPID" || fail "$lib: workload failed"
	wait "$HPID" || { cat "$T/hp.err"; fail "$lib: heapprobe failed"; }
	echo "== $lib"
	grep -E '^attached|^counter' "$T/hp.out"
	grep -E 'heap: pid [0-9]+: ' "$T/hp.err" | sed 's/.*heap: pid [0-9]*: /probe: /'

	# Each call once: entries nested in another (tcmalloc's posix_memalign and
	# valloc reach its memalign) are skipped. Return halves: sampled calls plus
	# every posix_memalign and aligned_alloc (memalign, valloc) call.
	python3 "$ROOT/tests/e2e/heap_sites_check.py" "$T/wl.out" "$T/hp.out" 1000 $((8192 + 65536 + 2048)) ||
		fail "$lib: heap totals"
	ok "$lib: site totals within 10 % (in-use 15 %), first frame the site, each call once"
done
