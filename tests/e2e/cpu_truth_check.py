#!/usr/bin/env python3
# cpu_truth_check.py TRUTH RAW FRAME...: a CPU profile (`go tool pprof -raw`
# output) against the program's own measurement ("total FN ns=N" lines in
# TRUTH): each FN's share of the samples within 10 points of its measured
# share, and 95 % of the samples on stacks holding every FRAME (main, and
# whatever must lie between). Exit 1 when not.
import os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pprof_raw

truth = {m.group(1): int(m.group(2)) for m in re.finditer(r"total (\w+) ns=(\d+)", open(sys.argv[1]).read())}
samples = pprof_raw.parse(open(sys.argv[2]).read())
chain = sys.argv[3:] or ["main"]
total = sum(s["values"][0] for s in samples) or 1
tw = sum(truth.values()) or 1
bad = 0
for fn, ns in truth.items():
    got = 100 * sum(s["values"][0] for s in samples if fn in s["stack"]) / total
    want = 100 * ns / tw
    ok = abs(got - want) <= 10
    bad += not ok
    print(f"cpu: {fn} on {got:.1f} % of the samples, measured {want:.1f} % {'ok' if ok else 'OFF'}")
whole = 100 * sum(s["values"][0] for s in samples if all(f in s["stack"] for f in chain)) / total
print(f"cpu: {whole:.1f} % of the samples reach {' <- '.join(reversed(chain))} ({total} samples)")
sys.exit(1 if bad or whole < 95 else 0)
