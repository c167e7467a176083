#!/usr/bin/env bash
# asan: yes
# The table unwinder as mappings come and go (issue 13), on cpu_deep
# (-O2 -fomit-frame-pointer, 61 frames below the leaf):
#  1. a library dlopen()ed a second after the start (built here without
#     frame pointers, 20 frames deep itself): its table is loaded when the
#     walker first meets it, and the stacks through it reach main;
#  2. the executable replaced on disk (renamed over) before pprofd first
#     sees the process: the rows come from the file the process runs
#     (/proc/PID/map_files), not from the new one at its path: a table of
#     the wrong file would not reach main.
# >= 99 % of each request's samples reach main through every descend frame.
. "$(dirname "$0")/lib.sh"
DEPTH=60

reaching_main() { # what
	deep_reaching_main "$T/c.pb.gz" 99 "$1"
	ok "$1: $SHARE % of the samples reach main through $((DEPTH + 1)) frames"
}

cat >"$T/libdeep.c" <<'C'
static volatile unsigned long sink;
__attribute__((noinline)) static void lib_leaf(double seconds)
{
	struct timespec { long s, ns; } t;
	extern int clock_gettime(int, struct timespec *);
	double t0, now;

	clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, &t);
	t0 = t.s + t.ns / 1e9;
	do {
		for (int i = 0; i < 100000; i++)
			sink = sink * 6364136223846793005ul + i;
		clock_gettime(3, &t);
		now = t.s + t.ns / 1e9;
	} while (now - t0 < seconds);
}
__attribute__((noinline)) static unsigned long lib_descend(int n, double seconds)
{
	volatile unsigned long a[4] = {(unsigned long)n};

	if (n > 0)
		a[1] = lib_descend(n - 1, seconds);
	else
		lib_leaf(seconds);
	return a[0] + a[1];
}
void lib_spin(int depth, double seconds)
{
	sink += lib_descend(depth, seconds);
}
C
gcc -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls -shared -fPIC "$T/libdeep.c" \
	-o "$T/libdeep.so" || fail "cannot build the library"

start_daemon --interval 600

# 1. dlopen: the request starts after the library came in
CPU_DEEP_LIB=$T/libdeep.so "$WL/cpu_deep" 7 "$DEPTH" dlopen >"$T/wl.out" &
pid=$!
sleep 2.7
grep -q libdeep "/proc/$pid/maps" || fail "the library is not mapped"
cpu_request_pid $pid
share=$(share_reaching "$T/c.pb.gz" lib_descend 21 main)
python3 -c "import sys; sys.exit(0 if float('$share') >= 99 else 1)" ||
	{ pprof -traces "$T/c.pb.gz" 2>/dev/null | grep -v 'descend$' | head -40
	  fail "dlopen: only $share % of the samples reach main through the library's 21 frames"; }
reaching_main "dlopen"

# 2. the executable renamed over while it runs, before its first sample
cp "$WL/cpu_deep" "$T/deep"
"$T/deep" 7 "$DEPTH" >"$T/wl.out" &
pid=$!
cp "$WL/cpu_nofp" "$T/deep.new" && mv "$T/deep.new" "$T/deep"
grep -q "$T/deep (deleted)" "/proc/$pid/maps" || fail "the executable was not replaced"
sleep 2.4
cpu_request_pid $pid
reaching_main "replaced executable"
stop_daemon
