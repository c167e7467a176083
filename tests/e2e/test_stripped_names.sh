#!/usr/bin/env bash
# Functions without a symbol (issue 15): a library stripped to .dynsym, as
# Debian ships its libraries, whose hot code is two static functions. Its
# profile names each by its FDE, libhot.so+0xSTART (START as nm reads the
# unstripped copy), with their own shares (about 2:1, as the program
# splits its work), never one node for the whole file. The same library
# with MiniDebugInfo (.gnu_debugdata, as Fedora ships its binaries): the two
# are named hot_a and hot_b, with the same split. And the first profile
# named later, elsewhere, from the debug file, by Google's pprof.
. "$(dirname "$0")/lib.sh"

hot_sources
mkdir -p "$T/lib" "$T/lib2" || fail "mkdir"
gcc -O2 -g -fPIC -shared -o "$T/libhot.full.so" "$T/hot.c" &&
	strip --strip-unneeded -o "$T/lib/libhot.so" "$T/libhot.full.so" &&
	gcc -O2 -o "$T/hot" "$T/main.c" -L"$T/lib" -lhot -Wl,-rpath,"$T/lib" ||
	fail "cannot build the workload"
readelf -S "$T/lib/libhot.so" | grep -q '\.symtab' && fail "libhot.so still has .symtab"
a=$(nm "$T/libhot.full.so" | awk '$3 == "hot_a" {print $1}' | sed 's/^0*//')
b=$(nm "$T/libhot.full.so" | awk '$3 == "hot_b" {print $1}' | sed 's/^0*//')
[ -n "$a" ] && [ -n "$b" ] || fail "nm does not find hot_a and hot_b"
# MiniDebugInfo as Fedora's find-debuginfo makes it: the functions .dynsym
# lacks, in an xz'd ELF file of symbols only
(
	cd "$T" &&
		nm -D libhot.full.so --format=posix --defined-only | awk '{print $1}' | sort >dynsyms &&
		nm libhot.full.so --format=posix --defined-only | awk '$2 ~ /^[Tt]$/ {print $1}' |
		sort >funcsyms && comm -13 dynsyms funcsyms >keep &&
		objcopy --only-keep-debug libhot.full.so mini.debug &&
		objcopy -S --remove-section .comment --keep-symbols=keep mini.debug mini &&
		xz -f mini && cp lib/libhot.so lib2/libhot.so &&
		objcopy --add-section .gnu_debugdata=mini.xz lib2/libhot.so &&
		gcc -O2 -o hot2 main.c -Llib2 -lhot -Wl,-rpath,"$T/lib2"
) || fail "cannot build the MiniDebugInfo workload"

# profile_of PROGRAM OUT: 3 s of PROGRAM's CPU profile at 499 Hz
profile_of() {
	"$1" 6 &
	local wl=$!
	sleep 1
	"$ROOT/$BUILD/pprofctl" profile --pid "$wl" --seconds 3 --hz 499 --socket "$T/pprofd.sock" \
		-o "$2" || fail "pprofctl profile failed"
	wait "$wl"
}
start_daemon --interval 600
profile_of "$T/hot" "$T/cpu.pb.gz"
profile_of "$T/hot2" "$T/cpu2.pb.gz"
stop_daemon

share() { awk -v n="$1" '$6 == n {sub(/%/, "", $2); print $2; exit}' "$2"; }
# split NAME_A NAME_B FILE: their shares, as the program splits its work
split_ok() {
	raw_profile "$3"
	pprof -top -nodefraction=0 "$3" >"$T/top.txt" 2>/dev/null || fail "pprof -top failed"
	cat "$T/top.txt"
	sa=$(share "$1" "$T/top.txt")
	sb=$(share "$2" "$T/top.txt")
	[ -n "$sa" ] && [ -n "$sb" ] || fail "hot_a and hot_b are not $1 and $2"
	awk -v a="$sa" -v b="$sb" 'BEGIN {exit !(a > 40 && b > 15 && a > b)}' ||
		fail "shares hot_a $sa %, hot_b $sb %: not the program's split"
	grep -q '\[libhot.so\]' "$T/top.txt" && fail "a node for the whole file"
}
split_ok "libhot.so+0x$a" "libhot.so+0x$b" "$T/cpu.pb.gz"
ok "named by their FDE: libhot.so+0x$a $sa %, libhot.so+0x$b $sb %"
split_ok hot_a hot_b "$T/cpu2.pb.gz"
ok "named by MiniDebugInfo: hot_a $sa %, hot_b $sb %"

# A user who has the debug file on another machine: Google's pprof (not
# `go tool pprof`, which reads no build ID of a local file and so ignores
# every candidate) takes it from PPROF_BINARY_PATH/<build ID>/libhot.so
# and names the FDE nodes; has_functions keeps it from doing so unasked
# (-symbolize=force), since the stripped file itself would misname them.
bid=$(readelf -n "$T/lib/libhot.so" | awk '/Build ID/ {print $3}')
mkdir -p "$T/sym/$bid" && cp "$T/libhot.full.so" "$T/sym/$bid/libhot.so" ||
	fail "cannot lay out the debug file"
HOME=$T PPROF_BINARY_PATH=$T/sym "$ROOT/$BUILD/tools/google_pprof" -symbolize=force -top \
	-nodefraction=0 "$T/cpu.pb.gz" >"$T/gtop.txt" 2>"$T/gtop.err" ||
	fail "Google's pprof failed: $(tail -3 "$T/gtop.err")"
sa=$(share hot_a "$T/gtop.txt")
sb=$(share hot_b "$T/gtop.txt")
[ -n "$sa" ] && [ -n "$sb" ] && awk -v a="$sa" -v b="$sb" 'BEGIN {exit !(a > b)}' ||
	{ cat "$T/gtop.txt" "$T/gtop.err"; fail "Google's pprof did not name hot_a and hot_b"; }
ok "named from the debug file elsewhere by Google's pprof: hot_a $sa %, hot_b $sb %"
