#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 9: a user's process with more threads than the daemon has
# file descriptors for (a --hz request opens a perf event and a BPF link per
# thread). The request must fail saying so ("too many open files", with the
# limit), never "no such process" (EMFILE is not ESRCH), the process must
# still be there to ask about, and root must still be served once the
# request's descriptors are released.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

# A daemon with 256 descriptors (the unit gives it more; the attack scales).
ulimit -Sn 256
start_daemon --interval 600
ulimit -Sn 1024
chmod 755 "$T"

"${NOBODY[@]}" /usr/bin/python3 -c 'import threading, time
for _ in range(300):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
print("ready", flush=True)
time.sleep(60)' >"$T/threads.out" &
VPID=$!
for _ in $(seq 100); do grep -q ready "$T/threads.out" && break; sleep 0.1; done
grep -q ready "$T/threads.out" || fail "the 300-thread process did not start"

out=$("${NOBODY[@]}" "$CTL" profile --pid "$VPID" --seconds 1 --hz 199 --socket "$T/pprofd.sock" \
	-o /dev/null 2>&1) && fail "a request needing 600 descriptors of 256 succeeded"
echo "$out"
grep -q "no such process" <<<"$out" && fail "EMFILE reported as 'no such process': $out"
grep -q "too many open files (limit 256)" <<<"$out" || fail "the refusal does not say why: $out"
kill -0 "$VPID" || fail "the process is gone"
ok "refused with the reason: $out"
root_served
kill "$VPID"
wait "$VPID" 2>/dev/null
stop_daemon
