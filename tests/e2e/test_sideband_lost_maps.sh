#!/usr/bin/env bash
# asan: yes
# Mappings lost with the side-band records (issue 11): the daemon is stopped
# (SIGSTOP), the side-band rings are flooded, and then
#  - a profiled process dlopens a library and runs in it, twice (two losses,
#    two libraries): each time its mmap record is lost for certain, and
#    /proc must be read again so that the library's function is named;
#  - a process starts and exits before the daemon runs again: every record
#    of it is lost, /proc no longer knows it; its profile must still open in
#    pprof without a warning (its frames in an "[unknown]" mapping).
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"

for n in one two; do
	cat >"$T/lib$n.c" <<C
#include <time.h>
void spin_in_$n(void) /* 1 s of CPU */
{
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < 1);
}
C
	gcc -O1 -shared -fPIC -o "$T/lib$n.so" "$T/lib$n.c" || fail "cannot build lib$n.so"
done
mkfifo "$T/go1" "$T/go2" "$T/go3"
# a CPU ring that holds every sample taken while the daemon is stopped
# (the floods' among them): only side-band records are to be lost
printf 'ringbuf_size = 16777216\n' >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600

# Waits for each go, then loads that library and spins in it; exits at go3.
python3 - "$T" <<'PY' &
import ctypes, sys
t = sys.argv[1]
for n, go in (("one", "go1"), ("two", "go2")):
    open(f"{t}/{go}").read()
    getattr(ctypes.CDLL(f"{t}/lib{n}.so"), f"spin_in_{n}")()
open(f"{t}/go3").read()
PY
P=$!
"$CTL" profile --pid "$P" --seconds 60 --hz 99 --socket "$T/pprofd.sock" -o "$T/req.pb.gz" 2>"$T/req.err" &
REQ=$!
wait_active 1

for go in go1 go2; do
	kill -STOP "$DAEMON_PID"
	flood_sideband
	echo >"$T/$go" # its dlopen's mmap record finds the rings full
	# started and gone while the daemon is stopped
	if [ $go = go2 ]; then
		"$WL/cpu_shares" 1 >/dev/null &
		GONE=$!
		wait $GONE
	fi
	sleep 0.5
	kill -CONT "$DAEMON_PID"
	sleep 1.5
done
echo >"$T/go3"
wait $P
wait $REQ || fail "the request failed: $(cat "$T/req.err")"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
stop_daemon

grep -q "side-band: a ring was full" "$T/daemon.log" || fail "the full ring was not seen, or not logged"
raw_profile "$T/req.pb.gz"
for n in one two; do
	pprof -top "$T/req.pb.gz" 2>/dev/null | grep -q " spin_in_$n\$" ||
		{ pprof -top "$T/req.pb.gz" 2>&1 | head -15; fail "spin_in_$n (its mmap lost) is not named"; }
done
ok "both libraries mapped while side-band records were lost are named (two /proc re-reads)"

# (named cpu_shares, or bash when its exec record was lost with the rest)
ls -d "$T"/profiles/*-$GONE >/dev/null 2>&1 || fail "no profile of the process that lived while records were lost"
files=$(find "$T/profiles" -name '*.pb.gz' | wc -l)
for f in $(find "$T/profiles" -name '*.pb.gz'); do raw_profile "$f"; done
ok "$files profile files open in pprof without a warning, the process that lived only while records were lost among them"
