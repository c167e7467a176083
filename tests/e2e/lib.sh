# Helpers for end-to-end tests: start the real daemon, wait for files, read
# profiles with `go tool pprof` as a user would.
set -u
BUILD=${PPROFD_BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PPROFD=$ROOT/$BUILD/pprofd
WL=$ROOT/build/workloads
# PPROFD_TEST_TAG (set by tests/run.sh) names this test's directories, so
# that the runner looks at its own leftovers only, not another suite's.
T=$(mktemp -d /tmp/pprofd-test.${PPROFD_TEST_TAG:-}XXXXXX)
DAEMON_PID=
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# fail MESSAGE: the test fails; the daemon's last words go with it (a flake
# in CI leaves nothing else to read).
fail() {
	echo "FAIL: $*" >&2
	if [ -s "$T/daemon.log" ]; then
		echo "--- the end of pprofd's log:" >&2
		tail -15 "$T/daemon.log" >&2
	fi
	exit 1
}
ok() { echo "ok: $*"; }

cleanup() {
	[ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

pprof() { HOME=$T go tool pprof "$@"; }

# raw_profile FILE: FILE in `go tool pprof -raw` form in $T/raw.txt (read by
# pprof_raw.py); fails when pprof cannot read it or says anything on stderr.
raw_profile() {
	pprof -raw "$1" 2>"$T/err.txt" >"$T/raw.txt" || fail "pprof cannot read $1"
	[ ! -s "$T/err.txt" ] || fail "pprof warned: $(cat "$T/err.txt")"
}

# cpu_request WORKLOAD ARGS...: runs the workload (output in $T/wl.out)
# under a 499 Hz profile request of it, which ends when it exits: the
# profile in $T/c.pb.gz, in -raw form in $T/raw.txt.
cpu_request() {
	local wl=$1
	shift
	"$WL/$wl" "$@" >"$T/wl.out" &
	cpu_request_pid $!
}

# cpu_request_pid PID: the same for a process of ours already started.
cpu_request_pid() {
	sleep 0.3
	"$ROOT/$BUILD/pprofctl" profile --pid "$1" --seconds 30 --hz 499 --socket "$T/pprofd.sock" \
		-o "$T/c.pb.gz" || fail "pprofctl profile failed"
	wait "$1"
	raw_profile "$T/c.pb.gz"
}

# share_reaching FILE FRAME N ROOT... [-- PPROF_ARGS]: % of FILE's value
# (its default sample type, or PPROF_ARGS') in stacks with N or more FRAME
# frames and one of the ROOTs (main, start_thread): the share of whole stacks
# of a deep recursion.
share_reaching() {
	local file=$1 frame=$2 n=$3 roots=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do roots+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	pprof -traces "$@" "$file" 2>/dev/null | python3 -c '
import re, sys
frame, n, roots = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
scale = {"": 1, "s": 1e3, "ms": 1, "us": 1e-3, "ns": 1e-6, "B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
total = whole = 0
for block in sys.stdin.read().split("-----------+")[1:]:
    frames, value = [], None
    for l in block.splitlines():
        if not l.strip() or l.lstrip().startswith("-"):
            continue
        m = re.match(r"\s+([0-9.]+)([A-Za-z]*)\s+(\S+)", l)
        if m and value is None and m.group(2) in scale:
            value = float(m.group(1)) * scale[m.group(2)]
            frames.append(m.group(3))
        elif value is not None:
            frames.append(l.split()[0])
    if value is None:
        continue
    total += value
    if frames.count(frame) >= n and roots & set(frames):
        whole += value
print("%.1f" % (100 * whole / total if total else 0))
' "$frame" "$n" "${roots[@]}"
}

# heap_sites_request ctl|http OUT [WORKLOAD]: starts WORKLOAD (heap_sites;
# any that says "ready" and waits for a line) paused, under the environment
# SITES_ENV names, if any, asks for its heap profile through that front
# end ($T/pprofd.sock; $PORT), lets it run, waits for both (its output in
# $T/sites.out; it must exit 0); WPID is its pid.
heap_sites_request() {
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	env ${SITES_ENV:-} "$WL/${3:-heap_sites}" <"$T/fifo" >"$T/sites.out" 2>&1 &
	WPID=$!
	exec 7>"$T/fifo"
	# started (its libraries mapped): it says so before it waits
	for _ in $(seq 100); do grep -q ready "$T/sites.out" && break; sleep 0.05; done
	if [ "$1" = ctl ]; then
		"$ROOT/$BUILD/pprofctl" heap --pid "$WPID" --seconds 120 --socket "$T/pprofd.sock" -o "$2" &
	else
		curl -sf -o "$2" "http://127.0.0.1:$PORT/debug/pprof/heap?pid=$WPID&seconds=120" &
	fi
	local req=$!
	# the probes are attached once the daemon says so
	for _ in $(seq 100); do grep -q "heap: profiling pid $WPID " "$T/daemon.log" && break; sleep 0.1; done
	echo go >&7
	exec 7>&-
	wait $req || fail "request failed: $(tail -3 "$T/daemon.log")"
	wait $WPID || fail "${3:-heap_sites} failed: $(tail -3 "$T/sites.out")"
}

# heap_preloaded_start: heap_target = preloaded at a SIGHUP, then
# heap_sites started paused under SITES_ENV (its output in $T/sites.out;
# `echo go >&7` lets it run); fails unless pprofd attaches it as it maps
# its sampler (at its exec it had not). CPID is its pid.
heap_preloaded_start() {
	echo "heap_target = preloaded" >"$T/pprofd.conf"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do grep -q "SIGHUP: config reloaded" "$T/daemon.log" && break; sleep 0.1; done
	rm -f "$T/fifo2" && mkfifo "$T/fifo2"
	env ${SITES_ENV:-} "$WL/heap_sites" <"$T/fifo2" >"$T/sites.out" &
	CPID=$!
	exec 7>"$T/fifo2"
	for _ in $(seq 100); do grep -q "continuous heap profiling of pid $CPID " "$T/daemon.log" && break; sleep 0.1; done
	grep -q "continuous heap profiling of pid $CPID " "$T/daemon.log" ||
		fail "pid $CPID (preloaded) was not attached: $(grep "pid $CPID" "$T/daemon.log")"
}

# heap_sites_check FILE SAMPLE_INDEX FIELD TOLERANCE [SITES]: a workload's
# own totals ($T/sites.out) against FILE's, site by site (heap_sites'
# site_small, site_4k, site_1m; SITES=all: every site it printed): FIELD
# (alloc or inuse) within TOLERANCE (0.10: 10 %).
heap_sites_check() {
	pprof -sample_index="$2" -top -nodecount=100 "$1" 2>/dev/null >"$T/top.txt"
	PYTHONPATH="$ROOT/tests/e2e" python3 - "$T/sites.out" "$T/top.txt" "$3" "$4" "${5:-}" <<'PY' || { pprof -comments "$1"; grep -iE 'heap|warn' "$T/daemon.log" | tail; fail "$2: sites off (see above)"; }
import sys, pprof_raw
truth, got = pprof_raw.site_truth(sys.argv[1]), pprof_raw.top_bytes(sys.argv[2])
field, tol, bad = sys.argv[3], float(sys.argv[4]), 0
sites = list(truth) if sys.argv[5] == "all" else ("site_small", "site_4k", "site_1m")
for site in sites:
    want, have = truth[site][field], got.get(site, 0)
    ok = abs(have - want) <= tol * max(want, 1) if want else have < 0.02 * truth[site]["alloc"]
    print(f"{field} {site}: true {want/2**20:.1f} MiB, profile {have/2**20:.1f} MiB {'ok' if ok else 'OFF'}")
    bad += not ok
sys.exit(bad)
PY
}

# deep_reaching_main FILE MIN WHAT: sets SHARE, the share of FILE's
# samples reaching main through DEPTH + 1 descend frames (cpu_deep's deep
# recursion); fails, with the profile's other frames, when under MIN %.
deep_reaching_main() {
	local file=$1 min=$2 what=$3
	SHARE=$(share_reaching "$file" descend $((DEPTH + 1)) main)
	python3 -c "import sys; sys.exit(0 if float('$SHARE') >= $min else 1)" && return 0
	# the verdict first: a CI log keeps the start and the end of a failure
	echo "FAILING: $what: only $SHARE % of the samples reach main (want >= $min %); its traces:"
	pprof -traces "$file" 2>/dev/null | grep -v '^ *descend$' | head -40
	fail "$what: only $SHARE % of the samples reach main through $((DEPTH + 1)) descend frames"
}

# wait_active N: waits (5 s at most) until pprofd has N requests in
# progress; fails otherwise.
wait_active() {
	local n
	for _ in $(seq 50); do
		n=$("$ROOT/$BUILD/pprofctl" status --socket "$T/pprofd.sock" | awk '$1 == "requests_active" {print $2}')
		[ "$n" = "$1" ] && return 0
		sleep 0.1
	done
	fail "want $1 requests in progress, have ${n:-none}"
}

# start_daemon ARGS...: runs pprofd in the background, logs in $T/daemon.log,
# and waits until it says it is profiling. OUTPUT_DIR_IN_CONFIG=1: no
# --output-dir (the config file's output_dir is then the one in force).
start_daemon() {
	local outdir=(--output-dir "$T/profiles") conf= prev= a
	[ -n "${OUTPUT_DIR_IN_CONFIG:-}" ] && outdir=()
	# The tests look for a process's files under <comm>-<pid>/: short-lived
	# ones too, unless the test's config says otherwise (test_short_lived).
	for a in "$@"; do [ "$prev" = --config ] && conf=$a; prev=$a; done
	if [ -z "$conf" ]; then
		conf=$T/start_daemon.conf
		: >"$conf"
		set -- --config "$conf" "$@"
	fi
	grep -q '^short_lived_files' "$conf" || echo "short_lived_files = per_process" >>"$conf"
	"$PPROFD" "${outdir[@]}" --socket "$T/pprofd.sock" --no-http "$@" \
		>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		grep -q 'profiling every process' "$T/daemon.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.log" >&2; fail "pprofd exited at start"; }
		sleep 0.1
	done
	cat "$T/daemon.log" >&2
	fail "pprofd did not start"
}

# stop_daemon: SIGTERM and wait; fails if it does not exit cleanly in 20 s.
stop_daemon() {
	local rc
	kill -TERM "$DAEMON_PID"
	for _ in $(seq 200); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		# what it is doing: its log, its threads' stacks
		tail -20 "$T/daemon.log" >&2
		grep State "/proc/$DAEMON_PID/status" >&2
		timeout 60 gdb -p "$DAEMON_PID" -batch -ex 'thread apply all bt' 2>/dev/null | grep '^#' | head -40 >&2
		fail "pprofd did not stop on SIGTERM"
	fi
	wait "$DAEMON_PID"; rc=$?
	DAEMON_PID=
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/daemon.log"; then
		cat "$T/daemon.log" >&2; fail "sanitizer report in the daemon log"
	fi
	[ $rc -eq 0 ] || { tail -20 "$T/daemon.log" >&2; fail "pprofd exited with $rc"; }
}

# The profiles written for one pid.
profiles_of() { ls "$T"/profiles/*-"$1"/cpu-*.pb.gz 2>/dev/null; }

# "${NOBODY[@]}" CMD...: runs CMD as uid/gid 65534 with no groups (the
# attacker); an array, not a function, so that `... &` gives CMD's own pid.
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# hot_sources: $T/hot.c, a library whose hot code is two static functions
# (hot_a twice as long as hot_b), and $T/main.c, a program that runs it
# for argv[1] seconds.
hot_sources() {
	cat >"$T/hot.c" <<'C'
volatile unsigned long sink;
__attribute__((noipa)) static void hot_a(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i * 7 + (sink >> 3);
}
__attribute__((noipa)) static void hot_b(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink ^= i * 13 + (sink << 1);
}
void run(unsigned long rounds)
{
	for (unsigned long r = 0; r < rounds; r++) {
		hot_a(2000000);
		hot_b(1000000);
	}
}
C
	cat >"$T/main.c" <<'C'
#include <stdlib.h>
#include <time.h>
void run(unsigned long rounds);
int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);
	while (time(NULL) < end)
		run(10);
	return 0;
}
C
}

# free_port: a loopback TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# root_served [HTTP_PORT]: root is still served promptly after an attack:
# `pprofctl status` within 1 s, a 1 s CPU request of a root process within
# 1 s of its length, and (given a port) the HTTP index within 1 s.
root_served() {
	local port=${1:-} ctl="$ROOT/$BUILD/pprofctl" out victim
	out=$(timeout 1 "$ctl" status --socket "$T/pprofd.sock" 2>&1) ||
		fail "root's pprofctl status did not answer within 1 s: ${out:-no message}"
	sleep 30 &
	victim=$!
	out=$(timeout 2 "$ctl" profile --pid "$victim" --seconds 1 --socket "$T/pprofd.sock" \
		-o "$T/root-req.pb.gz" 2>&1)
	local rc=$?
	kill "$victim"
	[ $rc -eq 0 ] || fail "root's 1 s CPU request did not succeed within 2 s (rc $rc): ${out:-no message}"
	if [ -n "$port" ]; then
		out=$(curl -sS -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/debug/pprof/" 2>&1)
		[ "$out" = 200 ] || fail "root's HTTP index did not answer 200 within 1 s: $out"
	fi
	ok "root served: status, a CPU request${port:+ and the HTTP index}"
}

# flood_sideband: on every CPU, 10,000 threads started and joined: a fork
# and an exit record (48 bytes) each fill its side-band ring to the last
# 48 bytes while the daemon is stopped, so that the next records are lost.
flood_sideband() {
	local cpu floods=()
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$cpu" python3 -c 'import threading
for _ in range(10000):
    t = threading.Thread(target=int); t.start(); t.join()' &
		floods+=($!)
	done
	wait "${floods[@]}"
}
