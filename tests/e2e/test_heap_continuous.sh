#!/usr/bin/env bash
# asan: yes
# Continuous heap profiling of the processes the config names (heap_target):
# a heap-<ts>.pb.gz beside the cpu files, with each site's bytes within 10 %,
# and nothing for a process the config does not name.
. "$(dirname "$0")/lib.sh"

cat >"$T/pprofd.conf" <<CONF
heap_target = comm:heap_sites
heap_sample_bytes = 32K
CONF
start_daemon --config "$T/pprofd.conf" --interval 3

rm -f "$T/fifo" && mkfifo "$T/fifo"
"$WL/heap_sites" <"$T/fifo" >"$T/sites.out" &
WPID=$!
exec 7>"$T/fifo"
for _ in $(seq 100); do grep -q "continuous heap profiling of pid $WPID " "$T/daemon.log" && break; sleep 0.1; done
grep -q "continuous heap profiling of pid $WPID " "$T/daemon.log" || { cat "$T/daemon.log"; fail "pid $WPID was not attached"; }
echo go >&7
exec 7>&-
wait $WPID
"$WL/short_lived" 50   # not named: must get no heap profile
sleep 4                # a window ends
stop_daemon

f=$(ls "$T"/profiles/heap_sites-"$WPID"/heap-*.pb.gz 2>/dev/null | tail -1)
[ -n "$f" ] || { ls -R "$T/profiles" | head -20; fail "no heap profile for pid $WPID"; }
pprof -sample_index=alloc_space -top -nodecount=100 "$f" 2>/dev/null >"$T/top.txt"
PYTHONPATH="$ROOT/tests/e2e" python3 - "$T/sites.out" "$T/top.txt" <<'PY' || fail "site totals off"
import sys, pprof_raw
truth = {k: v["alloc"] for k, v in pprof_raw.site_truth(sys.argv[1]).items()}
got = pprof_raw.top_bytes(sys.argv[2])
bad = 0
for s in ("site_small", "site_4k", "site_1m"):
    ok = abs(got.get(s, 0) - truth[s]) <= 0.10 * truth[s]
    print(f"{s}: true {truth[s]/2**20:.1f} MiB, profile {got.get(s, 0)/2**20:.1f} MiB {'ok' if ok else 'OFF'}")
    bad += not ok
sys.exit(bad)
PY
ls "$T"/profiles/short_lived-*/heap-*.pb.gz 2>/dev/null && fail "a process not named got a heap profile"
ok "continuous heap profile of pid $WPID: $(basename "$f")"
