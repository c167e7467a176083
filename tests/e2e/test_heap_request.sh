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

# 1. pprofctl heap
heap_sites_request ctl "$T/heap.pb.gz"
heap_sites_check "$T/heap.pb.gz" alloc_space alloc 0.10
heap_sites_check "$T/heap.pb.gz" inuse_space inuse 0.15
pprof -raw "$T/heap.pb.gz" 2>/dev/null | grep -q 'only allocations made during the profile' ||
	fail "no comment saying earlier allocations are unknown"
pprof -raw "$T/heap.pb.gz" 2>/dev/null | grep -Eq '^PeriodType: space bytes' || fail "period type"
ok "pprofctl heap: sites within 10 % (alloc) and 15 % (inuse)"

# 2. the same from /debug/pprof/heap, read by go tool pprof
heap_sites_request http "$T/heap2.pb.gz"
heap_sites_check "$T/heap2.pb.gz" alloc_space alloc 0.10
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
