#!/usr/bin/env bash
# asan: yes
# systemd readiness (Type=notify) against a NOTIFY_SOCKET of the test's own:
# READY=1 comes only once BPF is attached and the control socket listens
# (the listener stops pprofd the moment READY=1 arrives and looks), STATUS=
# carries the one-line summary at every window, WATCHDOG=1 comes at half the
# period asked, SIGHUP is RELOADING=1 then READY=1, SIGTERM is STOPPING=1.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
SOCK=$T/pprofd.sock
N=$T/notify.out

python3 "$ROOT/tests/e2e/notify_listen.py" "$T/notify.sock" "$N" "$SOCK" "$T/daemon.log" &
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
[ -S "$T/notify.sock" ] || fail "the notify listener did not start"

export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000
start_daemon --interval 2
unset NOTIFY_SOCKET WATCHDOG_USEC
for _ in $(seq 50); do grep -q '^snapshot' "$N" 2>/dev/null && break; sleep 0.1; done

# 1. READY=1, once, from pprofd itself, and only when it could serve
[ "$(grep -c ' READY=1' "$N")" = 1 ] || { cat "$N"; fail "want exactly one READY=1 at start"; }
grep ' READY=1' "$N" | awk -v p="$DAEMON_PID" '$2 != p {exit 1}' || fail "READY=1 not sent by pprofd (pid $DAEMON_PID)"
grep -q '^snapshot socket=1 bpf=1 listening=1$' "$N" ||
	{ cat "$N"; fail "READY=1 came before BPF was attached and the socket listened"; }
"$CTL" status --socket "$SOCK" >"$T/status.txt" || fail "pprofctl status right after READY=1 failed"
ok "READY=1 after BPF attach and listen: $(grep '^snapshot' "$N")"

# 2. STATUS= at every window (2 s), with the summary; WATCHDOG=1 about every second
sleep 6
nstatus=$(grep -c 'STATUS=samples=[0-9]* drops=[0-9]* .*processes=[0-9]* files=[0-9]* bytes=[0-9]* .*output=ok' "$N")
[ "$nstatus" -ge 2 ] || { cat "$N"; fail "want 2+ STATUS= summaries in 6 s at a 2 s interval, got $nstatus"; }
nwd=$(grep -c ' WATCHDOG=1$' "$N")
[ "$nwd" -ge 4 ] || { cat "$N"; fail "want 4+ WATCHDOG=1 in 6 s with WATCHDOG_USEC=2 s, got $nwd"; }
ok "$nstatus STATUS= lines, e.g. '$(grep -m1 -o 'STATUS=samples.*' "$N")'; $nwd WATCHDOG=1"

# 3. SIGHUP: RELOADING=1, then READY=1
kill -HUP "$DAEMON_PID"
for _ in $(seq 30); do [ "$(grep -c ' READY=1' "$N")" = 2 ] && break; sleep 0.1; done
grep -E ' (RELOADING|READY)=1' "$N" | tail -2 | awk '{print $3}' | tr '\n' ' ' | grep -q '^RELOADING=1 READY=1 ' ||
	{ cat "$N"; fail "SIGHUP: want RELOADING=1 then READY=1"; }
ok "SIGHUP: RELOADING=1, READY=1"

# 4. SIGTERM: STOPPING=1, then a clean exit
stop_daemon
sleep 0.2
grep -q ' STOPPING=1$' "$N" || { cat "$N"; fail "no STOPPING=1 at SIGTERM"; }
ok "SIGTERM: STOPPING=1"
