#!/usr/bin/env python3
"""The table unwinder against perf (bench/unwind_truth.sh): one program's
CPU stacks from `perf record --call-graph dwarf,16384` and from pprofd
(`go tool pprof -traces`), same process, same seconds.

  unwind_truth.py [-v] [--check TOP:POINTS] NAME PERF_SCRIPT PPROF_TRACES HZ BPF_NS FP_NS [MEDIAN_NS]

Where perf's own stacks do not reach the start (deeper than its 16 KiB
copy: clang), its cumulative shares of the outer functions are short, and
the comparison says so ("perf cut").

Prints one row: samples, the share of samples reaching the program's start
(or thread start) for each and pprofd's over perf's, mean user depth, how
many of perf's top-20 user functions (by cumulative share) pprofd has
within 2 points and the largest difference, the largest difference of flat
(leaf) shares, and BPF time per sample. With -v, the per-function table.
With --check (the end-to-end test, tests/e2e/test_tables_vs_perf.sh), it
exits 1 unless pprofd reaches the start in >= 99 % of its samples where
perf does, and the cumulative shares of perf's top TOP functions are
within POINTS of perf's (fewer samples than the bench: a wider margin).
"""
import re
import sys

START = {"_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
         "start_thread", "clone3", "__clone3", "__clone", "clone"}


def norm(name):
    """A function name as both tools can agree on it: no parameters, no
    version suffix, no PLT marker."""
    depth = 0
    for i, c in enumerate(name):
        if c in "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "(" and depth == 0 and i > 0:
            name = name[:i]
            break
    return name.split("@")[0].replace(" ", "")


def perf_stacks(path):
    """[(user frames leaf first, kernel frames)] from perf script output."""
    out, user, kern = [], [], []
    for line in open(path, errors="replace"):
        if not line.strip():
            if user or kern:
                out.append((user, kern))
            user, kern = [], []
            continue
        m = re.match(r"\s+([0-9a-f]+) (.*) \((.*)\)$", line)
        if not m:
            continue
        sym, dso = m.group(2), m.group(3)
        if dso == "inlined":
            continue
        if "kernel.kallsyms" in dso:
            kern.append(norm(sym))
        else:
            user.append(None if sym == "[unknown]" else norm(sym))
    if user or kern:
        out.append((user, kern))
    return out


def pprof_stacks(path, hz, kernel):
    """[user frames leaf first] from `go tool pprof -traces`, one per sample
    (a sample is 1/hz s of CPU); the leading frames named as perf names
    kernel functions are the kernel's (pprof's traces do not say)."""
    out = []
    for block in open(path, errors="replace").read().split("-----------+")[1:]:
        frames, ms = [], None
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("-"):
                continue
            m = re.match(r"\s+([0-9.]+)(s|ms|us)\s+(\S.*)$", line)
            if m and ms is None:
                ms = float(m.group(1)) * {"s": 1e3, "ms": 1, "us": 1e-3}[m.group(2)]
                frames.append(m.group(3))
            elif ms is not None:
                frames.append(line.strip())
        if ms is None:
            continue
        # perf's are the physical frames (its inlined ones are left out)
        frames = [norm(f) for f in frames if not f.endswith(" (inline)")]
        while frames and frames[0] in kernel:
            frames.pop(0)
        out += [frames] * max(1, round(ms * hz / 1000))
    return out


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    check = None
    if args and args[0] == "--check":
        top_n, points = args[1].split(":")
        check = (int(top_n), float(points))
        args = args[2:]
    name, perf_path, raw_path, hz, bpf_ns, fp_ns = args[:6]
    median_ns = args[6] if len(args) > 6 else ""
    both = perf_stacks(perf_path)
    perf = [u for u, _ in both]
    kernel = {f for _, k in both for f in k}
    ours = pprof_stacks(raw_path, int(hz), kernel)
    if not perf or not ours:
        print(f"{name:8} no samples (perf {len(perf)}, pprofd {len(ours)})")
        return 1
    reach_p = 100 * sum(1 for u in perf if START & set(u)) / len(perf)
    reach_o = 100 * sum(1 for u in ours if START & set(u)) / len(ours)
    # mean user frames a sample
    depth_p = sum(len(u) for u in perf) / len(perf)
    depth_o = sum(len(u) for u in ours) / len(ours)

    def cum(stacks, fn):
        return 100 * sum(1 for u in stacks if fn in u) / len(stacks)

    def flat(stacks, fn):
        return 100 * sum(1 for u in stacks if u and u[0] == fn) / len(stacks)

    counts = {}
    for u in perf:
        for fn in set(u):
            if fn:
                counts[fn] = counts.get(fn, 0) + 1
    top = sorted(counts, key=lambda f: -counts[f])[:20]
    diffs = [(fn, cum(perf, fn), cum(ours, fn)) for fn in top]
    within = sum(1 for _, a, b in diffs if abs(a - b) <= 2)
    worst = max(abs(a - b) for _, a, b in diffs) if diffs else 0
    leaves = {}
    for u in perf:
        if u and u[0]:
            leaves[u[0]] = leaves.get(u[0], 0) + 1
    flat_top = sorted(leaves, key=lambda f: -leaves[f])[:10]
    flat_worst = max((abs(flat(perf, f) - flat(ours, f)) for f in flat_top), default=0)
    ratio = reach_o / reach_p if reach_p else float("inf")
    cut = "  (perf cut)" if reach_p < 99 else ""
    times = int(bpf_ns) / int(fp_ns) if int(fp_ns) else 0
    print(f"{name:8} {len(perf):6} {len(ours):6}  {reach_p:6.1f} {reach_o:6.1f}  {ratio:5.2f}x"
          f"  {depth_p:5.1f} {depth_o:5.1f}  {within:2}/{len(top):2} {worst:5.1f}{cut}"
          f"  {flat_worst:5.1f}  {bpf_ns:>6} {times:4.1f}x {median_ns:>6}")
    if verbose:
        for fn, a, b in diffs:
            print(f"    cum {a:5.1f} {b:5.1f} {fn}")
        for fn in flat_top:
            print(f"    flat {flat(perf, fn):5.1f} {flat(ours, fn):5.1f} {fn}")
    if check:
        bad = [] if reach_p < 99 or reach_o >= 99 else [f"reaches the start in {reach_o:.1f} %"]
        bad += [f"{fn}: cumulative {b:.1f} %, perf {a:.1f} %"
                for fn, a, b in diffs[:check[0]] if not cut and abs(a - b) > check[1]]
        for b in bad:
            print(f"FAIL {name}: {b}")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
