#!/usr/bin/env bash
# asan: yes
# mutex and block profiles (SPEC §4, §5) of programs that know their truth:
# - lock_contend: hold_a and hold_b each guard a mutex, hold_w a rwlock
#   (write-locked), each contended by two threads; the mutex profile (the
#   releaser's stack, its waiters' wait) gives each function's delay within
#   25 % of the waits the program measured, and the contentions in all
#   within 25 %; the waits on a condition variable beside them are not
#   counted as contention released by its signaller.
# - block_split: one thread off CPU 70 % in sleep_part (nanosleep) and 30 %
#   in pipe_part (a read on a pipe); the block profile shows that split
#   within 10 points.
# Both through pprofctl and HTTP (go tool pprof from the URL), and
# continuously for a process a lock_target line names.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock
PORT=$((20000 + RANDOM % 20000))

echo "lock_target = comm:lock_named" >"$T/pprofd.conf"
"$PPROFD" --config "$T/pprofd.conf" --output-dir "$T/profiles" --socket "$SOCK" \
	--http 127.0.0.1:$PORT --interval 3 >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done

active() { "$CTL" status --socket "$SOCK" | awk '$1 == "requests_active" {print $2}'; }

# run KIND ctl|http WORKLOAD OUT: starts the workload gated, asks for its
# profile for longer than it lives (the request ends when it exits), opens
# the gate once the request is active.
run() {
	local kind=$1 how=$2 wl=$3 out=$4 req
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	"$WL/$wl" 3 gate <"$T/fifo" >"$T/$wl.out" &
	WPID=$!
	exec 7>"$T/fifo"
	if [ "$how" = ctl ]; then
		"$CTL" "$kind" --pid "$WPID" --seconds 30 --socket "$SOCK" -o "$out" &
	else
		curl -sf -o "$out" "http://127.0.0.1:$PORT/debug/pprof/$kind?pid=$WPID&seconds=30" &
	fi
	req=$!
	for _ in $(seq 100); do [ "$(active)" = 1 ] && break; sleep 0.1; done
	echo go >&7
	exec 7>&-
	wait $req || fail "$kind request ($how) failed: $(tail -3 "$T/daemon.log")"
	wait $WPID
}

# check_mutex FILE: hold_a/hold_b/hold_w delay and the contentions vs the truth
check_mutex() {
	raw_profile "$1"
	python3 - "$T/lock_contend.out" "$T/raw.txt" "$ROOT/tests/e2e" <<'PY' || fail "mutex profile off"
import re, sys
sys.path.insert(0, sys.argv[3]); import pprof_raw
truth = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in
         re.finditer(r"total (\w+) contentions=(\d+) wait_ns=(\d+)", open(sys.argv[1]).read())}
samples = pprof_raw.parse(open(sys.argv[2]).read())
bad = 0
for fn in ("hold_a", "hold_b", "hold_w"):
    got = sum(s["values"][1] for s in samples if fn in s["stack"])
    want = truth[fn][1]
    ok = abs(got - want) <= 0.25 * want
    bad += not ok
    print(f"mutex: {fn} delay {got/1e6:.0f} ms, measured wait {want/1e6:.0f} ms {'ok' if ok else 'OFF'}")
got = sum(s["values"][0] for s in samples)
want = sum(v[0] for v in truth.values())
ok = abs(got - want) <= 0.25 * want
bad += not ok
print(f"mutex: {got} contentions, measured {want} {'ok' if ok else 'OFF'}")
# a condition variable is not a lock: its waits are not signal_items' contention
cv = re.search(r"condvar await_items waits=(\d+) wait_ns=(\d+)", open(sys.argv[1]).read())
got = sum(s["values"][1] for s in samples if "signal_items" in s["stack"])
ok = cv and int(cv.group(2)) > 0 and got <= 0.05 * int(cv.group(2))
bad += not ok
print(f"mutex: signal_items delay {got/1e6:.1f} ms, condvar waits {int(cv.group(2))/1e6 if cv else -1:.0f} ms {'ok' if ok else 'OFF'}")
sys.exit(1 if bad else 0)
PY
}

check_block() {
	raw_profile "$1"
	python3 - "$T/block_split.out" "$T/raw.txt" "$ROOT/tests/e2e" <<'PY' || fail "block profile off"
import re, sys
sys.path.insert(0, sys.argv[3]); import pprof_raw
truth = {m.group(1): int(m.group(2)) for m in
         re.finditer(r"total (\w+) ns=(\d+)", open(sys.argv[1]).read())}
samples = pprof_raw.parse(open(sys.argv[2]).read())
got = {fn: sum(s["values"][1] for s in samples if fn in s["stack"]) for fn in truth}
tg, tw = sum(got.values()), sum(truth.values())
bad = 0
for fn in truth:
    g, w = 100 * got[fn] / max(tg, 1), 100 * truth[fn] / tw
    ok = abs(g - w) <= 10
    bad += not ok
    print(f"block: {fn} {g:.1f} % of the off-CPU time, measured {w:.1f} % {'ok' if ok else 'OFF'}")
# the stacks reach main, through libc's syscall wrappers
reach = sum(s["values"][1] for s in samples if "main" in s["stack"]) / max(tg, 1)
print(f"block: {100 * reach:.1f} % of the delay reaches main")
sys.exit(1 if bad or reach < 0.95 else 0)
PY
}

run mutex ctl lock_contend "$T/m1.pb.gz"
check_mutex "$T/m1.pb.gz"
ok "pprofctl mutex: each releaser's delay and the contentions within 25 %"
run mutex http lock_contend "$T/m2.pb.gz"
check_mutex "$T/m2.pb.gz"
ok "/debug/pprof/mutex: the same"

run block ctl block_split "$T/b1.pb.gz"
check_block "$T/b1.pb.gz"
ok "pprofctl block: the 70/30 split within 10 points"
run block http block_split "$T/b2.pb.gz"
check_block "$T/b2.pb.gz"
ok "/debug/pprof/block: the same"

# go tool pprof straight from the URL, as a user would
"$WL/lock_contend" 4 >/dev/null &
LPID=$!
pprof -top "http://127.0.0.1:$PORT/debug/pprof/mutex?pid=$LPID&seconds=2" >"$T/top.txt" 2>"$T/err.txt" ||
	fail "go tool pprof from the URL: $(cat "$T/err.txt")"
grep -q hold_a "$T/top.txt" || fail "no hold_a in $(cat "$T/top.txt")"
wait $LPID
ok "go tool pprof -top http://.../debug/pprof/mutex?pid=P&seconds=2"

# a pid is required; no such process
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/debug/pprof/block?seconds=1")
[ "$code" = 400 ] || fail "block without pid: $code"
"$CTL" mutex --pid 999999 --seconds 1 --socket "$SOCK" -o "$T/x" 2>"$T/err.txt" && fail "no such pid served"
grep -q "no such process" "$T/err.txt" || fail "unclear error: $(cat "$T/err.txt")"
ok "errors: no pid 400, unknown pid 'no such process'"

# continuous: lock_named (a copy of lock_contend) is named by lock_target
cp "$WL/lock_contend" "$T/lock_named"
"$T/lock_named" 7 >/dev/null &
NPID=$!
wait $NPID
for _ in $(seq 50); do
	ls "$T/profiles/lock_named-$NPID"/block-*.pb.gz >/dev/null 2>&1 && break
	sleep 0.2
done
mfiles=$(ls "$T/profiles/lock_named-$NPID"/mutex-*.pb.gz 2>/dev/null)
bfiles=$(ls "$T/profiles/lock_named-$NPID"/block-*.pb.gz 2>/dev/null)
[ -n "$mfiles" ] && [ -n "$bfiles" ] || fail "no continuous files: $(ls -R "$T/profiles" | head)"
pprof -top $mfiles 2>/dev/null | grep -q hold_a || fail "continuous mutex files lack hold_a"
pprof -top $bfiles 2>/dev/null | grep -q hold_b || fail "continuous block files lack hold_b"
ok "lock_target: mutex-*.pb.gz and block-*.pb.gz every window ($(echo $mfiles | wc -w) + $(echo $bfiles | wc -w) files)"
grep -q "probes detached" "$T/daemon.log" || fail "probes never detached"
ok "the probes are detached when no process is profiled"
stop_daemon
