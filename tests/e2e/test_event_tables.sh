#!/usr/bin/env bash
# asan: yes
# One unwinder for every kind (issue 13): heap, block and mutex events of
# cpu_deep (-O2 -fomit-frame-pointer, 61 frames and 3.5 KiB of stack below
# the event) are walked in BPF from the same unwind tables as CPU samples.
# >= 99 % of each profile's value reaches main (start_thread for mutex's
# second thread) through every descend frame; pprofctl status counts the
# event stacks walked; with unwind_tables = false the stack copy does not
# reach main, so this test tests the walker.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
DEPTH=60

# event_misses: event stacks the walker has missed so far (all processes)
event_misses() {
	"$CTL" status --socket "$T/pprofd.sock" | awk '$1 == "unwind_event_stacks_missed" {print $2}'
}

# deep_request KIND MODE INDEX: a KIND request of cpu_deep in MODE; the
# share of INDEX's value reaching the root
deep_request() {
	local kind=$1 mode=$2 index=$3 pid before try
	"$WL/cpu_deep" 60 "$DEPTH" "$mode" >"$T/wl.out" &
	pid=$!
	# Its entry is made at its first event stacks, and its tables load
	# behind those of the processes pprofd met first (seconds on a busy
	# host); until then its stacks are copies. Short requests until one
	# had every stack walked, then the one measured.
	for try in $(seq 20); do
		before=$(event_misses)
		"$CTL" "$kind" --pid "$pid" --seconds 1 --socket "$T/pprofd.sock" -o "$T/warm.pb.gz" ||
			fail "pprofctl $kind failed"
		[ "$(event_misses)" = "$before" ] && break
	done
	echo "$kind: the walker took every stack from request $try on" >&2
	"$CTL" "$kind" --pid "$pid" --seconds 3 --socket "$T/pprofd.sock" -o "$T/$kind.pb.gz" ||
		fail "pprofctl $kind failed"
	kill "$pid"
	wait "$pid" 2>/dev/null
	raw_profile "$T/$kind.pb.gz"
	share_reaching "$T/$kind.pb.gz" descend $((DEPTH + 1)) main start_thread -- -sample_index="$index"
}

start_daemon --interval 600
for spec in heap:alloc:alloc_space block:sleep:delay mutex:lock:delay; do
	IFS=: read -r kind mode index <<<"$spec"
	share=$(deep_request "$kind" "$mode" "$index")
	python3 -c "import sys; sys.exit(0 if float('$share') >= 99 else 1)" ||
		{ pprof -traces -sample_index="$index" "$T/$kind.pb.gz" 2>/dev/null | head -40
		  fail "$kind: only $share % reaches main through $((DEPTH + 1)) descend frames"; }
	ok "$kind: $share % of $index reaches main through $((DEPTH + 1)) frames without frame pointers"
done
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
grep unwind_event "$T/status.txt"
walked=$(awk '$1 == "unwind_event_stacks_walked" {print $2}' "$T/status.txt")
[ "${walked:-0}" -gt 0 ] || fail "no event stack counted walked"
ok "$walked event stacks walked in BPF"
stop_daemon

printf 'unwind_tables = false\n' >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600
share=$(deep_request block sleep delay)
python3 -c "import sys; sys.exit(0 if float('$share') < 50 else 1)" ||
	fail "the stack copy reached main in $share %: this test does not test the walker"
ok "block without the tables: $share %"
stop_daemon
