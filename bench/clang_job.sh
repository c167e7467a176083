#!/usr/bin/env bash
# A real allocation-heavy program for bench/heap.sh, behind alloc_heavy's
# protocol: clang++ -O2 compiling bench/alloc_clang.cc (preprocessed into
# DIR once), one compile being one "operation".
#   clang_job.sh DIR [command prefix...]   (the prefix: heaptrack -o FILE)
# starts the compiler under the prefix, blocked on its input, and prints
# "ready PID" (the compiler's pid, to attach to); on a line "N" it lets the
# compiler read its input, waits for it to exit and prints
# "<seconds> <ns> 0"; on "0" or EOF it exits.
set -u
dir=$1; shift
src=$(dirname "$0")/alloc_clang.cc
[ -s "$dir/alloc_clang.ii" ] || clang++ -E "$src" -o "$dir/alloc_clang.ii" || exit 1
gate=$dir/clang_gate.$$
mkfifo "$gate" || exit 1
exec 3<>"$gate"
rm -f "$gate"
( read -r _ <&3; exec cat "$dir/alloc_clang.ii" ) |
	"$@" clang++ -O2 -c -x c++-cpp-output - -o "$dir/alloc_clang.o" >/dev/null 2>&1 &
# The compiler: the clang++ process among the pipeline's descendants.
pid=
for _ in $(seq 200); do
	for p in $(pgrep -x 'clang\+\+'); do
		a=$p
		while [ "$a" -gt 1 ]; do
			[ "$a" = $$ ] && { pid=$p; break 2; }
			a=$(awk '{print $4}' "/proc/$a/stat" 2>/dev/null || echo 1)
		done
	done
	sleep 0.05
done
[ -n "$pid" ] || { echo "clang_job: the compiler did not start" >&2; exit 1; }
echo "ready $pid"
while read -r n; do
	[ "${n:-0}" -gt 0 ] 2>/dev/null || break
	t0=$(date +%s%N)
	echo go >&3
	while kill -0 "$pid" 2>/dev/null; do sleep 0.005; done
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000000 )).$(printf %04d $(( (t1 - t0) / 100000 % 10000 ))) $(( t1 - t0 )) 0"
done
wait
