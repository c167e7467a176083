#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 7: a process named ".x" cannot write profiles that
# retention never deletes. Its directory is named "_x-<pid>" and retention
# covers every entry of the output directory (a leading '.' or not), so
# with retention_max_age = 1s nothing stays behind once it has exited.
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
OUT=$T/profiles
chmod 755 "$T"
mkdir -m 0755 "$T/bin"
cp "$WL/cpu_shares" "$T/bin/.x"
cat >"$T/pprofd.conf" <<CONF
retention_max_age = 1s
CONF
"${NOBODY[@]}" "$T/bin/.x" 60 >"$T/wl.out" &
WL_PID=$!
trap 'kill $WL_PID 2>/dev/null; cleanup' EXIT
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
[ "$(cat /proc/$pid/comm)" = .x ] || fail "the workload's comm is not .x"
start_daemon --config "$T/pprofd.conf" --interval 1 --http 127.0.0.1:$PORT
sleep 2.5
[ -z "$(ls -A "$OUT" | grep '^\.')" ] || fail "an entry starting with '.': $(ls -A "$OUT")"
ls "$OUT/_x-$pid"/cpu-*.pb.gz >/dev/null || fail "no profile of .x in $OUT/_x-$pid"
kill $WL_PID
sleep 4.5
grep -q 'retention: removed' "$T/daemon.log" || fail "retention removed nothing"
left=$(find "$OUT" -type f -path "*x-$pid/*")
[ -z "$left" ] || fail "files kept past retention_max_age = 1s: $left"
ok "process .x (pid $pid): written as _x-$pid, nothing kept past retention_max_age = 1s"
root_served "$PORT"
stop_daemon
