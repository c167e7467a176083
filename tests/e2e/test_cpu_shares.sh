#!/usr/bin/env bash
# asan: yes
# A program that measures its own CPU split (alpha:beta:gamma_fn = 5:3:2):
# the profile pprofd writes, read by `go tool pprof -top`, gives each
# function its measured share within 5 points, and >= 95 % of the samples
# have a stack that reaches main.
. "$(dirname "$0")/lib.sh"

start_daemon --interval 4 --frequency 199
"$WL/cpu_shares" 6 >"$T/wl.out"
pid=$(awk '/^pid/ {print $2}' "$T/wl.out")
sleep 1
stop_daemon

files=$(profiles_of "$pid")
[ -n "$files" ] || { ls -R "$T/profiles" | head -30; fail "no profile for pid $pid"; }
ok "profiles: $(echo $files | wc -w)"
# Merge the windows: pprof takes several files.
pprof -top -nodecount=50 $files >"$T/top.txt" 2>"$T/top.err" || fail "pprof -top failed: $(cat "$T/top.err")"
cat "$T/top.txt"
for fn in alpha beta gamma_fn; do
	want=$(awk -v f=$fn '$1 == f {print $2}' "$T/wl.out")
	# flat% is column 2 of the row whose last field is the function
	got=$(awk -v f=$fn '$NF == f {sub("%", "", $2); print $2}' "$T/top.txt")
	[ -n "$got" ] || fail "$fn not in the profile"
	python3 -c "import sys; w,g=float('$want'),float('$got'); sys.exit(0 if abs(w-g) <= 5 else 1)" ||
		fail "$fn: measured $want %, profile says $got %"
	ok "$fn: measured $want %, profile $got %"
done

# Stacks reaching main, counted in samples
pprof -raw $files 2>/dev/null | python3 "$ROOT/tests/e2e/pprof_raw.py" reach main 0.95 ||
	fail "fewer than 95 % of samples have a stack that reaches main"
ok "stacks reach main"
