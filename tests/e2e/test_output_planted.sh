#!/usr/bin/env bash
# asan: yes
# Issue 12, attack 6: the output directory cannot be used to steer root's
# writes and deletes. pprofd refuses to start on a directory others may
# write (and keeps the old one at SIGHUP); inside its directory, a
# <comm>-<pid> entry that is a symlink (planted, as by an earlier
# compromise, before the process's first window) is neither written
# through nor cleaned under by retention: nothing outside the output
# directory is written or deleted.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
PORT=$(free_port)

# 1. a world-writable output directory: refused at start, with the reason
mkdir -m 0777 "$T/open"
chmod 0777 "$T/open"
timeout 20 "$PPROFD" --output-dir "$T/open" --socket "$T/x.sock" --no-http >"$T/open.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "pprofd started on a 0777 output directory (rc $rc)"
grep -q "output directory $T/open has mode 0777" "$T/open.log" ||
	{ cat "$T/open.log"; fail "no reason given for refusing $T/open"; }
ok "a 0777 output directory is refused: $(grep -o 'output directory.*' "$T/open.log")"

# 2. a symlink <comm>-<pid> to a directory outside, planted before the
# process's first window, with an old profile-like file there
OUT=$T/profiles
mkdir -m 0700 "$OUT" "$T/victim"
touch -d '2000-01-01' "$T/victim/cpu-20000101T000000Z.pb.gz"
"${NOBODY[@]}" "$WL/cpu_shares" 60 >"$T/wl.out" &
WL_PID=$!
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
ln -s "$T/victim" "$OUT/cpu_shares-$pid"
cat >"$T/pprofd.conf" <<CONF
retention_max_age = 1s
output_dir = $OUT
CONF
OUTPUT_DIR_IN_CONFIG=1 start_daemon --config "$T/pprofd.conf" --interval 2 --http 127.0.0.1:$PORT
trap 'kill $WL_PID 2>/dev/null; cleanup' EXIT
sleep 5
ls -la "$T/victim"
[ -e "$T/victim/cpu-20000101T000000Z.pb.gz" ] || fail "retention deleted a file through the symlink"
[ -z "$(ls "$T/victim" | grep -v '^cpu-20000101T000000Z.pb.gz$')" ] ||
	fail "profiles were written through the symlink: $(ls "$T/victim")"
[ -L "$OUT/cpu_shares-$pid" ] || fail "the planted symlink was replaced"
refused=$("$CTL" status --socket "$T/pprofd.sock" | awk '$1 == "profiles_refused" {print $2}')
[ "${refused:-0}" -ge 1 ] || fail "refusals not counted (profiles_refused=${refused:-none})"
n=$(grep -c 'is not pprofd.s' "$T/daemon.log")
[ "$n" = 1 ] || fail "the refusal was logged $n times, want once"
ok "symlink $OUT/cpu_shares-$pid not followed: nothing written or deleted in $T/victim ($refused refused, logged once)"

# 3. SIGHUP to a world-writable directory: the old one stays
sed -i "s|^output_dir = .*|output_dir = $T/open|" "$T/pprofd.conf"
kill -HUP "$DAEMON_PID"
sleep 1
grep -q "SIGHUP: output directory $T/open has mode 0777.*; keeping the old config" "$T/daemon.log" ||
	fail "SIGHUP to a 0777 directory not refused"
[ -z "$(ls -A "$T/open")" ] || fail "something was written in $T/open"
ok "SIGHUP to a 0777 output directory: refused, old config kept"

root_served "$PORT"
kill $WL_PID
stop_daemon
