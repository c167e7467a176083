#!/usr/bin/env bash
# asan: yes
# Heap profiles through the OpenTelemetry eBPF profiler's probes (issue
# 17): build/libotel_heap.so is libpprofd_heap.so built to fire
# otel_memory:alloc(ptr, size, weighted_bytes) and otel_memory:free(ptr),
# the weight computed in the process. Under a name pprofd knows nothing
# of, it is found by its notes: a request attaches "through the probes of
# .../libotel_heap.so", and heap_target = preloaded attaches a process as
# it maps it (preloaded, or dlopen()ed long after its exec). Each site's
# bytes within 10 % (in use 15 %) and its objects within 10 %, the values
# the process's weights, the library's own frames dropped, the period
# pprofd's default (the process gave no rate) and a comment that says so.
. "$(dirname "$0")/lib.sh"
LIB=$ROOT/$BUILD/libotel_heap.so
[ -f "$LIB" ] || LIB=$ROOT/build/libotel_heap.so
[ -f "$LIB" ] || fail "libotel_heap.so not built (make)"
SITES_ENV="LD_PRELOAD=$LIB PPROFD_HEAP_RATE=32768"

: >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600

# 1. by request
heap_sites_request ctl "$T/heap.pb.gz"
grep -q "heap: profiling pid $WPID through the probes of .*libotel_heap.so" "$T/daemon.log" ||
	fail "pid $WPID was not profiled through libotel_heap.so's probes: $(grep "pid $WPID" "$T/daemon.log")"
ok "found by its notes: profiled through the probes of libotel_heap.so"
# flat bytes by site: the sampler's frames dropped, the weights taken
heap_sites_check "$T/heap.pb.gz" alloc_space alloc 0.10
heap_sites_check "$T/heap.pb.gz" inuse_space inuse 0.15
ok "otel_memory weights: sites within 10 % (in use 15 %), stacks from the caller of malloc"
# objects: weighted_bytes / size a sample (heap_sites' sites allocate 2 Mi
# blocks of 64 bytes, 64 Ki of 4 KiB, 256 of 1 MiB)
pprof -sample_index=alloc_objects -top -nodecount=100 -nodefraction=0 "$T/heap.pb.gz" 2>/dev/null >"$T/objs.txt"
python3 - "$T/objs.txt" <<'PY' || fail "alloc_objects off (see above)"
import sys
got = {f[5]: float(f[0]) for f in (l.split() for l in open(sys.argv[1]))
       if len(f) == 6 and f[0].replace(".", "").isdigit()}
bad = 0
for site, want in (("site_small", 2 << 20), ("site_4k", 64 << 10), ("site_1m", 256)):
    have = got.get(site, 0)
    ok = abs(have - want) <= 0.10 * want
    print(f"alloc_objects {site}: true {want}, profile {have:.0f} {'ok' if ok else 'OFF'}")
    bad += not ok
sys.exit(bad)
PY
ok "alloc_objects within 10 %: each sample weighted_bytes / size objects"
period=$(pprof -raw "$T/heap.pb.gz" 2>/dev/null | sed -n 's/^Period: //p')
[ "$period" = 524288 ] || fail "period $period, want pprofd's default 524288"
pprof -comments "$T/heap.pb.gz" 2>/dev/null | grep -q "weights computed by the process (otel_memory probes)" ||
	fail "no comment on the weights: $(pprof -comments "$T/heap.pb.gz" 2>/dev/null)"
ok "period pprofd's default, a comment says the weights are the process's"

# 2. continuously: heap_target = preloaded attaches a process when it maps
# a file that carries the probes, whatever its name
heap_preloaded_start
echo go >&7
exec 7>&-
wait $CPID || fail "heap_sites failed: $(tail -3 "$T/sites.out")"
# ... and one that loads it long after its exec, by dlopen(): attached at
# that mmap (the side band's), not by a scan
rm -f "$T/fifo4" && mkfifo "$T/fifo4"
python3 -c 'import ctypes, sys
sys.stdin.readline(); ctypes.CDLL(sys.argv[1]); print("loaded", flush=True); sys.stdin.readline()' \
	"$LIB" <"$T/fifo4" >"$T/dl.out" &
DPID=$!
exec 6>"$T/fifo4"
sleep 1
grep -q "continuous heap profiling of pid $DPID " "$T/daemon.log" && fail "pid $DPID attached before it loaded the library"
echo load >&6
for _ in $(seq 100); do grep -q "continuous heap profiling of pid $DPID " "$T/daemon.log" && break; sleep 0.1; done
grep -q "heap: profiling pid $DPID through the probes of .*libotel_heap.so" "$T/daemon.log" ||
	fail "pid $DPID (dlopen()ed libotel_heap.so) was not attached: $(grep "pid $DPID" "$T/daemon.log")"
echo go >&6
exec 6>&-
wait $DPID || fail "the dlopen()ing python3 failed"
ok "heap_target = preloaded: a process that dlopen()s it later attached at that mmap"
stop_daemon
f=$(ls "$T"/profiles/heap_sites-"$CPID"/heap-*.pb.gz 2>/dev/null | tail -1)
[ -n "$f" ] || { ls -R "$T/profiles" | head -20; fail "no heap profile for pid $CPID"; }
heap_sites_check "$f" alloc_space alloc 0.10
ok "heap_target = preloaded: attached as it mapped libotel_heap.so, sites within 10 %"
