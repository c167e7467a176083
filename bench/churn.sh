#!/usr/bin/env bash
# pprofd on a host with heavy process churn (issue 18, SPEC §6): two loops
# start short processes as fast as they can (a build or CI host) for
# DURATION seconds (default 100), with a CPU request of one of them and a
# SIGHUP half-way. Printed, for each short_lived_files layout:
#   - processes started a second (/proc/stat's `processes`)
#   - files written a minute (every *.pb.gz under the output directory)
#   - pprofd's peak RSS (VmHWM) and its fds at start and end
#   - where its memory is at the end (`pprofctl status`'s mem_* lines)
# Target: VmHWM <= 32 MiB, fds flat.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
DURATION=${DURATION:-100}
LAYOUTS=${LAYOUTS:-per_name per_process}
T=$(mktemp -d /tmp/pprofd-churn.XXXXXX)
DPID= L1= L2= BUSY=
cleanup() {
	for p in $L1 $L2 $BUSY; do kill "$p" 2>/dev/null; done
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

forks() { awk '/^processes/ {print $2}' /proc/stat; }
fds() { ls "/proc/$DPID/fd" | wc -l; }

printf '%-12s %10s %12s %10s %10s %10s\n' layout "procs/s" "files/min" "VmHWM MiB" "fds start" "fds end"
for layout in $LAYOUTS; do
	rm -rf "$T/profiles"
	printf 'short_lived_files = %s\n' "$layout" >"$T/pprofd.conf"
	"$BUILD/pprofd" --config "$T/pprofd.conf" --output-dir "$T/profiles" --socket "$T/sock" \
		--no-http --interval 10 >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do [ -S "$T/sock" ] && break; sleep 0.1; done
	sleep 2
	fd0=$(fds)
	f0=$(forks)
	t0=$(date +%s.%N)
	(while :; do /bin/true; done) &
	L1=$!
	(while :; do /bin/echo x >/dev/null; done) &
	L2=$!
	sleep $((DURATION / 2))
	# a long-lived process among the short ones, asked for by request
	(while :; do :; done) &
	BUSY=$!
	"$BUILD/pprofctl" profile --pid "$BUSY" --seconds 3 --socket "$T/sock" -o "$T/req.pb.gz" \
		>/dev/null 2>&1 || echo "  the request failed: $(tail -2 "$T/daemon.log")"
	kill -HUP "$DPID"
	sleep $((DURATION - DURATION / 2))
	kill "$L1" "$L2" "$BUSY"
	wait "$L1" "$L2" "$BUSY" 2>/dev/null
	L1= L2= BUSY=
	t1=$(date +%s.%N)
	f1=$(forks)
	sleep 12 # the last window written
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$DPID/status")
	fd1=$(fds)
	"$BUILD/pprofctl" status --socket "$T/sock" >"$T/status.txt" 2>&1
	kill -TERM "$DPID"
	wait "$DPID"
	DPID=
	files=$(find "$T/profiles" -name '*.pb.gz' | wc -l)
	python3 - "$layout" "$f0" "$f1" "$t0" "$t1" "$files" "$hwm" "$fd0" "$fd1" <<'PY'
import sys
lay, f0, f1, t0, t1, files, hwm, fd0, fd1 = sys.argv[1:]
secs = float(t1) - float(t0)
print(f"{lay:<12} {(int(f1) - int(f0)) / secs:10.0f} {int(files) * 60 / secs:12.0f} "
      f"{int(hwm) / 1024:10.1f} {fd0:>10} {fd1:>10}")
PY
	grep -E '^mem_' "$T/status.txt" | sed 's/^/    /'
done
