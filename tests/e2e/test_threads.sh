#!/usr/bin/env bash
# asan: yes
# The threads profile (SPEC §4, issue 5): a program with six threads parked
# in three known functions, two in each, and its main thread in
# pthread_join. `pprofctl threads` and /debug/pprof/goroutine must show
# seven threads, each with its name and state as labels, and each park_*
# function on the stacks of exactly the two threads named for it.
#
# The park_* functions call into libc (read, nanosleep, pthread_cond_wait),
# which has no frame pointers here: they are on the stacks only when the
# user stack is unwound through libc (daemon/process/unwind.c). Those checks come
# last, after the ones that hold whatever the unwinder.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock
PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT/debug/pprof

trap 'kill $WLPID 2>/dev/null; cleanup' EXIT
start_daemon --interval 600 --http 127.0.0.1:$PORT
chmod 755 "$T"   # let an unprivileged user reach the socket

"$WL/threads_parked" 120 >"$T/wl.out" &
WLPID=$!
for _ in $(seq 50); do grep -q '^ready' "$T/wl.out" && break; sleep 0.1; done
grep -q '^ready' "$T/wl.out" || fail "threads_parked did not get ready"
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")

# check NAME < raw: the assertions on one threads profile of $pid, in
# `go tool pprof -raw` form. CHECK_UNWOUND=1 adds those that need libc
# unwound.
check() {
	python3 -c "$CHECK_PY" "$ROOT" "$pid" "$1" "${CHECK_UNWOUND:-0}"
}
CHECK_PY=$(cat <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/e2e")
import pprof_raw
pid, name, unwound = sys.argv[2], sys.argv[3], sys.argv[4] == "1"
s = pprof_raw.parse(sys.stdin.read())
def die(msg):
    for x in s:
        print(f'  {x["labels"].get("thread")} {x["labels"].get("state")}: {" < ".join(x["stack"])}')
    sys.exit(f"{name}: {msg}")
if len(s) != 7 or any(x["values"] != [1] for x in s):
    die(f"want 7 samples of value 1 (6 threads + main), got {[x['values'] for x in s]}")
if {x["labels"].get("pid") for x in s} != {pid}:
    die("pid labels are not all the workload's")
tids = {x["labels"].get("tid") for x in s}
if len(tids) != 7 or pid not in tids:
    die(f"want 7 distinct tids, the main thread's among them: {tids}")
names = sorted(x["labels"].get("thread", "") for x in s)
want = sorted(["threads_parked"] + [f"{k}-{i}" for k in ("reader", "sleeper", "waiter") for i in (1, 2)])
if names != want:
    die(f"thread names: want {want}, got {names}")
for x in s:
    st = x["labels"].get("state")
    if st != "sleeping":
        die(f'{x["labels"]["thread"]}: state {st!r}, want "sleeping"')
    if x["labels"].get("comm") != "threads_parked":
        die(f'{x["labels"]["thread"]}: comm label {x["labels"].get("comm")!r}')
    if not x["stack"] or x["stack"][0].startswith("0x"):
        die(f'{x["labels"]["thread"]}: the leaf (a kernel frame) is not symbolized')
print(f"{name}: 7 threads, names and states as labels")
if not unwound:
    sys.exit(0)
park = {"reader": "park_in_read", "sleeper": "park_in_sleep", "waiter": "park_in_cond"}
for fn in park.values():
    on = [x["labels"]["thread"] for x in s if fn in x["stack"]]
    if len(on) != 2:
        die(f"{fn} is on the stacks of {len(on)} threads {on}, want 2")
for x in s:
    t = x["labels"]["thread"]
    if t == "threads_parked":
        if "main" not in x["stack"]:
            die("the main thread's stack does not reach main")
        continue
    fn = park[t.split("-")[0]]
    if fn not in x["stack"] or "thread_main" not in x["stack"]:
        die(f"{t}: want {fn} called from thread_main on its stack")
print(f"{name}: each park_* function on the stacks of its two threads, main reaches main")
PY
)

# 1. pprofctl threads
"$CTL" threads --pid "$pid" --socket "$SOCK" -o "$T/threads.pb.gz" || fail "pprofctl threads failed"
pprof -raw "$T/threads.pb.gz" >"$T/raw.txt" 2>"$T/raw.err" || fail "pprof cannot read it: $(cat "$T/raw.err")"
check pprofctl <"$T/raw.txt" || fail "pprofctl threads: wrong profile"
grep -q "^PeriodType: threads count" "$T/raw.txt" || fail "period type is not threads/count"
grep -q "threads of pid $pid" "$T/raw.txt" || fail "no comment naming the pid"
ok "pprofctl threads --pid $pid: 7 threads with names and states"

# 2. /debug/pprof/goroutine, straight from go tool pprof, with no warnings
pprof -raw "$URL/goroutine?pid=$pid" >"$T/http.txt" 2>"$T/http.err" ||
	fail "go tool pprof $URL/goroutine?pid=$pid: $(cat "$T/http.err")"
if grep -v -e '^Fetching profile over HTTP' -e '^Saved profile in' "$T/http.err" | grep -q .; then
	fail "go tool pprof said more than it fetched the profile: $(cat "$T/http.err")"
fi
check http <"$T/http.txt" || fail "/debug/pprof/goroutine: wrong profile"
ok "go tool pprof $URL/goroutine?pid=$pid: the same, no warnings"

# 3. errors and who may ask
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
[ "$(code "$URL/goroutine")" = 400 ] || fail "goroutine without pid: want 400, got $(cat "$T/body")"
[ "$(code "$URL/goroutine?pid=3999999")" = 404 ] || fail "unknown pid: want 404, got $(cat "$T/body")"
tid=$(ls "/proc/$pid/task" | grep -vx "$pid" | head -1)
[ "$(code "$URL/goroutine?pid=$tid")" = 404 ] && grep -q "thread of process $pid" "$T/body" ||
	fail "a thread id: want 404 naming the process, got $(cat "$T/body")"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" threads --pid "$pid" --socket "$SOCK" -o /dev/null 2>&1)
[ $? -ne 0 ] && grep -q 'not allowed' <<<"$out" || fail "nobody could read root's threads: $out"
kill -0 "$WLPID" || fail "the workload died"
grep -q '^ready' "$T/wl.out" && [ "$(ls "/proc/$pid/task" | wc -l)" = 7 ] || fail "the workload lost threads"
"$CTL" status --socket "$SOCK" >"$T/status" || fail "pprofctl status failed"
grep -Eq '^threads_snapshots +2$' "$T/status" || fail "status: want 2 snapshots: $(grep threads "$T/status")"
grep -Eq '^threads_snapshot_malformed +0$' "$T/status" || fail "status: malformed records"
ok "errors: no pid 400, unknown pid 404, a tid 404, another user's process refused; status counts"

# 4. the frames inside libc's callers: needs the user stack unwound through libc
CHECK_UNWOUND=1 check pprofctl <"$T/raw.txt" ||
	fail "park_* functions missing: the user stacks are not unwound through libc (daemon/process/unwind.c)"
ok "park_in_read, park_in_sleep, park_in_cond each on the stacks of their two threads"

kill "$WLPID" 2>/dev/null
stop_daemon
