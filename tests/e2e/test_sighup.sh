#!/usr/bin/env bash
# asan: yes
# SIGHUP re-reads the config (SPEC §3): a shorter interval takes effect at
# once (30 s -> 2 s: profiles start coming every ~2 s); a broken config is
# refused, the log names file:line, and the old config stays in force; a
# setting fixed at start (frequency) is said to wait for a restart.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
CONF=$T/pprofd.conf

count() { ls "$T"/profiles/cpu_shares-"$pid"/cpu-*.pb.gz 2>/dev/null | wc -l; }
status_of() { "$CTL" status --socket "$T/pprofd.sock" | awk -v k="$1" '$1 == k {print $2}'; }

echo "interval = 30" >"$CONF"
start_daemon --config "$CONF"
"$WL/cpu_shares" 40 >"$T/wl.out" &
WL_PID=$!
trap 'kill $WL_PID 2>/dev/null; cleanup' EXIT
sleep 2.5
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
[ "$(count)" = 0 ] || fail "a profile before the 30 s window ended"

# 1. interval 30 -> 2
echo "interval = 2" >"$CONF"
kill -HUP "$DAEMON_PID"
sleep 6.5
n=$(count)
grep -q '^<6>SIGHUP: config reloaded (interval 2s)$' "$T/daemon.log" || fail "no reload logged"
[ "$n" -ge 3 ] && [ "$n" -le 5 ] || { ls -l "$T"/profiles/cpu_shares-"$pid"; fail "want 3..5 profiles 6.5 s after interval 30 -> 2, got $n"; }
[ "$(status_of interval_seconds)" = 2 ] || fail "status does not say interval 2"
ok "interval 30 -> 2 by SIGHUP: $n profiles in 6.5 s"

# 2. a broken config: refused with file:line, the 2 s interval stays
printf 'interval = 10\n# a comment\nfrequency = fast\n' >"$CONF"
kill -HUP "$DAEMON_PID"
before=$(count)
sleep 4.5
after=$(count)
grep -q "^<3>SIGHUP: $CONF:3: bad value for frequency: 'fast' (expected Hz 1..10000); keeping the old config\$" "$T/daemon.log" ||
	{ grep SIGHUP "$T/daemon.log"; fail "the broken line is not named in the log"; }
kill -0 "$DAEMON_PID" || fail "pprofd died on a broken config"
[ "$(status_of interval_seconds)" = 2 ] || fail "the old interval (2) is not in force"
[ $((after - before)) -ge 2 ] || fail "profiles stopped coming every 2 s: $before -> $after in 4.5 s"
ok "broken config refused ($CONF:3 named), still writing every 2 s"

# 3. a setting fixed at start: said so, the rest applies
printf 'interval = 3\nfrequency = 99\n' >"$CONF"
kill -HUP "$DAEMON_PID"
for _ in $(seq 30); do grep -q 'interval 3s' "$T/daemon.log" && break; sleep 0.1; done
grep -q '^<4>SIGHUP: frequency changes take effect at restart$' "$T/daemon.log" || fail "no warning that frequency waits for a restart"
[ "$(status_of frequency_hz)" = 49 ] && [ "$(status_of interval_seconds)" = 3 ] ||
	fail "want frequency 49 (at restart) and interval 3 (now)"
ok "frequency waits for a restart, interval applies"
kill $WL_PID 2>/dev/null
stop_daemon
