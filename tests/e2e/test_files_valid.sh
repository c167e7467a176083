#!/usr/bin/env bash
# asan: yes
# Every file pprofd writes is read by `go tool pprof -raw` with no warning,
# is readable by root only, and has the cpu kind's sample types, period and
# labels (SPEC §4). Files are complete gzip streams (atomic writes).
. "$(dirname "$0")/lib.sh"

start_daemon --interval 2 --frequency 99
"$WL/cpu_shares" 3 >/dev/null
sleep 0.5
stop_daemon

n=0
for f in "$T"/profiles/*/cpu-*.pb.gz; do
	n=$((n + 1))
	gzip -t "$f" || fail "$f: not a complete gzip stream"
	perm=$(stat -c %a "$f")
	[ "$perm" = 600 ] || fail "$f: mode $perm, want 600"
	pprof -raw "$f" >"$T/raw.txt" 2>"$T/raw.err" || fail "$f: pprof -raw failed: $(cat "$T/raw.err")"
	[ -s "$T/raw.err" ] && fail "$f: pprof warned: $(cat "$T/raw.err")"
	grep -q 'Sample types: *$' "$T/raw.txt" || true
	grep -Eq '^PeriodType: cpu nanoseconds' "$T/raw.txt" || fail "$f: no cpu/nanoseconds period type"
	grep -Eq '^Period: [0-9]+' "$T/raw.txt" || fail "$f: no period"
	grep -Eq 'samples/count cpu/nanoseconds' "$T/raw.txt" || fail "$f: sample types"
done
[ $n -gt 0 ] || fail "no profiles written"
ls -ld "$T"/profiles/* | awk '{print $1}' | sort -u | grep -qv '^drwx------' && fail "a profile directory is not 0700"
# labels of one file
f=$(ls "$T"/profiles/cpu_shares-*/cpu-*.pb.gz | head -1)
pprof -raw "$f" 2>/dev/null >"$T/raw.txt"
for l in pid tid comm thread; do
	grep -q "$l:" "$T/raw.txt" || fail "no $l label in $f"
done
grep -q 'pid:\[[0-9]' "$T/raw.txt" || fail "pid is not a numeric label"
ok "$n files valid"
