#!/usr/bin/env bash
# The table unwinder's truth (issue 13, SPEC §6 "stacks"): Debian's own
# programs, built without frame pointers and stripped, each running real
# work; for each, over the same seconds of the same process, pprofd's CPU
# request and `perf record --call-graph dwarf,16384`, both at HZ, then
# bench/unwind_truth.py compares them: the share of samples reaching the
# program's start, perf's top-20 functions' cumulative shares, flat shares;
# beside it the BPF time per sample of the request's program in that time.
#   bench/unwind_truth.sh [BUILD] [PROGRAM...]   (python3 perl xz sqlite3 clang)
#   EXTRA_CONF="key = value\n..." adds config lines (to compare settings)
set -u
BUILD=${1:-build}
shift
cd "$(dirname "$0")/.."
PROGS=("$@")
[ ${#PROGS[@]} -gt 0 ] || PROGS=(python3 perl xz sqlite3 clang)
SECS=${SECS:-10}  # profiled
HZ=${HZ:-299}     # both: ~3000 samples, so that a share's sampling error (~0.7 point) is well inside 2 points
WARM=${WARM:-3}   # before: the process's tables load
T=$(mktemp -d /tmp/pprofd-truth.XXXXXX)
DPID= WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	sysctl -q kernel.bpf_stats_enabled=0
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
export HOME=$T

# workload NAME: starts it in the background (WPID), running longer than
# WARM + SECS
workload() {
	local until=$((WARM + SECS + 20))
	case $1 in
	python3)
		/usr/bin/python3 -c "
import json, re, time
t = time.time() + $until
while time.time() < t:
    d = [{'k': i, 'v': str(i) * 3, 'l': list(range(i % 7))} for i in range(20000)]
    s = json.dumps(d)
    json.loads(s)
    re.findall(r'\d+', s)
    sorted(d, key=lambda x: x['v'])" &
		;;
	perl)
		/usr/bin/perl -e "
my \$t = time + $until;
while (time < \$t) {
    my %h; \$h{\$_ x 3} = \$_ for 1 .. 50000;
    my \$s = join ',', sort keys %h;
    my @m = \$s =~ /(\d+)/g;
}" &
		;;
	xz)
		cat /usr/lib/x86_64-linux-gnu/*.so* /usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null |
			/usr/bin/xz -6 -T1 -c >/dev/null &
		;;
	sqlite3)
		# rows into a table and an index on text: the b-tree's inserts
		/usr/bin/sqlite3 :memory: "
CREATE TABLE t(a INTEGER, s TEXT);
CREATE INDEX ts ON t(s);
INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)
  SELECT x, printf('%x-%d', x * 7919, x % 1000) FROM c;" >/dev/null &
		;;
	clang)
		# one compile of a large generated C++ file (templates, inlining)
		python3 - "$T/big.cc" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("#include <map>\n#include <string>\n#include <vector>\n#include <algorithm>\n")
    for i in range(600):
        f.write(f"""
template <class T> struct S{i} {{ std::vector<T> v; std::map<std::string, T> m;
  T run(int n) {{ for (int k = 0; k < n; k++) {{ v.push_back(T(k * {i})); m[std::to_string(k)] = v.back(); }}
    std::sort(v.begin(), v.end()); T s{{}}; for (auto &x : v) s += x; for (auto &kv : m) s += kv.second; return s; }} }};
double f{i}(int n) {{ return S{i}<double>().run(n) + S{i}<long>().run(n) + S{i}<int>().run(n); }}
""")
PY
		/usr/bin/clang++ -O2 -c "$T/big.cc" -o "$T/big.o" &
		;;
	esac
	WPID=$!
}

# the request program's buckets of sample_times, summed over the CPUs
req_hist() {
	bpftool map dump name sample_times -j 2>/dev/null | python3 -c '
import json, sys
def num(v):
    return v if isinstance(v, int) else int.from_bytes(bytes(int(x, 16) for x in v), "little")
n = 128  # CPU_TIME_BUCKETS
h = [0] * n
for e in json.load(sys.stdin):
    k = num(e["key"])
    if n <= k < 2 * n:
        h[k - n] += sum(num(c["value"]) for c in e["values"])
print(" ".join(map(str, h)))'
}

# median_ns "BEFORE" "AFTER": the median of the samples between, in ns (the
# middle of its 250 ns bucket)
median_ns() {
	python3 -c '
import sys
d = [b - a for a, b in zip(map(int, sys.argv[1].split()), map(int, sys.argv[2].split()))]
total, seen = sum(d), 0
for i, c in enumerate(d):
    seen += c
    if total and seen * 2 >= total:
        print(i * 250 + 125)
        break
else:
    print(0)' "$1" "$2"
}

# "run_cnt run_time_ns" of the request program
req_stats() {
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
cnt = ns = 0
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("on_request_sam"):
        cnt += p.get("run_cnt", 0); ns += p.get("run_time_ns", 0)
print(cnt, ns)'
}

# the median of a sample's BPF time, besides the kernel's mean: from the
# histogram pprofd keeps with bpf_sample_timing (bpf/cpu.h)
printf 'bpf_sample_timing = true\n%b' "${EXTRA_CONF:-}" >"$T/pprofd.conf"
"$BUILD/pprofd" --config "$T/pprofd.conf" --output-dir "$T/profiles" --socket "$T/sock" --no-http \
	--interval 600 >"$T/pprofd.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do grep -q 'profiling every' "$T/pprofd.log" && break; sleep 0.1; done
sysctl -q kernel.bpf_stats_enabled=1

# The BPF time of the frame-pointer walk in this run, as the yardstick
# (absolute figures differ from machine to machine: 4x between two weeks
# of this one): cpu_burn, built with frame pointers.
gcc -O2 -g -fno-omit-frame-pointer -pthread bench/cpu_burn.c -o "$T/cpu_burn" || exit 1
"$T/cpu_burn" 4000 >/dev/null &
WPID=$!
sleep 1
read -r c0 n0 < <(req_stats)
h0=$(req_hist)
"$BUILD/pprofctl" profile --pid "$WPID" --seconds 4 --hz "$HZ" --socket "$T/sock" -o "$T/fp.pb.gz" 2>/dev/null
read -r c1 n1 < <(req_stats)
h1=$(req_hist)
kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null; WPID=
FP_NS=$(( (c1 - c0) ? (n1 - n0) / (c1 - c0) : 0 ))
echo "frame-pointer walk (cpu_burn): $FP_NS ns of BPF a sample in this run (median $(median_ns "$h0" "$h1") ns)"

echo "== the table unwinder against perf --call-graph dwarf,16384 ($SECS s at $HZ Hz each, same process, same seconds)"
echo "program  samples(perf pprofd)  reach start %(perf pprofd)  ratio  depth(perf pprofd)  top-20 cum within 2 pt, max diff  flat max diff  BPF ns/sample: mean, x the frame-pointer walk, median"
for prog in "${PROGS[@]}"; do
	workload "$prog"
	sleep "$WARM"
	read -r c0 n0 < <(req_stats)
	h0=$(req_hist)
	perf record -q --call-graph dwarf,16384 -F "$HZ" -p "$WPID" -o "$T/$prog.data" -- sleep "$SECS" \
		>/dev/null 2>&1 &
	ppid=$!
	"$BUILD/pprofctl" profile --pid "$WPID" --seconds "$SECS" --hz "$HZ" --socket "$T/sock" \
		-o "$T/$prog.pb.gz" 2>/dev/null
	wait "$ppid"
	read -r c1 n1 < <(req_stats)
	h1=$(req_hist)
	kill "$WPID" 2>/dev/null; pkill -P "$$" -x cat 2>/dev/null; wait "$WPID" 2>/dev/null; WPID=
	perf script -i "$T/$prog.data" -F comm,tid,ip,sym,dso >"$T/$prog.perf.txt" 2>/dev/null
	go tool pprof -traces "$T/$prog.pb.gz" >"$T/$prog.traces" 2>/dev/null
	python3 bench/unwind_truth.py ${VERBOSE:+-v} "$prog" "$T/$prog.perf.txt" "$T/$prog.traces" "$HZ" \
		"$(( (c1 - c0) ? (n1 - n0) / (c1 - c0) : 0 ))" "$FP_NS" "$(median_ns "$h0" "$h1")"
done
"$BUILD/pprofctl" status --socket "$T/sock" | grep -E '^unwind_(walks|table_bytes|table_files)'
echo "BPF maps of the tables (kernel memory, bpftool memlock):"
bpftool map show -j 2>/dev/null | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m.get("name", "").startswith("unwind_"):
        print("  %-14s %8.1f MiB" % (m["name"], m.get("bytes_memlock", 0) / 2**20))'
