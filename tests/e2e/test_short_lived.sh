#!/usr/bin/env bash
# asan: yes
# 50 processes that each spin <= 30 ms and exit, long before the window
# ends: every one gets its own profile, with symbolized frames.
. "$(dirname "$0")/lib.sh"

start_daemon --interval 60 --frequency 999
pids=()
for i in $(seq 50); do
	"$WL/short_lived" 25 &
	pids+=($!)
	# two at a time, so each gets CPU of its own on 2 cores
	[ $((i % 2)) -eq 0 ] && wait "${pids[@]: -2}"
done
sleep 1
stop_daemon   # writes the partial window

missing=0 unsym=0
for pid in "${pids[@]}"; do
	f=$(ls "$T"/profiles/short_lived-"$pid"/cpu-*.pb.gz 2>/dev/null | head -1)
	if [ -z "$f" ]; then missing=$((missing + 1)); echo "pid $pid: no profile; $(ls -d "$T"/profiles/*-"$pid" 2>/dev/null)"; continue; fi
	pprof -top "$f" 2>/dev/null | grep -q 'shortlived_spin' || { unsym=$((unsym + 1)); echo "pid $pid: not symbolized"; pprof -top "$f" | head -15; }
done
[ $missing -eq 0 ] || { ls "$T/profiles" | head; grep -iE 'health|warn|error' "$T/daemon.log" | tail; fail "$missing of 50 processes have no profile"; }
[ $unsym -eq 0 ] || fail "$unsym of 50 profiles lack the symbol shortlived_spin"
ok "50 of 50 short-lived processes profiled and symbolized"
