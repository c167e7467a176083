#!/usr/bin/env bash
# asan: yes
# A program whose unwind tables do not fit in the cache together must not
# stall the daemon (issue 11). Debian's clang has no frame pointers: every
# sample of it is unwound through libclang-cpp's and libLLVM's tables
# (6 MB each), which an 8 MiB cache cannot hold at once. Each frame that
# crossed from one library to the other loaded a table again (60 ms, 200
# under ASan) for every sample: pprofd fell behind for good, answered
# nothing and did not stop on SIGTERM. Now table loading takes at most a
# share of each second and the loop reads samples for a bounded time a
# turn: while clang compiles at 999 Hz, `pprofctl status` answers within
# 2 s every time, pprofd stops in 10 s, and clang's profile is written.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
LLVM=$(readlink -f /usr/lib/x86_64-linux-gnu/libLLVM-14.so.1)
CPP=$(readlink -f /usr/lib/x86_64-linux-gnu/libclang-cpp.so.14)
[ -f "$LLVM" ] && [ -f "$CPP" ] || fail "clang 14's libraries are not where Debian 12 puts them"

# a file that keeps clang -O2 busy for a second or two
for i in $(seq 1500); do
	printf 'int f%d(int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i] * %d ^ (s >> 3); return s; }\n' "$i" "$i"
done >"$T/big.c"
printf 'unwind_cache_size = 8M\nfrequency = 999\n' >"$T/pprofd.conf"
start_daemon --config "$T/pprofd.conf" --interval 600

# compiles until told to stop, and is waited for: nothing is left running
( end=$((SECONDS + 30)); while [ ! -e "$T/stop" ] && [ $SECONDS -lt $end ]; do clang -O2 -c "$T/big.c" -o /dev/null; done ) &
JOB=$!
sleep 2
worst=0
for i in $(seq 8); do
	t0=$(date +%s%N)
	timeout 5 "$CTL" status --socket "$T/pprofd.sock" >"$T/status.txt" 2>&1 ||
		{ touch "$T/stop"; wait $JOB; fail "pprofctl status got no answer in 5 s (round $i): $(cat "$T/status.txt")"; }
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ $ms -gt $worst ] && worst=$ms
	sleep 0.5
done
touch "$T/stop"
wait $JOB
grep -E '^(cfi_|drops_)' "$T/status.txt"
[ $worst -le 2000 ] || fail "pprofctl status took $worst ms"
loads=$(awk '$1 == "cfi_loads" {print $2}' "$T/status.txt")
[ "${loads:-0}" -ge 2 ] || fail "clang's unwind tables were not loaded ($loads loads)"

t0=$(date +%s%N)
stop_daemon
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -le 10000 ] || fail "pprofd took $ms ms to stop"
ls "$T"/profiles/clang-*/cpu-*.pb.gz >/dev/null 2>&1 || fail "no profile of clang: $(ls "$T/profiles" | head)"
ok "status answered in at most $worst ms while clang's tables thrashed an 8 MiB cache ($loads loads); stopped in $ms ms"
