#!/usr/bin/env bash
# asan: yes
# Heap records queued while pprofd cannot read them (issue 11): the daemon is
# stopped (SIGSTOP) while heap_sites runs all its sites and exits, so the
# ring fills for certain and the process's exit waits in the side-band
# behind its records. After SIGCONT, both the continuous profile (heap_target)
# and a request that was running count every sampled allocation: sent ones
# at their sites, the ones the full ring refused under
# [pprofd_lost_allocations], said in a comment and in `pprofctl status`;
# total alloc_space within 10 % of the truth, and site_4k's frees all seen
# (its in-use near 0).
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

# Stack copies, not the table walker's frames: a record of ~700 bytes, not
# ~200, so that the stopped daemon's ring fills for certain before the rate
# raised at 1/2 and 3/4 of it (heap.h) spreads the samples out (with the
# walker's small records it fills, or not, by which came first: the
# walker's entry for the process or its first samples).
cat >"$T/pprofd.conf" <<CONF
heap_target = comm:heap_sites
heap_sample_bytes = 32K
unwind_tables = false
CONF
start_daemon --config "$T/pprofd.conf" --interval 3 ${VERBOSE:+--verbose}

rm -f "$T/fifo" && mkfifo "$T/fifo"
"$WL/heap_sites" <"$T/fifo" >"$T/sites.out" &
WPID=$!
exec 7>"$T/fifo"
for _ in $(seq 100); do grep -q "continuous heap profiling of pid $WPID " "$T/daemon.log" && break; sleep 0.1; done
grep -q "continuous heap profiling of pid $WPID " "$T/daemon.log" || fail "pid $WPID was not attached"
"$CTL" heap --pid "$WPID" --seconds 60 --socket "$T/pprofd.sock" -o "$T/req.pb.gz" 2>"$T/req.err" &
REQ=$!
wait_active 1

kill -STOP "$DAEMON_PID"
echo go >&7
exec 7>&-
wait $WPID
kill -CONT "$DAEMON_PID"
wait $REQ || fail "the request failed: $(cat "$T/req.err")"
sleep 4 # a window ends
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
stop_daemon

lost=$(awk '$1 == "heap_drop_ringbuf" {print $2}' "$T/status.txt")
[ "${lost:-0}" -gt 0 ] || {
	grep '^heap_' "$T/status.txt" >&2
	grep "pid $WPID" "$T/daemon.log" >&2
	fail "the ring never filled (heap_drop_ringbuf ${lost:-none}): the test did not test"
}
cont=$(ls "$T"/profiles/heap_sites-"$WPID"/heap-*.pb.gz 2>/dev/null | tail -1)
[ -n "$cont" ] || fail "no continuous heap profile for pid $WPID"

for f in "$T/req.pb.gz" "$cont"; do
	pprof -comments "$f" 2>/dev/null >"$T/comments.txt"
	grep -q "sampled allocations of pid $WPID .* could not be sent" "$T/comments.txt" ||
		{ cat "$T/comments.txt"; fail "$(basename "$f"): no comment on the lost allocations"; }
	pprof -sample_index=alloc_space -top -nodecount=100 "$f" 2>/dev/null >"$T/top.txt"
	pprof -sample_index=inuse_space -top -nodecount=100 "$f" 2>/dev/null >"$T/inuse.txt"
	PYTHONPATH="$ROOT/tests/e2e" python3 - "$T/sites.out" "$T/top.txt" "$T/inuse.txt" "$(basename "$f")" <<'PY' || fail "$(basename "$f"): totals off"
import sys, pprof_raw
truth = pprof_raw.site_truth(sys.argv[1])
got, inuse = pprof_raw.top_bytes(sys.argv[2]), pprof_raw.top_bytes(sys.argv[3])
want = sum(t["alloc"] for t in truth.values())
sites = sum(v for k, v in got.items() if k.startswith("site_"))
lost = got.get("[pprofd_lost_allocations]", 0)
total_ok = abs(sites + lost - want) <= 0.10 * want
free_ok = inuse.get("site_4k", 0) < 0.02 * truth["site_4k"]["alloc"]
print(f"{sys.argv[4]}: true {want/2**20:.1f} MiB; at sites {sites/2**20:.1f} + lost {lost/2**20:.1f} MiB "
      f"{'ok' if total_ok else 'OFF'}; site_4k in use {inuse.get('site_4k', 0)/2**20:.1f} MiB {'ok' if free_ok else 'OFF'}")
sys.exit(0 if total_ok and free_ok and lost > 0 else 1)
PY
done
grep -q "the process exited during the request" <(pprof -comments "$T/req.pb.gz" 2>/dev/null) ||
	fail "the request's profile does not say the process exited"
ok "queued heap records of pid $WPID: every sampled allocation counted ($lost lost to the full ring, said)"
