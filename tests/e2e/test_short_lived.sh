#!/usr/bin/env bash
# asan: yes
# 50 processes that each spin <= 30 ms and exit, long before the window
# ends. By default (short_lived_files = per_name) they are one file of
# their name, each sample with its pid, every one of the 50 in it; with
# per_process every one gets its own profile. Symbolized either way.
. "$(dirname "$0")/lib.sh"

run50() { # starts 50, two at a time (each gets CPU of its own on 2 cores)
	pids=()
	for i in $(seq 50); do
		"$WL/short_lived" 25 &
		pids+=($!)
		[ $((i % 2)) -eq 0 ] && wait "${pids[@]: -2}"
	done
	sleep 1
}

# 1. per_name (the default; start_daemon makes the tests' per_process
# unless their config names it): one file, 50 pids
echo "short_lived_files = per_name" >"$T/pn.conf"
start_daemon --config "$T/pn.conf" --interval 60 --frequency 999
run50
stop_daemon   # writes the partial window
files=("$T"/profiles/short_lived-short/cpu-*.pb.gz)
[ ${#files[@]} -eq 1 ] && [ -f "${files[0]}" ] || { ls "$T/profiles" | head; fail "not one file under short_lived-short/: ${files[*]}"; }
ls -d "$T"/profiles/short_lived-[0-9]* 2>/dev/null && fail "a short-lived process got a directory of its own"
pprof -raw "${files[0]}" 2>/dev/null | python3 -c '
import sys; sys.path.insert(0, "'"$ROOT"'/tests/e2e"); import pprof_raw
s = pprof_raw.parse(sys.stdin.read())
want = set(sys.argv[1:])
got = {x["labels"].get("pid") for x in s}
missing = want - got
assert not missing, f"{len(missing)} of 50 pids have no samples: {sorted(missing)[:5]}"
assert got <= want, f"pids not of these processes: {sorted(got - want)[:5]}"
print(f"one file: {len(s)} samples of {len(got)} pids")' "${pids[@]}" || fail "the per-name file"
pprof -top "${files[0]}" 2>/dev/null | grep -q 'shortlived_spin' || fail "the per-name file lacks shortlived_spin"
pprof -comments "${files[0]}" 2>/dev/null | grep -q '50 short-lived processes named short_lived' ||
	fail "no comment saying what the file holds: $(pprof -comments "${files[0]}" 2>&1 | head -3)"
ok "per_name: 50 short-lived processes in one file, each sample with its pid, symbolized"

# 2. per_process: each its own
rm -rf "$T/profiles"
echo "short_lived_files = per_process" >"$T/pp.conf"
start_daemon --config "$T/pp.conf" --interval 60 --frequency 999
run50
stop_daemon
missing=0 unsym=0
for pid in "${pids[@]}"; do
	f=$(ls "$T"/profiles/short_lived-"$pid"/cpu-*.pb.gz 2>/dev/null | head -1)
	if [ -z "$f" ]; then missing=$((missing + 1)); echo "pid $pid: no profile; $(ls -d "$T"/profiles/*-"$pid" 2>/dev/null)"; continue; fi
	pprof -top "$f" 2>/dev/null | grep -q 'shortlived_spin' || { unsym=$((unsym + 1)); echo "pid $pid: not symbolized"; pprof -top "$f" | head -15; }
done
[ $missing -eq 0 ] || { ls "$T/profiles" | head; grep -iE 'health|warn|error' "$T/daemon.log" | tail; fail "$missing of 50 processes have no profile"; }
[ $unsym -eq 0 ] || fail "$unsym of 50 profiles lack the symbol shortlived_spin"
ok "per_process: 50 of 50 short-lived processes profiled and symbolized"
