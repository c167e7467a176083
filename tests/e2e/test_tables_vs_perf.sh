#!/usr/bin/env bash
# Whole stacks on programs of the host that we did not write (issue 13):
# Debian's python3, perl and xz, built without frame pointers and stripped,
# each profiled by pprofd (a CPU request) and by `perf record --call-graph
# dwarf,16384` on the same process over the same 5 s at 499 Hz. Compared
# by bench/unwind_truth.py as the bench does (make bench-unwind-truth):
# pprofd's samples reach the program's start in >= 99 % where perf's do,
# and the cumulative shares of perf's top 10 functions are within 6 points
# of perf's (~2500 samples each: the bench holds 2 points on ~3000 at 10 s).
# xz's liblzma, stripped to .dynsym: its functions without a symbol are
# named by their FDE (LIB+0xSTART, readelf's starts), and perf's hottest of
# them (its addresses put in those FDEs) have pprofd's flat shares.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
HZ=499
command -v perf >/dev/null || fail "perf is not installed (make deps installs linux-perf)"

start_daemon --interval 600
for prog in python3 perl xz; do
	case $prog in
	python3)
		/usr/bin/python3 -c "
import json, re, time
t = time.time() + 9
while time.time() < t:
    d = [{'k': i, 'v': str(i) * 3, 'l': list(range(i % 7))} for i in range(20000)]
    s = json.dumps(d)
    json.loads(s)
    re.findall(r'\d+', s)" &
		;;
	perl)
		/usr/bin/perl -e 'my $t = time + 9;
while (time < $t) { my %h; $h{$_ x 3} = $_ for 1 .. 50000; my $s = join ",", sort keys %h }' &
		;;
	xz)
		timeout 9 sh -c 'cat /usr/lib/x86_64-linux-gnu/*.so* /usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null |
			/usr/bin/xz -6 -T1 >/dev/null' &
		;;
	esac
	wl=$!
	sleep 2 # its tables load
	# xz's process under timeout and sh: the one named xz
	pid=$wl
	[ "$prog" = xz ] && pid=$(pgrep -n -x xz)
	[ -n "$pid" ] || fail "$prog did not start"
	perf record -q --call-graph dwarf,16384 -F "$HZ" -p "$pid" -o "$T/$prog.data" -- sleep 5 \
		>/dev/null 2>"$T/perf.err" &
	perf_pid=$!
	"$CTL" profile --pid "$pid" --seconds 5 --hz "$HZ" --socket "$T/pprofd.sock" \
		-o "$T/$prog.pb.gz" || fail "pprofctl profile $prog failed"
	wait "$perf_pid" || { cat "$T/perf.err" >&2; fail "perf record $prog failed"; }
	wait "$wl" 2>/dev/null
	raw_profile "$T/$prog.pb.gz"
	perf script -i "$T/$prog.data" -F comm,tid,ip,sym,dso >"$T/$prog.perf.txt" 2>/dev/null
	pprof -traces "$T/$prog.pb.gz" >"$T/$prog.traces" 2>/dev/null
	python3 "$ROOT/bench/unwind_truth.py" -v --check 10:6 "$prog" "$T/$prog.perf.txt" \
		"$T/$prog.traces" "$HZ" 0 0 >"$T/cmp.txt"
	rc=$?
	cat "$T/cmp.txt"
	[ $rc -eq 0 ] || fail "$prog: pprofd's stacks differ from perf's"
	ok "$prog: $(awk 'NR == 1 {sub(/\/ +/, "/"); print "perf " $4 " %, pprofd " $5 " % reach the start; perf'"'"'s top functions within 2 points: " $9 " (largest difference " $10 ")"}' "$T/cmp.txt")"
	if [ "$prog" = xz ]; then
		# liblzma is stripped to .dynsym: its static functions by their FDE
		perf report -i "$T/xz.data" --no-children --sort dso,sym --stdio >"$T/xz.report" 2>/dev/null
		pprof -top -nodecount=1000 -nodefraction=0 "$T/xz.pb.gz" >"$T/xz.top" 2>/dev/null
		python3 "$ROOT/tests/e2e/fde_names_check.py" "$(readlink -f /usr/lib/x86_64-linux-gnu/liblzma.so.5)" \
			"$T/xz.report" "$T/xz.top" >"$T/fde.txt" 2>&1 || { cat "$T/fde.txt"; fail "xz: liblzma's unnamed functions"; }
		cat "$T/fde.txt"
		ok "xz: $(tail -1 "$T/fde.txt")"
	fi
done
stop_daemon
