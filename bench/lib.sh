# Helpers the benchmark scripts share (sourced).

# prog_stats ID: "run_cnt run_time_ns" of one BPF program (counted while
# kernel.bpf_stats_enabled is 1)
prog_stats() {
	bpftool prog show id "$1" -j 2>/dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin)
print(p.get("run_cnt", 0), p.get("run_time_ns", 0))'
}
