#!/usr/bin/env bash
# asan: yes
# DWARF lines and inline frames: a -O2 -g program whose hot code is
# mix_hot(), inlined into spin_outer(). `go tool pprof -lines -top` on the
# profile pprofd writes shows mix_hot at its file:line (the marked line) as
# the hottest line, `-traces` shows mix_hot above spin_outer at its call line,
# the program's mapping says it has files, lines and inline frames and libc's
# (no DWARF on Debian) does not, and pprof prints no warning.
. "$(dirname "$0")/lib.sh"

src=$ROOT/tests/workloads/cpu_inline.c
hot=$(grep -n 'HOT LINE' "$src" | cut -d: -f1)
call=$(grep -n 'CALL LINE' "$src" | cut -d: -f1)
[ -n "$hot" ] && [ -n "$call" ] || fail "markers not found in $src"
readelf -S "$WL/cpu_inline" | grep -q debug_info || fail "$WL/cpu_inline has no DWARF"

# The same program without its DWARF, at the same time: ELF symbols only.
cp "$WL/cpu_inline" "$T/cpu_inline_nodwarf" && strip --strip-debug "$T/cpu_inline_nodwarf" ||
	fail "cannot make a copy without DWARF"

start_daemon --interval 3 --frequency 199
"$T/cpu_inline_nodwarf" 4 >"$T/wl2.out" &
wl2=$!
"$WL/cpu_inline" 4 >"$T/wl.out"
wait $wl2
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
pid2=$(awk '/^pid/ {print $2}' "$T/wl2.out")
sleep 1
stop_daemon

files=$(profiles_of "$pid")
[ -n "$files" ] || { ls -R "$T/profiles" | head -30; fail "no profile for pid $pid"; }
ok "profiles: $(echo $files | wc -w)"

pprof -lines -top -nodecount=10 $files >"$T/lines.txt" 2>"$T/lines.err" ||
	fail "pprof -lines -top failed: $(cat "$T/lines.err")"
cat "$T/lines.txt"
[ ! -s "$T/lines.err" ] || fail "pprof warned: $(cat "$T/lines.err")"
# The first row after the header is the hottest line: mix_hot at cpu_inline.c:$hot
first=$(awk '/flat%/ {getline; print; exit}' "$T/lines.txt")
echo "$first" | grep -qE " mix_hot [^ ]*cpu_inline\.c:$hot( |$)" ||
	fail "the hottest line is not mix_hot cpu_inline.c:$hot: $first"
share=$(echo "$first" | awk '{sub("%", "", $2); print $2}')
python3 -c "import sys; sys.exit(0 if float('$share') >= 50 else 1)" ||
	fail "mix_hot cpu_inline.c:$hot has only $share % of the samples"
ok "hottest line: mix_hot cpu_inline.c:$hot ($share %)"

# The inline chain: mix_hot, then spin_outer at the line that calls it.
pprof -lines -traces $files >"$T/traces.txt" 2>"$T/traces.err" || fail "pprof -traces failed"
[ ! -s "$T/traces.err" ] || fail "pprof warned: $(cat "$T/traces.err")"
grep -A1 -E "mix_hot [^ ]*cpu_inline\.c:$hot \(inline\)\$" "$T/traces.txt" |
	grep -qE "spin_outer [^ ]*cpu_inline\.c:$call\$" ||
	{ head -40 "$T/traces.txt"; fail "no trace with mix_hot:$hot inlined in spin_outer:$call"; }
ok "trace: mix_hot cpu_inline.c:$hot <- spin_outer cpu_inline.c:$call"

# Mapping flags: [FN][FL][LN][IN] for the program; for every file mapped,
# [FL][LN][IN] exactly when it has DWARF (in itself or in its build-ID
# debug file, as libc has when libc6-dbg is installed).
files2=$(profiles_of "$pid2")
[ -n "$files2" ] || fail "no profile for pid $pid2 (the copy without DWARF)"
pprof -raw $files >"$T/raw.txt" 2>/dev/null || fail "pprof -raw failed"
pprof -raw $files2 >"$T/raw2.txt" 2>/dev/null || fail "pprof -raw failed"
grep -E "cpu_inline( |$)" "$T/raw.txt" | grep -q '\[FN\]\[FL\]\[LN\]\[IN\]' ||
	{ sed -n '/^Mappings/,$p' "$T/raw.txt"; fail "the program's mapping does not say it has lines"; }
nodwarf=0
while read -r _ _ path id flags; do
	case $path in /*) ;; *) continue ;; esac
	case $id in \[*) flags=$id; id= ;; esac
	dwarf=no
	if readelf -SW "$path" 2>/dev/null | grep -E '\.debug_info' | grep -vq NOBITS; then dwarf=yes
	elif [ -n "$id" ] && [ -f "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ]; then dwarf=yes; fi
	case "$flags" in *'[FL][LN][IN]'*) said=yes ;; *'[LN]'*|*'[FL]'*|*'[IN]'*) said=partly ;; *) said=no ;; esac
	[ "$said" = "$dwarf" ] || fail "mapping $path: DWARF $dwarf, flags '$flags'"
	[ $dwarf = no ] && nodwarf=$((nodwarf + 1))
	ok "mapping $path: DWARF $dwarf, flags $flags"
done < <(sed -n '/^Mappings/,$p' "$T/raw.txt" "$T/raw2.txt" | grep -v '^Mappings')
[ $nodwarf -gt 0 ] || fail "no mapping without DWARF was checked"
ok "mapping flags"

# Without DWARF, as before: spin_outer is the hottest function, no inline
# frame, no file or line.
pprof -top -nodecount=5 $files2 >"$T/top2.txt" 2>"$T/top2.err" || fail "pprof -top failed"
[ ! -s "$T/top2.err" ] || fail "pprof warned: $(cat "$T/top2.err")"
first=$(awk '/flat%/ {getline; print; exit}' "$T/top2.txt")
[ "$(echo "$first" | awk '{print $NF}')" = spin_outer ] || { cat "$T/top2.txt"; fail "without DWARF the top is not spin_outer: $first"; }
! grep -q mix_hot "$T/top2.txt" || fail "mix_hot named without DWARF"
ok "without DWARF: $first"
