#!/usr/bin/env bash
# asan: yes
# CPU samples of an executable built without frame pointers (gcc -O2's
# default; SPEC §6, stacks: "-O2 C is unwound through as well"): pprofd
# finds that from its .eh_frame at its first sample and has the CPU
# program send a stack copy with each sample, unwound by CFI. cpu_nofp's
# leaves heavy/light must get the shares the program measured (within 10
# points), and 95 % of the samples must reach main through stage_two,
# stage_one and run. A frame-pointer walk stops at the leaf.
. "$(dirname "$0")/lib.sh"
CTL="$ROOT/$BUILD/pprofctl"
start_daemon --interval 600

cpu_request cpu_nofp 5
python3 "$ROOT/tests/e2e/cpu_truth_check.py" "$T/wl.out" "$T/raw.txt" stage_two stage_one run main ||
	fail "the stacks of a program without frame pointers are not complete"
grep -q "cpu_processes_without_fp" <("$CTL" status --socket "$T/pprofd.sock") || fail "no counter in status"
ok "an executable without frame pointers unwound to main"
stop_daemon
