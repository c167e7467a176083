#!/usr/bin/env bash
# pprofd confined as systemd/pprofd.service confines it (no systemd PID 1
# here, so the parts that matter are rebuilt by hand): only the unit's
# CapabilityBoundingSet (root without User=: the bounding set is what it
# gets), NoNewPrivileges, a read-only file system with two writable
# directories (ProtectSystem=strict, State/RuntimeDirectory), an empty /tmp
# (PrivateTmp) and /proc with hidepid=invisible (ProtectProc=invisible).
# In there it must do its whole job: a CPU profile written for a process of
# another user whose binary only that user can read, kernel frames named,
# pprofctl profile (above the continuous rate) and heap requests, HTTP, a
# deleted binary, SIGHUP and a clean stop. Every system call it made must
# pass the unit's SystemCallFilter. After start-up it holds only the
# capabilities it needs later (cap_syslog is gone).
. "$(dirname "$0")/lib.sh"
UNIT=$ROOT/systemd/pprofd.service
CTL="$ROOT/$BUILD/pprofctl"
PORT=$((20000 + RANDOM % 20000))
command -v strace >/dev/null || fail "strace is missing (make deps installs it)"
command -v unshare >/dev/null && command -v setpriv >/dev/null || fail "util-linux unshare/setpriv missing"

# the unit's capabilities, as setpriv wants them: -all,+bpf,+perfmon,...
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] || fail "no CapabilityBoundingSet= in the unit"
bset=-all
for c in $caps; do bset="$bset,+$(tr 'A-Z' 'a-z' <<<"${c#CAP_}")"; done
grep -q '^NoNewPrivileges=yes' "$UNIT" || fail "the unit lacks NoNewPrivileges=yes"
echo "bounding set: $bset"

# The writable directories live outside /tmp, which the daemon will not see.
RW=$(mktemp -d /run/pprofd-confine.XXXXXX)
mkdir -p "$RW/state" "$RW/run"
chmod 755 "$RW" "$RW/run"
trap 'cleanup; rm -rf "$RW"' EXIT
SOCK=$RW/run/pprofd.sock
# The daemon sees an empty /tmp (PrivateTmp=): run a copy from $RW, in case
# the checkout itself is under /tmp.
cp "$PPROFD" "$RW/pprofd"
PPROFD=$RW/pprofd
printf 'interval = 3\nhealth_interval = 0\n' >"$RW/pprofd.conf"

# A binary only its owner (nobody) may read, in a directory only it may enter.
chmod 755 "$T"
mkdir "$T/priv"
cp "$WL/cpu_shares" "$WL/heap_sites" "$WL/lock_contend" "$WL/threads_parked" "$T/priv/"
chown -R 65534:65534 "$T/priv"
chmod 700 "$T/priv" "$T/priv/cpu_shares" "$T/priv/heap_sites" "$T/priv/lock_contend" \
	"$T/priv/threads_parked"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"   # execs: same pid

# unshare -m (no fork) execs in place: the same pid becomes setpriv, then strace.
unshare -m --propagation private bash -c '
	set -e
	mount -t proc -o hidepid=invisible proc /proc
	for mp in $(awk "{print \$5}" /proc/self/mountinfo | sort -u); do
		mount -o remount,bind,ro "$mp" 2>/dev/null || true
	done
	mount -t tmpfs -o mode=1777 tmpfs /tmp
	mount -t tmpfs -o mode=1777 tmpfs /var/tmp
	mount --bind "$1" "$1"
	mount -o remount,bind,rw "$1"
	shift
	exec "$@"' confine "$RW" \
	setpriv --no-new-privs --inh-caps=-all --bounding-set="$bset" \
	strace -f -qq -o "$RW/trace" \
	"$PPROFD" --config "$RW/pprofd.conf" --output-dir "$RW/state" --socket "$SOCK" \
	--http 127.0.0.1:$PORT >"$T/daemon.log" 2>&1 &
TRACER=$!
for _ in $(seq 150); do grep -q 'profiling every process' "$T/daemon.log" && break; sleep 0.1; done
DAEMON_PID=$(pgrep -P "$TRACER" -x pprofd)
[ -n "$DAEMON_PID" ] || { cat "$T/daemon.log"; fail "pprofd did not start confined"; }

# 1. capabilities after start-up: the unit's, minus what only start-up used
eff=$(awk '/^CapEff/ {print $2}' /proc/$DAEMON_PID/status)
want=$(printf '%016x' $(((1 << 38) | (1 << 39) | (1 << 40) | (1 << 19) | (1 << 2))))
[ "$eff" = "$want" ] || fail "effective capabilities $eff, want $want (bpf perfmon checkpoint_restore sys_ptrace dac_read_search)"
grep -q 'capabilities: keeping .*; dropped cap_syslog$' "$T/daemon.log" || fail "no log line of cap_syslog dropped"
[ "$(awk '/^NoNewPrivs/ {print $2}' /proc/$DAEMON_PID/status)" = 1 ] || fail "no_new_privs is not set"
ok "after start-up: CapEff $eff, cap_syslog dropped"

# 2. another user's process, its binary readable by it alone
$NOBODY "$T/priv/cpu_shares" 12 >"$T/wl.out" &
sleep 0.3
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
"$CTL" profile --pid "$pid" --seconds 2 --hz 199 --socket "$SOCK" -o "$T/req.pb.gz" ||
	{ tail "$T/daemon.log"; fail "pprofctl profile failed"; }
# -symbolize=none: the names must be pprofd's, not go tool pprof's own
pprof -symbolize=none -top "$T/req.pb.gz" 2>/dev/null | grep -q ' alpha$' ||
	fail "the requested profile lacks alpha: the binary was not read"
ok "pprofctl profile --hz 199 of nobody's process: symbolized by pprofd"

curl -sf -o "$T/http.pb.gz" "http://127.0.0.1:$PORT/debug/pprof/profile?pid=$pid&seconds=1" ||
	fail "HTTP profile from loopback refused"
pprof -symbolize=none -top "$T/http.pb.gz" 2>/dev/null | grep -qE ' (alpha|beta|gamma_fn)$' ||
	fail "HTTP profile not symbolized"
ok "HTTP /debug/pprof/profile served (sock_diag peer lookup works)"

# 3. a heap request on another user's process
rm -f "$T/fifo" && mkfifo "$T/fifo"
$NOBODY "$T/priv/heap_sites" <"$T/fifo" >"$T/sites.out" &
HPID=$!
exec 7>"$T/fifo"
"$CTL" heap --pid "$HPID" --seconds 6 --socket "$SOCK" -o "$T/heap.pb.gz" &
REQ=$!
for _ in $(seq 100); do grep -q "heap: profiling pid $HPID " "$T/daemon.log" && break; sleep 0.1; done
echo go >&7
exec 7>&-
wait $REQ || { tail "$T/daemon.log"; fail "pprofctl heap failed"; }
wait $HPID
pprof -symbolize=none -sample_index=alloc_space -top "$T/heap.pb.gz" 2>/dev/null | grep -q ' site_small$' ||
	fail "the heap profile lacks site_small"
ok "pprofctl heap of nobody's process"

# 4. a deleted binary (in /tmp, which pprofd does not see): only
# /proc/PID/map_files has it
cp "$WL/cpu_shares" "$T/deleted_wl"
"$T/deleted_wl" 6 >"$T/wl2.out" &
sleep 0.3
rm "$T/deleted_wl"
pid2=$(awk '/^pid/ {print $2}' "$T/wl2.out")
"$CTL" profile --pid "$pid2" --seconds 1 --socket "$SOCK" -o "$T/del.pb.gz" || fail "profile of a deleted binary failed"
pprof -symbolize=none -top "$T/del.pb.gz" 2>/dev/null | grep -qE ' (alpha|beta|gamma_fn)$' ||
	fail "a deleted binary is not symbolized"
ok "deleted binary symbolized"

# 5. the continuous profile, in the state directory, with kernel frames named
for _ in $(seq 80); do ls "$RW"/state/cpu_shares-"$pid"/cpu-*.pb.gz >/dev/null 2>&1 && break; sleep 0.1; done
f=$(ls "$RW"/state/cpu_shares-"$pid"/cpu-*.pb.gz 2>/dev/null | head -1)
[ -n "$f" ] || fail "no continuous profile of pid $pid in the state directory"
pprof -symbolize=none -top "$f" 2>/dev/null | grep -q ' alpha$' || fail "continuous profile lacks alpha"
named=0
for g in "$RW"/state/*/cpu-*.pb.gz; do
	pprof -symbolize=none -raw "$g" 2>/dev/null | grep -qE '^ +[0-9]+: 0xffffffff[0-9a-f]+ M=[0-9]+ [A-Za-z_]' &&
		named=$((named + 1))
	[ $named -ge 1 ] && break
done
[ $named -ge 1 ] || fail "no kernel frame named in any profile: /proc/kallsyms was not read"
ok "continuous profile written; kernel frames named"

# 5b. mutex, block and threads of nobody's processes: their BPF programs
# (raw syscall and sched_switch tracepoints, a task iterator) are loaded
# on demand, after start-up dropped what it could
$NOBODY "$T/priv/lock_contend" 4 >/dev/null &
LPID=$!
for kind in mutex block; do
	"$CTL" $kind --pid "$LPID" --seconds 1 --socket "$SOCK" -o "$T/$kind.pb.gz" ||
		{ tail "$T/daemon.log"; fail "pprofctl $kind failed"; }
	pprof -symbolize=none -top "$T/$kind.pb.gz" 2>/dev/null | grep -q ' hold_[ab]$' ||
		fail "the $kind profile lacks hold_a/hold_b"
done
wait $LPID
$NOBODY "$T/priv/threads_parked" >"$T/parked.out" &
TPID=$!
for _ in $(seq 50); do grep -q ready "$T/parked.out" && break; sleep 0.1; done
"$CTL" threads --pid "$TPID" --socket "$SOCK" -o "$T/threads.pb.gz" ||
	{ tail "$T/daemon.log"; fail "pprofctl threads failed"; }
pprof -symbolize=none -top "$T/threads.pb.gz" 2>/dev/null | grep -q ' park_in_read$' ||
	fail "the threads profile lacks park_in_read"
kill $TPID; wait $TPID 2>/dev/null
ok "pprofctl mutex, block and threads of nobody's processes"

# 6. SIGHUP re-reads the config, and a clean stop
kill -HUP "$DAEMON_PID"
for _ in $(seq 30); do grep -q 'SIGHUP: config reloaded' "$T/daemon.log" && break; sleep 0.1; done
grep -q 'SIGHUP: config reloaded' "$T/daemon.log" || fail "SIGHUP not applied"
"$CTL" status --socket "$SOCK" >/dev/null || fail "pprofctl status failed"
kill -TERM "$DAEMON_PID"
wait "$TRACER"
rc=$?
DAEMON_PID=
[ $rc -eq 0 ] || { tail -20 "$T/daemon.log"; fail "confined pprofd exited with $rc"; }
grep -E '^<[0-3]>' "$T/daemon.log" && fail "errors in the daemon log"
ok "SIGHUP and SIGTERM handled; no error logged"

# 7. every system call made passes the unit's filter
python3 "$ROOT/tests/e2e/syscall_filter.py" "$UNIT" "$RW/trace" || fail "a system call the unit refuses"
grep -q 'capset(' "$RW/trace" || fail "no capset in the trace"
ok "every system call is allowed by SystemCallFilter="
