#!/usr/bin/env bash
# asan: yes
# Records lost to full ring buffers are said in every profile they may be
# missing from (issue 11): the daemon is stopped (SIGSTOP) for 3 s while a
# lock_target process switches threads ~100,000 times a second and the
# host is sampled at 999 Hz into a 64 KiB CPU ring. The CPU request that
# spans the stop, the window's cpu file and its block file each say that
# records were lost, and `pprofctl status` counts them.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
CONF=$T/pprofd.conf

# Two threads passing a byte through two pipes: every pass blocks one.
cat >"$T/pingpong.c" <<'C'
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static int ab[2], ba[2];
static void *echo(void *arg)
{
	char c;
	while (read(ab[0], &c, 1) == 1 && write(ba[1], &c, 1) == 1)
		;
	return arg;
}
int main(int argc, char **argv)
{
	pthread_t t;
	time_t end = time(NULL) + atoi(argv[1]);
	char c = 0;
	if (pipe(ab) || pipe(ba) || pthread_create(&t, NULL, echo, NULL))
		return 1;
	while (time(NULL) < end)
		for (int i = 0; i < 1000; i++)
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				return 1;
	return 0;
}
C
gcc -O1 -pthread -o "$T/pingpong" "$T/pingpong.c" || fail "cannot build pingpong"
printf 'ringbuf_size = 65536\nfrequency = 999\nlock_target = comm:pingpong\n' >"$CONF"
start_daemon --config "$CONF" --interval 600

"$T/pingpong" 12 &
W=$!
for _ in $(seq 50); do
	grep -q "continuous mutex and block profiling of pid $W" "$T/daemon.log" && break
	sleep 0.1
done
grep -q "continuous mutex and block profiling of pid $W" "$T/daemon.log" || fail "pingpong not attached"
"$CTL" profile --pid "$W" --seconds 6 --socket "$T/pprofd.sock" -o "$T/req.pb.gz" 2>"$T/req.err" &
REQ=$!
wait_active 1
sleep 1
kill -STOP "$DAEMON_PID"
sleep 3
kill -CONT "$DAEMON_PID"
wait $REQ || fail "the request failed: $(cat "$T/req.err")"
"$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt"
wait $W
stop_daemon

for c in drops_ringbuf_full block_drops_ringbuf; do
	n=$(awk -v c=$c '$1 == c {print $2}' "$T/status.txt")
	[ "${n:-0}" -gt 0 ] || fail "status counts no $c: $(grep drops "$T/status.txt")"
done
# has_lost FILE DURING: its comments say that records were lost DURING
has_lost() {
	raw_profile "$1"
	pprof -comments "$1" 2>/dev/null | grep -q "records of the host were lost $2 (pprofd's ring buffer was full)" ||
		{ pprof -comments "$1"; fail "$(basename "$1") does not say that records were lost"; }
}
has_lost "$T/req.pb.gz" "while this profile ran"
has_lost "$(ls "$T"/profiles/pingpong-$W/cpu-*.pb.gz)" "in this window"
has_lost "$(ls "$T"/profiles/pingpong-$W/block-*.pb.gz)" "in this window"
ok "the request, the window's cpu and block files say that records were lost ($(awk '$1 == "drops_ringbuf_full" || $1 == "block_drops_ringbuf"' "$T/status.txt" | tr '\n' ' '))"
