#!/usr/bin/env bash
# Functions without a symbol (issue 15): a library stripped to .dynsym, as
# Debian ships its libraries, whose hot code is two static functions. Its
# profile names each by its FDE, libhot.so+0xSTART (START as nm reads the
# unstripped copy), with their own shares (about 2:1, as the program
# splits its work), never one node for the whole file.
. "$(dirname "$0")/lib.sh"

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
mkdir -p "$T/lib" || fail "mkdir"
gcc -O2 -g -fPIC -shared -o "$T/libhot.full.so" "$T/hot.c" &&
	strip --strip-unneeded -o "$T/lib/libhot.so" "$T/libhot.full.so" &&
	gcc -O2 -o "$T/hot" "$T/main.c" -L"$T/lib" -lhot -Wl,-rpath,"$T/lib" ||
	fail "cannot build the workload"
readelf -S "$T/lib/libhot.so" | grep -q '\.symtab' && fail "libhot.so still has .symtab"
a=$(nm "$T/libhot.full.so" | awk '$3 == "hot_a" {print $1}' | sed 's/^0*//')
b=$(nm "$T/libhot.full.so" | awk '$3 == "hot_b" {print $1}' | sed 's/^0*//')
[ -n "$a" ] && [ -n "$b" ] || fail "nm does not find hot_a and hot_b"

start_daemon --interval 600
"$T/hot" 6 &
wl=$!
sleep 1
"$ROOT/$BUILD/pprofctl" profile --pid "$wl" --seconds 3 --hz 499 --socket "$T/pprofd.sock" \
	-o "$T/cpu.pb.gz" || fail "pprofctl profile failed"
wait "$wl"
stop_daemon

raw_profile "$T/cpu.pb.gz"
pprof -top -nodefraction=0 "$T/cpu.pb.gz" >"$T/top.txt" 2>/dev/null || fail "pprof -top failed"
cat "$T/top.txt"
share() { awk -v n="$1" '$6 == n {sub(/%/, "", $2); print $2; exit}' "$2"; }
sa=$(share "libhot.so+0x$a" "$T/top.txt")
sb=$(share "libhot.so+0x$b" "$T/top.txt")
[ -n "$sa" ] && [ -n "$sb" ] || fail "hot_a and hot_b are not libhot.so+0x$a and libhot.so+0x$b"
awk -v a="$sa" -v b="$sb" 'BEGIN {exit !(a > 40 && b > 15 && a > b)}' ||
	fail "shares hot_a $sa %, hot_b $sb %: not the program's split"
grep -q '\[libhot.so\]' "$T/top.txt" && fail "a node for the whole file"
ok "named by their FDE: libhot.so+0x$a $sa %, libhot.so+0x$b $sb %"
