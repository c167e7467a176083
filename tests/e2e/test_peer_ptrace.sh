#!/usr/bin/env bash
# asan: yes
# Who may read every process (SPEC §5: root or CAP_SYS_PTRACE): a uid-65534
# client holding CAP_SYS_PTRACE is served a profile of root's process; the
# same user without it is refused, and so is the user holding every
# capability in a user namespace of its own (unshare -Ur), where they mean
# nothing outside it.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
PTRACER=("${NOBODY[@]}" --inh-caps=+sys_ptrace --ambient-caps=+sys_ptrace)
chmod 755 "$T"
start_daemon --interval 600
sleep 30 &
V=$!
trap 'kill $V 2>/dev/null; cleanup' EXIT

ask() { # as... : a 1 s CPU request of root's process V, its profile in $T/a.pb.gz
	"$@" "$CTL" profile --pid "$V" --seconds 1 --socket "$T/pprofd.sock" >"$T/a.pb.gz" 2>"$T/a.err"
}
ask "${PTRACER[@]}" || fail "a client with CAP_SYS_PTRACE was refused: $(cat "$T/a.err")"
raw_profile "$T/a.pb.gz"
ok "a uid-65534 client with CAP_SYS_PTRACE is served root's process"
! ask "${NOBODY[@]}" || fail "a client without CAP_SYS_PTRACE was served root's process"
grep -q 'may not read\|permission\|not allowed' "$T/a.err" || fail "refused without a reason: $(cat "$T/a.err")"
! ask "${NOBODY[@]}" unshare -Ur || fail "every capability in its own user namespace was taken for CAP_SYS_PTRACE"
ok "without it, or with it only in its own user namespace, refused: $(cat "$T/a.err")"
stop_daemon
