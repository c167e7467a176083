#!/usr/bin/env bash
# asan: yes
# Heap profiles of a process that preloads libpprofd_heap.so (issue 17,
# SPEC §4 heap): pprofd finds the library's USDT probes and attaches there
# instead of the allocator's entry points; the process samples by bytes
# itself (PPROFD_HEAP_RATE), so every probe hit is a sample. By request
# (pprofctl, /debug/pprof/heap; over glibc's malloc, jemalloc and
# tcmalloc; C++'s new and delete; a process whose threads come and go,
# that forks and execs, and frees blocks allocated before pprofd
# attached) and continuously (heap_target = preloaded): each site's bytes
# within 10 % (in use 15 %), its stacks start at the caller of malloc
# (the sampler's own frames dropped); the
# library's semaphore is 0 while nobody is attached, 1 while pprofd is,
# 0 again after: a process not profiled pays nothing.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
LIB=$ROOT/$BUILD/libpprofd_heap.so
[ -f "$LIB" ] || LIB=$ROOT/build/libpprofd_heap.so
[ -f "$LIB" ] || fail "libpprofd_heap.so not built (make)"
PORT=$((20000 + RANDOM % 20000))
SITES_ENV="LD_PRELOAD=$LIB PPROFD_HEAP_RATE=32768"

# semaphore PID: the value of the library's pprofd:alloc semaphore in PID
semaphore() {
	PYTHONPATH="$ROOT/tests/e2e" python3 - "$1" "$LIB" <<'PY'
import sys, usdt_notes
pid, lib = sys.argv[1], sys.argv[2]
sem = next(s for p, n, _, s, _ in usdt_notes.probes(lib) if (p, n) == ("pprofd", "alloc"))
base = None
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5].endswith("/libpprofd_heap.so") and int(f[2], 16) == 0:
        base = int(f[0].split("-")[0], 16)
        break
with open(f"/proc/{pid}/mem", "rb") as m:
    m.seek(base + sem)
    print(int.from_bytes(m.read(2), "little"))
PY
}

: >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600 --http 127.0.0.1:$PORT

# 1. with the library, not profiled: its semaphore is 0 (it fires no
# probe); 1 while a request has it; 0 again after
rm -f "$T/fifo0" && mkfifo "$T/fifo0"
env $SITES_ENV "$WL/heap_sites" <"$T/fifo0" >"$T/plain.out" &
PLAIN=$!
exec 8>"$T/fifo0"
for _ in $(seq 50); do grep -q ready "$T/plain.out" && break; sleep 0.1; done
s0=$(semaphore "$PLAIN") || fail "cannot read pid $PLAIN's semaphore"
"$CTL" heap --pid "$PLAIN" --seconds 2 --socket "$T/pprofd.sock" -o "$T/idle.pb.gz" 2>/dev/null &
req=$!
for _ in $(seq 50); do grep -q "heap: profiling pid $PLAIN " "$T/daemon.log" && break; sleep 0.1; done
s1=$(semaphore "$PLAIN")
wait $req || fail "the request of pid $PLAIN failed"
s2=$(semaphore "$PLAIN")
[ "$s0/$s1/$s2" = 0/1/0 ] || fail "semaphore before/during/after a request: $s0/$s1/$s2, want 0/1/0"
ok "semaphore 0 while not profiled, 1 while a request has it, 0 after"

# 2. by request, both front ends
heap_sites_request ctl "$T/heap.pb.gz"
grep -q "heap: profiling pid $WPID through the probes of .*libpprofd_heap.so" "$T/daemon.log" ||
	fail "pid $WPID was not profiled through the library's probes: $(grep "pid $WPID" "$T/daemon.log")"
heap_sites_check "$T/heap.pb.gz" alloc_space alloc 0.10
heap_sites_check "$T/heap.pb.gz" inuse_space inuse 0.15
# the period is the library's rate, not the daemon's (524288)
period=$(pprof -raw "$T/heap.pb.gz" 2>/dev/null | sed -n 's/^Period: //p')
[ "$period" = 32768 ] || fail "period $period, want the library's rate 32768"
ok "the profile's period is the library's rate"
pprof -traces "$T/heap.pb.gz" 2>/dev/null >"$T/traces.txt"
python3 - "$T/traces.txt" <<'PY' || fail "stacks (see above)"
import sys
blocks = open(sys.argv[1]).read().split("-----------+")[1:]
bad = 0
for b in blocks:
    frames = [l.split()[-1] for l in b.splitlines()[1:] if l.strip() and ":" not in l]
    if not frames:
        continue
    if not frames[0].startswith("site_") or frames[1] != "main":
        print("a stack not from a site through main:", frames[:4])
        bad += 1
print(f"{len(blocks)} stacks, each a site then main")
sys.exit(bad)
PY
ok "pprofctl heap: sites within 10 % (in use 15 %), stacks from the caller of malloc"
heap_sites_request http "$T/heap2.pb.gz"
heap_sites_check "$T/heap2.pb.gz" alloc_space alloc 0.10
ok "/debug/pprof/heap: sites within 10 %"
# over jemalloc and tcmalloc: the library samples what they allocate
for alt in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
	SITES_ENV="LD_PRELOAD=$LIB:$alt PPROFD_HEAP_RATE=32768"
	heap_sites_request ctl "$T/heap-$alt.pb.gz"
	grep -q "heap: profiling pid $WPID through the probes of .*libpprofd_heap.so" "$T/daemon.log" ||
		fail "$alt: pid $WPID was not profiled through the library's probes"
	heap_sites_check "$T/heap-$alt.pb.gz" alloc_space alloc 0.10
	heap_sites_check "$T/heap-$alt.pb.gz" inuse_space inuse 0.15
	ok "over $alt: sites within 10 % (in use 15 %)"
done
SITES_ENV="LD_PRELOAD=$LIB PPROFD_HEAP_RATE=32768"
# C++: the library's operator new and delete (every form), over glibc's
heap_sites_request ctl "$T/cxx.pb.gz" heap_cxx
heap_sites_check "$T/cxx.pb.gz" alloc_space alloc 0.10 all
heap_sites_check "$T/cxx.pb.gz" inuse_space inuse 0.15 all
ok "C++ new and delete: every site within 10 % (in use 15 %)"

# a life under the library: blocks allocated before pprofd attached,
# freed while it is (never sampled: not in the profile); threads started
# and ended while profiled; a child that allocates, forks and execs
heap_sites_request ctl "$T/life.pb.gz" heap_life
grep -q "child exited 0" "$T/sites.out" || fail "heap_life's child did not exec: $(cat "$T/sites.out")"
pprof -sample_index=alloc_space -top -nodecount=100 "$T/life.pb.gz" 2>/dev/null >"$T/top.txt"
pprof -sample_index=inuse_space -top -nodecount=100 "$T/life.pb.gz" 2>/dev/null >"$T/itop.txt"
PYTHONPATH="$ROOT/tests/e2e" python3 - "$T/sites.out" "$T/top.txt" "$T/itop.txt" <<'PY' || fail "heap_life's profile (see above)"
import sys, pprof_raw
truth = pprof_raw.site_truth(sys.argv[1])
got, inuse = pprof_raw.top_bytes(sys.argv[2]), pprof_raw.top_bytes(sys.argv[3])
bad = 0
for site in ("site_thread", "site_main"):
    want, have = truth[site]["alloc"], got.get(site, 0)
    ok = abs(have - want) <= 0.10 * want
    print(f"alloc {site}: true {want/2**20:.1f} MiB, profile {have/2**20:.1f} MiB {'ok' if ok else 'OFF'}")
    bad += not ok
# in use: site_main's alone (the early blocks were never sampled, the
# threads freed theirs)
total, want = sum(inuse.values()), truth["site_main"]["inuse"]
ok = abs(total - want) <= 0.15 * want and set(inuse) <= {"site_main"}
print(f"in use: {inuse} against site_main's {want/2**20:.1f} MiB {'ok' if ok else 'OFF'}")
sys.exit(bad + (not ok))
PY
ok "8 threads started and ended, a fork and exec, early blocks freed: sites within 10 %, in use site_main's only"

"$CTL" --socket "$T/pprofd.sock" status >"$T/status.txt"
python3 - "$T/status.txt" <<'PY' || fail "status counters (see above)"
import sys
c = dict(l.split()[:2] for l in open(sys.argv[1]) if len(l.split()) >= 2)
calls, sampled, ev = int(c["heap_alloc_calls"]), int(c["heap_sampled"]), int(c["heap_alloc_events"])
print(f"heap_alloc_calls {calls}, heap_sampled {sampled}, heap_alloc_events {ev}")
# through the probes every hit is a sample; heap_sites makes 2.2 M calls a run
assert calls == sampled and 0 < calls < 200000, "allocator probes were hit"
PY
ok "every probe hit a sampled allocation (no allocator uprobe hit)"

# 3. continuously: heap_target = preloaded, at a SIGHUP, attaches a
# process when the library maps (at its exec it had not yet)
heap_preloaded_start
s=$(semaphore "$CPID")
[ "$s" = 1 ] || fail "the semaphore of an attached process is '$s', not 1"
echo go >&7
exec 7>&-
wait $CPID

# 4. a heap_target by name is attached at the exec, before the loader has
# mapped anything: it must wait for the library, not take the uprobe path
echo "heap_target = comm:heap_sites" >"$T/pprofd.conf"
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do [ "$(grep -c "SIGHUP: config reloaded" "$T/daemon.log")" = 2 ] && break; sleep 0.1; done
rm -f "$T/fifo3" && mkfifo "$T/fifo3"
env $SITES_ENV "$WL/heap_sites" <"$T/fifo3" >"$T/sites3.out" &
NPID=$!
exec 7>"$T/fifo3"
for _ in $(seq 100); do grep -q "continuous heap profiling of pid $NPID " "$T/daemon.log" && break; sleep 0.1; done
grep -q "heap: profiling pid $NPID through the probes of .*libpprofd_heap.so" "$T/daemon.log" ||
	fail "pid $NPID (comm:heap_sites, at its exec) not attached to the probes: $(grep "pid $NPID" "$T/daemon.log")"
echo go >&7
exec 7>&-
wait $NPID
ok "heap_target = comm:NAME attached at the exec: through the library's probes"

echo go >&8 # (the SIGHUP's scan attached it too)
exec 8>&-
wait $PLAIN
stop_daemon
f=$(ls "$T"/profiles/heap_sites-"$CPID"/heap-*.pb.gz 2>/dev/null | tail -1)
[ -n "$f" ] || { ls -R "$T/profiles" | head -20; fail "no heap profile for pid $CPID"; }
heap_sites_check "$f" alloc_space alloc 0.10
ok "heap_target = preloaded: pid $CPID profiled from its start, sites within 10 %"
