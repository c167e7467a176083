#!/usr/bin/env bash
# asan: yes
# The table unwinder's budget (issue 13): with unwind_table_size at 2 MiB,
# cpu_deep (-O2 -fomit-frame-pointer, 61 frames) and then Debian's
# python3, perl, xz, openssl and git do not fit together: tables
# are evicted to make room, those of exited processes first (cpu_deep's
# are older, but named by its entry), pprofctl status counts the
# evictions and the log says which key to raise, and nothing else is
# lost: no sample dropped, cpu_deep's stacks reach main in >= 99 % of its
# samples. (At 1 MiB, the least, the tables of what keeps running — the
# test's shells, pprofctl — overflow the pool too, and each one's getting
# its tables back evicts another's: stacks taken meanwhile are cut.)
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
DEPTH=60

printf 'unwind_table_size = 2M\n' >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600
"$WL/cpu_deep" 60 "$DEPTH" >"$T/wl.out" &
pid=$!
sleep 1
# each runs 2 s, long enough to be sampled and have its tables loaded
/usr/bin/python3 -c "
import json, time
t = time.time() + 2
while time.time() < t:
    json.loads(json.dumps([{'k': i, 'v': str(i)} for i in range(2000)]))"
/usr/bin/perl -e 'my $t = time + 2; while (time < $t) { my %h; $h{$_ x 2} = $_ for 1 .. 20000 }'
timeout 2 sh -c 'head -c 200000000 /dev/zero | /usr/bin/xz -9 -T1 >/dev/null'
/usr/bin/openssl speed -seconds 2 -bytes 16384 sha256 >/dev/null 2>&1
timeout 2 sh -c 'head -c 2000000000 /dev/zero | /usr/bin/git hash-object --stdin >/dev/null'
sleep 1
"$CTL" profile --pid "$pid" --seconds 4 --hz 499 --socket "$T/pprofd.sock" -o "$T/c.pb.gz" ||
	fail "pprofctl profile failed"
kill "$pid"
wait "$pid" 2>/dev/null
raw_profile "$T/c.pb.gz"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
grep -E '^(unwind_table|unwind_walks|unwind_process_entries_remade|drops_)' "$T/status.txt"

evicted=$(awk '$1 == "unwind_table_evictions" {print $2}' "$T/status.txt")
[ "${evicted:-0}" -gt 0 ] || fail "no table was evicted: the budget is not tested"
grep -q 'tables evicted so far (unwind_evictions; raise unwind_table_size)' "$T/daemon.log" ||
	fail "the log does not say that tables were evicted"
ok "$evicted tables evicted, counted and logged"

# (a sample of a process gone before pprofd knew it is not the budget's)
awk '$1 ~ /^drops_/ && $1 != "drops_untracked_process" && $2 != 0 {print; bad = 1} END {exit bad}' \
	"$T/status.txt" ||
	fail "samples were dropped"
deep_reaching_main "$T/c.pb.gz" 99 "after evictions"
ok "nothing dropped; after evictions $SHARE % of cpu_deep's samples reach main through $((DEPTH + 1)) frames"
stop_daemon
