#!/usr/bin/env python3
"""Functions without a symbol in a stripped library, named by their FDE
(issue 15): pprofd's "LIB+0xSTART" against readelf and perf.

  fde_names_check.py LIB PERF_REPORT PPROF_TOP

LIB: the library; PERF_REPORT: `perf report --no-children --sort dso,sym
--stdio` of the same process over the same seconds (perf names these
addresses by their own hex, one row per address); PPROF_TOP: `go tool
pprof -top -nodecount=1000 -nodefraction=0` of pprofd's profile. Checks that every
LIB+0xSTART pprofd names is an FDE's start as readelf reads .eh_frame,
that there are at least 3 of them, and that the flat shares of perf's 3
hottest such functions (its addresses put in the FDEs that hold them) are
within 5 points of pprofd's (~2500 samples each: a 50 % share's
difference between two samplings has a deviation of ~1.4 points)."""
import bisect
import re
import subprocess
import sys

lib, perf_path, top_path = sys.argv[1:4]
base = lib.rsplit("/", 1)[-1]
fdes = []
out = subprocess.run(["readelf", "--debug-dump=frames", lib], capture_output=True, text=True).stdout
for m in re.finditer(r" FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", out):
    fdes.append((int(m.group(1), 16), int(m.group(2), 16)))
fdes.sort()
starts = [lo for lo, _ in fdes]


def fde_of(addr):
    i = bisect.bisect_right(starts, addr) - 1
    return fdes[i][0] if i >= 0 and addr < fdes[i][1] else None


perf = {}
for line in open(perf_path, errors="replace"):
    m = re.match(r"\s+([0-9.]+)%\s+(\S+)\s+\[\.\] 0x([0-9a-f]+)\s*$", line)
    if m and m.group(2) == base:
        f = fde_of(int(m.group(3), 16))
        if f is not None:
            perf[f] = perf.get(f, 0) + float(m.group(1))
ours = {}
for line in open(top_path, errors="replace"):
    m = re.match(r"\s+\S+\s+([0-9.]+)%\s+\S+\s+\S+\s+\S+\s+" + re.escape(base) + r"\+0x([0-9a-f]+)$", line)
    if m:
        ours[int(m.group(2), 16)] = float(m.group(1))
bad = [hex(a) for a in ours if a not in set(starts)]
if bad:
    sys.exit(f"named at no FDE start: {bad[:5]}")
if len(ours) < 3:
    sys.exit(f"only {len(ours)} functions of {base} named by FDE")
worst = 0.0
for f, share in sorted(perf.items(), key=lambda kv: -kv[1])[:3]:
    got = ours.get(f, 0.0)
    print(f"{base}+{f:#x}: perf {share:.1f} %, pprofd {got:.1f} %")
    worst = max(worst, abs(got - share))
if worst > 5:
    sys.exit(f"flat shares differ by {worst:.1f} points")
print(f"{len(ours)} functions named by their FDE start; perf's top 3 within {worst:.1f} points")
