#!/usr/bin/env bash
# asan: yes
# Per-PID requests over the control socket (SPEC §5), end to end:
# the hot function of a known workload; hz above the continuous rate; who
# may profile what; a process that exits mid-request; hostile clients; two
# requests at once.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock

start_daemon --interval 600 --frequency 49
chmod 755 "$T"   # let an unprivileged user reach the socket

"$WL/cpu_shares" 30 >"$T/wl.out" &
WLPID=$!
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")

# The workload's CPU time in clock ticks (user + system): what a request of
# it can sample, however loaded the machine is.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# 1. the hot function, and the samples are that PID's
t0=$(cpu_ticks)
"$CTL" profile --pid "$pid" --seconds 3 --socket "$SOCK" -o "$T/p49.pb.gz" || fail "pprofctl profile failed"
cpu49=$(($(cpu_ticks) - t0))
pprof -top "$T/p49.pb.gz" 2>/dev/null | grep -q ' alpha$' || fail "alpha not in the requested profile"
pprof -raw "$T/p49.pb.gz" 2>/dev/null | python3 -c '
import sys; sys.path.insert(0, "'"$ROOT"'/tests/e2e"); import pprof_raw
s = pprof_raw.parse(sys.stdin.read()); tot = sum(x["values"][0] for x in s)
mine = sum(x["values"][0] for x in s if x["labels"].get("pid") == "'"$pid"'")
print(f"samples of pid: {mine}/{tot}"); sys.exit(0 if tot and mine >= 0.9 * tot else 1)' ||
	fail "fewer than 90 % of the samples are the PID's"
ok "profile of pid $pid has alpha, and its own samples"
"$CTL" flamegraph "$T/p49.pb.gz" >"$T/p49.svg" || fail "flamegraph of a request"
grep -q "<text id=\"title\"[^>]*>cpu_shares (pid $pid) 20[0-9-]* [0-9:]* UTC, [0-9]* s: cpu" "$T/p49.svg" ||
	fail "the flame graph's title is not the process's: $(grep -o '<text id="title"[^<]*' "$T/p49.svg")"
ok "flame graph titled with the process and its time"

# 2. hz=499 gives about 10x the samples of the 49 Hz rate, for the CPU time
# the workload had in each (on a loaded machine it has less than 3 s)
t0=$(cpu_ticks)
"$CTL" profile --pid "$pid" --seconds 3 --hz 499 --socket "$SOCK" -o "$T/p499.pb.gz" || fail "hz=499 request failed"
cpu499=$(($(cpu_ticks) - t0))
n49=$(pprof -raw "$T/p49.pb.gz" 2>/dev/null | python3 -c 'import sys; sys.path.insert(0, "'"$ROOT"'/tests/e2e"); import pprof_raw; print(sum(x["values"][0] for x in pprof_raw.parse(sys.stdin.read())))')
n499=$(pprof -raw "$T/p499.pb.gz" 2>/dev/null | python3 -c 'import sys; sys.path.insert(0, "'"$ROOT"'/tests/e2e"); import pprof_raw; print(sum(x["values"][0] for x in pprof_raw.parse(sys.stdin.read())))')
python3 -c "import sys; r = ($n499 / max($cpu499, 1)) / max($n49 / max($cpu49, 1), 1e-9); print(f'samples: 49 Hz {$n49} in {$cpu49} ticks, 499 Hz {$n499} in {$cpu499} ticks, ratio per CPU second {r:.1f}'); sys.exit(0 if 7 <= r <= 13 else 1)" ||
	fail "hz=499 should give about 10x the samples of 49 Hz per CPU second: $n49 vs $n499"
ok "hz=499: $n499 samples vs $n49 at 49 Hz"

# 3. a non-root user: refused another user's process, served its own
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" profile --pid "$pid" --seconds 1 --socket "$SOCK" -o /dev/null 2>&1)
[ $? -ne 0 ] && grep -q 'not allowed' <<<"$out" || fail "nobody could profile root's process: $out"
setpriv --reuid=65534 --regid=65534 --clear-groups "$WL/cpu_shares" 30 >"$T/wl2.out" &
NPID=$!
sleep 0.3
pid2=$(awk '/^pid/ {print $2}' "$T/wl2.out")
setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" profile --pid "$pid2" --seconds 1 --socket "$SOCK" >"$T/own.pb.gz" ||
	fail "nobody could not profile its own process"
pprof -top "$T/own.pb.gz" 2>/dev/null | grep -q alpha || fail "nobody's own profile lacks alpha"
kill "$NPID"
ok "non-root: refused root's process, served its own"

# 4. no such process; bad parameters
"$CTL" profile --pid 3999999 --seconds 1 --socket "$SOCK" -o /dev/null 2>"$T/err" && fail "unknown pid accepted"
grep -q 'no such process' "$T/err" || fail "unknown pid: $(cat "$T/err")"
"$CTL" profile --pid "$pid" --seconds 100000 --socket "$SOCK" -o /dev/null 2>"$T/err" && fail "seconds out of range accepted"
"$CTL" profile --pid "$pid" --seconds 1 --socket "$T/nonexistent.sock" -o /dev/null 2>"$T/err" && fail "no daemon: success?"
grep -q 'pprofd is not running' "$T/err" || fail "no daemon: $(cat "$T/err")"
"$CTL" profile --pid "$pid" --seconds 301 --socket "$SOCK" -o /dev/null 2>"$T/err" && fail "seconds over the max accepted"
grep -q 'seconds must be 1\.\.300 (max_request_seconds' "$T/err" || fail "seconds over the max: $(cat "$T/err")"
"$CTL" profile --pid "$pid" --seconds 0 --socket "$SOCK" -o /dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "seconds 0 accepted"
grep -q 'seconds must be 1 or more' "$T/err" || fail "seconds 0: $(cat "$T/err")"
"$CTL" profile --pid -5 --socket "$SOCK" -o /dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "pid -5 accepted"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "'-5' is not a process id" "$T/err" || fail "pid -5: $(cat "$T/err")"
# a socket file nobody listens on: refused, said so
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/dead.sock"
"$CTL" status --socket "$T/dead.sock" 2>"$T/err" && fail "a dead socket answered"
grep -q 'connection refused' "$T/err" || fail "dead socket: $(cat "$T/err")"
# the socket before the command, from PPROFD_SOCKET, and make run's in ./run
"$CTL" --socket "$SOCK" status | grep -q '^samples ' || fail "pprofctl --socket PATH status"
PPROFD_SOCKET=$SOCK "$CTL" status | grep -q '^samples ' || fail "PPROFD_SOCKET"
if [ ! -e /run/pprofd/pprofd.sock ]; then
	mkdir -p "$T/cwd/run" && ln -s "$SOCK" "$T/cwd/run/pprofd.sock"
	(cd "$T/cwd" && "$CTL" status) | grep -q '^samples ' || fail "make run's socket not found from its directory"
fi
"$CTL" --help | grep -q -- '--socket PATH' || fail "top-level help without --socket"
ok "errors: no such process, seconds out of range (one rule, the key named), bad pid, no daemon, refused; the socket found"

# 5. a process that exits mid-request: the partial profile, with a comment
"$WL/cpu_shares" 1.5 >/dev/null &
SPID=$!
start=$(date +%s.%N)
"$CTL" profile --pid "$SPID" --seconds 10 --socket "$SOCK" -o "$T/exit.pb.gz" || fail "request on an exiting process failed"
took=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
pprof -top "$T/exit.pb.gz" 2>/dev/null | grep -q alpha || fail "partial profile lacks alpha"
pprof -raw "$T/exit.pb.gz" 2>/dev/null | grep -q 'exited during the request' || fail "no comment saying the process exited"
ok "process exited mid-request: partial profile after ${took}s, with a comment"

# 5b. one that exits without ever being sampled (asleep): noticed as well
sleep 2 &
SPID=$!
start=$(date +%s.%N)
"$CTL" profile --pid "$SPID" --seconds 8 --socket "$SOCK" -o "$T/exit2.pb.gz" || fail "request on a sleeping process that exits failed"
took=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
python3 -c "import sys; sys.exit(0 if $took < 5 else 1)" || fail "an unsampled exit was noticed after ${took}s, not at once"
pprof -raw "$T/exit2.pb.gz" 2>/dev/null | grep -q 'exited during the request' || fail "no comment saying the sleeping process exited"
ok "unsampled process exited mid-request: answered after ${took}s, with a comment"

# 6. hostile clients, then a normal request is still served promptly
python3 - "$SOCK" <<'PY' || fail "hostile clients"
import socket, struct, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); return s
slow = [conn() for _ in range(5)]
for s in slow: s.send(b"\x00\x00")            # half a header, then nothing
g = conn(); g.send(struct.pack(">I", 10) + b"\xff" * 10); print("garbage:", g.recv(4096)[:40])
t = conn(); t.send(struct.pack(">I", 100) + b"\x08"); t.close()   # truncated
o = conn(); o.send(struct.pack(">I", 1 << 30)); print("oversized:", o.recv(4096)[:40])
v = conn(); v.send(struct.pack(">I", 2) + b"\x08\x63")   # version 99
r = v.recv(4096); print("version:", r[:80])
if b"version mismatch" not in r: sys.exit("no version-mismatch error")
for _ in range(50):
    x = conn(); x.send(b"GET / HTTP/1.0\r\n\r\n"); x.close()
PY
start=$(date +%s.%N)
"$CTL" profile --pid "$pid" --seconds 1 --socket "$SOCK" -o "$T/after.pb.gz" || fail "not served after hostile clients"
took=$(python3 -c "import time; print(time.time() - $start)")
python3 -c "import sys; sys.exit(0 if $took < 3 else 1)" || fail "1-second request took ${took}s after hostile clients"
ok "hostile clients survived; a 1 s request took ${took:0:4}s"

# 7. two concurrent 5-second requests both finish in about 5 seconds
start=$(date +%s.%N)
"$CTL" profile --pid "$pid" --seconds 5 --socket "$SOCK" -o "$T/c1.pb.gz" & c1=$!
"$CTL" profile --pid "$pid" --seconds 5 --hz 199 --socket "$SOCK" -o "$T/c2.pb.gz" & c2=$!
wait $c1 || fail "concurrent request 1 failed"
wait $c2 || fail "concurrent request 2 failed"
took=$(python3 -c "import time; print(time.time() - $start)")
python3 -c "import sys; sys.exit(0 if 4.5 < $took < 7 else 1)" || fail "two 5 s requests took ${took}s"
ok "two concurrent 5 s requests took ${took:0:4}s"

# status counts what happened
"$CTL" status --socket "$SOCK" >"$T/status" || fail "pprofctl status failed"
grep -Eq '^requests_served +[1-9]' "$T/status" || fail "status: no requests served: $(cat "$T/status")"
grep -Eq '^requests_refused +[1-9]' "$T/status" || fail "status: no requests refused"
ok "status: $(grep -E '^requests_' "$T/status" | tr -s ' ' | tr '\n' ' ')"

kill "$WLPID" 2>/dev/null
stop_daemon
