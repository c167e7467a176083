#!/usr/bin/env bash
# asan: yes
# A full, then read-only output directory (SPEC §7), on a 1 MiB tmpfs of the
# test's own: pprofd keeps serving requests, logs each condition once however
# many windows and files fail, retries, and writes again once space is freed
# (or the directory is writable again), logging that once too. No restart.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
OUT=$T/out
mkdir "$OUT"
mount -t tmpfs -o size=1m,mode=0700 pprofd-test "$OUT" || fail "cannot mount a tmpfs on $OUT"
trap '[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID"; DAEMON_PID=;
	kill $WL_PID 2>/dev/null; umount "$OUT"; cleanup' EXIT

nfiles() { find "$OUT" -name 'cpu-*.pb.gz' | wc -l; }
nlog() { grep -c "$1" "$T/daemon.log"; }
FULL="^<3>output: cannot write profiles to $OUT: No space left on device; retrying"
ROFS="^<3>output: cannot write profiles to $OUT: Read-only file system; retrying"
AGAIN="^<6>output: $OUT writable again ([0-9]* profiles could not be written)\$"

"$WL/cpu_shares" 60 >"$T/wl.out" &
WL_PID=$!
start_daemon --output-dir "$OUT" --interval 2
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
for _ in $(seq 50); do [ "$(nfiles)" -gt 0 ] && break; sleep 0.1; done
[ "$(nfiles)" -gt 0 ] || fail "nothing written to the tmpfs"

# remount_ro: the kernel refuses (EBUSY) while pprofd has a file open for
# writing there, which it may at any moment: retried until it takes.
remount_ro() {
	for _ in $(seq 100); do mount -o remount,ro "$OUT" 2>/dev/null && return 0; sleep 0.05; done
	fail "cannot remount $OUT read-only"
}

# 1. full: three windows (2 s each) of failing writes, logged once
dd if=/dev/zero of="$OUT/junk" bs=64k 2>/dev/null
[ "$(df --output=avail "$OUT" | tail -1)" -eq 0 ] || fail "the tmpfs is not full"
sleep 6.5
"$CTL" profile --pid "$pid" --seconds 2 --hz 199 --socket "$T/pprofd.sock" -o "$T/req.pb.gz" ||
	fail "a request failed while the disk was full"
pprof -top "$T/req.pb.gz" 2>/dev/null | grep -q ' alpha$' || fail "the request's profile lacks alpha"
errs=$("$CTL" status --socket "$T/pprofd.sock" | awk '$1 == "profile_write_errors" {print $2}')
[ "$errs" -ge 3 ] || fail "want 3+ write errors counted over three windows, got $errs"
[ "$(nlog "$FULL")" = 1 ] || { grep output: "$T/daemon.log"; fail "disk full logged $(nlog "$FULL") times, want once"; }
ok "disk full: logged once for $errs failed writes; requests still served"

# 2. space freed: writes again, said once
before=$(nfiles)
rm "$OUT/junk"
sleep 4.5
[ "$(nfiles)" -gt "$before" ] || fail "no new profile after the space was freed"
[ "$(nlog "$AGAIN")" = 1 ] || { grep output: "$T/daemon.log"; fail "recovery logged $(nlog "$AGAIN") times, want once"; }
ok "space freed: writing again ($before -> $(nfiles) files), logged once"

# 3. read-only, then writable again
remount_ro
sleep 4.5
[ "$(nlog "$ROFS")" = 1 ] || { grep output: "$T/daemon.log"; fail "read-only logged $(nlog "$ROFS") times, want once"; }
mount -o remount,rw "$OUT"
before=$(nfiles)
sleep 4.5
[ "$(nfiles)" -gt "$before" ] || fail "no new profile once writable again"
[ "$(nlog "$AGAIN")" = 2 ] || { grep output: "$T/daemon.log"; fail "want a second 'writable again'"; }
[ "$(nlog "$FULL")" = 1 ] || fail "disk full logged again"
grep -c '^<3>' "$T/daemon.log" | grep -qx 2 || { grep '^<3>' "$T/daemon.log"; fail "want exactly 2 error lines in the log"; }
ok "read-only: logged once; writable again: logged once"

kill $WL_PID
stop_daemon
