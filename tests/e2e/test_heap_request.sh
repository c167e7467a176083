#!/usr/bin/env bash
# asan: yes
# Heap profiles through the daemon (SPEC §4 heap, §5): `pprofctl heap` and
# /debug/pprof/heap on a program that knows its allocation totals per site;
# go tool pprof attributes each site's bytes within 10 % (alloc_space) and
# 15 % (inuse_space); a static binary gets a clear error.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock
PORT=$((20000 + RANDOM % 20000))

# One sample per 32 KiB on average (Go's default is 512 KiB): ~4k samples
# for the smallest site, so sampling error stays near 1.5 % and the 10 %
# bound tests the accounting, not luck.
echo "heap_sample_bytes = 32K" >"$T/pprofd.conf"
"$PPROFD" --config "$T/pprofd.conf" --output-dir "$T/profiles" --socket "$SOCK" \
	--http 127.0.0.1:$PORT --interval 600 >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done

# run_sites ctl|http OUT: starts heap_sites paused, asks for its heap
# profile through that front end, lets the sites run, waits for both.
run_sites() {
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	"$WL/heap_sites" <"$T/fifo" >"$T/sites.out" &
	WPID=$!
	exec 7>"$T/fifo"
	if [ "$1" = ctl ]; then
		"$CTL" heap --pid "$WPID" --seconds 120 --socket "$SOCK" -o "$2" &
	else
		curl -sf -o "$2" "http://127.0.0.1:$PORT/debug/pprof/heap?pid=$WPID&seconds=120" &
	fi
	local req=$!
	# the probes are attached once the daemon says so
	for _ in $(seq 100); do grep -q "heap: profiling pid $WPID " "$T/daemon.log" && break; sleep 0.1; done
	echo go >&7
	exec 7>&-
	wait $req || fail "request failed: $(tail -3 "$T/daemon.log")"
	wait $WPID
}

check() { # FILE SAMPLE_INDEX FIELD TOLERANCE
	pprof -sample_index="$2" -top -nodecount=100 "$1" 2>/dev/null >"$T/top.txt"
	PYTHONPATH="$ROOT/tests/e2e" python3 - "$T/sites.out" "$T/top.txt" "$3" "$4" <<'PY' || { pprof -comments "$1"; grep -iE 'heap|warn' "$T/daemon.log" | tail; fail "$2: sites off (see above)"; }
import sys, pprof_raw
truth, got = pprof_raw.site_truth(sys.argv[1]), pprof_raw.top_bytes(sys.argv[2])
field, tol, bad = sys.argv[3], float(sys.argv[4]), 0
for site in ("site_small", "site_4k", "site_1m"):
    want, have = truth[site][field], got.get(site, 0)
    ok = abs(have - want) <= tol * max(want, 1) if want else have < 0.02 * truth[site]["alloc"]
    print(f"{field} {site}: true {want/2**20:.1f} MiB, profile {have/2**20:.1f} MiB {'ok' if ok else 'OFF'}")
    bad += not ok
sys.exit(bad)
PY
}

# 1. pprofctl heap
run_sites ctl "$T/heap.pb.gz"
check "$T/heap.pb.gz" alloc_space alloc 0.10
check "$T/heap.pb.gz" inuse_space inuse 0.15
pprof -raw "$T/heap.pb.gz" 2>/dev/null | grep -q 'only allocations made during the profile' ||
	fail "no comment saying earlier allocations are unknown"
pprof -raw "$T/heap.pb.gz" 2>/dev/null | grep -Eq '^PeriodType: space bytes' || fail "period type"
ok "pprofctl heap: sites within 10 % (alloc) and 15 % (inuse)"

# 2. the same from /debug/pprof/heap, read by go tool pprof
run_sites http "$T/heap2.pb.gz"
check "$T/heap2.pb.gz" alloc_space alloc 0.10
pprof -top "$T/heap2.pb.gz" 2>/dev/null | grep -q 'Type: inuse_space' || fail "default sample type is not inuse_space"
ok "/debug/pprof/heap: sites within 10 %, inuse_space by default"

# Two processes mapped the same libc: its probe sites were read from the
# file once (the file cache keeps them), the second attach reused them.
"$CTL" --socket "$SOCK" status >"$T/status.txt"
reads=$(awk '$1 == "heap_probe_site_reads" {print $2}' "$T/status.txt")
reused=$(awk '$1 == "heap_probe_sites_reused" {print $2}' "$T/status.txt")
[ "$reads" = 1 ] && [ "${reused:-0}" -ge 1 ] ||
	fail "libc's probe sites: $reads reads, $reused reused (want 1 read, reused after)"
ok "libc's probe sites read once for two processes ($reused reused)"

# 3. a static binary: a clear error
cat >"$T/static.c" <<'C'
#include <unistd.h>
int main(void) { pause(); return 0; }
C
cc -static -o "$T/static" "$T/static.c" 2>/dev/null || fail "cannot build a static binary"
"$T/static" &
SPID=$!
sleep 0.2
"$CTL" heap --pid $SPID --seconds 2 --socket "$SOCK" -o /dev/null 2>"$T/err" && fail "heap of a static binary succeeded"
kill $SPID
grep -qiE 'malloc|allocator|glibc|static' "$T/err" || fail "unclear error for a static binary: $(cat "$T/err")"
ok "static binary: $(cat "$T/err")"

stop_daemon
